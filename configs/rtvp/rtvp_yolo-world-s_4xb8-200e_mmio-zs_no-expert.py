# Table 5 ablation "-Expert Domain Adapter": no expert CNN, no domain
# adapter / reconstruction loss and no SAM adapters; the coarse visual
# prompts are Mobile-SAM's own stem / stage 1 / stage 2 maps.
_base_ = './rtvp_yolo-world-s_4xb8-200e_mmio-zs.py'

model = dict(
    sam_backbone=dict(with_adapter=False), expert=None, domain_adapter=None)
