# CPU demo of glip_swin-t-a_4xb4-24e_mmio-zs.py on the embedded benchmark
# (`python tools/data/make_synthetic.py mmio --out data/mmio_synth`).
#
# Language model: a tiny random BERT written offline by
#   python tools/misc/make_tiny_bert.py --out work_dirs/tiny_bert
# (BERT-base tokenizer, 2 layers of 64 channels). Replace `lang_model_name`
# by a local `bert-base-uncased` directory for a meaningful language prior.
#
# The GLIP architecture is kept (Swin + FPN + ATSS vision-language head) at
# demo size: Swin with 48 channels and depths (1, 1, 2, 1), one DyHead
# block, 320 px, a few epochs. DyHead's modulated deformable
# convolution runs on CPU (mmcv op) but takes about 30 s for one batch of 8
# at a single level there, so the demo uses mmase's FlexibleATSSVLFusionHead
# (mmdet's head with DyHead's switches exposed; mmdet's own head cannot turn
# the deformable convolution off) with `use_dcn=False`; the full config keeps
# mmdet's head with deformable convolutions. The head keeps 256 channels:
# mmdet's ATSS-VL target code sizes the token targets with `feat_channels`,
# so it must equal the 256 caption tokens.
_base_ = [
    './glip_swin-t-a_4xb4-24e_mmio-zs.py',
    '../_base_/schedules/cpu_demo.py'
]

lang_model_name = 'work_dirs/tiny_bert'
max_epochs = 4

model = dict(
    backbone=dict(
        embed_dims=48,
        depths=[1, 1, 2, 1],
        num_heads=[2, 4, 8, 16],
        drop_path_rate=0.1),
    neck=dict(in_channels=[96, 192, 384], out_channels=256),
    bbox_head=dict(
        type='FlexibleATSSVLFusionHead',
        lang_model_name=lang_model_name,
        in_channels=256,
        feat_channels=256,
        num_dyhead_blocks=1,
        use_dcn=False),
    language_model=dict(name=lang_model_name),
    test_cfg=dict(score_thr=0.001))

# the parent's loaders at 320 px with one worker and batch 8
train_dataloader = dict(
    _base_.mmio_demo_caption_train_dataloader, batch_size=8)
val_dataloader = dict(_base_.mmio_demo_caption_val_dataloader, batch_size=8)
test_dataloader = dict(_base_.mmio_demo_caption_test_dataloader, batch_size=8)

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
# the demo warm-up (configs/_base_/schedules/cpu_demo.py), then a cosine
# decay to 1e-5 that ends with training
param_scheduler = [
    _base_.cpu_demo_param_scheduler[0],
    dict(type='CosineAnnealingLR', eta_min=1e-5, begin=0, by_epoch=True,
         convert_to_iter_based=True),
]
default_hooks = _base_.cpu_demo_default_hooks
