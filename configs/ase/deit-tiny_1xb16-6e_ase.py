# Image-only DeiT baseline of the ASE paper (Table: transformer baseline):
# mmpretrain's ViT model definition with the DeiT-tiny architecture, random
# init (no ImageNet DeiT weights install offline here; the paper's DeiT
# starts from them: give one with `load_from`), 112x112 input (49 patches).
_base_ = [
    'mmpretrain::_base_/models/vit-base-p16.py',
    '../_base_/datasets/ase_image_only.py',
    '../_base_/schedules/ase_adamw_cosine.py'
]

num_classes = _base_.num_classes
img_size = 112

model = dict(
    data_preprocessor=_base_.data_preprocessor,
    backbone=dict(arch='deit-tiny', img_size=img_size, drop_rate=0.,
                  drop_path_rate=0.1),
    head=dict(
        num_classes=num_classes,
        in_channels=192,
        loss=dict(_delete_=True, type='CrossEntropyLoss', loss_weight=1.0)))

pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),  # the image only
]
train_dataloader = dict(dataset=dict(pipeline=pipeline))
val_dataloader = dict(dataset=dict(pipeline=pipeline))
test_dataloader = dict(dataset=dict(pipeline=pipeline))

# ase_adamw_cosine.py over 6 epochs at lr 5e-4
train_cfg = dict(max_epochs=6, val_interval=3)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
