# RTVP on COCO, closed set (Table 3): the 80 class names are the
# vocabulary (DatasetVocabularyHook), 640 px, the paper's schedule.
# Model, schedule and paths: configs/_base_/models/rtvp_s_paper.py.
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    '../_base_/models/rtvp_s_paper.py',
]

train_pipeline = {{_base_.rtvp_train_pipeline}}
test_pipeline = {{_base_.rtvp_test_pipeline}}
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

custom_hooks = [
    dict(type='DatasetVocabularyHook'), {{_base_.rtvp_stop_hook}}
]
