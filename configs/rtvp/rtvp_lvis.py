# RTVP, zero-shot evaluation on LVIS v1 (Table 4): train on the LVIS base
# classes (common + frequent, as training vocabulary and annotations; the
# paper starts from O365/GoldG pre-training), test on LVIS val with all 1203
# class names as the vocabulary (DatasetVocabularyHook) and mmdet's
# LVISMetric (box AP, with APr / APc / APf).
# `annotations/lvis_v1_train_base.json` is lvis_v1_train.json without the
# rare-class annotations; all 1203 categories stay so the labels keep their
# class names:
#   python tools/data/lvis_base_split.py \
#       data/lvis_v1/annotations/lvis_v1_train.json \
#       data/lvis_v1/annotations/lvis_v1_train_base.json
_base_ = [
    'mmdet::_base_/datasets/lvis_v1_instance.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_200e.py',
    './rtvp_s_branch.py',
]

text_model_name = 'openai/clip-vit-base-patch32'
sam_checkpoint = 'checkpoints/mobile_sam.pt'
img_scale = (640, 640)

model = dict(
    type='RTVP',
    data_preprocessor={{_base_.rtvp_data_preprocessor}},
    backbone={{_base_.rtvp_backbone}},
    text_encoder=dict(
        type='HFTextEncoder',
        model_name=text_model_name,
        model_type='clip',
        frozen=True),
    neck={{_base_.rtvp_neck}},
    bbox_head={{_base_.rtvp_bbox_head}},
    sam_backbone=dict(
        type='MobileSAMViT',
        arch='vit_t',
        checkpoint=sam_checkpoint,
        frozen=True,
        with_adapter=True,
        in_mean=[0., 0., 0.],
        in_std=[255., 255., 255.]),
    expert={{_base_.rtvp_expert}},
    domain_adapter={{_base_.rtvp_domain_adapter}},
    prompt_refiner={{_base_.rtvp_prompt_refiner}},
    aux_head={{_base_.rtvp_aux_head}},
    interaction={{_base_.rtvp_interaction}},
    interaction_position='backbone',
    train_cfg={{_base_.rtvp_train_cfg}},
    test_cfg=dict(
        score_thr=0.001,
        nms_pre=30000,
        nms=dict(type='nms', iou_threshold=0.7),
        max_per_img=300))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        dataset=dict(
            ann_file='annotations/lvis_v1_train_base.json',
            pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='LVISMetric', metric='bbox')
test_evaluator = val_evaluator

# training vocabulary: the base (common + frequent) names only, so the rare
# classes are never seen in training, not even as negatives
custom_hooks = [
    dict(type='DatasetVocabularyHook', train_exclude_frequencies=('r', ))
]
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'text_encoder': dict(lr_mult=0.0)}))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
