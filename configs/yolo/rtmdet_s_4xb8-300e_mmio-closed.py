# RTMDet-S (mmdet's model and training recipe) on MMIO, closed split
# (RTVP paper, table 2a: general detectors trained on 80 % of the images and
# tested on 20 %, all classes). A closed-set detector has a fixed classifier,
# so it has no zero-shot variant.
#
# The closed split's loaders and metrics come from
# configs/_base_/datasets/mmio_datasets.py (the second base: its names all
# start with `mmio_`, so it does not clash with mmdet's config): the shared
# resize/flip/pad without vocabulary transforms (labels are the dataset's
# class ids). RTMDet's mosaic/mix-up pipeline is replaced by it so every
# method of the table sees the same augmentation (mmdet's top-level
# `train_pipeline` & co. stay in the merged config, unused).
_base_ = [
    'mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py',  # noqa
    '../_base_/datasets/mmio_datasets.py'
]

custom_imports = dict(imports=['mmase'], allow_failed_imports=False)

# Classes of the dataset: 38 for the embedded benchmark
# (tools/data/make_synthetic.py), 100 for MMIO.
num_classes = 38
dataset_type = 'MMIODataset'
data_root = _base_.mmio_data_root
img_scale = _base_.mmio_img_scale

model = dict(
    # No ImageNet download: train from scratch unless a local checkpoint is
    # given (--cfg-options model.backbone.init_cfg.checkpoint=...).
    backbone=dict(init_cfg=None),
    bbox_head=dict(num_classes=num_classes))

train_dataloader = dict(_base_.mmio_closed_train_dataloader, _delete_=True)
val_dataloader = dict(_base_.mmio_closed_val_dataloader, _delete_=True)
test_dataloader = val_dataloader
val_evaluator = _base_.mmio_closed_evaluator
test_evaluator = val_evaluator

# mmdet's RTMDet recipe (AdamW 4e-3, 300 epochs, EMA) is kept; the
# pipeline switch at epoch 280 is dropped (there is no mosaic to turn off).
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0002,
        update_buffers=True,
        priority=49)
]
