# CPU demo of rtvp_mmio.py on the embedded benchmark
# (`python tools/data/make_synthetic.py mmio --out data/mmio_synth`):
# the packaged all-MiniLM-L6-v2 text encoder (384-d), 320 px inputs, and the
# width, schedule and BN recalibration of yolo_world_n_mmio_demo.py, so the
# two differ only by the RTVP branch. A pipeline check on 2 CPU cores, not
# the paper's setting:
# - Mobile-SAM is randomly initialised (no `mobile_sam.pt` is shipped or
#   downloaded) and, to fit the CPU budget, narrower than vit_t (same
#   structure and strides). Its weights stay frozen; only the adapters
#   train.
# - The expert CNN has the YOLO-World-N demo's backbone (quarter-width
#   CSP-Darknet). Its seen-class pre-training (the paper's first stage) is
#   the YOLO-World-N demo itself; tools/run_demo.sh trains that first and
#   passes its checkpoint:
#     --cfg-options model.expert.init_cfg.type=Pretrained \
#       model.expert.init_cfg.checkpoint=work_dirs/yolo_world_n_mmio_demo/epoch_2.pth \
#       model.expert.init_cfg.prefix=backbone.
#   Without it the expert is random and a WARNING says so. It is frozen
#   while RTVP trains.
# - The stop criterion is off (the run is far too short to reach it).
# - Quarter-width YOLO-World (widen_factor 0.25 instead of the S model's
#   0.5) and 2 epochs: 2.9 s per batch of 8 on 2 cores, about 5.5 minutes;
#   README command 1 took 8.3 minutes in all.
_base_ = ['../yolo_world/yolo_world_n_mmio_demo.py', './rtvp_s_branch.py']

model = dict(
    type='RTVP',
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

default_hooks = dict(logger=dict(interval=5))

# The auxiliary head and the expert are not used by every loss term of every
# iteration, as in rtvp_mmio.py.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
