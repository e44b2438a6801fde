# Table 5 ablation "-Text-Visual Interaction": the refined prompt is still
# injected into the image features, but its gate is a learned constant
# instead of the max-sigmoid text attention of eq. 7.
_base_ = './rtvp_yolo-world-s_4xb8-200e_mmio-zs.py'

model = dict(interaction=dict(use_text=False))
