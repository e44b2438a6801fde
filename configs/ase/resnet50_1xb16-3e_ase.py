# Image-only ResNet-50 baseline of the ASE paper (Table: CNN baseline),
# mmpretrain's model definition. Random init: no ImageNet ResNet-50 weights
# install offline here (give one with `model.backbone.init_cfg` / `load_from`);
# pfa-cmaf_effnet-lite0_1xb16-8e_ase_image-only.py is the pre-trained
# image-only baseline. Depth 50 kept; 96 px and 3 epochs so it trains on one
# CPU core in about a minute.
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    '../_base_/datasets/ase_image_only.py',
    '../_base_/schedules/ase_adamw_cosine.py'
]

num_classes = _base_.num_classes
img_size = 96

model = dict(
    data_preprocessor=_base_.data_preprocessor,
    head=dict(num_classes=num_classes, topk=(1, )))

pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),  # the image only
]
train_dataloader = dict(dataset=dict(pipeline=pipeline))
val_dataloader = dict(dataset=dict(pipeline=pipeline))
test_dataloader = dict(dataset=dict(pipeline=pipeline))

# ase_adamw_cosine.py over 3 epochs
train_cfg = dict(max_epochs=3, val_interval=3)
