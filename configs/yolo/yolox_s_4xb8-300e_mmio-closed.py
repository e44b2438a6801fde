# YOLOX-S (mmdet's model and optimiser) on MMIO, closed split (RTVP paper,
# table 2a). A closed-set detector: no zero-shot variant.
#
# The closed split's loaders and metrics come from
# configs/_base_/datasets/mmio_datasets.py (the second base), as for
# rtmdet_s_4xb8-300e_mmio-closed.py. YOLOX's mosaic/mix-up
# (MultiImageMixDataset), multi-scale batch resize and mode-switch hook are
# replaced by the shared resize/flip/pad pipeline so every method of the table
# sees the same augmentation (mmdet's top-level `train_pipeline` & co. stay in
# the merged config, unused). The input size is mmdet's 640, as
# `mmio_img_scale`.
_base_ = [
    'mmdet::yolox/yolox_s_8xb8-300e_coco.py',  # noqa
    '../_base_/datasets/mmio_datasets.py'
]

custom_imports = dict(imports=['mmase'], allow_failed_imports=False)

# MMIO's closed split instead of mmdet's COCO data
train_dataloader = dict(_base_.mmio_closed_train_dataloader, _delete_=True)
val_dataloader = dict(_base_.mmio_closed_val_dataloader, _delete_=True)
test_dataloader = val_dataloader
val_evaluator = _base_.mmio_closed_evaluator
test_evaluator = val_evaluator
dataset_type = 'MMIODataset'
data_root = _base_.mmio_data_root

# Classes of the dataset: 38 for the embedded benchmark
# (tools/data/make_synthetic.py), 100 for MMIO.
num_classes = 38
model = dict(
    data_preprocessor=dict(batch_augments=None),
    bbox_head=dict(num_classes=num_classes))

# mmdet's YOLOX recipe (SGD 0.01, 300 epochs, EMA) is kept, without the
# mode switch (there is no mosaic to turn off).
custom_hooks = [
    dict(type='SyncNormHook', priority=48),
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0001,
        update_buffers=True,
        priority=49)
]
