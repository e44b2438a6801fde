# RTVP on MMIO, closed scenario (Table 2-a): 80 % / 20 % of the images by
# image, all classes in the vocabulary. The expert is pre-trained on the
# closed train split (see rtvp_s_branch.py).
_base_ = './rtvp_yolo-world-s_4xb8-200e_mmio-zs.py'

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
# the metrics of every closed row of table 2a (mmdet's CocoMetric, and
# precision/recall from ZeroShotCocoMetric), as the baselines
val_evaluator = _base_.mmio_closed_evaluator
test_evaluator = val_evaluator
# the closed split has no held-out split besides the reported one: the last
# checkpoint is used, none is selected on it
default_hooks = dict(checkpoint=dict(save_best=None))
