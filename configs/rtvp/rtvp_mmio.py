# RTVP on MMIO, zero-shot split (train: seen classes; test: unseen classes
# with the unseen vocabulary). Paper setup ("Implementation Details"):
# 640 px, AdamW lr 2e-3, weight decay 0.025, 200 epochs, batch 32
# (4 GPUs x 8), frozen CLIP text encoder (ViT-B/32) and frozen Mobile-SAM-T.
#
# Paths to set (nothing is downloaded at run time):
#   text_model_name: a local `openai/clip-vit-base-patch32` directory (or the
#     hub id when it is in the local Hugging Face cache);
#   sam_checkpoint: the official `mobile_sam.pt`;
#   expert weights: see rtvp_s_branch.py.
# e.g. --cfg-options model.text_encoder.model_name=/models/clip-b32 \
#        model.sam_backbone.checkpoint=/models/mobile_sam.pt
_base_ = ['../yolo_world/yolo_world_s_mmio.py', './rtvp_s_branch.py']

text_model_name = 'openai/clip-vit-base-patch32'
sam_checkpoint = 'checkpoints/mobile_sam.pt'

model = dict(
    type='RTVP',
    text_encoder=dict(model_name=text_model_name),
    sam_backbone=dict(
        type='MobileSAMViT',
        arch='vit_t',
        checkpoint=sam_checkpoint,
        frozen=True,
        with_adapter=True,
        in_mean=[0., 0., 0.],
        in_std=[255., 255., 255.]),
    expert={{_base_.rtvp_expert}},
    domain_adapter={{_base_.rtvp_domain_adapter}},
    prompt_refiner={{_base_.rtvp_prompt_refiner}},
    aux_head={{_base_.rtvp_aux_head}},
    interaction={{_base_.rtvp_interaction}},
    interaction_position='backbone')

# The auxiliary head is idle at test time and the adaptation branch stops
# receiving gradients once the stop criterion fires.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
