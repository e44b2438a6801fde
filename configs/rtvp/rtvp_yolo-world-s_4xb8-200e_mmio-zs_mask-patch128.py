# Table 6: sparse-selection patches of 128 input pixels (default 32).
_base_ = './rtvp_yolo-world-s_4xb8-200e_mmio-zs.py'

model = dict(prompt_refiner=dict(selection=dict(patch_size=128)))
