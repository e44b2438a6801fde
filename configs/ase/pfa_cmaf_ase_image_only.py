# Ablation "image only": the same backbone, augmentation, sampler and
# schedule as pfa_cmaf_ase.py, without record, descriptor or fusion
# (mmpretrain's ImageClassifier: backbone + GAP + linear head).
_base_ = './pfa_cmaf_ase.py'

model = dict(
    _delete_=True,
    type='ImageClassifier',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=256,  # last stage of the half-width ResNet-18
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
