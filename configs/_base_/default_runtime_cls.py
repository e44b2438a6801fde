# Runtime shared by every mmase classification (ASE) config: mmpretrain's
# defaults, plus the import that registers mmase's modules.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['mmase'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))

# Stops with the iteration and the loss term named when a loss is NaN/inf.
custom_hooks = [dict(type='NonFiniteLossHook')]

env_cfg = dict(dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0)
