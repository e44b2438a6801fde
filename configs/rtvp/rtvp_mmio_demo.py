# CPU demo of rtvp_mmio.py on the embedded benchmark
# (`python tools/data/make_synthetic.py mmio --out data/mmio_synth`):
# the packaged all-MiniLM-L6-v2 text encoder (384-d), 320 px inputs and the
# short schedule of yolo_world_s_mmio_demo.py. A pipeline check on 2 CPU
# cores, not the paper's setting:
# - Mobile-SAM is randomly initialised (no `mobile_sam.pt` is shipped or
#   downloaded) and, to fit the CPU budget, narrower than vit_t (same
#   structure and strides). Its weights stay frozen; only the adapters
#   train.
# - The expert CNN is a randomly initialised YOLOv8-S CSP-Darknet (no
#   seen-class pre-training), trained by the domain loss only.
# - The stop criterion is off (the run is far too short to reach it).
# - Quarter-width YOLO-World (widen_factor 0.25 instead of the S model's
#   0.5) and 2 epochs (2.9 s per batch of 8 on 2 cores, about 5.5 minutes;
#   README command 1 took 8.3 minutes in all).
_base_ = ['../yolo_world/yolo_world_s_mmio_demo.py', './rtvp_s_branch.py']

widen_factor = 0.25
max_epochs = 2
base_lr = 2e-3

model = dict(
    type='RTVP',
    backbone=dict(widen_factor=widen_factor),
    neck=dict(widen_factor=widen_factor),
    bbox_head=dict(widen_factor=widen_factor),
    sam_backbone=dict(
        type='MobileSAMViT',
        arch=dict(
            embed_dims=[32, 64, 80, 160],
            depths=[1, 1, 1, 1],
            num_heads=[1, 2, 4, 5],
            window_sizes=[7, 7, 14, 7]),
        checkpoint=None,
        frozen=True,
        with_adapter=True,
        in_mean=[0., 0., 0.],
        in_std=[255., 255., 255.]),
    expert=dict(
        type='YOLOv8CSPDarknet',
        deepen_factor=0.33,
        widen_factor=0.25,
        out_indices=(1, 2, 3)),
    domain_adapter=dict(
        type='ExpertDomainAdapter',
        expert_strides=(4, 8, 16),
        embed_channels=64,
        decoder_channels=64,
        mask_ratio=0.25,
        mask_patch_size=32,
        loss_domain=dict(type='DomainReconstructionLoss'),
        stop_threshold=None),
    prompt_refiner={{_base_.rtvp_prompt_refiner}},
    aux_head=dict(type='RTVPAuxHead', feat_channels=32, num_convs=1),
    interaction=dict(
        type='TextVisualPromptInteraction', embed_channels=64, num_heads=4),
    interaction_position='backbone')

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=30),
    dict(type='CosineAnnealingLR', eta_min=base_lr * 0.05, begin=0,
         end=max_epochs, T_max=max_epochs, by_epoch=True,
         convert_to_iter_based=True),
]
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))

# Recompute the BN statistics with the final weights before the evaluation
# (mmpretrain's PreciseBNHook): after a short schedule the running averages
# lag the weights and the eval-mode model is poor.
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(
        type='mmpretrain.PreciseBNHook',
        num_samples=256,
        interval=max_epochs,
        priority='ABOVE_NORMAL'),
]

# The auxiliary head and the expert are not used by every loss term of every
# iteration, as in rtvp_mmio.py.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
