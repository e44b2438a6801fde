# Copyright (c) mmase contributors. All rights reserved.
"""Statistics figures of a COCO / MMIO set (as MMIO's Figure 2c).

Writes to ``--out-dir``:

- ``class_hist.png``: instances per class, sorted (long tail), bars coloured
  by seen/unseen when a ``split.json`` is found;
- ``box_size_hist.png``: box size ``sqrt(w * h)`` in pixels with the COCO
  small/medium/large limits (32, 96) marked;
- ``stats.json``: the numbers behind the figures.

Example::

    python tools/analysis/dataset_stats.py data/mmio_synth \\
        --out-dir work_dirs/mmio_stats

Samples with their boxes are drawn by ``tools/analysis/browse_dataset.py``
(mmdet's visualizer, after the config's pipeline, with the vocabulary and
remapped labels the model sees).
"""
import argparse
import json
import os
import os.path as osp
import sys
from collections import Counter
from typing import Optional

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


from mmase.utils.file_io import atomic_file, dump_json_atomic  # noqa: E402


def resolve(path: str, ann: Optional[str] = None):
    """``(ann_file, img_dir, split_path)`` of a dataset folder or file."""
    if osp.isdir(path):
        ann_file = osp.join(path, ann or 'annotations/instances_all.json')
        root = path
    else:
        ann_file = path
        d = osp.dirname(osp.abspath(path))
        root = osp.dirname(d) if osp.basename(d) == 'annotations' else d
    split = osp.join(root, 'split.json')
    return ann_file, osp.join(root, 'images'), (split if osp.isfile(split)
                                                else None)


def compute_stats(coco: dict, split: Optional[dict] = None) -> dict:
    """Counts behind the figures.

    Args:
        coco (dict): COCO dict.
        split (dict, optional): ``{"seen": [...], "unseen": [...]}``.

    Returns:
        dict: ``class_counts`` (name -> instances, every category, sorted
        descending), ``box_sizes`` (list of ``sqrt(w*h)``), ``small/medium/
        large`` fractions (COCO limits 32/96 px), image and box totals.
    """
    names = {c['id']: c['name'] for c in coco['categories']}
    counts = Counter(names[a['category_id']] for a in coco['annotations'])
    class_counts = {n: counts.get(n, 0) for n in names.values()}
    class_counts = dict(
        sorted(class_counts.items(), key=lambda kv: (-kv[1], kv[0])))
    sizes = [float(np.sqrt(max(a['bbox'][2], 0) * max(a['bbox'][3], 0)))
             for a in coco['annotations']]
    arr = np.asarray(sizes) if sizes else np.zeros(0)
    n = max(len(arr), 1)
    out = dict(
        num_images=len(coco['images']),
        num_boxes=len(coco['annotations']),
        num_classes=len(names),
        class_counts=class_counts,
        box_sizes=sizes,
        small=float((arr < 32).sum() / n),
        medium=float(((arr >= 32) & (arr < 96)).sum() / n),
        large=float((arr >= 96).sum() / n),
        boxes_per_image=float(len(arr) / max(len(coco['images']), 1)))
    if split:
        out['unseen'] = list(split.get('unseen', []))
    return out


def plot_class_hist(stats: dict, path: str) -> None:
    """Bar chart of instances per class, sorted."""
    names = list(stats['class_counts'])
    vals = [stats['class_counts'][n] for n in names]
    unseen = set(stats.get('unseen', []))
    colors = ['tab:orange' if n in unseen else 'tab:blue' for n in names]
    fig, ax = plt.subplots(figsize=(max(6, 0.28 * len(names) + 2), 4.5))
    ax.bar(range(len(names)), vals, color=colors)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=75, ha='right', fontsize=7)
    ax.set_ylabel('instances')
    ax.set_title(f'{stats["num_classes"]} classes, {stats["num_boxes"]} '
                 f'instances')
    if unseen:
        from matplotlib.patches import Patch
        ax.legend(handles=[Patch(color='tab:blue', label='seen'),
                           Patch(color='tab:orange', label='unseen')])
    fig.tight_layout()
    try:
        with atomic_file(path, suffix='.png') as tmp:
            fig.savefig(tmp, dpi=120, format='png')
    finally:
        plt.close(fig)


def plot_box_hist(stats: dict, path: str) -> None:
    """Histogram of ``sqrt(w*h)`` with the COCO size limits."""
    sizes = np.asarray(stats['box_sizes'])
    fig, ax = plt.subplots(figsize=(6, 4))
    top = max(128.0, float(sizes.max()) if sizes.size else 128.0)
    ax.hist(sizes, bins=np.linspace(0, top, 41), color='tab:green')
    for lim in (32, 96):
        ax.axvline(lim, color='k', ls='--', lw=1)
    ax.set_xlabel('box size sqrt(w*h) [px]')
    ax.set_ylabel('instances')
    ax.set_title(f'small {stats["small"]:.0%}  medium {stats["medium"]:.0%}'
                 f'  large {stats["large"]:.0%}')
    fig.tight_layout()
    try:
        with atomic_file(path, suffix='.png') as tmp:
            fig.savefig(tmp, dpi=120, format='png')
    finally:
        plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('path', help='MMIO folder or COCO .json')
    p.add_argument('--ann', default=None,
                   help='annotation file inside the folder (default '
                   'annotations/instances_all.json)')
    p.add_argument('--out-dir', required=True)
    args = p.parse_args(argv)
    ann_file, _, split_path = resolve(args.path, args.ann)
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    split = None
    if split_path:
        with open(split_path, encoding='utf-8') as f:
            split = json.load(f)
    os.makedirs(args.out_dir, exist_ok=True)
    stats = compute_stats(coco, split)
    plot_class_hist(stats, osp.join(args.out_dir, 'class_hist.png'))
    plot_box_hist(stats, osp.join(args.out_dir, 'box_size_hist.png'))
    summary = {k: v for k, v in stats.items() if k != 'box_sizes'}
    dump_json_atomic(summary, osp.join(args.out_dir, 'stats.json'), indent=2)
    print(json.dumps({k: v for k, v in summary.items()
                      if k not in ('class_counts', 'unseen')}, indent=2))
    print(f'figures and stats.json in {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
