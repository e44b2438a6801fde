# MMIO closed-set detection (RTVP paper: 80 % / 20 % of the images, all
# classes). Same pipelines as mmio_zeroshot.py; the vocabulary is every class.
# Data: `python tools/data/make_synthetic.py mmio --out data/mmio_synth`.
#
# `img_scale` is the paper's 640; a config that changes it must redefine the
# pipelines too (see mmio_zeroshot.py).
dataset_type = 'MMIODataset'
data_root = 'data/mmio_synth/'
img_scale = (640, 640)
num_train_vocab = 80
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(
        type='RandomVocabulary',
        num_vocab=num_train_vocab,
        use_descriptions_prob=0.2),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction', 'texts')),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadVocabulary'),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'texts')),
]

train_dataloader = dict(
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

# mmdet's COCO metric (coco/bbox_mAP ...) and, for table 2a's precision and
# recall and the AP of the zero-shot split's seen/unseen class groups,
# ZeroShotCocoMetric on the same file (zs/all_precision, zs/unseen_bbox_mAP
# ...). In the closed split every class is trained on: "unseen" only names
# the group of classes that the zero-shot split holds out.
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
