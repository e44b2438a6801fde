# MMIO closed-set detection (RTVP paper, table 2a): 80 % / 20 % of the
# images, all classes, for a detector that reads the class names (RTVP,
# YOLO-World): the shared transforms of mmio_datasets.py with the
# vocabulary transforms (sampled class names per training image; every
# class name at test time). mmio_zeroshot.py is this file with the
# zero-shot split's datasets.
# Data: `python tools/data/make_synthetic.py mmio --out data/mmio_synth`.
#
# 640 px inputs; a config at another size redefines the pipelines (see
# mmio_zeroshot.py).
_base_ = './mmio_datasets.py'

dataset_type = 'MMIODataset'
data_root = _base_.mmio_data_root
img_scale = _base_.mmio_img_scale
# classes per training image: all positives + random negatives up to this
num_train_vocab = 80
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

# the closed split's loaders with the pipelines above
train_dataloader = dict(
    _base_.mmio_closed_train_dataloader,
    dataset=dict(_base_.mmio_closed_train_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    _base_.mmio_closed_val_dataloader,
    dataset=dict(_base_.mmio_closed_val_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader

# COCO AP (mmdet's CocoMetric) plus precision/recall and the class-group AP
# (ZeroShotCocoMetric); see mmio_datasets.py.
val_evaluator = _base_.mmio_closed_evaluator
test_evaluator = val_evaluator
