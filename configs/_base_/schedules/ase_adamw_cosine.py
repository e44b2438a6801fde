# The ASE configs' schedule: AdamW (lr 1e-3, weight decay 0.05, gradient
# norm clipped at 5), cosine decay to 1e-5 over the epochs, validation every
# `val_interval` epochs, one checkpoint at the end. A config that trains for
# another number of epochs sets `train_cfg.max_epochs` only: the cosine
# schedule ends where training does (mmengine's runner sets a scheduler's
# missing `end` to the training epochs, and `T_max` is `end - begin`), and
# the checkpoint hook saves the last epoch (`save_last`).
# It brings the classification runtime (its hooks are extended here).
_base_ = '../default_runtime_cls.py'

max_epochs = 8
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, eta_min=1e-5)
]
default_hooks = dict(
    checkpoint=dict(interval=-1, save_last=True, max_keep_ckpts=1))
