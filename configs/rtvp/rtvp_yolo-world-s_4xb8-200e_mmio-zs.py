# RTVP on MMIO, zero-shot split (train: seen classes; test: unseen classes
# with the unseen vocabulary). Paper setup ("Implementation Details"):
# 640 px, AdamW lr 2e-3, weight decay 0.025, 200 epochs, batch 32
# (4 GPUs x 8), frozen CLIP text encoder (ViT-B/32) and frozen Mobile-SAM-T.
#
# Paths to set (nothing is downloaded at run time):
#   text encoder: a local `openai/clip-vit-base-patch32` directory (or the
#     hub id when it is in the local Hugging Face cache), `text_model_name`
#     of yolo-world_s_4xb8-200e_mmio-zs.py;
#   Mobile-SAM: the official `mobile_sam.pt`, `rtvp_sam_checkpoint` of
#     rtvp_s_branch.py;
#   expert weights: see rtvp_s_branch.py.
# e.g. --cfg-options model.text_encoder.model_name=/models/clip-b32 \
#        model.sam_backbone.checkpoint=/models/mobile_sam.pt
_base_ = [
    '../yolo_world/yolo-world_s_4xb8-200e_mmio-zs.py',
    '../_base_/models/rtvp_s_branch.py'
]

model = dict(
    type='RTVP',
    sam_backbone={{_base_.rtvp_sam_backbone}},
    expert={{_base_.rtvp_expert}},
    domain_adapter={{_base_.rtvp_domain_adapter}},
    prompt_refiner={{_base_.rtvp_prompt_refiner}},
    aux_head={{_base_.rtvp_aux_head}},
    interaction={{_base_.rtvp_interaction}},
    interaction_position='backbone')

custom_hooks = _base_.custom_hooks + [_base_.rtvp_stop_hook]

# The auxiliary head is idle at test time and the adaptation branch stops
# receiving gradients once the stop criterion fires.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
