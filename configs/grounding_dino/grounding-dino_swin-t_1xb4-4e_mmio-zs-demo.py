# CPU demo of grounding-dino_swin-t_4xb4-12e_mmio-zs.py on the embedded
# benchmark (`python tools/data/make_synthetic.py mmio --out data/mmio_synth`).
#
# Language model: a tiny random BERT written offline by
#   python tools/misc/make_tiny_bert.py --out work_dirs/tiny_bert
# (BERT-base tokenizer, 2 layers of 64 channels). Replace `lang_model_name`
# by a local `bert-base-uncased` directory for a meaningful language prior.
#
# Architecture kept (Swin, deformable encoder with text fusion, query
# selection, decoder with text cross-attention, contrastive head), sized for
# CPU: Swin with 48 channels and depths (1, 1, 2, 1), 2 encoder and 2
# decoder layers with narrower FFNs, 100 queries, no gradient checkpointing,
# 320 px. The transformer keeps 256 channels: mmdet's DINO decoder encodes
# the reference boxes with a fixed 128 sine features per coordinate
# (4 x 128 = 2 x 256 inputs to its query MLP). mmcv's
# MultiScaleDeformableAttention falls back to
# its pure PyTorch path on CPU, so no op needs replacing.
_base_ = [
    './grounding-dino_swin-t_4xb4-12e_mmio-zs.py',
    '../_base_/schedules/cpu_demo.py'
]

lang_model_name = 'work_dirs/tiny_bert'
max_epochs = 4
embed_dims = 256

model = dict(
    num_queries=100,
    language_model=dict(name=lang_model_name),
    backbone=dict(
        embed_dims=48,
        depths=[1, 1, 2, 1],
        num_heads=[2, 4, 8, 16],
        drop_path_rate=0.1,
        with_cp=False),
    neck=dict(in_channels=[96, 192, 384], out_channels=embed_dims),
    encoder=dict(
        num_layers=2,
        num_cp=0,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims),
            ffn_cfg=dict(embed_dims=embed_dims,
                         feedforward_channels=2 * embed_dims)),
        text_layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims),
            ffn_cfg=dict(embed_dims=embed_dims,
                         feedforward_channels=2 * embed_dims)),
        fusion_layer_cfg=dict(
            v_dim=embed_dims, l_dim=embed_dims, embed_dim=embed_dims)),
    decoder=dict(
        num_layers=2,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims),
            cross_attn_text_cfg=dict(embed_dims=embed_dims),
            cross_attn_cfg=dict(embed_dims=embed_dims),
            ffn_cfg=dict(embed_dims=embed_dims,
                         feedforward_channels=2 * embed_dims))),
    # from-scratch training: learnable logit scale and bias of the
    # contrastive head (the fine-tuning config fixes them for a pretrained
    # checkpoint)
    bbox_head=dict(
        contrastive_cfg=dict(max_text_len=256, log_scale='auto', bias=True)),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=20)),
    test_cfg=dict(max_per_img=100))

# the parent's loaders at 320 px with one worker
train_dataloader = dict(_base_.mmio_demo_caption_train_dataloader)
val_dataloader = dict(_base_.mmio_demo_caption_val_dataloader)
test_dataloader = dict(_base_.mmio_demo_caption_test_dataloader)

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=2e-4))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, by_epoch=True,
         milestones=[max_epochs - 1], gamma=0.1)
]
default_hooks = _base_.cpu_demo_default_hooks
