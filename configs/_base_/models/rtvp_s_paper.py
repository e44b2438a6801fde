# RTVP-S with the paper's training setup, shared by the COCO and LVIS
# configs: rtvp_s_model of configs/_base_/models/rtvp_s_branch.py (its paths:
# rtvp_text_model_name, the CLIP ViT-B/32 text tower; rtvp_sam_checkpoint,
# mobile_sam.pt; and the expert weights described there), the AdamW 200-epoch
# schedule with a frozen text encoder, and DDP that tolerates the unused
# parameters of the prompt branch. A config adds its dataset base, the
# 640 px pipelines (rtvp_train_pipeline / rtvp_test_pipeline) and its hooks.
_base_ = [
    '../default_runtime.py',
    '../schedules/adamw_200e.py',
    './rtvp_s_branch.py',
]

model = {{_base_.rtvp_s_model}}

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'text_encoder': dict(lr_mult=0.0)}))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
