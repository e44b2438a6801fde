# YOLO-World-S style open-vocabulary detector on MMIO (zero-shot split), the
# detector RTVP builds on. Paper setup (RTVP, "Implementation Details"):
# 640 px inputs, batch 32 (8 images x 4 GPUs), AdamW lr 2e-3, weight decay
# 0.025, 200 epochs, frozen CLIP text encoder (ViT-B/32 text tower).
#
# The model has the module layout of the official YOLO-World-v2-S, so its
# pre-trained weights load strictly after
#   python tools/model_converters/yolo_world_to_mmase.py OFFICIAL.pth \
#       checkpoints/yolo_world_v2_s_mmase.pth
# and `--cfg-options load_from=checkpoints/yolo_world_v2_s_mmase.pth`
# fine-tunes from them (README, "Pre-trained starts").
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_200e.py',
    '../_base_/datasets/mmio_zeroshot.py',
]

# Local directory holding `openai/clip-vit-base-patch32` (model + tokenizer,
# saved with `save_pretrained`), or the hub id when it is in the local
# Hugging Face cache. Nothing is downloaded at run time.
text_model_name = 'openai/clip-vit-base-patch32'
text_channels = 512  # CLIP ViT-B/32 projection dim

img_scale = _base_.mmio_img_scale
deepen_factor = 0.33
widen_factor = 0.5
last_stage_out_channels = 1024
train_batch_size_per_gpu = 8

model = dict(
    type='YOLOWorldDetector',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='YOLOv8CSPDarknet',
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        last_stage_out_channels=last_stage_out_channels,
        norm_cfg=dict(type='SyncBN', momentum=0.03, eps=0.001)),
    text_encoder=dict(
        type='HFTextEncoder',
        model_name=text_model_name,
        model_type='clip',
        frozen=True),
    neck=dict(
        type='YOLOWorldPAFPN',
        in_channels=[256, 512, last_stage_out_channels],
        out_channels=[256, 512, last_stage_out_channels],
        guide_channels=text_channels,
        embed_channels=[128, 256, last_stage_out_channels // 2],
        num_heads=[4, 8, last_stage_out_channels // 2 // 32],
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        norm_cfg=dict(type='SyncBN', momentum=0.03, eps=0.001)),
    bbox_head=dict(
        type='YOLOWorldHead',
        in_channels=[256, 512, last_stage_out_channels],
        embed_dims=text_channels,
        widen_factor=widen_factor,
        strides=(8, 16, 32),
        reg_max=16,
        # YOLO-World v2: BatchNorm on the region embeddings (the layout of
        # the official v2 checkpoints, see tools/model_converters/);
        # dict(type='RegionTextContrastiveHead') is the v1 / L2 classifier
        contrastive_head=dict(type='BNContrastiveHead'),
        norm_cfg=dict(type='SyncBN', momentum=0.03, eps=0.001)),
    train_cfg=dict(
        assigner=dict(
            type='BatchTaskAlignedAssigner', topk=10, alpha=0.5, beta=6.0)),
    test_cfg=dict(
        score_thr=0.001,
        nms_pre=30000,
        nms=dict(type='nms', iou_threshold=0.7),
        max_per_img=300))

# YOLO-World's training recipe, each piece switchable in a child config:
# - Mosaic + RandomAffine (`mmio_mosaic_train_transforms`), switched off for
#   the last `close_mosaic_epochs` epochs by mmdet's PipelineSwitchHook;
#   RandomVocabulary runs after the mosaic, so the labels of the mixed image
#   index its sampled texts;
# - EMA of the weights (mmdet's ExpMomentumEMA through EMAHook);
# - no weight decay on norms, biases and the classifier's logit scale/bias
#   (paramwise_cfg below).
# Testing: 640 px, LoadVocabulary (from the dataset base config).
max_epochs = 200
close_mosaic_epochs = 10
_vocab_tail = [
    dict(type='RandomVocabulary', num_vocab=_base_.num_train_vocab,
         use_descriptions_prob=0.2),
    dict(type='PackDetInputs',
         meta_keys=_base_.mmio_train_meta_keys + ('texts', )),
]
train_pipeline = _base_.mmio_mosaic_train_transforms + _vocab_tail
train_pipeline_stage2 = _base_.mmio_train_transforms + _vocab_tail
train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    dataset=dict(pipeline=train_pipeline))
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001,
         update_buffers=True, strict_load=False, priority=49),
    dict(type='PipelineSwitchHook',
         switch_epoch=max_epochs - close_mosaic_epochs,
         switch_pipeline=train_pipeline_stage2),
]

# 4 GPUs x 8 images; lr 2e-3 is for that total batch.
auto_scale_lr = dict(enable=False, base_batch_size=32)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.025),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={'logit_scale': dict(decay_mult=0.0)}))
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', interval=10, max_keep_ckpts=3,
        # seen-class AP on the held-out zs_val images, never the test split
        save_best='zs/seen_bbox_mAP', rule='greater'))
