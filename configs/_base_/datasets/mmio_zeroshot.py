# MMIO zero-shot detection (RTVP paper, "Dataset and Evaluation Metrics"):
# train on the seen classes (images whose objects are all seen), validate
# (checkpoint selection) on held-out seen-only images (`zs_val`), test on the
# images that contain unseen objects (vocabulary `test_vocabulary`) with
# tools/test.py. The pipelines and loaders of mmio_closed.py (shared
# transforms + vocabulary transforms) with the zero-shot datasets and
# metrics of mmio_datasets.py.
# Data: `python tools/data/make_synthetic.py mmio --out data/mmio_synth`
# (or a real MMIO set converted with tools/data/merge_coco.py, same layout).
#
# The input size is the paper's 640 (`mmio_img_scale`, in the shared
# transforms of mmio_datasets.py). A config at another size redefines the
# pipelines (mmengine resolves them when this file is read), e.g. the CPU
# demos at 320 px:
#   train_pipeline = _base_.mmio_demo_train_transforms + [...]
#   train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
_base_ = './mmio_closed.py'

# Test protocol: 'all' (generalised: seen + unseen names; the metric reports
# unseen, seen and their harmonic mean) or 'unseen' (unseen-only vocabulary),
# e.g. --cfg-options test_dataloader.dataset.vocabulary=unseen
test_vocabulary = 'all'

train_dataloader = dict(
    dataset=dict(
        _base_.mmio_zs_train_dataset,
        _delete_=True,
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _base_.mmio_zs_val_dataset,
        _delete_=True,
        pipeline=_base_.test_pipeline))
test_dataloader = dict(
    dataset=dict(
        _base_.mmio_zs_test_dataset,
        _delete_=True,
        vocabulary=test_vocabulary,
        pipeline=_base_.test_pipeline))

# COCO box AP on the unseen and seen classes, and their harmonic mean;
# validation sees the seen classes only.
val_evaluator = dict(_base_.mmio_zs_val_evaluator, _delete_=True)
test_evaluator = dict(_base_.mmio_zs_evaluator, _delete_=True)
