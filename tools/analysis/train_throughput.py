# Copyright (c) mmase contributors. All rights reserved.
"""Training throughput of detection configs on this machine.

Prints, per config: images/s of full training steps (forward, backward,
optimizer) in fp32, in fp32 with the channels-last memory format
(:class:`ChannelsLastHook`, what the demo configs use) and under bfloat16
autocast (``--amp`` on a CPU; skipped with ``--no-bf16``), the model's
forward cost, and the share of this machine's measured matmul peak that
training reaches, so regressions of speed show as numbers::

    python tools/analysis/train_throughput.py \\
        configs/yolo_world/yolo-world_n-effnet_1xb8-4e_mmio-zs-demo.py \\
        configs/rtvp/rtvp_yolo-world-n-effnet_1xb8-4e_mmio-zs-demo.py \\
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
from typing import Dict

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mmase  # noqa: F401
from mmase.engine.hooks import ChannelsLastHook
from mmase.testing import make_det_batch
from mmase.utils.model_analysis import count_flops


def matmul_peak(dtype: torch.dtype, n: int = 2048, reps: int = 5) -> float:
    """GFLOP/s of an ``n x n`` matmul in ``dtype`` (best of ``reps``)."""
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    a @ b
    best = float('inf')
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def measure(path: str, steps: int, batch: int, vocab_size: int,
            bf16: bool = True) -> Dict:
    cfg = Config.fromfile(path)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    scale = cfg.get('img_scale', (320, 320))
    vocab = [f'defect class {i}' for i in range(vocab_size)]
    data = make_det_batch(int(scale[0]), batch, vocab)
    flops = count_flops(model, data)['flops']  # multiply-adds, eval mode
    model.train()
    out = dict(config=path, img_size=int(scale[0]),
               gflops=2 * flops / 1e9 if flops else float('nan'))
    # channels-last last: the conversion stays on the model
    for mode in ('fp32', 'bf16', 'nhwc'):
        optim = dict(cfg.optim_wrapper)
        if mode == 'bf16':
            if not bf16:
                out[mode] = float('nan')
                continue
            optim['type'] = 'BF16AutocastOptimWrapper'
        if mode == 'nhwc':
            ChannelsLastHook().before_run(SimpleNamespace(model=model))
        wrapper = build_optim_wrapper(model, optim)
        model.train_step(data, wrapper)  # warm-up
        t = time.perf_counter()
        for _ in range(steps):
            model.train_step(data, wrapper)
        dt = (time.perf_counter() - t) / steps
        out[mode] = batch / dt
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('configs', nargs='+')
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--vocab', type=int, default=26,
                   help='texts per image (the demos train with 26)')
    p.add_argument('--no-bf16', action='store_true',
                   help='skip the bfloat16 autocast column (slow where '
                   'bfloat16 is emulated)')
    args = p.parse_args(argv)
    threads = torch.get_num_threads()
    peak32 = matmul_peak(torch.float32)
    peak16 = matmul_peak(torch.bfloat16)
    print(f'{threads} threads; matmul peak fp32 {peak32:.1f} GFLOP/s, '
          f'bf16 {peak16:.1f} GFLOP/s (a bf16 peak far below fp32 means '
          'bfloat16 is emulated on this CPU: --amp refuses it)')
    print('| config | px | fwd GFLOPs/img | fp32 img/s | fp32 % peak '
          '| fp32 NHWC img/s | NHWC speed-up | bf16 img/s | bf16 % peak '
          '| bf16 speed-up |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for path in args.configs:
        r = measure(path, args.steps, args.batch, args.vocab,
                    not args.no_bf16)
        train_flops = 3 * r['gflops']
        share32 = 100 * r['fp32'] * train_flops / peak32
        share16 = 100 * r['bf16'] * train_flops / peak16
        print(f"| {path} | {r['img_size']} | {r['gflops']:.2f} "
              f"| {r['fp32']:.1f} | {share32:.0f} % | {r['nhwc']:.1f} "
              f"| {r['nhwc'] / r['fp32']:.2f}x | {r['bf16']:.1f} "
              f"| {share16:.0f} % | {r['bf16'] / r['fp32']:.2f}x |")
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
