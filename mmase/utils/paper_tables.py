# Copyright (c) mmase contributors. All rights reserved.
"""The papers' result tables (``tools/analysis/paper_table.py``): which
metric keys fill each column, reading metrics from JSON files and work
directories, and formatting rows (mean +- sample std over seeds, ``*`` where
a row differs from the first by more than both spreads)."""
import csv
import glob
import io
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .file_io import dump_text_atomic

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
