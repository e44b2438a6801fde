# RTMDet-S (mmdet's model and training recipe) on MMIO, closed split
# (RTVP paper, table 2a: general detectors trained on 80 % of the images and
# tested on 20 %, all classes). A closed-set detector has a fixed classifier,
# so it has no zero-shot variant.
#
# Data and metric are those of configs/_base_/datasets/mmio_closed.py (same
# dataset, annotation files, resize/flip/pad pipeline and CocoMetric; mmdet
# configs cannot be combined with it as a second base because both define
# the dataloaders, so the fields are repeated here and
# tests/test_tools/test_baseline_configs.py checks they stay equal). The
# vocabulary transforms are left out: labels are the dataset's class ids.
# RTMDet's mosaic/mix-up pipeline is replaced by the shared one so every
# method of the table sees the same augmentation.
_base_ = 'mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py'

custom_imports = dict(imports=['mmase'], allow_failed_imports=False)

# Classes of the dataset: 38 for the embedded benchmark
# (tools/data/make_synthetic.py), 100 for MMIO.
num_classes = 38
dataset_type = 'MMIODataset'
data_root = 'data/mmio_synth/'
img_scale = (640, 640)
backend_args = None

model = dict(
    # No ImageNet download: train from scratch unless a local checkpoint is
    # given (--cfg-options model.backbone.init_cfg.checkpoint=...).
    backbone=dict(init_cfg=None),
    bbox_head=dict(num_classes=num_classes))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction')),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]

train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/'),
        class_text_path='class_texts.json',
        vocabulary='all',
        filter_cfg=dict(filter_empty_gt=True, min_size=1),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/'),
        class_text_path='class_texts.json',
        vocabulary='all',
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/instances_val.json',
        metric='bbox',
        format_only=False,
        backend_args=backend_args),
    dict(
        type='ZeroShotCocoMetric',
        ann_file=data_root + 'annotations/instances_val.json',
        split_path=data_root + 'split.json',
        backend_args=backend_args),
]
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
