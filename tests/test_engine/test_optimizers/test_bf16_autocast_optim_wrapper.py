# Copyright (c) mmase contributors. All rights reserved.
"""``--amp`` on a CPU: bfloat16 autocast around the forward pass, for the
optimizer wrapper alone and for every demo config (2 training steps)."""
import os.path as osp
from contextlib import contextmanager

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper

import mmase  # noqa: F401
from mmase.engine.optimizers import BF16AutocastOptimWrapper
from mmase.testing import make_det_batch
from tests.conftest import build_demo_model

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
DEMOS = [
    'configs/yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py',
    'configs/yolo_world/yolo-world_s_1xb8-3e_mmio-zs-demo.py',
    'configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py',
    'configs/glip/glip_swin-t-a_1xb8-4e_mmio-zs-demo.py',
    'configs/grounding_dino/grounding-dino_swin-t_1xb4-4e_mmio-zs-demo.py',
    'configs/yolo/rtmdet_s_1xb8-6e_mmio-closed-demo.py',
    'configs/yolo/yolox_s_1xb8-6e_mmio-closed-demo.py',
    'configs/yolo/yolov8_s_1xb8-6e_mmio-closed-demo.py',
]


def test_forward_in_bf16_weights_stay_fp32():
    torch.manual_seed(0)
    net = nn.Linear(8, 4)
    wrapper = BF16AutocastOptimWrapper(
        optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    before = net.weight.detach().clone()
    with wrapper.optim_context(net):
        out = net(torch.randn(3, 8))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert net.weight.dtype == torch.float32
    assert not torch.equal(before, net.weight)
    # outside the context nothing is cast
    assert net(torch.randn(3, 8)).dtype == torch.float32


@pytest.mark.parametrize('path', DEMOS)
def test_demo_config_trains_two_steps_in_bf16(path, caption_bert):
    cfg = Config.fromfile(osp.join(REPO, path))
    model = build_demo_model(cfg, caption_bert)
    optim_cfg = dict(cfg.optim_wrapper, type='BF16AutocastOptimWrapper')
    wrapper = build_optim_wrapper(model, optim_cfg)
    assert isinstance(wrapper, BF16AutocastOptimWrapper)
    dtypes = []
    conv = next(m for m in model.backbone.modules()
                if isinstance(m, nn.Conv2d))
    conv.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    size = 128 if 'grounding_dino' in path else 64
    for _ in range(2):
        log_vars = model.train_step(make_det_batch(size), wrapper)
        assert torch.isfinite(torch.as_tensor(log_vars['loss']))
    assert dtypes and all(d == torch.bfloat16 for d in dtypes)
    assert all(p.dtype == torch.float32 for p in params)
    assert any(not torch.equal(a, p) for a, p in zip(before, params))


class _CPUFloat16Autocast(OptimWrapper):
    """What ``AmpOptimWrapper`` does to the forward pass on CUDA (fp16
    autocast), on the CPU, so that fp16 dtype errors show without a GPU."""

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), torch.autocast(
                device_type='cpu', dtype=torch.float16):
            yield


@pytest.mark.parametrize('path', [DEMOS[0], DEMOS[2], DEMOS[7]])
def test_zero_shot_demo_trains_under_fp16_autocast(path, caption_bert):
    """``--amp`` on a GPU: an RTVP-N training step once failed there in the
    auxiliary head's assignment (fp16 predictions, fp32 gt boxes)."""
    cfg = Config.fromfile(osp.join(REPO, path))
    model = build_demo_model(cfg, caption_bert)
    wrapper = _CPUFloat16Autocast(
        optimizer=torch.optim.SGD(model.parameters(), lr=1e-3))
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    log_vars = model.train_step(make_det_batch(64), wrapper)
    assert torch.isfinite(torch.as_tensor(log_vars['loss']))
    assert any(not torch.equal(a, p) for a, p in zip(before, params))


def test_amp_optim_wrapper_type(monkeypatch):
    from mmase.engine.optimizers import bf16_autocast_optim_wrapper as mod
    assert mod.amp_optim_wrapper_type('cuda') == 'AmpOptimWrapper'
    assert mod.amp_optim_wrapper_type('cuda:1') == 'AmpOptimWrapper'
    monkeypatch.setattr(mod, 'cpu_supports_bf16', lambda: True)
    assert mod.amp_optim_wrapper_type('cpu') == 'BF16AutocastOptimWrapper'
    monkeypatch.setattr(mod, 'cpu_supports_bf16', lambda: False)
    with pytest.raises(RuntimeError, match='--amp needs a CUDA device'):
        mod.amp_optim_wrapper_type('cpu')
