# YOLOX-S (mmdet's model and optimiser) on MMIO, closed split (RTVP paper,
# table 2a). A closed-set detector: no zero-shot variant.
#
# Datasets and metrics come from configs/_base_/datasets/mmio_datasets.py
# (the second base), as for configs/_base_/datasets/mmio_closed.py;
# tests/test_tools/test_baseline_configs.py checks they stay equal. YOLOX's mosaic/mix-up (MultiImageMixDataset),
# multi-scale batch resize and mode-switch hook are replaced by the shared
# resize/flip/pad pipeline so every method of the table sees the same
# augmentation.
_base_ = [
    'mmdet::yolox/yolox_s_8xb8-300e_coco.py',  # noqa
    '../_base_/datasets/mmio_datasets.py'
]

custom_imports = dict(imports=['mmase'], allow_failed_imports=False)

# Classes of the dataset: 38 for the embedded benchmark
# (tools/data/make_synthetic.py), 100 for MMIO.
num_classes = 38
dataset_type = 'MMIODataset'
data_root = _base_.mmio_data_root
img_scale = _base_.mmio_img_scale
backend_args = None

model = dict(
    data_preprocessor=dict(batch_augments=None),
    bbox_head=dict(num_classes=num_classes))

train_pipeline = _base_.mmio_train_transforms + [
    dict(type='PackDetInputs', meta_keys=_base_.mmio_train_meta_keys),
]
test_pipeline = _base_.mmio_test_transforms + [
    dict(type='PackDetInputs', meta_keys=_base_.mmio_test_meta_keys),
]

train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(_base_.mmio_closed_train_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_base_.mmio_closed_val_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = _base_.mmio_closed_evaluator
test_evaluator = val_evaluator

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
