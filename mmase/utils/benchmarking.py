# Copyright (c) mmase contributors. All rights reserved.
"""Inference cost of a detector (``tools/analysis/benchmark.py``): a test
batch as the data loader gives it, the vocabulary caches switched on or
off, parameter counts, latency of ``test_step`` and of the tensor-mode
forward, and peak memory."""
import os
import resource
import statistics
import sys
import time
from typing import Dict, List

import torch

from .model_analysis import TensorForward


def text_encoders(model: torch.nn.Module) -> List[torch.nn.Module]:
    """The :class:`HFTextEncoder` modules of ``model``."""
    from mmase.models.text_encoders import HFTextEncoder
    return [m for m in model.modules() if isinstance(m, HFTextEncoder)]


def is_open_vocabulary(model: torch.nn.Module) -> bool:
    """Whether the detector takes a vocabulary (texts) at test time."""
    return bool(text_encoders(model)) or hasattr(model, 'language_model')


def set_vocab_cache(model: torch.nn.Module, enabled: bool) -> None:
    """Turn the vocabulary embedding caches on or off (and empty them).

    Both the text encoder's cache (``HFTextEncoder.cache_vocab``) and the
    prompt cache of :class:`YOLOWorldDetector` (``text_cache``) are
    switched, so with ``enabled=False`` every image re-encodes its
    vocabulary.
    """
    for enc in text_encoders(model):
        if not hasattr(enc, '_bench_cache_vocab'):
            enc._bench_cache_vocab = enc.cache_vocab
        enc.cache_vocab = enc._bench_cache_vocab if enabled else False
        enc._cache.clear()
    cache = getattr(model, 'text_cache', None)
    if cache is not None:
        if not hasattr(cache, '_bench_max_size'):
            cache._bench_max_size = cache.max_size
        cache.max_size = cache._bench_max_size if enabled else 0
        cache.clear()


def make_batch(img_size: int, vocab_size: int, batch_size: int = 1,
               seed: int = 0) -> dict:
    """A test batch as the dataloader gives it (uint8 images, samples).

    The vocabulary is ``vocab_size`` distinct defect-like prompts; it is
    put both in ``texts`` (RTVP/YOLO-World) and ``text`` (GLIP/GDINO).
    """
    from mmdet.structures import DetDataSample
    g = torch.Generator().manual_seed(seed)
    colours = ('black', 'white', 'red', 'brown', 'yellow', 'blue')
    shapes = ('spot', 'scratch', 'crack', 'stain', 'hole', 'bubble')
    vocab = [
        f'{colours[i % 6]} {shapes[(i // 6) % 6]} type {i}'
        for i in range(vocab_size)
    ]
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, img_size, img_size),
                                    generator=g, dtype=torch.uint8))
        samples.append(DetDataSample(metainfo=dict(
            img_id=0, img_path='', ori_shape=(img_size, img_size),
            img_shape=(img_size, img_size), pad_shape=(img_size, img_size),
            scale_factor=(1.0, 1.0), texts=list(vocab), text=tuple(vocab),
            custom_entities=True)))
    return dict(inputs=inputs, data_samples=samples)

def count_params(model: torch.nn.Module) -> Dict[str, int]:
    """Total and trainable parameter counts (shared tensors once)."""
    seen, total, trainable = set(), 0, 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return dict(params=total, trainable_params=trainable)


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def _rss_mib() -> float:
    """Current resident set size (MiB), from /proc when available."""
    try:
        with open('/proc/self/statm') as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf('SC_PAGE_SIZE') / 2**20
    except (OSError, ValueError, IndexError):  # pragma: no cover
        return float('nan')


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == 'darwin' else peak / 1024


def time_test_step(model: torch.nn.Module, batch: dict, runs: int,
                   warmup: int, device: str) -> Dict[str, float]:
    """Latency statistics (ms) and peak memory of ``model.test_step``."""
    if runs < 1:
        raise ValueError(f'--runs must be >= 1, got {runs}')
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    rss_before = _rss_mib()
    with torch.no_grad():
        for _ in range(warmup):
            model.test_step(batch)
        _sync(device)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model.test_step(batch)
            _sync(device)
            times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    q = statistics.quantiles(times, n=4) if len(times) >= 2 else \
        [times[0]] * 3
    median = statistics.median(times)
    out = dict(
        latency_ms=median,
        latency_iqr_ms=q[2] - q[0],
        latency_min_ms=times[0],
        latency_max_ms=times[-1],
        imgs_per_s=len(batch['inputs']) * 1000.0 / median)
    if device.startswith('cuda'):
        out['peak_mem_mib'] = torch.cuda.max_memory_allocated() / 2**20
        out['mem_note'] = 'torch.cuda.max_memory_allocated'
    else:
        out['peak_mem_mib'] = _peak_rss_mib()
        out['rss_increase_mib'] = max(0.0, _peak_rss_mib() - rss_before)
        out['mem_note'] = 'process peak RSS (getrusage)'
    return out


def time_forward(model: torch.nn.Module, batch: dict, runs: int,
                 warmup: int, device: str) -> Dict[str, object]:
    """Median latency (ms) of the tensor-mode forward, no post-processing.

    Returns:
        dict: ``forward_ms`` (float, or None when the model has no tensor
        forward, e.g. Grounding DINO) and ``forward_note``.
    """
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
    wrapper = TensorForward(model, data['data_samples'])
    times = []
    try:
        with torch.no_grad():
            for i in range(warmup + runs):
                t0 = time.perf_counter()
                wrapper(data['inputs'])
                _sync(device)
                if i >= warmup:
                    times.append((time.perf_counter() - t0) * 1000.0)
    except Exception as e:  # the tensor mode is model dependent
        msg = f'{type(e).__name__}: {e}'.splitlines()[0][:120]
        return dict(forward_ms=None, forward_note=f'no tensor forward ({msg})')
    return dict(forward_ms=statistics.median(times),
                forward_note='tensor-mode forward')
