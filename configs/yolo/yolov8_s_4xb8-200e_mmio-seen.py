# The first stage of RTVP (paper, "Expert-assisted Domain Adaptation": the
# expert CNN "is first pre-trained on visible categories"; "Implementation
# Details": "The expert model is trained on MMIO seen classes for zero-shot
# task"): yolov8_s_4xb8-200e_mmio-closed.py (same model and recipe) trained
# closed-set on the SEEN classes of the zero-shot split. Its backbone is a
# YOLOv8-S CSP-Darknet with the widths of RTVP's expert
# (configs/_base_/models/rtvp_s_branch.py: `rtvp_expert`), so it loads into it
# with nothing missing.
#
# Data: the zero-shot training images (all of their objects seen); labels
# are the seen-class ids (the dataset's `vocabulary='seen'`, in the order of
# the annotation file). Checkpoints are selected on `zs_val` (held-out
# seen-only training images), never on the zero-shot test split; the test
# loader is zs_val as well (a seen-class detector cannot name the unseen
# classes of the test split).
#
# The two-stage pipeline:
#   python tools/train.py configs/yolo/yolov8_s_4xb8-200e_mmio-seen.py \
#       --work-dir work_dirs/yolov8_s_4xb8-200e_mmio-seen
#   python tools/train.py configs/rtvp/rtvp_yolo-world-s_4xb8-200e_mmio-zs.py \
#       --cfg-options model.expert.init_cfg.type=Pretrained \
#       model.expert.init_cfg.checkpoint=work_dirs/yolov8_s_4xb8-200e_mmio-seen/best_zs_seen_bbox_mAP_epoch_N.pth \
#       model.expert.init_cfg.prefix=backbone.
# (N: the epoch of the best checkpoint the first command kept; with the EMA
# hook the checkpoint's `state_dict` holds the averaged weights.) The
# `backbone.*` weights become RTVP's expert, which stays frozen while RTVP
# trains.
_base_ = './yolov8_s_4xb8-200e_mmio-closed.py'

# Seen classes of the split: 26 of the 38 for the embedded benchmark
# (data/mmio_synth/split.json); for MMIO, the length of the "seen" list of
# its split.json.
num_classes = 26

model = dict(bbox_head=dict(num_classes=num_classes))

train_dataloader = dict(
    dataset=dict(_base_.mmio_zs_train_dataset, _delete_=True,
                 pipeline=_base_.train_pipeline))
val_dataloader = dict(
    dataset=dict(_base_.mmio_zs_val_dataset, _delete_=True,
                 pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
# COCO box AP of the seen classes on zs_val (ZeroShotCocoMetric, labels
# mapped to categories by class name)
val_evaluator = dict(_base_.mmio_zs_val_evaluator, _delete_=True)
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(save_best='zs/seen_bbox_mAP', rule='greater'))
