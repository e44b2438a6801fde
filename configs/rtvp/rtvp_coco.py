# RTVP on COCO, closed set (Table 3): the 80 class names are the
# vocabulary (DatasetVocabularyHook), 640 px, the paper's schedule.
# Model: rtvp_s_model of rtvp_s_branch.py, with its paths
# (rtvp_text_model_name: CLIP ViT-B/32 text tower; rtvp_sam_checkpoint:
# mobile_sam.pt) and the expert weights described there.
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_200e.py',
    './rtvp_s_branch.py',
]

model = {{_base_.rtvp_s_model}}

train_pipeline = {{_base_.rtvp_train_pipeline}}
test_pipeline = {{_base_.rtvp_test_pipeline}}
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

custom_hooks = [
    dict(type='DatasetVocabularyHook'), {{_base_.rtvp_stop_hook}}
]
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'text_encoder': dict(lr_mult=0.0)}))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
