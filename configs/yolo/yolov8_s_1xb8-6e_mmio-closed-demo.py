# CPU demo of yolov8_s_4xb8-200e_mmio-closed.py on the embedded benchmark
# (`python tools/data/make_synthetic.py mmio --out data/mmio_synth`):
# 320 px inputs, 6 epochs, BatchNorm instead of SyncBN, light loaders, like
# the RTMDet-S / YOLOX-S demos beside it. A pipeline/speed check on 2 CPU
# cores, not the paper's schedule. Changes from the full recipe, for a run
# of a few hundred iterations:
# - the shared resize/flip/pad pipeline of the other closed demos instead
#   of mosaic (so no close-mosaic switch), as the YOLO-World demos do;
# - AdamW lr 2e-3, weight decay 0.025 (ultralytics' optimizer for
#   schedules under 10k iterations is AdamW; lr and decay are those of the
#   YOLO-World / RTVP demos, not tuned here), 50 warm-up iterations, then
#   YOLOv8's linear decay to 0.01 x lr;
# - no EMA: the BN statistics are recomputed with the final weights
#   (mmpretrain's PreciseBNHook) before the evaluation at the end, as in the
#   YOLO-World demos (BN running averages lag the weights after so few
#   iterations).
# Measured on data/mmio_synth (480 training images, 60 batches per epoch),
# 2 CPU cores shared with other jobs, OMP_NUM_THREADS=1: 5.0 s per batch of
# 8, 30 min of training for the 6 epochs, 1.4 min for PreciseBN and the
# evaluation. Its accuracy has not been measured over seeds yet.
_base_ = [
    './yolov8_s_4xb8-200e_mmio-closed.py',
    '../_base_/schedules/cpu_demo.py'
]

img_scale = _base_.mmio_demo_img_scale
max_epochs = 6
base_lr = 2e-3

norm_cfg = dict(type='BN', momentum=0.03, eps=0.001)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    neck=dict(norm_cfg=norm_cfg),
    bbox_head=dict(
        prior_cfg=dict(num_objects=5, img_size=img_scale[0]),
        norm_cfg=norm_cfg),
    test_cfg=dict(nms_pre=1000, max_per_img=100))

# the closed split's loaders at 320 px with one worker, no mosaic
train_pipeline = _base_.mmio_demo_closed_set_train_pipeline
test_pipeline = _base_.mmio_demo_closed_set_test_pipeline
train_dataloader = dict(
    _base_.mmio_demo_closed_train_dataloader,
    # every image is padded to img_scale, so aspect-ratio grouping does
    # nothing; a plain batch sampler gives PreciseBNHook its batch size
    batch_sampler=None)
val_dataloader = _base_.mmio_demo_closed_val_dataloader
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(
    optimizer=dict(
        _delete_=True, type='AdamW', lr=base_lr, weight_decay=0.025))
# the demo warm-up (configs/_base_/schedules/cpu_demo.py), then YOLOv8's
# linear decay to 1 % (its `end` is the training epochs, set by the runner)
param_scheduler = [
    _base_.cpu_demo_param_scheduler[0],
    dict(type='LinearLR', start_factor=1.0, end_factor=0.01, by_epoch=True,
         begin=0, convert_to_iter_based=True),
]
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(_base_.cpu_demo_precise_bn_hook, interval=max_epochs),
]
default_hooks = _base_.cpu_demo_default_hooks
