# Ablation "w/o PFA": same model, no alignment loss (the projections stay, so
# CMAF still sees tokens of the same width).
_base_ = './pfa-cmaf_effnet-lite0_1xb16-8e_ase.py'

model = dict(align_loss=None)
