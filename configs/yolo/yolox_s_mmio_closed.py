# YOLOX-S (mmdet's model and optimiser) on MMIO, closed split (RTVP paper,
# table 2a). A closed-set detector: no zero-shot variant.
#
# Data and metric are those of configs/_base_/datasets/mmio_closed.py,
# repeated here because an mmdet config and that file cannot both be bases
# (both define the dataloaders); tests/test_tools/test_baseline_configs.py
# checks they stay equal. YOLOX's mosaic/mix-up (MultiImageMixDataset),
# multi-scale batch resize and mode-switch hook are replaced by the shared
# resize/flip/pad pipeline so every method of the table sees the same
# augmentation.
_base_ = 'mmdet::yolox/yolox_s_8xb8-300e_coco.py'

custom_imports = dict(imports=['mmase'], allow_failed_imports=False)

# Classes of the dataset: 38 for the embedded benchmark
# (tools/data/make_synthetic.py), 100 for MMIO.
num_classes = 38
dataset_type = 'MMIODataset'
data_root = 'data/mmio_synth/'
img_scale = (640, 640)
backend_args = None

model = dict(
    data_preprocessor=dict(batch_augments=None),
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
