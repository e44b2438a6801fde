# RTVP, zero-shot evaluation on LVIS v1 (Table 4): train on the LVIS base
# classes (common + frequent, as training vocabulary and annotations; the
# paper starts from O365/GoldG pre-training), test on LVIS val with all 1203
# class names as the vocabulary (DatasetVocabularyHook) and mmdet's
# LVISMetric (box AP, with APr / APc / APf). Model, schedule and paths:
# configs/_base_/models/rtvp_s_paper.py.
# `annotations/lvis_v1_train_base.json` is lvis_v1_train.json without the
# rare-class annotations; all 1203 categories stay so the labels keep their
# class names:
#   python tools/data/lvis_base_split.py \
#       data/lvis_v1/annotations/lvis_v1_train.json \
#       data/lvis_v1/annotations/lvis_v1_train_base.json
_base_ = [
    'mmdet::_base_/datasets/lvis_v1_instance.py',
    '../_base_/models/rtvp_s_paper.py',
]

train_pipeline = {{_base_.rtvp_train_pipeline}}
test_pipeline = {{_base_.rtvp_test_pipeline}}
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        dataset=dict(
            ann_file='annotations/lvis_v1_train_base.json',
            pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='LVISMetric', metric='bbox')
test_evaluator = val_evaluator

# training vocabulary: the base (common + frequent) names only, so the rare
# classes are never seen in training, not even as negatives
custom_hooks = [
    dict(type='DatasetVocabularyHook', train_exclude_frequencies=('r', )),
    {{_base_.rtvp_stop_hook}}
]
