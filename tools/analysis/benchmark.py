# Copyright (c) mmase contributors. All rights reserved.
"""Model size, FLOPs, latency, throughput and peak memory of a detector.

Measures, for a test-time input of ``--img-size`` and a vocabulary of
``--vocab-size`` class prompts:

* parameters: total and trainable (``requires_grad``);
* FLOPs: mmengine's ``get_model_complexity_info`` (its fvcore-style
  ``FlopAnalyzer``, which counts one multiply-add as one FLOP and skips
  normalisation/pooling ops) on the model's tensor-mode forward (image +
  vocabulary -> raw head outputs, no NMS) for one image; with an
  ``HFTextEncoder`` the vocabulary is cached first, so the count is the
  image path; for mmdet's GLIP (no tensor mode) the count is backbone,
  neck, language model and fusion head; "n/a" with the reason when the
  forward cannot be traced (e.g. Grounding DINO);
* latency of the full ``test_step`` (preprocessing, text encoding,
  forward, score threshold and NMS) for one batch: ``--warmup`` runs, then
  the median, the interquartile range and the min/max of ``--runs`` timed
  runs; images/s is batch size / median. The post-processing runs at the
  config's ``test_cfg`` (``score_thr=0.001`` in the evaluation configs keeps
  thousands of candidates, and their NMS can cost more than the network
  on CPU); ``--cfg-options model.test_cfg.score_thr=0.25`` measures a
  deployment threshold;
* forward latency: the median of the tensor-mode forward alone (image and
  vocabulary to raw head outputs; text encoding included unless cached,
  no post-processing), the figure YOLO-World-style papers report;
* peak memory: ``torch.cuda.max_memory_allocated`` on GPU; on CPU the
  process peak resident set size (``resource.getrusage``, which includes
  the weights and everything loaded before) and its increase during the
  timed runs.

Open-vocabulary models (with a text encoder) are measured twice: with the
vocabulary cache (``HFTextEncoder.cache_vocab`` and the detector's prompt
cache: the text encoder runs once, later images reuse the embeddings) and
without it (every image re-encodes its vocabulary). The speed-up of the
cache is printed. ``--compare-config`` measures a second model in the same
process and prints the latency ratio.

Examples::

    python tools/analysis/benchmark.py \\
        configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py
    python tools/analysis/benchmark.py \\
        configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py \\
        work_dirs/rtvp_demo/epoch_3.pth --img-size 640 --vocab-size 80 \\
        --compare-config \\
        configs/yolo_world/yolo-world_s_1xb8-3e_mmio-zs-demo.py
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional


os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from mmase.apis.model_builder import add_strict_argument  # noqa: E402
from mmase.utils.file_io import dump_text_atomic  # noqa: E402
from mmase.utils.benchmarking import (count_params,  # noqa: E402,F401
                                      is_open_vocabulary, make_batch,
                                      set_vocab_cache, text_encoders,
                                      time_forward, time_test_step)
from mmase.utils.model_analysis import count_flops  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Params, FLOPs, latency and memory of a detector')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='optional checkpoint (random weights if absent)')
    parser.add_argument('--img-size', type=int, default=640)
    parser.add_argument('--vocab-size', type=int, default=80)
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--device', default='cpu',
                        help="'cpu' or 'cuda' (or 'cuda:N')")
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--compare-config', default=None,
                        help='second config measured in the same run')
    parser.add_argument('--compare-checkpoint', default=None)
    parser.add_argument('--no-flops', action='store_true',
                        help='skip the FLOP count (tracing can be slow)')
    parser.add_argument('--out', default=None,
                        help='also write the markdown table to this file')
    parser.add_argument('--json', default=None,
                        help='also write the measurements as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config(s)')
    add_strict_argument(parser)
    return parser.parse_args(argv)


# ----------------------------------------------------------------- building
def build_model(config: str,
                checkpoint: Optional[str] = None,
                device: str = 'cpu',
                cfg_options: Optional[dict] = None,
                strict: bool = True) -> torch.nn.Module:
    """Build a detector in eval mode from a config (and checkpoint) with
    :func:`mmase.apis.init_model`.

    Args:
        config (str): Config path.
        checkpoint (str, optional): Checkpoint path. Defaults to None.
        device (str): Device. Defaults to 'cpu'.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        strict (bool): Refuse a checkpoint that does not fit the model.
            Defaults to True.

    Returns:
        nn.Module: The model, SyncBN reverted, in eval mode.
    """
    from mmase.apis import init_model
    if not osp.isfile(config):
        raise FileNotFoundError(f'benchmark: config not found: {config}')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'benchmark: checkpoint not found: {checkpoint}')
    return init_model(config, checkpoint, device=device, strict=strict,
                      cfg_options=cfg_options)


def benchmark(model: torch.nn.Module,
              name: str,
              img_size: int = 640,
              vocab_size: int = 80,
              batch_size: int = 1,
              runs: int = 20,
              warmup: int = 3,
              device: str = 'cpu',
              flops: bool = True) -> List[dict]:
    """Measure one model; one row per cache setting.

    Returns:
        list[dict]: Rows with ``name``, ``cache`` ('on'/'off'/'n/a'),
        parameter counts, FLOPs and timing/memory statistics.
    """
    batch = make_batch(img_size, vocab_size, batch_size)
    common = dict(name=name, img_size=img_size, batch_size=batch_size,
                  device=device, **count_params(model))
    open_vocab = is_open_vocabulary(model)
    common['vocab_size'] = vocab_size if open_vocab else None
    if flops:
        if text_encoders(model):
            # count the image path: the vocabulary embeddings are cached
            # first, so the text encoder is not in the FLOPs
            set_vocab_cache(model, True)
            with torch.no_grad():
                model.test_step(batch)
        common.update(count_flops(model, batch))
        if type(model).__name__ == 'GLIP' and common['flops'] is not None:
            common['flops_note'] += ' (GLIP: head on image features and ' \
                'caption features, language model counted)'
        if text_encoders(model) and common['flops'] is not None:
            common['flops_note'] += ' (vocabulary cached: text encoder ' \
                'not counted)'
    else:
        common.update(flops=None, flops_note='skipped')
    rows = []
    settings = [True, False] if text_encoders(model) else [None]
    for cache in settings:
        if cache is not None:
            set_vocab_cache(model, cache)
        row = dict(common)
        row['cache'] = 'n/a' if cache is None else ('on' if cache else 'off')
        row.update(time_test_step(model, batch, runs, warmup, device))
        row.update(time_forward(model, batch, runs, warmup, device))
        rows.append(row)
    if settings[0] is not None:
        set_vocab_cache(model, True)
    return rows


# ---------------------------------------------------------------- printing
def _fmt_count(n: Optional[float], unit: str = '') -> str:
    if n is None:
        return 'n/a'
    for div, suffix in ((1e12, 'T'), (1e9, 'G'), (1e6, 'M'), (1e3, 'K')):
        if abs(n) >= div:
            return f'{n / div:.2f}{suffix}{unit}'
    return f'{n:.0f}{unit}'


def markdown_table(rows: List[dict]) -> str:
    """Rows as a markdown table."""
    head = ['Model', 'Vocab', 'Cache', 'Params', 'Trainable', 'FLOPs',
            'Latency ms (median)', 'IQR ms', 'Min-max ms', 'img/s',
            'Forward ms (median)', 'Peak mem MiB']
    lines = ['| ' + ' | '.join(head) + ' |',
             '|' + '|'.join(['---'] * len(head)) + '|']
    for r in rows:
        vals = [
            r['name'],
            'closed' if r['vocab_size'] is None else str(r['vocab_size']),
            r['cache'],
            _fmt_count(r['params']),
            _fmt_count(r['trainable_params']),
            _fmt_count(r['flops']),
            f"{r['latency_ms']:.1f}",
            f"{r['latency_iqr_ms']:.1f}",
            f"{r['latency_min_ms']:.1f}-{r['latency_max_ms']:.1f}",
            f"{r['imgs_per_s']:.2f}",
            'n/a' if r.get('forward_ms') is None else
            f"{r['forward_ms']:.1f}",
            f"{r['peak_mem_mib']:.0f}",
        ]
        lines.append('| ' + ' | '.join(vals) + ' |')
    return '\n'.join(lines)


def cache_speedup(rows: List[dict]) -> Optional[float]:
    """Median latency without the cache / with it (None if not measured)."""
    on = [r for r in rows if r['cache'] == 'on']
    off = [r for r in rows if r['cache'] == 'off']
    if not on or not off:
        return None
    return off[0]['latency_ms'] / on[0]['latency_ms']


def _default_row(rows: List[dict]) -> dict:
    """The row of the default setting (cache on when there is a cache)."""
    for r in rows:
        if r['cache'] in ('on', 'n/a'):
            return r
    return rows[0]


def _write_atomic(path: str, text: str) -> None:
    dump_text_atomic(text, path)


def _name(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError('benchmark: --device cuda but no CUDA device')
    kw = dict(img_size=args.img_size, vocab_size=args.vocab_size,
              batch_size=args.batch_size, runs=args.runs,
              warmup=args.warmup, device=args.device,
              flops=not args.no_flops)
    model = build_model(args.config, args.checkpoint, args.device,
                        args.cfg_options, args.strict)
    rows = benchmark(model, _name(args.config), **kw)
    other_rows = []
    if args.compare_config:
        del model
        other = build_model(args.compare_config, args.compare_checkpoint,
                            args.device, args.cfg_options, args.strict)
        other_rows = benchmark(other, _name(args.compare_config), **kw)
    all_rows = rows + other_rows
    flops_notes = sorted({r['flops_note'] for r in all_rows})
    text = [
        f'Input {args.batch_size}x3x{args.img_size}x{args.img_size}, '
        f'device {args.device}, {args.warmup} warm-up + {args.runs} timed '
        'runs of test_step (preprocess, text encoding, forward, score '
        'threshold, NMS: "Latency"); "Forward": the tensor-mode forward '
        'alone, no post-processing.',
        '',
        markdown_table(all_rows),
        '',
        'FLOPs: ' + '; '.join(flops_notes) + '. Peak memory: ' +
        all_rows[0]['mem_note'] + '.',
    ]
    for rs in (rows, other_rows):
        sp = cache_speedup(rs) if rs else None
        if sp is not None:
            text.append(f'Vocabulary cache speed-up ({rs[0]["name"]}): '
                        f'{sp:.2f}x (latency without cache / with cache)')
    if other_rows:
        a, b = _default_row(rows), _default_row(other_rows)
        for key, what in (('latency_ms', 'Latency'),
                          ('forward_ms', 'Forward latency')):
            if a.get(key) is None or b.get(key) is None:
                continue
            ratio = a[key] / b[key]
            text.append(f'{what} ratio {a["name"]} / {b["name"]}: '
                        f'{ratio:.2f} ({a[key]:.1f} ms / {b[key]:.1f} ms)')
    text = '\n'.join(text)
    print(text)
    if args.out:
        _write_atomic(args.out, text + '\n')
    if args.json:
        _write_atomic(args.json, json.dumps(all_rows, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
