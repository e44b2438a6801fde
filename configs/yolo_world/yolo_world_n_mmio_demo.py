# The YOLO-World baseline at the width and schedule of
# configs/rtvp/rtvp_mmio_demo.py (quarter width, 2 epochs, BN recalibration
# before the evaluation), for a side-by-side comparison with RTVP on the
# embedded benchmark: the only difference is RTVP's Mobile-SAM prompt branch.
_base_ = './yolo_world_s_mmio_demo.py'

widen_factor = 0.25
max_epochs = 2
base_lr = 2e-3

model = dict(
    backbone=dict(widen_factor=widen_factor),
    neck=dict(widen_factor=widen_factor),
    bbox_head=dict(widen_factor=widen_factor))

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=30),
    dict(type='CosineAnnealingLR', eta_min=base_lr * 0.05, begin=0,
         end=max_epochs, T_max=max_epochs, by_epoch=True,
         convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(
        type='mmpretrain.PreciseBNHook',
        num_samples=256,
        interval=max_epochs,
        priority='ABOVE_NORMAL'),
]
