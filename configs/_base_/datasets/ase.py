# ASE multimodal defect classification (mmpretrain). Each sample packs the
# image plus `numeric` (record numbers), `record_text` (record text fields)
# and `description` (VLM-LLM description, '' until tools/ase/describe.py
# has filled the cache given as `description_file`, relative to the data
# root; the multimodal configs inherit ase_described.py, which reads
# `descriptions.jsonl`).
# Data: `python tools/data/make_synthetic.py ase --out data/ase_synth`.
# The train/val/test datasets share one `data_root` and `description_file`:
# tools/train.py and tools/test.py write a top-level value given with
# `--cfg-options data_root=... description_file=...` into the three (the
# values below are resolved when this file is read, so a config that
# inherits it and changes them sets the datasets' fields, as
# ase_described.py does).
dataset_type = 'ASEDataset'
data_root = 'data/ase_synth/'
img_size = 224
description_file = None

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(
        type='PackInputs',
        algorithm_keys=['numeric', 'record_text', 'description']),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train.jsonl',
        meta_file='meta.json',
        description_file=description_file,
        pipeline=train_pipeline))
val_dataloader = dict(
    train_dataloader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        train_dataloader['dataset'],
        ann_file='annotations/val.jsonl',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], ann_file='annotations/test.jsonl'))

# The ASE paper reports macro-F1 (long-tail classes); accuracy and the
# per-class F1 for reference.
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', average='macro'),  # the paper's metric
    dict(type='SingleLabelMetric', items=('f1-score', ), average=None),
]
test_evaluator = val_evaluator
