# The MMIO data sets and metrics, without pipelines or dataloaders.
#
# Every name starts with `mmio_`, so this file can be a second `_base_` next
# to an mmdet model config (whose own dataset/dataloader keys it does not
# touch): RTVP's data configs (mmio_zeroshot.py, mmio_closed.py) and the
# baselines (configs/yolo, configs/glip, configs/grounding_dino) take their
# datasets and evaluators from here and add their own pipeline, e.g.
#   dataset=dict(_base_.mmio_zs_train_dataset, pipeline=train_pipeline)
#
# Data: `python tools/data/make_synthetic.py mmio --out data/mmio_synth`
# (or a real MMIO set converted with tools/data/merge_coco.py, same layout).
mmio_data_root = 'data/mmio_synth/'

mmio_dataset_common = dict(
    type='MMIODataset',
    data_root=mmio_data_root,
    data_prefix=dict(img='images/'),
    class_text_path='class_texts.json',
    backend_args=None)

# Zero-shot split (RTVP paper, "Dataset and Evaluation Metrics"): train on
# the seen classes (images whose objects are all seen), test on the images
# that contain unseen objects. Two test protocols, chosen by the test
# dataset's `vocabulary`:
# - 'all' (generalised): seen + unseen names; the metric reports unseen,
#   seen and their harmonic mean;
# - 'unseen' (unseen-only vocabulary): the unseen names only; the metric
#   reports the unseen classes.
# Model selection (save_best, anything tuned) uses `zs_val`: held-out
# training images (seen objects only). The test file is read by
# tools/test.py only.
mmio_zs_train_dataset = dict(
    mmio_dataset_common,
    ann_file='annotations/instances_zs_train.json',
    split_path='split.json',
    vocabulary='seen',
    filter_cfg=dict(filter_empty_gt=True, min_size=1))
mmio_zs_val_dataset = dict(
    mmio_dataset_common,
    ann_file='annotations/instances_zs_val.json',
    split_path='split.json',
    vocabulary='seen',
    test_mode=True)
mmio_zs_test_dataset = dict(
    mmio_dataset_common,
    ann_file='annotations/instances_zs_test.json',
    split_path='split.json',
    vocabulary='all',
    test_mode=True)
# COCO box AP on the unseen and seen classes, and their harmonic mean
# (classes outside the active vocabulary are not scored).
mmio_zs_evaluator = dict(
    type='ZeroShotCocoMetric',
    ann_file=mmio_data_root + 'annotations/instances_zs_test.json',
    split_path=mmio_data_root + 'split.json',
    backend_args=None)
mmio_zs_val_evaluator = dict(
    mmio_zs_evaluator,
    ann_file=mmio_data_root + 'annotations/instances_zs_val.json')

# Closed split (table 2a): 80 % / 20 % of the images, all classes.
mmio_closed_train_dataset = dict(
    mmio_dataset_common,
    ann_file='annotations/instances_train.json',
    vocabulary='all',
    filter_cfg=dict(filter_empty_gt=True, min_size=1))
mmio_closed_val_dataset = dict(
    mmio_dataset_common,
    ann_file='annotations/instances_val.json',
    vocabulary='all',
    test_mode=True)
# mmdet's COCO metric (coco/bbox_mAP ...) and, for table 2a's precision and
# recall and the AP of the zero-shot split's seen/unseen class groups,
# ZeroShotCocoMetric on the same file (zs/all_precision, zs/unseen_bbox_mAP
# ...). In the closed split every class is trained on: "unseen" only names
# the group of classes that the zero-shot split holds out.
mmio_closed_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=mmio_data_root + 'annotations/instances_val.json',
        metric='bbox',
        format_only=False,
        backend_args=None),
    dict(
        type='ZeroShotCocoMetric',
        ann_file=mmio_data_root + 'annotations/instances_val.json',
        split_path=mmio_data_root + 'split.json',
        backend_args=None),
]


# The transforms every method shares (load, resize, flip, pad), so all rows
# of a table see the same augmentation. A config appends its vocabulary
# transforms and PackDetInputs, e.g.
#   train_pipeline = _base_.mmio_train_transforms + [
#       dict(type='PackDetInputs', meta_keys=_base_.mmio_train_meta_keys)]
# `mmio_demo_*` are the same at the 320 px of the CPU demo configs.
def _train_transforms(scale):
    return [
        dict(type='LoadImageFromFile', backend_args=None),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=scale, keep_ratio=True),
        dict(type='RandomFlip', prob=0.5,
             direction=['horizontal', 'vertical']),
        dict(type='Pad', size=scale, pad_val=dict(img=(114, 114, 114))),
    ]


def _test_transforms(scale):
    return [
        dict(type='LoadImageFromFile', backend_args=None),
        dict(type='Resize', scale=scale, keep_ratio=True),
        dict(type='Pad', size=scale, pad_val=dict(img=(114, 114, 114))),
        dict(type='LoadAnnotations', with_bbox=True),
    ]


# YOLO-World's training augmentation: a 4-image mosaic
# at twice the size, a random affine (scale 0.5-1.5, translation 10 %)
# that crops it back to `scale`, flips. mmdet's CachedMosaic needs no
# dataset wrapper, so PipelineSwitchHook can switch it off for the last
# epochs ("close mosaic"). Labels still index the dataset classes after the
# mosaic; RandomVocabulary, appended by the configs, samples the texts of
# the mixed image afterwards.
def _mosaic_train_transforms(scale):
    return [
        dict(type='LoadImageFromFile', backend_args=None),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='CachedMosaic', img_scale=scale, pad_val=114.0,
             max_cached_images=40, random_pop=False),
        dict(type='RandomAffine', scaling_ratio_range=(0.5, 1.5),
             max_rotate_degree=0.0, max_shear_degree=0.0,
             max_translate_ratio=0.1,
             border=(-scale[0] // 2, -scale[1] // 2),
             border_val=(114, 114, 114)),
        dict(type='RandomFlip', prob=0.5,
             direction=['horizontal', 'vertical']),
        dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1),
             keep_empty=False),
    ]


mmio_img_scale = (640, 640)
mmio_demo_img_scale = (320, 320)
mmio_train_transforms = _train_transforms(mmio_img_scale)
mmio_test_transforms = _test_transforms(mmio_img_scale)
mmio_demo_train_transforms = _train_transforms(mmio_demo_img_scale)
mmio_demo_test_transforms = _test_transforms(mmio_demo_img_scale)
mmio_mosaic_train_transforms = _mosaic_train_transforms(mmio_img_scale)
mmio_demo_mosaic_train_transforms = _mosaic_train_transforms(
    mmio_demo_img_scale)
mmio_train_meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape',
                        'scale_factor', 'flip', 'flip_direction')
mmio_test_meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor')

# The data of a closed-set detector (a fixed classifier: labels are the
# dataset's class ids, no vocabulary transforms), RTMDet, YOLOX and YOLOv8
# of table 2a: the shared transforms and PackDetInputs, and the closed
# split's loaders (batch 8 per GPU) with them. A config next to an mmdet
# model config replaces mmdet's COCO loaders:
#   train_dataloader = dict(_base_.mmio_closed_train_dataloader, _delete_=True)
# one with other pipelines gives the datasets its own, e.g.
#   dataset=dict(_base_.mmio_closed_train_dataset, pipeline=train_pipeline)
# `mmio_demo_closed_*` are the same at 320 px with one worker (CPU demos).
mmio_closed_set_train_pipeline = mmio_train_transforms + [
    dict(type='PackDetInputs', meta_keys=mmio_train_meta_keys)
]
mmio_closed_set_test_pipeline = mmio_test_transforms + [
    dict(type='PackDetInputs', meta_keys=mmio_test_meta_keys)
]
mmio_closed_train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        mmio_closed_train_dataset, pipeline=mmio_closed_set_train_pipeline))
mmio_closed_val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        mmio_closed_val_dataset, pipeline=mmio_closed_set_test_pipeline))

mmio_demo_closed_set_train_pipeline = mmio_demo_train_transforms + \
    mmio_closed_set_train_pipeline[-1:]
mmio_demo_closed_set_test_pipeline = mmio_demo_test_transforms + \
    mmio_closed_set_test_pipeline[-1:]
mmio_demo_closed_train_dataloader = dict(
    mmio_closed_train_dataloader,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        mmio_closed_train_dataset,
        pipeline=mmio_demo_closed_set_train_pipeline))
mmio_demo_closed_val_dataloader = dict(
    mmio_closed_val_dataloader,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        mmio_closed_val_dataset, pipeline=mmio_demo_closed_set_test_pipeline))


# The data of the caption-based grounding detectors of table 2b (GLIP,
# Grounding DINO): the zero-shot datasets with the vocabulary transforms of
# mmio_zeroshot.py, then VocabularyAsText, which hands the vocabulary over as
# mmdet's `text` + `custom_entities` (the caption "name_0. name_1. ...", one
# entity per name, whose index is the label). A caption holds at most 256
# BERT tokens, about 5 per class name: 40 names per training image, no
# descriptions. Loaders with batch 4 per GPU (mmdet's GLIP / Grounding DINO
# fine-tuning configs) replace mmdet's COCO loaders:
#   train_dataloader = dict(_base_.mmio_caption_train_dataloader, _delete_=True)
# `mmio_demo_caption_*` are the same at 320 px with one worker (CPU demos).
def _caption_pipelines(train_transforms, test_transforms):
    keys = ('texts', 'text', 'custom_entities')
    train = train_transforms + [
        dict(type='RandomVocabulary', num_vocab=40,
             use_descriptions_prob=0.0),
        dict(type='VocabularyAsText'),
        dict(type='PackDetInputs', meta_keys=mmio_train_meta_keys + keys),
    ]
    test = test_transforms + [
        dict(type='LoadVocabulary'),
        dict(type='VocabularyAsText'),
        dict(type='PackDetInputs', meta_keys=mmio_test_meta_keys + keys),
    ]
    return train, test


def _caption_loaders(train_pipeline, test_pipeline, num_workers):
    common = dict(
        batch_size=4,
        num_workers=num_workers,
        persistent_workers=num_workers > 1)
    train = dict(
        common,
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_sampler=dict(type='AspectRatioBatchSampler'),
        dataset=dict(mmio_zs_train_dataset, pipeline=train_pipeline))
    val = dict(
        common,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(mmio_zs_val_dataset, pipeline=test_pipeline))
    test = dict(val, dataset=dict(mmio_zs_test_dataset, pipeline=test_pipeline))
    return train, val, test


mmio_caption_train_pipeline, mmio_caption_test_pipeline = _caption_pipelines(
    mmio_train_transforms, mmio_test_transforms)
(mmio_caption_train_dataloader, mmio_caption_val_dataloader,
 mmio_caption_test_dataloader) = _caption_loaders(
     mmio_caption_train_pipeline, mmio_caption_test_pipeline, 2)
(mmio_demo_caption_train_pipeline,
 mmio_demo_caption_test_pipeline) = _caption_pipelines(
     mmio_demo_train_transforms, mmio_demo_test_transforms)
(mmio_demo_caption_train_dataloader, mmio_demo_caption_val_dataloader,
 mmio_demo_caption_test_dataloader) = _caption_loaders(
     mmio_demo_caption_train_pipeline, mmio_demo_caption_test_pipeline, 1)
