# Baseline "image only, pre-trained": the image branch of
# pfa-cmaf_effnet-lite0_1xb16-8e_ase.py (ImageNet EfficientNet-Lite0, same
# frozen stages, augmentation, sampler and schedule) with mmpretrain's
# ImageClassifier: backbone + GAP + linear.
_base_ = './pfa-cmaf_effnet-lite0_1xb16-8e_ase.py'

model = dict(
    _delete_=True,
    type='ImageClassifier',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=320,  # last level of EfficientNet-Lite0
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
