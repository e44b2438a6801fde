# Copyright (c) mmase contributors. All rights reserved.
"""Print evaluation results in the layout of the papers' tables.

Each ``--runs`` entry is ``NAME=SOURCE`` where SOURCE is

* a metrics JSON file: a flat ``{"coco/bbox_mAP": 0.41, ...}`` dict (e.g.
  ``metrics.json``), mmengine's test log ``<work_dir>/<stamp>/<stamp>.json``
  (one dict) or a JSON-lines scalars file (``vis_data/scalars.json``: the
  last line holding metrics is used);
* a work directory: the newest of those files inside it (``metrics.json``
  first, then test logs, then the last validation in ``scalars.json``);
* ``CONFIG:CHECKPOINT``: ``tools/test.py`` is run first (work dir
  ``--test-work-dir/NAME``) and its results are read;
* several of those joined by commas (``NAME=seed0,seed1,seed2``): runs of
  the same method with different training seeds. Each cell is then the
  mean +- the sample standard deviation, and a ``*`` marks the cells that
  differ from the first row's by more than the sum of the two spreads (the
  difference is larger than the seed noise of either).

Tables (RTVP paper, MMIO/COCO/LVIS; ASE paper for ``ase``)::

    2a   Method | AP | AP50 | Precision | Recall        (MMIO closed)
    2b   Method | Params | AP | AP50 | AP75            (MMIO zero-shot)
    3    Method | AP | APs | APm | APl                 (COCO)
    4    Method | Pre-trained Data | AP | APr | APc | APf   (LVIS)
    5    Method | AP | AP50 | AP75                     (ablation)
    6    Patches Size | AP | AP50 | AP75               (patch size)
    ase  Method | Accuracy | Precision | Recall | F1   (macro, ASE)

Detection numbers are percentages (mmdet's 0-1 values times 100);
zero-shot tables prefer the unseen-class keys of ZeroShotCocoMetric
(``zs/unseen_bbox_*``) and fall back to CocoMetric's (``coco/bbox_*``, which
on the zero-shot test set is AP over the unseen vocabulary). A missing value
prints as ``-``. Params (table 2b) come from a ``params`` key of the
metrics, else from the model of the config (the run's CONFIG, or the config
mmengine dumped into the work dir), else ``-``.

Example::

    python tools/analysis/paper_table.py --table 2b \\
        --runs RTVP=work_dirs/rtvp_demo YOLO-W-S=work_dirs/yw_demo \\
        --out table2b.csv
"""
import argparse
import os.path as osp
import subprocess
import sys
from typing import Optional, Tuple

from mmase.utils.paper_tables import (TABLES, build_rows, find_config,
                                     markdown, read_metrics_file,
                                     read_work_dir, write_csv)

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Print results in the layout of a paper table')
    parser.add_argument('--table', required=True, choices=sorted(TABLES))
    parser.add_argument(
        '--runs', nargs='+', required=True, metavar='NAME=SOURCE',
        help='NAME=metrics.json | NAME=work_dir | NAME=CONFIG:CHECKPOINT')
    parser.add_argument('--out', default=None, help='CSV output path')
    parser.add_argument(
        '--pretrained-data', nargs='*', default=[], metavar='NAME=TEXT',
        help='table 4: the pre-training data of a run')
    parser.add_argument(
        '--no-params', action='store_true',
        help='table 2b: do not build models to count parameters')
    parser.add_argument(
        '--test-work-dir', default='work_dirs/paper_table',
        help='where CONFIG:CHECKPOINT runs are evaluated')
    return parser.parse_args(argv)


def run_test(name: str, config: str, checkpoint: str, work_root: str) -> str:
    """Evaluate CONFIG/CHECKPOINT with tools/test.py; return the work dir."""
    for p, what in ((config, 'config'), (checkpoint, 'checkpoint')):
        if not osp.isfile(p):
            raise FileNotFoundError(f'paper_table: run {name}: {what} not '
                                    f'found: {p}')
    work_dir = osp.join(work_root, name.replace(' ', '_').replace('/', '_'))
    cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', 'test.py'), config,
           checkpoint, '--work-dir', work_dir]
    print('running: ' + ' '.join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    return work_dir


def count_params(config: str) -> Optional[int]:
    """Parameters of the model of a config (None when it cannot be built)."""
    try:
        from mmase.apis import init_model
        model = init_model(config, init_weights=False)
        return sum(p.numel() for p in model.parameters())
    except Exception as e:  # a missing weight file etc.
        print(f'paper_table: cannot count params of {config}: '
              f'{type(e).__name__}: {e}', file=sys.stderr)
        return None


def parse_run(spec: str) -> Tuple[str, str]:
    if '=' not in spec:
        raise ValueError(f'--runs entry {spec!r}: expected NAME=SOURCE')
    name, source = spec.split('=', 1)
    if not name or not source:
        raise ValueError(f'--runs entry {spec!r}: empty name or source')
    return name, source


def load_run(name: str, source: str, work_root: str,
             want_params: bool = False) -> dict:
    """Metrics of one run (plus ``params`` when wanted and findable)."""
    config = None
    if osp.isfile(source):
        metrics = read_metrics_file(source)
    elif osp.isdir(source):
        metrics = read_work_dir(source)
        config = find_config(source)
    elif ':' in source:
        config, ckpt = source.rsplit(':', 1)
        metrics = read_work_dir(run_test(name, config, ckpt, work_root))
    else:
        raise FileNotFoundError(
            f'paper_table: run {name}: {source} is neither a metrics file, '
            'a work dir nor CONFIG:CHECKPOINT')
    metrics = dict(metrics)
    if want_params and 'params' not in metrics and config is not None:
        n = count_params(config)
        if n is not None:
            metrics['params'] = n
    return metrics


def main(argv=None) -> int:
    args = parse_args(argv)
    pretrained = dict(parse_run(s) for s in args.pretrained_data)
    want_params = args.table == '2b' and not args.no_params
    runs = []
    for spec in args.runs:
        name, sources = parse_run(spec)
        seeds = [
            load_run(name, source, args.test_work_dir, want_params and i == 0)
            for i, source in enumerate(sources.split(','))
        ]
        runs.append((name, seeds if len(seeds) > 1 else seeds[0]))
    header, rows = build_rows(args.table, runs, pretrained)
    print(markdown(header, rows))
    if args.out:
        write_csv(args.out, header, rows)
        print(f'written {args.out}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
