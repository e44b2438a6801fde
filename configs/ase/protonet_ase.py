# Few-shot baseline: a prototypical-network style classifier (nearest class
# mean of normalised embeddings, episodic leave-one-out training on each
# class-balanced batch), image only, a half-width ResNet-18 (random init)
# at 128x128.
_base_ = [
    '../_base_/datasets/ase.py', '../_base_/schedules/ase_adamw_cosine.py'
]

num_classes = 5
img_size = 128

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_classes,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet', depth=18, out_indices=(3, ), stem_channels=32,
        base_channels=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='PrototypeClsHead',
        num_classes=num_classes,
        in_channels=256,
        embed_dims=128,
        scale=10.,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=20,
    # balanced batches give every class support samples in each episode
    sampler=dict(_delete_=True, type='ClassBalancedSampler', power=1.0),
    dataset=dict(pipeline=pipeline))
val_dataloader = dict(dataset=dict(pipeline=pipeline))
test_dataloader = dict(dataset=dict(pipeline=pipeline))

# ase_adamw_cosine.py without gradient clipping
optim_wrapper = dict(clip_grad=None)
