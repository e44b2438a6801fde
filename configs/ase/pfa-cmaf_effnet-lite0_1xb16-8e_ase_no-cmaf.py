# Ablation "w/o CMAF": the pooled aligned image and text vectors are
# concatenated instead of cross-attended and gated.
_base_ = './pfa-cmaf_effnet-lite0_1xb16-8e_ase.py'

# 2 * embed_dims of the base config
model = dict(fusion=None, head=dict(in_channels=256))
