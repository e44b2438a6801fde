# GLIP-T (mmdet's GLIP, Swin-T + FPN + DyHead, variant "A": no deep
# vision-language fusion) on MMIO, zero-shot split (RTVP paper, table 2b):
# trained on the seen classes, tested on the images with unseen objects with
# the full vocabulary (`test_vocabulary`), scored by ZeroShotCocoMetric.
#
# How the vocabulary reaches GLIP: mmdet's GLIP reads `data_sample.text`;
# a tuple of class names with `custom_entities=True` becomes the caption
# "name_0. name_1. ..." and each name is one entity whose index is the
# label. The shared MMIO pipelines (configs/_base_/datasets/mmio_zeroshot.py)
# produce `texts` (RandomVocabulary for training: positives + random
# negatives with labels remapped; LoadVocabulary for test: the active
# vocabulary); VocabularyAsText copies it to `text` and sets
# `custom_entities`, so GLIP sees the same vocabularies as RTVP and
# YOLO-World. Datasets and metric come from
# configs/_base_/datasets/mmio_datasets.py (the second base), as for
# mmio_zeroshot.py; tests/test_tools/test_baseline_configs.py checks that
# they stay equal.
#
# Paths to set (nothing is downloaded at run time):
#   lang_model_name: a local `bert-base-uncased` directory (model and
#     tokenizer) or the hub id when it is in the local Hugging Face cache;
#   load_from: the official GLIP-T (A) checkpoint to fine-tune from, as GLIP
#     is meant to be used: mmdet's model-zoo file
#     glip_tiny_a_mmdet-b3654169.pth (model glip_atss_swin-t_a_fpn_dyhead_
#     pretrain_obj365). Its keys match this config exactly (no key missing or
#     unexpected; tests/test_tools/test_model_converters.py builds mmdet's
#     model and loads its state dict strictly).
_base_ = [
    'mmdet::glip/glip_atss_swin-t_a_fpn_dyhead_pretrain_obj365.py',  # noqa
    '../_base_/datasets/mmio_datasets.py'
]

custom_imports = dict(imports=['mmase'], allow_failed_imports=False)

lang_model_name = 'bert-base-uncased'
load_from = None

dataset_type = 'MMIODataset'
data_root = _base_.mmio_data_root
img_scale = _base_.mmio_img_scale
# GLIP's caption is at most 256 BERT tokens: with about 5 tokens per class
# name (and its separator) 40 names fit; descriptions are not used.
num_train_vocab = 40
# Test vocabulary as in mmio_zeroshot.py: 'all' (seen + unseen names; the
# metric reports unseen, seen and their harmonic mean) or 'unseen'. The
# caption holds at most 256 tokens: with MMIO's 100 class names set
# `model.test_cfg.chunked_size=40` (mmdet's chunked prompts, batch size 1).
test_vocabulary = 'all'
backend_args = None

# The obj365 pretrain config only describes inference; the losses are those
# of mmdet's GLIP-T fine-tuning config (focal loss on the token scores, GIoU
# on decoded boxes, centerness). mmdet's FocalLoss uses its pure PyTorch
# path on CPU tensors, so no mmcv CUDA op is needed.
model = dict(
    bbox_head=dict(
        lang_model_name=lang_model_name,
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        loss_centerness=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    language_model=dict(name=lang_model_name),
    train_cfg=dict(
        assigner=dict(iou_calculator=dict(type='BboxOverlaps2D_GLIP'))))

train_pipeline = _base_.mmio_train_transforms + [
    dict(
        type='RandomVocabulary',
        num_vocab=num_train_vocab,
        use_descriptions_prob=0.0),
    dict(type='VocabularyAsText'),
    dict(
        type='PackDetInputs',
        meta_keys=_base_.mmio_train_meta_keys +
        ('texts', 'text', 'custom_entities')),
]
test_pipeline = _base_.mmio_test_transforms + [
    dict(type='LoadVocabulary'),
    dict(type='VocabularyAsText'),
    dict(
        type='PackDetInputs',
        meta_keys=_base_.mmio_test_meta_keys +
        ('texts', 'text', 'custom_entities')),
]

train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(_base_.mmio_zs_train_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_base_.mmio_zs_val_dataset, pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        _base_.mmio_zs_test_dataset,
        vocabulary=test_vocabulary,
        pipeline=test_pipeline))

# model selection on zs_val (seen classes), the test split for test.py only
val_evaluator = dict(_delete_=True, **_base_.mmio_zs_val_evaluator)
test_evaluator = dict(_delete_=True, **_base_.mmio_zs_evaluator)

# Fine-tuning schedule of mmdet's GLIP-T COCO config (AdamW, small lr,
# gradient clipping), 24 epochs.
max_epochs = 24
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=4)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.),
            'language_model': dict(lr_mult=0.1),
        }),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[16, 22], gamma=0.1)
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=3,
                    save_best='zs/seen_bbox_mAP', rule='greater'))
