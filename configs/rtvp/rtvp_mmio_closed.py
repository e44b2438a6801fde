# RTVP on MMIO, closed scenario (Table 2-a): 80 % / 20 % of the images by
# image, all classes in the vocabulary. The expert is pre-trained on the
# closed train split (see rtvp_s_branch.py).
_base_ = './rtvp_mmio.py'

data_root = 'data/mmio_synth/'
train_dataloader = dict(
    dataset=dict(
        ann_file='annotations/instances_train.json',
        split_path=None,
        vocabulary='all'))
val_dataloader = dict(
    dataset=dict(
        ann_file='annotations/instances_val.json',
        split_path=None,
        vocabulary='all'))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
