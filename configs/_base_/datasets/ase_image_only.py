# The image-only ASE baselines (ResNet-50, DeiT, the few-shot prototype
# classifier): the data of ase.py packed without the record and the
# description, mmpretrain's ImageNet normalisation (`data_preprocessor`,
# merged into the model by the configs) and class-balanced sampling
# (power 0.5). Each config sets its input size in its pipeline.
_base_ = './ase.py'

num_classes = 5
data_preprocessor = dict(
    type='ClsDataPreprocessor',
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassBalancedSampler', power=0.5))
