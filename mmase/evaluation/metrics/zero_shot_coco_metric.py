# Copyright (c) mmase contributors. All rights reserved.
import json
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmdet.evaluation.metrics import CocoMetric
from mmdet.registry import METRICS
from mmengine.logging import MMLogger
from pycocotools.cocoeval import COCOeval

#: COCOeval.stats indices reported for each class subset.
_STAT_NAMES = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')


@METRICS.register_module()
class ZeroShotCocoMetric(CocoMetric):
    """COCO box AP on the unseen and seen classes of a zero-shot split.

    The predictions are evaluated by pycocotools' ``COCOeval`` once per class
    subset (``params.catIds`` restricted to the subset, everything else as in
    COCO), so each number equals what pycocotools gives on that subset. For
    every subset it reports AP, AP50, AP75, APs, APm, APl and, as in table 2a
    of the MMIO paper, a precision and a recall. The paper does not define
    its operating point; here they are the micro-averaged precision and recall
    of the detections scoring at least ``pr_score_thr`` at IoU 0.5 (COCO's own
    greedy matching, area 'all', 100 detections per image). When both subsets
    are in the vocabulary, the harmonic mean of the seen and unseen AP (the
    usual generalised zero-shot summary) is reported as ``hm_bbox_mAP``.

    Keys (with the ``zs/`` prefix): ``{subset}_bbox_{stat}``, ``{subset}_
    precision``, ``{subset}_recall`` for subset in ``unseen``, ``seen`` and
    ``all`` (the vocabulary classes), and ``hm_bbox_mAP``. With
    ``classwise=True`` (a :class:`mmdet.evaluation.CocoMetric` argument) the
    AP and AP50 of every class are logged as a table, with its subset and its
    number of ground-truth objects, and added as ``{class}_bbox_mAP`` and
    ``{class}_bbox_mAP_50``: a subset's AP is the mean of its classes', and
    a class with a handful of test objects moves it a lot.

    Args:
        ann_file (str): COCO annotation file of the test set.
        split_path (str, optional): ``split.json`` with ``{"seen": [...],
            "unseen": [...]}`` class names. Defaults to None.
        seen_classes (Sequence[str], optional): Seen class names, used when
            ``split_path`` is None. Defaults to None.
        unseen_classes (Sequence[str], optional): Unseen class names, used
            when ``split_path`` is None. Defaults to None.
        pr_score_thr (float): Score threshold of the precision/recall
            operating point. Defaults to 0.25.
        prefix (str, optional): Metric key prefix. Defaults to 'zs'.
        **kwargs: Other :class:`mmdet.evaluation.CocoMetric` arguments
            (``outfile_prefix``, ``backend_args``, ...). ``metric`` is fixed
            to 'bbox'.
    """
    default_prefix: Optional[str] = 'zs'

    def __init__(self,
                 ann_file: str,
                 split_path: Optional[str] = None,
                 seen_classes: Optional[Sequence[str]] = None,
                 unseen_classes: Optional[Sequence[str]] = None,
                 pr_score_thr: float = 0.25,
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        kwargs.pop('metric', None)
        super().__init__(
            ann_file=ann_file, metric='bbox', prefix=prefix, **kwargs)
        self.ann_file = ann_file
        if split_path is not None:
            seen_classes, unseen_classes = self._read_split(split_path)
        if seen_classes is None or unseen_classes is None:
            raise ValueError('ZeroShotCocoMetric needs `split_path` or both '
                             '`seen_classes` and `unseen_classes`')
        overlap = set(seen_classes) & set(unseen_classes)
        if overlap:
            raise ValueError(f'{split_path or "ZeroShotCocoMetric"}: classes '
                             f'both seen and unseen: {sorted(overlap)}')
        self.seen_classes = list(seen_classes)
        self.unseen_classes = list(unseen_classes)
        self.pr_score_thr = pr_score_thr
        known = {cat['name'] for cat in self._coco_api.dataset['categories']}
        for field, names in (('seen', self.seen_classes),
                             ('unseen', self.unseen_classes)):
            unknown = sorted(set(names) - known)
            if unknown:
                raise ValueError(
                    f'{split_path or "ZeroShotCocoMetric"}: field "{field}" '
                    f'names classes not in {ann_file}: {unknown}')

    @staticmethod
    def _read_split(split_path: str):
        try:
            with open(split_path, encoding='utf-8') as f:
                split = json.load(f)
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f'{split_path}: cannot read split file: {err}')
        for field in ('seen', 'unseen'):
            if not isinstance(split.get(field), list):
                raise ValueError(
                    f'{split_path}: field "{field}" must be a list of class '
                    f'names')
        return split['seen'], split['unseen']

    def _subset_cat_ids(self, names: Sequence[str]) -> List[int]:
        """Category ids of ``names`` that are in the evaluated vocabulary."""
        vocab = set(self.dataset_meta['classes'])
        names = [n for n in names if n in vocab]
        if not names:
            return []
        return list(self._coco_api.get_cat_ids(cat_names=names))

    def _label_cat_ids(self) -> List[int]:
        """Category id of every label, in the dataset's class order.

        ``COCO.get_cat_ids(cat_names=...)`` returns the ids in the file's
        order, whatever the order of the names, so a config that lists its
        classes in another order would have its labels scored as other
        classes; the mapping goes by name instead.
        """
        name2id = {
            cat['name']: cat['id']
            for cat in self._coco_api.dataset['categories']
        }
        classes = list(self.dataset_meta['classes'])
        unknown = [n for n in classes if n not in name2id]
        if unknown:
            raise ValueError(f'{self.ann_file}: the dataset classes {unknown}'
                             ' are not categories of the annotation file')
        return [name2id[n] for n in classes]

    def _evaluate_subset(self, coco_dt,
                         cat_ids: List[int]) -> Tuple[Dict[str, float],
                                                      COCOeval]:
        """COCO's stats on ``cat_ids``, and the evaluation they come from."""
        coco_eval = COCOeval(self._coco_api, coco_dt, 'bbox')
        coco_eval.params.catIds = cat_ids
        coco_eval.params.imgIds = self.img_ids
        # pycocotools' own maxDets (1, 10, 100) and IoU thresholds, so the
        # numbers are COCO's (mmdet's CocoMetric evaluates up to 1000
        # detections per image for its proposal recall).
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
        out = {
            f'bbox_{name}': round(float(coco_eval.stats[i]), 4)
            for i, name in enumerate(_STAT_NAMES)
        }
        precision, recall = self._precision_recall(coco_eval)
        out['precision'] = round(precision, 4)
        out['recall'] = round(recall, 4)
        return out, coco_eval

    @staticmethod
    def _iou50_index(coco_eval: COCOeval) -> int:
        """Index of IoU 0.5 among ``coco_eval``'s IoU thresholds."""
        return int(
            np.argmin(np.abs(np.asarray(coco_eval.params.iouThrs) - 0.5)))

    def _per_class_ap(self, coco_eval: COCOeval) -> List[tuple]:
        """``(category id, AP, AP50)`` of every evaluated class: the mean
        interpolated precision over recall (and IoU 0.5:0.95 for AP) at area
        'all' and 100 detections, as COCO averages it; NaN for a class
        without ground truth."""
        # precision: (IoU thresholds, recall points, classes, areas, maxDets)
        prec = coco_eval.eval['precision']
        t50 = self._iou50_index(coco_eval)
        rows = []
        for k, cat_id in enumerate(coco_eval.params.catIds):
            stats = []
            for p in (prec[:, :, k, 0, -1], prec[t50, :, k, 0, -1]):
                valid = p[p > -1]
                stats.append(float(valid.mean()) if valid.size else
                             float('nan'))
            rows.append((cat_id, *stats))
        return rows

    def _log_class_table(self, rows: List[tuple],
                         logger: MMLogger) -> Dict[str, float]:
        """Log the per-class table; return its ``{class}_bbox_*`` keys."""
        from terminaltables import AsciiTable
        unseen = set(self.unseen_classes)
        table = [['class', 'subset', 'gt objects', 'AP', 'AP50']]
        out = OrderedDict()
        for cat_id, ap, ap50 in rows:
            name = self._coco_api.cats[cat_id]['name']
            num_gt = len(self._coco_api.get_ann_ids(
                img_ids=self.img_ids, cat_ids=[cat_id]))
            table.append([
                name, 'unseen' if name in unseen else 'seen',
                str(num_gt), f'{100 * ap:.1f}', f'{100 * ap50:.1f}'
            ])
            out[f'{name}_bbox_mAP'] = round(ap, 4)
            out[f'{name}_bbox_mAP_50'] = round(ap50, 4)
        logger.info('per-class box AP (%):\n' + AsciiTable(table).table)
        return out

    def _precision_recall(self, coco_eval: COCOeval):
        """Micro precision/recall at IoU 0.5 and ``pr_score_thr``."""
        t = self._iou50_index(coco_eval)
        num_area = len(coco_eval.params.areaRng)
        num_img = len(coco_eval.params.imgIds)
        tp = fp = num_gt = 0
        # evalImgs is ordered (category, area range, image); area index 0 is
        # 'all'.
        for k in range(len(coco_eval.params.catIds)):
            base = k * num_area * num_img
            for e in coco_eval.evalImgs[base:base + num_img]:
                if e is None:
                    continue
                num_gt += int(np.sum(np.logical_not(e['gtIgnore'])))
                keep = (np.asarray(e['dtScores']) >= self.pr_score_thr) & \
                    np.logical_not(e['dtIgnore'][t])
                matched = e['dtMatches'][t] > 0
                tp += int(np.sum(matched & keep))
                fp += int(np.sum(~matched & keep))
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / num_gt if num_gt > 0 else 0.0
        return precision, recall

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Evaluate the collected results on every class subset.

        Args:
            results (list): ``(gt, prediction)`` pairs from :meth:`process`.

        Returns:
            Dict[str, float]: The metrics (see the class docstring).
        """
        logger: MMLogger = MMLogger.get_current_instance()
        _, preds = zip(*results)
        tmp_dir = None
        if self.outfile_prefix is None:
            tmp_dir = tempfile.TemporaryDirectory()
            outfile_prefix = osp.join(tmp_dir.name, 'results')
        else:
            outfile_prefix = self.outfile_prefix
        if self.cat_ids is None:
            self.cat_ids = self._label_cat_ids()
        if self.img_ids is None:
            self.img_ids = self._coco_api.get_img_ids()
        result_files = self.results2json(preds, outfile_prefix)

        eval_results = OrderedDict()
        with open(result_files['bbox']) as f:
            dets = json.load(f)
        subsets = [('unseen', self._subset_cat_ids(self.unseen_classes)),
                   ('seen', self._subset_cat_ids(self.seen_classes)),
                   ('all', list(self.cat_ids))]
        # one results COCO for every subset: COCOeval only reads it
        coco_dt = self._coco_api.loadRes(dets) if dets else None
        for name, cat_ids in subsets:
            if not cat_ids:
                continue
            logger.info(f'Evaluating zero-shot subset "{name}" '
                        f'({len(cat_ids)} classes)...')
            if coco_dt is not None:
                stats, coco_eval = self._evaluate_subset(coco_dt, cat_ids)
            else:
                logger.warning('no detections: every metric is 0')
                stats = {f'bbox_{n}': 0.0 for n in _STAT_NAMES}
                stats.update(precision=0.0, recall=0.0)
            for key, value in stats.items():
                eval_results[f'{name}_{key}'] = value
            if self.classwise and name == 'all' and coco_dt is not None:
                eval_results.update(
                    self._log_class_table(
                        self._per_class_ap(coco_eval), logger))
        if 'unseen_bbox_mAP' in eval_results and \
                'seen_bbox_mAP' in eval_results:
            u, s = eval_results['unseen_bbox_mAP'], \
                eval_results['seen_bbox_mAP']
            eval_results['hm_bbox_mAP'] = round(
                2 * u * s / (u + s), 4) if u + s > 0 else 0.0
        if tmp_dir is not None:
            tmp_dir.cleanup()
        return eval_results
