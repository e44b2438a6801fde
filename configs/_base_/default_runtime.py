# Runtime shared by every mmase detection config. mmdet's defaults, plus the
# import that registers mmase's modules.
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['mmase'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))

# Stops with the iteration and the loss term named when a loss is NaN/inf.
custom_hooks = [dict(type='NonFiniteLossHook')]

# `nccl` is used on GPUs. tools/train.py switches to `gloo` by itself when the
# machine has no CUDA device, so the same config trains on CPU.
env_cfg = dict(dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0)
