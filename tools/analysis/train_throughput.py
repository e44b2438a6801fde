# Copyright (c) mmase contributors. All rights reserved.
"""Training throughput of detection configs on this machine.

Prints, per config: images/s of full training steps (forward, backward,
optimizer) in fp32, in fp32 with the channels-last memory format
(:class:`ChannelsLastHook`, what the demo configs use) and under bfloat16
autocast (``--amp`` on a CPU; skipped with ``--no-bf16``, and on a CPU
without native bfloat16, where it is emulated and ``--amp`` refuses it), the model's
forward cost, and the share of this machine's measured matmul peak that
training reaches, so regressions of speed show as numbers. ``--device
cuda`` measures on the GPU instead: the mixed-precision column is then
what ``tools/train.py --amp`` uses there (fp16 autocast with dynamic loss
scaling) and the peaks are GPU matmuls::

    python tools/analysis/train_throughput.py \\
        configs/yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py \\
        configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py \\
        --steps 10

Cost model: a training step costs about 3x the forward FLOPs (backward
= 2x forward). mmengine's counter gives multiply-accumulates, counted as
2 FLOPs each. The peak is a large fp32 (and bf16) matmul measured first, with
the same number of threads. Batches are synthetic images of the config's
input size with one box each (``mmase.testing.make_det_batch``), so data
loading is not part of it.
"""
import argparse
import time
from types import SimpleNamespace
from typing import Dict, Optional

import torch
from mmdet.registry import MODELS
from mmengine.config import DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mmase  # noqa: F401
from mmase.engine.hooks import ChannelsLastHook
from mmase.engine.optimizers import cpu_supports_bf16
from mmase.testing import make_det_batch
from mmase.utils.model_analysis import count_flops
from mmase.utils.setup_env import load_config


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)


def matmul_peak(dtype: torch.dtype,
                n: int = 2048,
                reps: int = 5,
                device: str = 'cpu') -> float:
    """GFLOP/s of an ``n x n`` matmul in ``dtype`` (best of ``reps``)."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    a @ b
    best = float('inf')
    for _ in range(reps):
        _sync(device)
        t = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def measure(path: str,
            steps: int,
            batch: Optional[int],
            vocab_size: int,
            amp: bool = True,
            device: str = 'cpu',
            cfg_options: Optional[dict] = None) -> Dict:
    cfg = load_config(path, cfg_options)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(device)
    model.train()
    scale = cfg.get('img_scale', (320, 320))
    vocab = [f'defect class {i}' for i in range(vocab_size)]
    batch = batch or cfg.train_dataloader.batch_size
    data = make_det_batch(int(scale[0]), batch, vocab)
    flops = count_flops(model, data)['flops']  # multiply-adds, eval mode
    model.train()
    out = dict(config=path, img_size=int(scale[0]), batch=batch,
               gflops=2 * flops / 1e9 if flops else float('nan'))
    # channels-last last: the conversion stays on the model
    for mode in ('fp32', 'bf16', 'nhwc'):
        optim = dict(cfg.optim_wrapper)
        if mode == 'bf16':
            if not amp:
                out[mode] = float('nan')
                continue
            if device.startswith('cuda'):  # what --amp uses there
                optim.update(type='AmpOptimWrapper', loss_scale='dynamic')
            else:
                optim['type'] = 'BF16AutocastOptimWrapper'
        if mode == 'nhwc':
            ChannelsLastHook().before_run(SimpleNamespace(model=model))
        wrapper = build_optim_wrapper(model, optim)
        for _ in range(2):  # warm-up (cuDNN picks its algorithms here)
            model.train_step(data, wrapper)
        _sync(device)
        t = time.perf_counter()
        for _ in range(steps):
            model.train_step(data, wrapper)
        _sync(device)
        dt = (time.perf_counter() - t) / steps
        out[mode] = batch / dt
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('configs', nargs='+')
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--batch', type=int, default=None,
                   help="images per step (default: the config's batch)")
    p.add_argument('--vocab', type=int, default=26,
                   help='texts per image (the demos train with 26)')
    p.add_argument('--no-bf16', action='store_true',
                   help='skip the mixed-precision column (slow where '
                   'bfloat16 is emulated)')
    p.add_argument('--device', default='cpu',
                   help="'cpu' or 'cuda'. Defaults to 'cpu'.")
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override settings of every config (key=value)')
    args = p.parse_args(argv)
    device = args.device
    low = torch.float16 if device.startswith('cuda') else torch.bfloat16
    amp = 'fp16' if low is torch.float16 else 'bf16'
    threads = torch.get_num_threads()
    use_amp = not args.no_bf16
    peak32 = matmul_peak(torch.float32, device=device)
    where = (torch.cuda.get_device_name(device) if device.startswith('cuda')
             else f'{threads} threads')
    if use_amp and not device.startswith('cuda') and not cpu_supports_bf16():
        # emulated bfloat16 runs a 2048^3 matmul in about a minute and a
        # training step 8x slower than fp32: nothing worth measuring
        use_amp = False
        print(f'{where}: this CPU has no native bfloat16 (oneDNN), so it '
              'is emulated and --amp refuses it; bf16 columns skipped')
    peak16 = matmul_peak(low, device=device) if use_amp else float('nan')
    print(f'{where}; matmul peak fp32 {peak32:.1f} GFLOP/s, '
          f'{amp} {peak16:.1f} GFLOP/s')
    print('| config | px | batch | fwd GFLOPs/img | fp32 img/s | fp32 % peak '
          f'| fp32 NHWC img/s | NHWC speed-up | {amp} img/s | {amp} % peak '
          f'| {amp} speed-up |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for path in args.configs:
        r = measure(path, args.steps, args.batch, args.vocab, use_amp,
                    device, args.cfg_options)
        train_flops = 3 * r['gflops']
        share32 = 100 * r['fp32'] * train_flops / peak32
        share16 = 100 * r['bf16'] * train_flops / peak16
        print(f"| {path} | {r['img_size']} | {r['batch']} | {r['gflops']:.2f} "
              f"| {r['fp32']:.1f} | {share32:.0f} % | {r['nhwc']:.1f} "
              f"| {r['nhwc'] / r['fp32']:.2f}x | {r['bf16']:.1f} "
              f"| {share16:.0f} % | {r['bf16'] / r['fp32']:.2f}x |")
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
