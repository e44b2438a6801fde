# Copyright (c) mmase contributors. All rights reserved.
"""Plot loss and metric curves from mmengine's JSON scalar logs.

Reads ``<work_dir>/<stamp>/vis_data/scalars.json`` (JSON lines written by
mmengine's ``LocalVisBackend``; training lines carry ``loss*``/``lr`` and
``step`` = iteration, validation lines carry metrics and ``step`` = epoch)
and writes one PNG with a loss panel (all ``loss*`` keys against the
iteration) and a metric panel (the chosen metric keys against the epoch).
Several logs can be overlaid (``--legend`` names them).

Examples::

    python tools/analysis/plot_logs.py work_dirs/rtvp_demo --out curves.png
    python tools/analysis/plot_logs.py a/scalars.json b/scalars.json \\
        --legend RTVP YOLO-World --keys loss coco/bbox_mAP --out cmp.png
"""
import argparse
import glob
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from mmase.utils.file_io import atomic_file, load_jsonl

Series = Dict[str, Tuple[List[float], List[float]]]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Loss and metric curves from mmengine scalars.json')
    parser.add_argument('logs', nargs='+',
                        help='scalars.json files or work dirs')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--keys', nargs='*', default=None,
                        help='keys to plot (default: every loss* key and '
                        'every bbox_mAP / accuracy metric)')
    parser.add_argument('--legend', nargs='*', default=None,
                        help='one name per log')
    parser.add_argument('--title', default=None)
    return parser.parse_args(argv)


def find_scalars(path: str) -> str:
    """``path`` if a file, else the newest ``*/vis_data/scalars.json``."""
    if osp.isfile(path):
        return path
    if osp.isdir(path):
        found = glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json'))
        found += glob.glob(osp.join(path, 'vis_data', 'scalars.json'))
        if found:
            return max(found, key=osp.getmtime)
        raise FileNotFoundError(
            f'plot_logs: no vis_data/scalars.json under {path}')
    raise FileNotFoundError(f'plot_logs: log not found: {path}')


def _is_metric(key: str) -> bool:
    return ('/' in key and not key.startswith('loss')) or 'mAP' in key \
        or key.startswith('accuracy')


def load_scalars(path: str) -> Tuple[Series, Series]:
    """Training and validation series of a scalars file.

    Returns:
        tuple[dict, dict]: ``train`` {key: (iterations, values)} for loss
        keys and ``val`` {key: (epochs, values)} for metric keys.

    Raises:
        ValueError: a line is not a JSON object (message names file and
            line).
    """
    train: Series = {}
    val: Series = {}
    for rec in load_jsonl(path):
        rec.pop('__line__')
        step = rec.get('step', rec.get('iter', rec.get('epoch')))
        if step is None:
            continue
        is_val = any(_is_metric(k) for k in rec)
        for k, v in rec.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                continue
            if k.startswith('loss') and not is_val:
                xs, ys = train.setdefault(k, ([], []))
            elif is_val and _is_metric(k):
                xs, ys = val.setdefault(k, ([], []))
            else:
                continue
            xs.append(float(step))
            ys.append(float(v))
    return train, val


def _select(series: Series, keys: Optional[Sequence[str]],
            default_filter) -> List[str]:
    if keys:
        return [k for k in keys if k in series]
    return sorted(k for k in series if default_filter(k))


def plot(logs: Sequence[str], out: str,
         keys: Optional[Sequence[str]] = None,
         legend: Optional[Sequence[str]] = None,
         title: Optional[str] = None) -> List[str]:
    """Draw the curves into ``out`` (written atomically).

    Returns:
        list[str]: The plotted curve labels.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    paths = [find_scalars(p) for p in logs]
    if legend and len(legend) != len(paths):
        raise ValueError(f'--legend has {len(legend)} names for '
                         f'{len(paths)} logs')
    names = list(legend) if legend else [
        osp.basename(osp.dirname(osp.dirname(p))) or p for p in paths
    ]
    fig, (ax_l, ax_m) = plt.subplots(1, 2, figsize=(12, 4.5))
    labels = []
    for name, path in zip(names, paths):
        train, val = load_scalars(path)
        for k in _select(train, keys, lambda k: k.startswith('loss')):
            xs, ys = train[k]
            lab = f'{name}: {k}' if len(paths) > 1 else k
            ax_l.plot(xs, ys, label=lab, linewidth=1)
            labels.append(lab)
        for k in _select(val, keys, lambda k: k.endswith(
                ('bbox_mAP', 'bbox_mAP_50', 'top1', 'f1-score', 'AP'))):
            xs, ys = val[k]
            lab = f'{name}: {k}' if len(paths) > 1 else k
            ax_m.plot(xs, ys, marker='o', label=lab)
            labels.append(lab)
    if not labels:
        plt.close(fig)
        raise ValueError('plot_logs: nothing to plot in ' +
                         ', '.join(paths) + (f' for keys {list(keys)}'
                                             if keys else ''))
    ax_l.set_xlabel('iteration')
    ax_l.set_ylabel('loss')
    ax_l.set_title('training losses')
    ax_m.set_xlabel('epoch')
    ax_m.set_ylabel('metric')
    ax_m.set_title('validation metrics')
    for ax in (ax_l, ax_m):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:
        with atomic_file(out, suffix='.png') as tmp:
            fig.savefig(tmp, dpi=120, format='png')
    finally:
        plt.close(fig)
    return labels


def main(argv=None) -> int:
    args = parse_args(argv)
    labels = plot(args.logs, args.out, args.keys, args.legend, args.title)
    print(f'written {args.out} ({len(labels)} curves: {", ".join(labels)})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
