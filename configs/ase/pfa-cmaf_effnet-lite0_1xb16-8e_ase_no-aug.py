# Ablation "w/o task-specific augmentation": the plain test pipeline for
# training; the class-balanced sampler stays
# (pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-sampler.py removes the sampler only).
_base_ = './pfa-cmaf_effnet-lite0_1xb16-8e_ase.py'

train_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
