# Ablation "w/o class-balanced sampler": uniform shuffling; the
# task-specific augmentation stays.
_base_ = './pfa_cmaf_ase.py'

train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True))
