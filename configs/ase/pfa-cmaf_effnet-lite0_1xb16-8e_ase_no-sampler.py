# Ablation "w/o class-balanced sampler": uniform shuffling; the
# task-specific augmentation stays.
_base_ = './pfa-cmaf_effnet-lite0_1xb16-8e_ase.py'

train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True))
