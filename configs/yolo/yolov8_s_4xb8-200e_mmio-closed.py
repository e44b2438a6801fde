# YOLOv8-S on MMIO, closed split (RTVP paper, table 2a: general detectors
# trained on 80 % of the images and tested on 20 %, all classes; YOLOv8-S
# is the table's first row, 39.9 AP). mmyolo's model and training recipe
# (yolov8_s_syncbn_fast_8xb16-500e_coco.py) built from mmase's YOLOv8 parts
# (YOLOv8CSPDarknet, YOLOv8PAFPN, YOLOv8Head: the box branch, task-aligned
# assigner and losses of YOLO-World's head) inside mmdet's
# SingleStageDetector. A closed-set detector has a fixed classifier, so it
# has no zero-shot variant; yolov8_s_4xb8-200e_mmio-seen.py is the same
# detector on the seen classes (the expert's first stage of RTVP).
#
# Loaders and metrics: the closed split's of
# configs/_base_/datasets/mmio_datasets.py, as the other table-2a rows, with
# YOLOv8's mosaic for training. Labels are the dataset's class ids (no
# vocabulary transforms).
#
# YOLOv8's recipe:
# - SGD lr 0.01, momentum 0.937, Nesterov, weight decay 5e-4 on the conv
#   weights only (ultralytics' optimizer for schedules over 10k iterations:
#   200 epochs of MMIO at batch 32 are about 110k), gradient clipping at 10
#   (mmyolo); 3 linear warm-up epochs, then a linear decay to 0.01 x lr
#   (YOLOv8's `lrf`). Not reproduced: the momentum warm-up 0.8 -> 0.937 and
#   the bias learning rate starting at 0.1 (mmyolo's YOLOv5ParamSchedulerHook);
#   mmdet's schedulers set one learning rate for all groups.
# - Mosaic + RandomAffine (`mmio_mosaic_train_transforms`, the same
#   augmentation as yolo-world_s_4xb8-200e_mmio-zs.py), switched off for the
#   last `close_mosaic_epochs` epochs by mmdet's PipelineSwitchHook;
# - EMA of the weights (mmdet's ExpMomentumEMA through EMAHook, YOLOv8's
#   momentum 1e-4).
# - 200 epochs and a total batch of 32 (4 GPUs x 8): the paper's schedule
#   for its table (mmyolo trains COCO 500 epochs at batch 128).
# Checkpoints: every 10 epochs, none selected on the split (`save_best=None`):
# the closed split has no validation set apart from its test images.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_200e.py',
    '../_base_/datasets/mmio_datasets.py',
]

# Classes of the dataset: 38 for the embedded benchmark
# (tools/data/make_synthetic.py), 100 for MMIO.
num_classes = 38
img_scale = _base_.mmio_img_scale
deepen_factor = 0.33
widen_factor = 0.5
last_stage_out_channels = 1024
train_batch_size_per_gpu = 8
norm_cfg = dict(type='SyncBN', momentum=0.03, eps=0.001)

model = dict(
    type='SingleStageDetector',
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
        norm_cfg=norm_cfg),
    neck=dict(
        type='YOLOv8PAFPN',
        in_channels=[256, 512, last_stage_out_channels],
        out_channels=[256, 512, last_stage_out_channels],
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        num_csp_blocks=3,
        norm_cfg=norm_cfg),
    bbox_head=dict(
        type='YOLOv8Head',
        num_classes=num_classes,
        in_channels=[256, 512, last_stage_out_channels],
        widen_factor=widen_factor,
        strides=(8, 16, 32),
        reg_max=16,
        prior_cfg=dict(num_objects=5, img_size=img_scale[0]),
        norm_cfg=norm_cfg),
    train_cfg=dict(
        assigner=dict(
            type='BatchTaskAlignedAssigner', topk=10, alpha=0.5, beta=6.0)),
    test_cfg=dict(
        score_thr=0.001,
        nms_pre=30000,
        nms=dict(type='nms', iou_threshold=0.7),
        max_per_img=300))

max_epochs = 200
close_mosaic_epochs = 10
train_pipeline = _base_.mmio_mosaic_train_transforms + \
    _base_.mmio_closed_set_train_pipeline[-1:]
train_pipeline_stage2 = _base_.mmio_closed_set_train_pipeline
test_pipeline = _base_.mmio_closed_set_test_pipeline
train_dataloader = dict(
    _base_.mmio_closed_train_dataloader,
    batch_size=train_batch_size_per_gpu,
    dataset=dict(_base_.mmio_closed_train_dataset, pipeline=train_pipeline))
val_dataloader = _base_.mmio_closed_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.mmio_closed_evaluator
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=10)
base_lr = 0.01
optim_wrapper = dict(
    optimizer=dict(
        type='SGD',
        lr=base_lr,
        momentum=0.937,
        nesterov=True,
        weight_decay=5e-4),
    # norms and biases without decay (the schedule base)
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=3, convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.01, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001,
         update_buffers=True, strict_load=False, priority=49),
    dict(type='PipelineSwitchHook',
         switch_epoch=max_epochs - close_mosaic_epochs,
         switch_pipeline=train_pipeline_stage2),
]
default_hooks = dict(
    checkpoint=dict(interval=10, max_keep_ckpts=3, save_best=None))
