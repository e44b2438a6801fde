# Copyright (c) mmase contributors. All rights reserved.
"""Linear reference rows of the ASE benchmark
(``tools/ase/run_ase_benchmark.py``): the majority class, a logistic
regression on the record fields, and one on pixel measurements of the
image (an upper reference of what the record can say)."""
import os.path as osp
import time


def _read_split(data_root: str, split: str):
    from mmase.utils.file_io import load_jsonl
    return load_jsonl(osp.join(data_root, 'annotations', f'{split}.jsonl'))


def _record_features(rows_by_split: dict, meta: dict) -> dict:
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer
    fields = meta['numeric_fields']
    num = {s: np.array([[r['record'][f] for f in fields] for r in rows],
                       np.float64) for s, rows in rows_by_split.items()}
    mean, std = num['train'].mean(0), num['train'].std(0) + 1e-9
    machines = sorted({r['record'].get('machine_id', '')
                       for r in rows_by_split['train']})
    words = CountVectorizer(binary=True).fit(
        [str(r['record'].get('operator_note', ''))
         for r in rows_by_split['train']])
    out = {}
    for s, rows in rows_by_split.items():
        onehot = np.array([[r['record'].get('machine_id', '') == m
                            for m in machines] for r in rows], np.float64)
        note = words.transform([str(r['record'].get('operator_note', ''))
                                for r in rows]).toarray()
        out[s] = np.hstack([(num[s] - mean) / std, onehot, note])
    return out


def _oracle_features(rows_by_split: dict, data_root: str) -> dict:
    import numpy as np
    from PIL import Image

    from mmase.apis.ase_measure import (detect_dots, record_measurements,
                                        region_stats)
    from mmase.datasets.synthetic.ase_generator import MEASURED_FIELDS
    out = {}
    for s, rows in rows_by_split.items():
        feats = []
        for r in rows:
            with Image.open(osp.join(data_root, r['img_path'])) as im:
                img = np.asarray(im.convert('RGB'))
            dots = detect_dots(img)
            rec = record_measurements(dots, 1.0)
            cells = region_stats(dots)
            pink = np.array([c['pink'] for c in cells])
            rel = np.sort(pink / max(np.median(pink), 1e-6) - 1)
            shift = np.sort([c['shift'] for c in cells])
            feats.append(np.concatenate(
                [[rec[f] for f in MEASURED_FIELDS], rel, shift]))
        out[s] = np.nan_to_num(np.array(feats, np.float64))
    mean = out['train'].mean(0)
    std = out['train'].std(0) + 1e-9
    return {s: (x - mean) / std for s, x in out.items()}


def run_linear(name: str, data_root: str) -> dict:
    """One deterministic row: val / test macro-F1 (%) and test per class.

    Args:
        name (str): ``'majority'``, ``'record'`` or ``'oracle'``.
        data_root (str): The ASE set (``meta.json``, ``annotations/``).

    Returns:
        dict: ``val``, ``test``, ``test_per_class``, ``test_pred``,
        ``test_gt`` and ``minutes``.
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from mmase.utils.file_io import load_json
    meta = load_json(osp.join(data_root, 'meta.json'), 'ASE meta file')
    rows = {s: _read_split(data_root, s)
            for s in ('train', 'val', 'test')}
    classes = meta['classes']
    y = {s: np.array([classes.index(r['label']) for r in rs])
         for s, rs in rows.items()}
    start = time.time()

    def f1(yt, yp, average='macro'):
        res = f1_score(yt, yp, labels=list(range(len(classes))),
                       average=average, zero_division=0)
        return (100 * res).tolist() if average is None else 100 * float(res)

    if name == 'majority':
        major = int(np.bincount(y['train']).argmax())
        pred = {s: np.full(len(v), major) for s, v in y.items()}
    else:
        x = (_record_features(rows, meta) if name == 'record' else
             _oracle_features(rows, data_root))
        best = None
        for c in (0.01, 0.03, 0.1, 0.3, 1., 3., 10., 30., 100.):
            clf = LogisticRegression(C=c, class_weight='balanced',
                                     max_iter=5000)
            clf.fit(x['train'], y['train'])
            score = f1(y['val'], clf.predict(x['val']))
            if best is None or score > best[0]:
                best = (score, c, clf)
        pred = {s: best[2].predict(x[s]) for s in x}
    return dict(val=f1(y['val'], pred['val']),
                test=f1(y['test'], pred['test']),
                test_per_class=f1(y['test'], pred['test'], None),
                test_pred=pred['test'].tolist(), test_gt=y['test'].tolist(),
                minutes=round((time.time() - start) / 60, 2))
