# Runtime shared by every mmase classification (ASE) config: mmpretrain's
# defaults, plus the import that registers mmase's modules.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['mmase'], allow_failed_imports=False)

# Checkpoints are written to a temporary file and renamed into place;
# outdated ones are removed only after that, so a kill at any moment leaves
# a complete checkpoint and a `last_checkpoint` naming one (mmengine's
# CheckpointHook removes first and writes in place). Same arguments.
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3))

# Stops with the iteration and the loss term named when a loss is NaN/inf.
custom_hooks = [dict(type='NonFiniteLossHook')]

env_cfg = dict(dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0)
