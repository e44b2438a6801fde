# GLIP-T (mmdet's GLIP, Swin-T + FPN + DyHead, variant "A": no deep
# vision-language fusion) on MMIO, zero-shot split (RTVP paper, table 2b):
# trained on the seen classes, tested on the images with unseen objects with
# the full vocabulary, scored by ZeroShotCocoMetric.
#
# How the vocabulary reaches GLIP: mmdet's GLIP reads `data_sample.text`;
# a tuple of class names with `custom_entities=True` becomes the caption
# "name_0. name_1. ..." and each name is one entity whose index is the
# label. The loaders are the `mmio_caption_*` ones of
# configs/_base_/datasets/mmio_datasets.py (the second base): the datasets,
# transforms and metric of RTVP and YOLO-World (RandomVocabulary for
# training: positives + random negatives with labels remapped;
# LoadVocabulary for test: the active vocabulary), then VocabularyAsText,
# which copies `texts` to `text` and sets `custom_entities`. At most 40
# names per training image: GLIP's caption is at most 256 BERT tokens,
# about 5 per class name; descriptions are not used.
#
# Test vocabulary: 'all' (generalised: seen + unseen names; the metric
# reports unseen, seen and their harmonic mean), or 'unseen' with
#   --cfg-options test_dataloader.dataset.vocabulary=unseen
# With MMIO's 100 class names the caption is longer than 256 tokens: set
# `model.test_cfg.chunked_size=40` (mmdet's chunked prompts, batch size 1).
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

train_dataloader = dict(_base_.mmio_caption_train_dataloader, _delete_=True)
val_dataloader = dict(_base_.mmio_caption_val_dataloader, _delete_=True)
test_dataloader = dict(_base_.mmio_caption_test_dataloader, _delete_=True)
# model selection on zs_val (seen classes), the test split for test.py only
val_evaluator = dict(_base_.mmio_zs_val_evaluator, _delete_=True)
test_evaluator = dict(_base_.mmio_zs_evaluator, _delete_=True)

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
