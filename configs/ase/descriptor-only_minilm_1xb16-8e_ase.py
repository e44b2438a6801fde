# Baseline "descriptor only": the text branch of
# pfa-cmaf_effnet-lite0_1xb16-8e_ase.py alone (frozen MiniLM over the
# descriptor, PFANeck text projection, masked mean, linear head). No image, no
# record, nothing to fuse or align; the image is still loaded (tiny) because
# the data pipeline packs it.
_base_ = './pfa-cmaf_effnet-lite0_1xb16-8e_ase.py'

model = dict(
    backbone=None,
    text_keys=('description', ),
    numeric_encoder=None,
    fusion=None,
    align_loss=None)

text_only_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(8, 8)),
    dict(type='PackInputs', algorithm_keys=['description']),
]
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='TailClassAugment',
         class_counts={{_base_.train_class_counts}},
         max_prob=0.8,
         transforms=[dict(type='DescriptionParaphrase', prob=0.5)]),
    dict(type='Resize', scale=(8, 8)),
    dict(type='PackInputs', algorithm_keys=['description']),
]))
val_dataloader = dict(dataset=dict(pipeline=text_only_pipeline))
test_dataloader = dict(dataset=dict(pipeline=text_only_pipeline))
