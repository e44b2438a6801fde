# Few-shot baseline: a prototypical-network style classifier (nearest class
# mean of normalised embeddings, episodic leave-one-out training on each
# class-balanced batch), image only, a half-width ResNet-18 (random init)
# at 128x128.
_base_ = [
    '../_base_/datasets/ase_image_only.py',
    '../_base_/schedules/ase_adamw_cosine.py'
]

num_classes = _base_.num_classes
img_size = 128

model = dict(
    type='ImageClassifier',
    data_preprocessor=_base_.data_preprocessor,
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
    dict(type='PackInputs'),  # the image only
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
