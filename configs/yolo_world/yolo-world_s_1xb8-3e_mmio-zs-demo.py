# CPU demo of yolo-world_s_4xb8-200e_mmio-zs.py on the embedded benchmark
# (`python tools/data/make_synthetic.py mmio --out data/mmio_synth`):
# the packaged all-MiniLM-L6-v2 sentence encoder (384-d) instead of CLIP,
# 320 px inputs, 3 epochs, light loaders. A pipeline/speed check on 2 CPU
# cores (measured ~9 s per batch of 8 on a shared 2-core machine; run with
# OMP_NUM_THREADS=1 when the CPU is shared), not the paper's schedule.
# After so few iterations the BN running statistics (momentum 0.03) still
# lag the weights, so eval-mode boxes are poor and AP is ~0; train longer
# (e.g. --cfg-options train_cfg.max_epochs=30) for a meaningful AP.
_base_ = [
    './yolo-world_s_4xb8-200e_mmio-zs.py',
    '../_base_/schedules/cpu_demo.py'
]

text_channels = 384
img_scale = _base_.mmio_demo_img_scale
max_epochs = 3
base_lr = 2e-3

model = dict(
    backbone=dict(norm_cfg=dict(type='BN', momentum=0.03, eps=0.001)),
    # model_name=None: the packaged MiniLM
    text_encoder=dict(model_name=None, model_type='sentence'),
    neck=dict(
        guide_channels=text_channels,
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001)),
    bbox_head=dict(
        embed_dims=text_channels,
        prior_cfg=dict(num_objects=5, num_classes=26, img_size=320),
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001)),
    test_cfg=dict(score_thr=0.001, max_per_img=100))

train_pipeline = _base_.mmio_demo_train_transforms + [
    dict(type='RandomVocabulary', num_vocab=26, use_descriptions_prob=0.2),
    dict(
        type='PackDetInputs',
        meta_keys=_base_.mmio_train_meta_keys + ('texts', )),
]
test_pipeline = _base_.mmio_demo_test_transforms + \
    _base_.test_pipeline[len(_base_.mmio_test_transforms):]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    # Every image is padded to img_scale, so aspect-ratio grouping does
    # nothing here; a plain batch sampler also gives PreciseBNHook the batch
    # size it needs.
    batch_sampler=None,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = _base_.cpu_demo_param_scheduler
default_hooks = _base_.cpu_demo_default_hooks
# BN recalibration at the end (configs/_base_/schedules/cpu_demo.py)
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(_base_.cpu_demo_precise_bn_hook, interval=max_epochs),
]
