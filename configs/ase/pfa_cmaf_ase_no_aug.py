# Ablation "w/o task-specific augmentation": plain resize pipeline and
# uniform shuffling instead of class-balanced sampling.
_base_ = './pfa_cmaf_ase.py'

train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline={{_base_.test_pipeline}}))
