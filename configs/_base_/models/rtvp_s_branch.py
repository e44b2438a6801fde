# RTVP branch of the S model (Mobile-SAM-T prompt branch added to
# YOLO-World-S). Not a runnable config: the RTVP configs take these dicts
# with `{{_base_.rtvp_*}}`, so MMIO, COCO and LVIS share one definition.
#
# Weights:
# - `sam_checkpoint`: the official Mobile-SAM weights `mobile_sam.pt`
#   (keys `image_encoder.*`; only the image encoder is loaded). The encoder
#   is frozen, as in the paper.
# - Expert CNN: a YOLOv8-S CSP-Darknet (strides 4/8/16 = stem, stage 1,
#   stage 2 targets). The paper pre-trains it on the seen classes as a
#   closed-set YOLOv8-S detector:
#   `configs/yolo/yolov8_s_4xb8-200e_mmio-seen.py`
#   (zero-shot training images, seen-class labels, selected on zs_val).
#   Pass its checkpoint with
#     --cfg-options model.expert.init_cfg.type=Pretrained \
#       model.expert.init_cfg.checkpoint=work_dirs/yolov8_s_4xb8-200e_mmio-seen/best_zs_seen_bbox_mAP_epoch_N.pth \
#       model.expert.init_cfg.prefix=backbone.
#   (its `backbone.*` weights become the expert). The expert is frozen while
#   RTVP trains (a fixed teacher of the domain loss; see RTVP's docstring
#   for why this departs from the paper's "not frozen").
rtvp_sam_checkpoint = 'checkpoints/mobile_sam.pt'
# sparse selection patch in input pixels (Table 6: 32 / 64 / 128)
rtvp_patch_size = 32

rtvp_sam_backbone = dict(
    type='MobileSAMViT',
    arch='vit_t',
    checkpoint=rtvp_sam_checkpoint,
    frozen=True,
    with_adapter=True,
    # the detector's preprocessor gives RGB / 255; SAM re-normalises
    in_mean=[0., 0., 0.],
    in_std=[255., 255., 255.])
# YOLOv8-S CSP-Darknet: the expert (strides 4/8/16) and, with SyncBN, the
# detector's backbone of the COCO / LVIS configs (rtvp_backbone)
rtvp_csp_darknet_s = dict(
    type='YOLOv8CSPDarknet',
    deepen_factor=0.33,
    widen_factor=0.5,
    last_stage_out_channels=1024)
rtvp_expert = dict(rtvp_csp_darknet_s, out_indices=(1, 2, 3))
rtvp_domain_adapter = dict(
    type='ExpertDomainAdapter',
    expert_strides=(4, 8, 16),
    level_names=('stem', 'stage1', 'stage2'),
    embed_channels=128,
    decoder_channels=128,
    mask_ratio=0.25,
    mask_patch_size=32,
    loss_domain=dict(
        type='DomainReconstructionLoss',
        normalize='channel',
        detach_target=True,
        loss_weight=1.0),
    # stop optimising the adaptation layers once the summed domain loss
    # stays below 0.05 for 500 iterations (checked by rtvp_stop_hook)
    stop_threshold=0.05,
    stop_patience=500)
# applies the stop criterion above: reads the domain losses every 50
# iterations (one host sync per check) and freezes the adaptation branch
rtvp_stop_hook = dict(type='DomainAdaptationStopHook', interval=50)
rtvp_prompt_refiner = dict(
    type='VisualPromptRefiner',
    scorer=dict(type='UncertaintyScorer', reduction=16, kernel_size=7),
    selection=dict(
        type='SparseSelection', patch_size=rtvp_patch_size,
        topk_ratio=0.25))
rtvp_aux_head = dict(
    type='RTVPAuxHead',
    feat_channels=64,
    num_convs=2,
    assigner=dict(type='TaskAlignedAssigner', topk=10),
    loss_cls=dict(
        type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
    loss_bbox=dict(type='CIoULoss', loss_weight=2.0),
    loss_inside_weight=1.0)
rtvp_interaction = dict(
    type='TextVisualPromptInteraction',
    embed_channels=128,
    num_heads=4,
    init_scale=0.1,
    use_text=True)

# YOLO-World-S parts and 640 px pipelines, for the configs that do not
# inherit the MMIO YOLO-World config (COCO, LVIS). Same numbers as
# yolo-world_s_4xb8-200e_mmio-zs.py.
rtvp_text_model_name = 'openai/clip-vit-base-patch32'
rtvp_text_channels = 512
rtvp_data_preprocessor = dict(
    type='DetDataPreprocessor',
    mean=[0., 0., 0.],
    std=[255., 255., 255.],
    bgr_to_rgb=True,
    pad_size_divisor=32)
rtvp_backbone = dict(
    rtvp_csp_darknet_s,
    norm_cfg=dict(type='SyncBN', momentum=0.03, eps=0.001))
rtvp_text_encoder = dict(
    type='HFTextEncoder',
    model_name=rtvp_text_model_name,
    model_type='clip',
    frozen=True)
rtvp_neck = dict(
    type='YOLOWorldPAFPN',
    in_channels=[256, 512, 1024],
    out_channels=[256, 512, 1024],
    guide_channels=rtvp_text_channels,
    embed_channels=[128, 256, 512],
    num_heads=[4, 8, 16],
    deepen_factor=0.33,
    widen_factor=0.5,
    norm_cfg=dict(type='SyncBN', momentum=0.03, eps=0.001))
rtvp_bbox_head = dict(
    type='YOLOWorldHead',
    in_channels=[256, 512, 1024],
    embed_dims=rtvp_text_channels,
    widen_factor=0.5,
    strides=(8, 16, 32),
    reg_max=16,
    norm_cfg=dict(type='SyncBN', momentum=0.03, eps=0.001))
rtvp_train_cfg = dict(
    assigner=dict(
        type='BatchTaskAlignedAssigner', topk=10, alpha=0.5, beta=6.0))
rtvp_test_cfg = dict(
    score_thr=0.001,
    nms_pre=30000,
    nms=dict(type='nms', iou_threshold=0.7),
    max_per_img=300)
# the whole RTVP-S detector
rtvp_s_model = dict(
    type='RTVP',
    data_preprocessor=rtvp_data_preprocessor,
    backbone=rtvp_backbone,
    text_encoder=rtvp_text_encoder,
    neck=rtvp_neck,
    bbox_head=rtvp_bbox_head,
    sam_backbone=rtvp_sam_backbone,
    expert=rtvp_expert,
    domain_adapter=rtvp_domain_adapter,
    prompt_refiner=rtvp_prompt_refiner,
    aux_head=rtvp_aux_head,
    interaction=rtvp_interaction,
    interaction_position='backbone',
    train_cfg=rtvp_train_cfg,
    test_cfg=rtvp_test_cfg)
rtvp_img_scale = (640, 640)
# backend_args=None as in mmdet's dataset bases (local files)
rtvp_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=rtvp_img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=rtvp_img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='PackDetInputs'),
]
rtvp_test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=rtvp_img_scale, keep_ratio=True),
    dict(type='Pad', size=rtvp_img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
