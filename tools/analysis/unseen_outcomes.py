# Copyright (c) mmase contributors. All rights reserved.
"""Where the unseen objects go: the name a zero-shot detector gives each
unseen ground-truth object, from ``tools/test.py --out`` pickles.

Every ground-truth object of an unseen class (the ``unseen`` list of the
split file of the config's ``ZeroShotCocoMetric``) gets the name of the
highest-scoring detection (``score >= --score-thr``) that overlaps it with
``IoU >= --iou-thr``, whatever that name is: the right name, a seen name,
another unseen name, or none (missed). A wrong name is broken down by the
class attributes it shares with the right one (``color``, ``form``,
``shape`` of the annotation file's categories, when they have them).

COCO's AP ranks the detections of each class on their own, so a right name
that scores below a wrong one on the same box still counts there; this
table shows how often the right name is the detector's first choice. With
several pickles (training seeds) every cell is mean ± std::

    python tools/test.py CONFIG CKPT --out work_dirs/x/preds.pkl
    python tools/analysis/unseen_outcomes.py CONFIG work_dirs/x/preds.pkl \\
        [more.pkl ...] --out work_dirs/x/unseen_outcomes.json
"""
import argparse
import json
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config, DictAction

from mmase.apis.det_results import (build_test_dataset,
                                    check_results_match, class_names,
                                    ground_truth, load_results, predictions)
from mmase.utils.file_io import dump_json_atomic
from mmase.utils.setup_env import load_config

ATTRIBUTES = ('color', 'form', 'shape')
RIGHT, MISSED = 'right name', 'missed'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config the pickles were tested with')
    parser.add_argument('prediction_paths', nargs='+',
                        help='tools/test.py --out pickles (e.g. one per seed)')
    parser.add_argument('--score-thr', type=float, default=0.1)
    parser.add_argument('--iou-thr', type=float, default=0.5)
    parser.add_argument('--out', help='JSON file for the table')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args(argv)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box with each of ``boxes`` (x1, y1, x2, y2)."""
    lt = np.maximum(box[:2], boxes[:, :2])
    rb = np.minimum(box[2:], boxes[:, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=1)
    area = (box[2:] - box[:2]).prod()
    areas = (boxes[:, 2:] - boxes[:, :2]).prod(axis=1)
    return inter / np.maximum(area + areas - inter, 1e-9)


def outcome(true: str, pred: Optional[str], unseen: Sequence[str],
            attributes: Dict[str, dict]) -> str:
    """The outcome of an unseen object named ``pred`` (None: missed)."""
    if pred is None:
        return MISSED
    if pred == true:
        return RIGHT
    a, b = attributes.get(true, {}), attributes.get(pred, {})
    same = [k for k in ATTRIBUTES if k in a and a.get(k) == b.get(k)]
    kind = 'unseen' if pred in unseen else 'seen'
    return f"{kind} name, same {'+'.join(same) or 'nothing'}"


def object_outcomes(gt_bboxes: np.ndarray, gt_names: Sequence[str],
                    det_bboxes: np.ndarray, det_scores: np.ndarray,
                    det_names: Sequence[str], unseen: Sequence[str],
                    attributes: Dict[str, dict],
                    iou_thr: float = 0.5) -> List[str]:
    """One outcome per unseen object of an image (detections already
    filtered by score)."""
    out = []
    for box, name in zip(gt_bboxes, gt_names):
        if name not in unseen:
            continue
        pred = None
        if len(det_bboxes):
            hit = np.flatnonzero(_iou(box, det_bboxes) >= iou_thr)
            if hit.size:
                pred = det_names[hit[np.argmax(det_scores[hit])]]
        out.append(outcome(name, pred, unseen, attributes))
    return out


def unseen_outcomes(cfg: Config, pkl_path: str, score_thr: float = 0.1,
                    iou_thr: float = 0.5) -> Dict[str, float]:
    """% of the unseen objects per outcome, for one pickle."""
    metric = cfg.test_evaluator
    if isinstance(metric, (list, tuple)):
        metric = next(m for m in metric if m.get('split_path'))
    with open(metric['split_path'], encoding='utf-8') as f:
        unseen = json.load(f)['unseen']
    with open(metric['ann_file'], encoding='utf-8') as f:
        attributes = {c['name']: c.get('attributes', {})
                      for c in json.load(f)['categories']}
    dataset = build_test_dataset(cfg)
    results = load_results(pkl_path)
    check_results_match(results, dataset, pkl_path)
    classes = class_names(dataset)
    counts: Dict[str, int] = {}
    for i, res in enumerate(results):
        gt_bboxes, gt_labels, _ = ground_truth(dataset.get_data_info(i))
        bboxes, scores, labels = predictions(res, classes, score_thr,
                                             pkl_path)
        for k in object_outcomes(gt_bboxes, [classes[j] for j in gt_labels],
                                 bboxes, scores,
                                 [classes[j] for j in labels], unseen,
                                 attributes, iou_thr):
            counts[k] = counts.get(k, 0) + 1
    total = sum(counts.values())
    if not total:
        raise ValueError(f'{pkl_path}: the test images hold no object of '
                         f'the unseen classes of {metric["split_path"]}')
    return {k: 100. * v / total for k, v in counts.items()}


def main(argv=None):
    args = parse_args(argv)
    import mmase  # noqa: F401
    cfg = load_config(args.config, args.cfg_options)
    runs = [unseen_outcomes(cfg, p, args.score_thr, args.iou_thr)
            for p in args.prediction_paths]
    keys = sorted({k for r in runs for k in r},
                  key=lambda k: (k != RIGHT, k != MISSED,
                                 -sum(r.get(k, 0.) for r in runs)))
    table = {}
    print(f'| outcome of an unseen object (score >= {args.score_thr}, '
          f'IoU >= {args.iou_thr}) | % of the unseen objects |')
    print('|---|---|')
    for k in keys:
        vals = [r.get(k, 0.) for r in runs]
        table[k] = vals
        spread = f' ± {np.std(vals, ddof=1):.1f}' if len(vals) > 1 else ''
        print(f'| {k} | {np.mean(vals):.1f}{spread} |')
    if args.out:
        dump_json_atomic(
            dict(percent=table, pickles=args.prediction_paths,
                 score_thr=args.score_thr, iou_thr=args.iou_thr), args.out)
    return table


if __name__ == '__main__':
    main()
