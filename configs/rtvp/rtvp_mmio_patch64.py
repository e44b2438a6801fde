# Table 6: sparse-selection patches of 64 input pixels (default 32).
_base_ = './rtvp_mmio.py'

model = dict(prompt_refiner=dict(selection=dict(patch_size=64)))
