# Grounding DINO-T (mmdet's GroundingDINO, Swin-T) on MMIO, zero-shot split
# (RTVP paper, table 2b): trained on the seen classes, tested on the images
# with unseen objects with the full vocabulary, scored by ZeroShotCocoMetric.
# Model and fine-tuning recipe of mmdet's
# grounding_dino_swin-t_finetune_16xb2_1x_coco.py.
#
# The vocabulary reaches the model as in
# configs/glip/glip_swin-t-a_4xb4-24e_mmio-zs.py: RandomVocabulary /
# LoadVocabulary write `texts`, VocabularyAsText copies it to `text` (tuple of
# class names) with `custom_entities=True`, and the labels index into that
# list: the `mmio_caption_*` loaders of
# configs/_base_/datasets/mmio_datasets.py (the second base), with at most 40
# names per training image (about 5 BERT tokens per class name).
#
# Test vocabulary: 'all' (generalised), or 'unseen' with
#   --cfg-options test_dataloader.dataset.vocabulary=unseen
# The caption holds at most 256 tokens and mmdet's Grounding DINO has no
# chunked prompts: with MMIO's 100 class names (about 500 tokens) use
# 'unseen'.
#
# Paths to set (nothing is downloaded at run time):
#   lang_model_name: a local `bert-base-uncased` directory (model and
#     tokenizer) or the hub id when it is in the local Hugging Face cache;
#   load_from: the official Grounding DINO-T checkpoint to fine-tune from:
#     mmdet's model-zoo file groundingdino_swint_ogc_mmdet-822d7e9d.pth
#     (model grounding_dino_swin-t_pretrain_obj365_goldg_cap4m, O365 + GoldG
#     + Cap4M). Every weight of that model lands in this config, with the
#     differences of mmdet's own fine-tuning recipe (checked against mmdet's
#     model by tests/test_tools/test_model_converters.py): missing
#     `bbox_head.cls_branches.{0..6}.log_scale` (the recipe's learnable
#     temperature, starting at 0, i.e. the pre-trained unscaled logits) and,
#     when the file holds it, BERT's unused pooler
#     (`language_model....pooler.dense.*`) unexpected.
_base_ = [
    'mmdet::grounding_dino/grounding_dino_swin-t_finetune_16xb2_1x_coco.py',
    '../_base_/datasets/mmio_datasets.py'
]

custom_imports = dict(imports=['mmase'], allow_failed_imports=False)

lang_model_name = 'bert-base-uncased'
load_from = None

# mmdet's fine-tuning config checkpoints the 6 encoder layers with fairscale
# (`num_cp=6`), which is not part of the verified stack: without it the model
# cannot even be built. Activation checkpointing only saves GPU memory (no
# weight changes); set `model.encoder.num_cp=6` with fairscale installed.
model = dict(
    language_model=dict(name=lang_model_name), encoder=dict(num_cp=0))

train_dataloader = dict(_base_.mmio_caption_train_dataloader, _delete_=True)
val_dataloader = dict(_base_.mmio_caption_val_dataloader, _delete_=True)
test_dataloader = dict(_base_.mmio_caption_test_dataloader, _delete_=True)
# model selection on zs_val (seen classes), the test split for test.py only
val_evaluator = dict(_base_.mmio_zs_val_evaluator, _delete_=True)
test_evaluator = dict(_base_.mmio_zs_evaluator, _delete_=True)

max_epochs = 12
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=4)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=3,
                    save_best='zs/seen_bbox_mAP', rule='greater'))
