# CPU demo of yolox_s_4xb8-300e_mmio-closed.py on the embedded benchmark
# (`python tools/data/make_synthetic.py mmio --out data/mmio_synth`):
# 320 px inputs, a few epochs, light loaders. A pipeline/speed check, not
# the paper's schedule.
_base_ = [
    './yolox_s_4xb8-300e_mmio-closed.py',
    '../_base_/schedules/cpu_demo.py'
]

img_scale = _base_.mmio_demo_img_scale
max_epochs = 6
base_lr = 0.01

model = dict(test_cfg=dict(score_thr=0.001))

# the closed split's loaders at 320 px with one worker
train_dataloader = _base_.mmio_demo_closed_train_dataloader
val_dataloader = _base_.mmio_demo_closed_val_dataloader
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = _base_.cpu_demo_param_scheduler
custom_hooks = []
default_hooks = _base_.cpu_demo_default_hooks
