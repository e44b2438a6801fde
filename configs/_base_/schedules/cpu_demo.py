# The schedule of the CPU demos (`*-demo.py`), as variables: a demo inherits
# its full config (and that config's 200-300 epoch schedule) and takes these
# over, `param_scheduler = _base_.cpu_demo_param_scheduler` and
# `default_hooks = _base_.cpu_demo_default_hooks`.
# - Linear warm-up over the first 50 iterations, then a cosine decay to 5 %
#   of each parameter group's learning rate. No scheduler sets `end`:
#   mmengine's runner sets a missing `end` to the training epochs (and
#   `T_max` is `end - begin`), so the decay ends where training does and a
#   demo sets only `train_cfg.max_epochs` and its optimizer's `lr`.
# - One checkpoint, after the last epoch (`save_last`); the training loop
#   validates after its last epoch whatever `val_interval` is.
# - After a short schedule the BN running averages lag the weights and the
#   eval-mode model is poor: mmpretrain's PreciseBNHook recomputes them with
#   the final weights before the evaluation at the end. Its `interval` has
#   to be the demo's `max_epochs` (the hook has no "last epoch" setting):
#   `dict(_base_.cpu_demo_precise_bn_hook, interval=max_epochs)`.
cpu_demo_param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.05, begin=0,
         by_epoch=True, convert_to_iter_based=True),
]
cpu_demo_precise_bn_hook = dict(
    type='mmpretrain.PreciseBNHook', num_samples=256, priority='ABOVE_NORMAL')
cpu_demo_default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        interval=-1, save_last=True, max_keep_ckpts=1, save_best=None))
