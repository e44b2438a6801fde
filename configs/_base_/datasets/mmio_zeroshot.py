# MMIO zero-shot detection (RTVP paper, "Dataset and Evaluation Metrics"):
# train on the seen classes (images whose objects are all seen), validate
# (checkpoint selection) on held-out seen-only images (`zs_val`), test on the
# images that contain unseen objects (vocabulary `test_vocabulary`) with
# tools/test.py.
# Data: `python tools/data/make_synthetic.py mmio --out data/mmio_synth`
# (or a real MMIO set converted with tools/data/merge_coco.py, same layout).
#
# The input size is the paper's 640 (`mmio_img_scale`, in the shared
# transforms of mmio_datasets.py). A config at another size redefines the
# pipelines (mmengine resolves them when this file is read), e.g. the CPU
# demos at 320 px:
#   train_pipeline = _base_.mmio_demo_train_transforms + [...]
#   train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
_base_ = './mmio_datasets.py'

dataset_type = 'MMIODataset'
data_root = _base_.mmio_data_root
img_scale = _base_.mmio_img_scale
# classes per training image: all positives + random negatives up to this
num_train_vocab = 80
# Test protocol: 'all' (generalised: seen + unseen names; the metric reports
# unseen, seen and their harmonic mean) or 'unseen' (unseen-only vocabulary),
# e.g. --cfg-options test_dataloader.dataset.vocabulary=unseen
test_vocabulary = 'all'
backend_args = None

train_pipeline = _base_.mmio_train_transforms + [
    dict(
        type='RandomVocabulary',
        num_vocab=num_train_vocab,
        use_descriptions_prob=0.2),
    dict(
        type='PackDetInputs',
        meta_keys=_base_.mmio_train_meta_keys + ('texts', )),
]
test_pipeline = _base_.mmio_test_transforms + [
    dict(type='LoadVocabulary'),
    dict(
        type='PackDetInputs',
        meta_keys=_base_.mmio_test_meta_keys + ('texts', )),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(_base_.mmio_zs_train_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_base_.mmio_zs_val_dataset, pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        _base_.mmio_zs_test_dataset,
        vocabulary=test_vocabulary,
        pipeline=test_pipeline))

# COCO box AP on the unseen and seen classes, and their harmonic mean;
# validation sees the seen classes only.
val_evaluator = _base_.mmio_zs_val_evaluator
test_evaluator = _base_.mmio_zs_evaluator
