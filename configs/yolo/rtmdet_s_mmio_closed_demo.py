# CPU demo of rtmdet_s_mmio_closed.py on the embedded benchmark
# (`python tools/data/make_synthetic.py mmio --out data/mmio_synth`):
# 320 px inputs, a few epochs, BatchNorm instead of SyncBN, light loaders.
# A pipeline/speed check, not the paper's schedule.
_base_ = './rtmdet_s_mmio_closed.py'

img_scale = (320, 320)
max_epochs = 6
base_lr = 0.004

norm_cfg = dict(type='BN')
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    neck=dict(norm_cfg=norm_cfg),
    bbox_head=dict(norm_cfg=norm_cfg),
    test_cfg=dict(nms_pre=1000, max_per_img=100))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
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
    dict(type='LoadImageFromFile', backend_args=None),
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
    num_workers=1,
    persistent_workers=False,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(
    max_epochs=max_epochs, val_interval=max_epochs, dynamic_intervals=None)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', eta_min=base_lr * 0.05, begin=0,
         end=max_epochs, T_max=max_epochs, by_epoch=True,
         convert_to_iter_based=True),
]
custom_hooks = []
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
