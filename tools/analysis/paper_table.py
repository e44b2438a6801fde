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
import csv
import glob
import io
import json
import math
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple, Union

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmase.utils.file_io import dump_text_atomic  # noqa: E402

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))

# column -> (candidate metric keys in order of preference, scale)
_DET = 100.0
_CLS = 1.0  # mmpretrain metrics are already percentages
COLUMNS: Dict[str, Tuple[Sequence[str], float]] = {
    'AP_zs': (('zs/unseen_bbox_mAP', 'coco/bbox_mAP'), _DET),
    'AP50_zs': (('zs/unseen_bbox_mAP_50', 'coco/bbox_mAP_50'), _DET),
    'AP75_zs': (('zs/unseen_bbox_mAP_75', 'coco/bbox_mAP_75'), _DET),
    'AP': (('coco/bbox_mAP', 'zs/all_bbox_mAP'), _DET),
    'AP50': (('coco/bbox_mAP_50', 'zs/all_bbox_mAP_50'), _DET),
    'AP75': (('coco/bbox_mAP_75', 'zs/all_bbox_mAP_75'), _DET),
    'APs': (('coco/bbox_mAP_s', 'zs/all_bbox_mAP_s'), _DET),
    'APm': (('coco/bbox_mAP_m', 'zs/all_bbox_mAP_m'), _DET),
    'APl': (('coco/bbox_mAP_l', 'zs/all_bbox_mAP_l'), _DET),
    'Precision': (('zs/all_precision', 'zs/unseen_precision',
                   'coco/precision'), _DET),
    'Recall': (('zs/all_recall', 'zs/unseen_recall', 'coco/recall'), _DET),
    'AP_lvis': (('lvis/bbox_AP', ), _DET),
    'APr': (('lvis/bbox_APr', ), _DET),
    'APc': (('lvis/bbox_APc', ), _DET),
    'APf': (('lvis/bbox_APf', ), _DET),
    'Accuracy': (('accuracy/top1', ), _CLS),
    'MacroP': (('single-label/precision', ), _CLS),
    'MacroR': (('single-label/recall', ), _CLS),
    'MacroF1': (('single-label/f1-score', ), _CLS),
}

# table -> (header, column ids); 'name', 'params', 'pretrained' are special
TABLES: Dict[str, Tuple[List[str], List[str]]] = {
    '2a': (['Method', 'AP', 'AP50', 'Precision', 'Recall'],
           ['name', 'AP', 'AP50', 'Precision', 'Recall']),
    '2b': (['Method', 'Params', 'AP', 'AP50', 'AP75'],
           ['name', 'params', 'AP_zs', 'AP50_zs', 'AP75_zs']),
    '3': (['Method', 'AP', 'APs', 'APm', 'APl'],
          ['name', 'AP', 'APs', 'APm', 'APl']),
    '4': (['Method', 'Pre-trained Data', 'AP', 'APr', 'APc', 'APf'],
          ['name', 'pretrained', 'AP_lvis', 'APr', 'APc', 'APf']),
    '5': (['Method', 'AP', 'AP50', 'AP75'],
          ['name', 'AP_zs', 'AP50_zs', 'AP75_zs']),
    '6': (['Patches Size', 'AP', 'AP50', 'AP75'],
          ['name', 'AP_zs', 'AP50_zs', 'AP75_zs']),
    'ase': (['Method', 'Accuracy', 'Macro-P', 'Macro-R', 'Macro-F1'],
            ['name', 'Accuracy', 'MacroP', 'MacroR', 'MacroF1']),
}
ALL_KEYS = {k for keys, _ in COLUMNS.values() for k in keys}


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


# ------------------------------------------------------------------ reading
def _metric_dict(obj) -> Optional[dict]:
    """The metrics in a parsed JSON object, or None."""
    if isinstance(obj, dict):
        if 'metrics' in obj and isinstance(obj['metrics'], dict):
            obj = obj['metrics']
        if any(k in ALL_KEYS for k in obj):
            return dict(obj)
    return None


def read_metrics_file(path: str) -> dict:
    """Metrics from a JSON dict or the last metric line of a JSON-lines file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: it holds no known metric (message names the file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'paper_table: metrics file not found: {path}')
    with open(path) as f:
        text = f.read()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        obj = None
    if obj is not None:
        metrics = _metric_dict(obj)
        if metrics is None:
            raise ValueError(f'{path}: no known metric key (expected one of '
                             f'e.g. coco/bbox_mAP, zs/unseen_bbox_mAP)')
        return metrics
    last = None
    for i, line in enumerate(text.splitlines()):
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f'{path}: line {i + 1} is not JSON ({e})')
        metrics = _metric_dict(rec)
        if metrics is not None:
            last = metrics
    if last is None:
        raise ValueError(f'{path}: no line with a known metric key')
    return last


def _candidates(work_dir: str) -> List[str]:
    """Metric files in a work dir, most preferred first."""
    out = []
    direct = osp.join(work_dir, 'metrics.json')
    if osp.isfile(direct):
        out.append(direct)
    tests = [
        p for p in glob.glob(osp.join(work_dir, '*', '*.json'))
        if osp.basename(p)[:-5] == osp.basename(osp.dirname(p))
    ]
    out += sorted(tests, key=osp.getmtime, reverse=True)
    scalars = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    out += sorted(scalars, key=osp.getmtime, reverse=True)
    return out


def read_work_dir(work_dir: str) -> dict:
    """Metrics of the newest evaluation found in ``work_dir``."""
    errors = []
    for path in _candidates(work_dir):
        try:
            return read_metrics_file(path)
        except ValueError as e:
            errors.append(str(e))
    raise ValueError(f'{work_dir}: no evaluation found (looked for '
                     'metrics.json, <stamp>/<stamp>.json, '
                     '<stamp>/vis_data/scalars.json)' +
                     (': ' + '; '.join(errors) if errors else ''))


def find_config(work_dir: str) -> Optional[str]:
    """The config mmengine dumped into a work dir (newest), if any."""
    cfgs = glob.glob(osp.join(work_dir, '*.py'))
    return max(cfgs, key=osp.getmtime) if cfgs else None


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
        sys.path.insert(0, REPO_ROOT)
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


# --------------------------------------------------------------- formatting
def column_value(metrics: dict, column: str) -> Optional[float]:
    """Value of a table column from a metrics dict (None if missing)."""
    keys, scale = COLUMNS[column]
    for k in keys:
        v = metrics.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if math.isnan(v) or v < 0:  # COCO's -1: no such objects
                return None
            return float(v) * scale
    return None


def format_params(n) -> str:
    if n is None:
        return '-'
    n = float(n)
    if n >= 1e6:
        return f'{n / 1e6:.0f}M' if n >= 1e8 else f'{n / 1e6:.1f}M'
    if n >= 1e3:
        return f'{n / 1e3:.1f}K'
    return f'{n:.0f}'


def seed_stats(values: List[Optional[float]]
               ) -> Optional[Tuple[float, float, int]]:
    """Mean, sample std (0 for one value) and count of the known values."""
    known = [v for v in values if v is not None]
    if not known:
        return None
    mean = sum(known) / len(known)
    if len(known) < 2:
        return mean, 0.0, len(known)
    var = sum((v - mean)**2 for v in known) / (len(known) - 1)
    return mean, math.sqrt(var), len(known)


def format_stat(stat, ref=None) -> str:
    """``12.3`` for one seed, ``12.3 ± 0.4`` for several, ``*`` when the
    mean differs from ``ref``'s by more than both spreads together."""
    if stat is None:
        return '-'
    mean, std, n = stat
    if n < 2:
        return f'{mean:.1f}'
    text = f'{mean:.1f} ± {std:.1f}'
    if ref is not None and ref[2] >= 2 and abs(mean - ref[0]) > std + ref[1]:
        text += ' *'
    return text


def build_rows(table: str, runs: List[Tuple[str, Union[dict, List[dict]]]],
               pretrained: Optional[Dict[str, str]] = None
               ) -> Tuple[List[str], List[List[str]]]:
    """Header and formatted rows of ``table``.

    Args:
        table (str): Table id (see ``TABLES``).
        runs (list[tuple[str, dict | list[dict]]]): (name, metrics) in row
            order; a list of metrics holds the seeds of one method.
        pretrained (dict, optional): Table 4 pre-training data per name.

    Returns:
        tuple: header (list of str), rows (list of list of str).
    """
    if table not in TABLES:
        raise ValueError(f'unknown table {table!r}; one of {sorted(TABLES)}')
    header, cols = TABLES[table]
    rows, first = [], {}
    for r, (name, metrics) in enumerate(runs):
        seeds = metrics if isinstance(metrics, list) else [metrics]
        row = []
        for col in cols:
            if col == 'name':
                row.append(name)
            elif col == 'params':
                row.append(format_params(seeds[0].get('params')))
            elif col == 'pretrained':
                row.append((pretrained or {}).get(name, '-'))
            else:
                stat = seed_stats([column_value(m, col) for m in seeds])
                if r == 0:
                    first[col] = stat
                row.append(format_stat(stat, None if r == 0 else
                                       first.get(col)))
        rows.append(row)
    return header, rows


def markdown(header: List[str], rows: List[List[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join(['---'] * len(header)) + '|']
    lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
    return '\n'.join(lines)


def write_csv(path: str, header: List[str], rows: List[List[str]]) -> None:
    """Write the table as CSV atomically (temp file, then rename)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(header)
    writer.writerows(rows)
    dump_text_atomic(buf.getvalue(), path)


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
