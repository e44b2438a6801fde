# Ablation "w/o task-specific augmentation": the plain test pipeline for
# training; the class-balanced sampler stays (pfa_cmaf_ase_no_sampler.py
# removes the sampler only).
_base_ = './pfa_cmaf_ase.py'

train_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
