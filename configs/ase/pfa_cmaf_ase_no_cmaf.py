# Ablation "w/o CMAF": the pooled aligned image and text vectors are
# concatenated instead of cross-attended and gated.
_base_ = './pfa_cmaf_ase.py'

model = dict(fusion=None, head=dict(in_channels=2 * {{_base_.embed_dims}}))
