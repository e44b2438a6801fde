# ASE paper's full model (Fig. 3): image backbone + frozen text encoder over
# the VLM-LLM descriptor and record text + numeric-record MLP, Progressive
# Feature Alignment (PFA) + Cross-Modality Attention Fusion (CMAF), linear
# head; task-specific augmentation and class-balanced sampling for the tail.
# Sized to train on CPU in a few minutes on the procedural ASE set:
#   python tools/data/make_synthetic.py ase --out data/ase_synth
#   python tools/ase/describe.py data/ase_synth --backend record
#   python tools/train.py configs/ase/pfa_cmaf_ase.py --cfg-options \
#       train_dataloader.dataset.description_file=$PWD/data/ase_synth/descriptions.jsonl
#   (same for val_dataloader / test_dataloader)
# (tools/ase/run_ase_benchmark.py does all of it.)
_base_ = ['../_base_/default_runtime_cls.py', '../_base_/datasets/ase.py']

num_classes = 5
num_numeric_fields = 9  # len(meta.json["numeric_fields"])
img_size = 128
embed_dims = 256

model = dict(
    type='ASEMultimodalClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_classes,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    # half-width ResNet-18 (stem/base 32 channels, 256-d last stage): the
    # image branch starts from random weights and the AOI images carry
    # little signal, so width buys little; it keeps CPU training short.
    # Full width: stem_channels=64, base_channels=64.
    backbone=dict(
        type='ResNet', depth=18, num_stages=4, out_indices=(3, ),
        stem_channels=32, base_channels=32, style='pytorch'),
    # the packaged all-MiniLM-L6-v2, frozen (384-d tokens)
    text_encoder=dict(type='HFTextEncoder', frozen=True, max_length=96),
    text_cache_size=4096,
    numeric_encoder=dict(
        type='NumericRecordEncoder',
        num_fields=num_numeric_fields,
        hidden_channels=128),
    pfa_neck=dict(type='PFANeck', embed_dims=embed_dims, dropout=0.1),
    fusion=dict(type='CMAFNeck', embed_dims=embed_dims, num_heads=4,
                dropout=0.1),
    align_loss=dict(
        type='PFALoss', temperature=0.1, start_ratio=0.25, end_ratio=1.0,
        ramp_end=0.5, loss_weight=0.5),
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=embed_dims,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

# task-specific augmentation: switch one off with its `prob=0` (e.g.
# --cfg-options train_dataloader.dataset.pipeline.1.prob=0) or drop it;
# pfa_cmaf_ase_no_aug.py drops them all (and the balanced sampler)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='AOIDotJitter', max_shift=1, drop_prob=0.05, prob=0.5),
    dict(type='AOIColorShift', hue_shift=6, bg_shift=8, prob=0.5),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='RecordFieldDropout', numeric_prob=0.15, text_prob=0.15,
         prob=0.3),
    dict(type='DescriptionParaphrase', prob=0.3),
    dict(type='PackInputs',
         algorithm_keys=['numeric', 'record_text', 'description']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs',
         algorithm_keys=['numeric', 'record_text', 'description']),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    # tail classes drawn more often (power 0.5: square-root balancing)
    sampler=dict(_delete_=True, type='ClassBalancedSampler', power=0.5),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', average='macro'),  # the paper's metric
    dict(type='SingleLabelMetric', items=('f1-score', ), average=None),
    dict(type='ConfusionMatrixPlot', num_classes=num_classes),
]
test_evaluator = val_evaluator

max_epochs = 8
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=1e-5),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs,
                    max_keep_ckpts=1))
