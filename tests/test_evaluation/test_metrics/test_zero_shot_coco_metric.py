# Copyright (c) mmase contributors. All rights reserved.
import json

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmase.evaluation.metrics import ZeroShotCocoMetric

CLASSES = ('black round spot', 'white long scratch', 'white round spot',
           'black long scratch')
SPLIT = dict(seen=['black round spot', 'white long scratch'],
             unseen=['white round spot', 'black long scratch'])


def _make_gt(path, num_images=12, seed=0):
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for i in range(num_images):
        images.append(dict(id=i + 1, file_name=f'{i}.png', width=200,
                           height=200))
        for _ in range(int(rng.integers(1, 4))):
            x, y = rng.uniform(0, 150, 2)
            w, h = rng.uniform(5, 50, 2)
            anns.append(dict(id=len(anns) + 1, image_id=i + 1,
                             category_id=int(rng.integers(1, 5)),
                             bbox=[x, y, w, h], area=w * h, iscrowd=0))
    cats = [dict(id=k + 1, name=n) for k, n in enumerate(CLASSES)]
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    return images, anns


def _noisy_predictions(anns, num_images, seed=1, clutter=2):
    """Jittered copies of the gts, some with a wrong label, plus clutter."""
    rng = np.random.default_rng(seed)
    preds = {i + 1: [] for i in range(num_images)}
    for a in anns:
        x, y, w, h = a['bbox']
        j = rng.normal(0, 3, 4)
        label = a['category_id'] - 1
        if rng.random() < 0.2:
            label = int(rng.integers(0, 4))
        preds[a['image_id']].append(
            ([x + j[0], y + j[1], x + w + j[2], y + h + j[3]],
             float(rng.uniform(0.05, 1.0)), label))
    for img_id in preds:
        for k in range(clutter):
            x, y = rng.uniform(0, 150, 2)
            # beyond 2 per image, all clutter is one class, so that class
            # exceeds COCO's 100 detections per image and class
            label = int(rng.integers(0, 4)) if k < 2 else 2
            preds[img_id].append(([x, y, x + 20, y + 20],
                                  float(rng.uniform(0, 0.6)), label))
    return preds


def _run_metric(metric, preds):
    for img_id, dets in preds.items():
        bboxes = torch.tensor([d[0] for d in dets], dtype=torch.float32)
        metric.process({}, [
            dict(img_id=img_id, ori_shape=(200, 200),
                 pred_instances=dict(
                     bboxes=bboxes,
                     scores=torch.tensor([d[1] for d in dets]),
                     labels=torch.tensor([d[2] for d in dets])))
        ])
    return metric.compute_metrics(metric.results)


def _pycocotools_stats(ann_file, preds, cat_ids):
    gt = COCO(ann_file)
    dets = []
    for img_id, ds in preds.items():
        for box, score, label in ds:
            x1, y1, x2, y2 = box
            dets.append(dict(image_id=img_id, category_id=label + 1,
                             bbox=[x1, y1, x2 - x1, y2 - y1], score=score))
    ev = COCOeval(gt, gt.loadRes(dets), 'bbox')
    ev.params.catIds = cat_ids
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev.stats


def test_matches_pycocotools_on_each_subset(tmp_path):
    ann_file = str(tmp_path / 'gt.json')
    images, anns = _make_gt(ann_file)
    split_path = str(tmp_path / 'split.json')
    json.dump(SPLIT, open(split_path, 'w'))
    # more than COCO's 100 detections per image: they must be cut as
    # pycocotools does
    preds = _noisy_predictions(anns, len(images), clutter=120)

    metric = ZeroShotCocoMetric(ann_file=ann_file, split_path=split_path)
    metric.dataset_meta = dict(classes=CLASSES)
    res = _run_metric(metric, preds)

    for subset, cat_ids in (('unseen', [3, 4]), ('seen', [1, 2]),
                            ('all', [1, 2, 3, 4])):
        stats = _pycocotools_stats(ann_file, preds, cat_ids)
        for i, name in enumerate(('mAP', 'mAP_50', 'mAP_75', 'mAP_s',
                                  'mAP_m', 'mAP_l')):
            assert res[f'{subset}_bbox_{name}'] == pytest.approx(
                round(stats[i], 4), abs=1e-4), (subset, name)
    u, s = res['unseen_bbox_mAP'], res['seen_bbox_mAP']
    assert 0 < u < 1 and 0 < s < 1
    assert res['hm_bbox_mAP'] == pytest.approx(2 * u * s / (u + s), abs=1e-4)


def _write_hand_gt(path):
    """One image: two unseen gts (class 3) and one seen gt (class 1)."""
    cats = [dict(id=k + 1, name=n) for k, n in enumerate(CLASSES)]
    images = [dict(id=1, file_name='a.png', width=100, height=100)]
    anns = [
        dict(id=1, image_id=1, category_id=3, bbox=[0, 0, 20, 20], area=400,
             iscrowd=0),
        dict(id=2, image_id=1, category_id=3, bbox=[50, 50, 20, 20],
             area=400, iscrowd=0),
        dict(id=3, image_id=1, category_id=1, bbox=[0, 50, 20, 20], area=400,
             iscrowd=0),
    ]
    json.dump(dict(images=images, annotations=anns, categories=cats),
              open(path, 'w'))


def test_precision_recall_hand_case(tmp_path):
    ann_file = str(tmp_path / 'gt.json')
    _write_hand_gt(ann_file)
    preds = {1: [
        ([0, 0, 20, 20], 0.9, 2),      # TP (unseen)
        ([80, 0, 95, 15], 0.8, 2),     # FP (unseen)
        ([50, 50, 70, 70], 0.1, 2),    # TP but below the 0.25 threshold
        ([0, 50, 20, 70], 0.7, 0),     # TP (seen)
    ]}
    metric = ZeroShotCocoMetric(
        ann_file=ann_file, seen_classes=SPLIT['seen'],
        unseen_classes=SPLIT['unseen'])
    metric.dataset_meta = dict(classes=CLASSES)
    res = _run_metric(metric, preds)
    assert res['unseen_precision'] == pytest.approx(0.5)
    assert res['unseen_recall'] == pytest.approx(0.5)
    assert res['seen_precision'] == pytest.approx(1.0)
    assert res['seen_recall'] == pytest.approx(1.0)
    assert res['all_precision'] == pytest.approx(2 / 3, abs=1e-4)
    assert res['all_recall'] == pytest.approx(2 / 3, abs=1e-4)


def test_unseen_only_vocabulary_has_no_seen_keys(tmp_path):
    ann_file = str(tmp_path / 'gt.json')
    images, anns = _make_gt(ann_file)
    preds = _noisy_predictions(anns, len(images))
    # A model tested with the unseen vocabulary only: labels index into it.
    unseen_preds = {
        k: [(b, s, lab - 2) for b, s, lab in v if lab >= 2]
        for k, v in preds.items()
    }
    metric = ZeroShotCocoMetric(
        ann_file=ann_file, seen_classes=SPLIT['seen'],
        unseen_classes=SPLIT['unseen'])
    metric.dataset_meta = dict(classes=tuple(SPLIT['unseen']))
    res = _run_metric(metric, unseen_preds)
    assert 'seen_bbox_mAP' not in res and 'hm_bbox_mAP' not in res
    stats = _pycocotools_stats(
        ann_file, {k: [(b, s, lab + 2) for b, s, lab in v]
                   for k, v in unseen_preds.items()}, [3, 4])
    assert res['unseen_bbox_mAP'] == pytest.approx(round(stats[0], 4),
                                                   abs=1e-4)


def test_bad_split_is_named(tmp_path):
    ann_file = str(tmp_path / 'gt.json')
    _make_gt(ann_file)
    split_path = str(tmp_path / 'split.json')
    json.dump(dict(seen=['black round spot'], unseen=['purple hole']),
              open(split_path, 'w'))
    with pytest.raises(ValueError, match='unseen.*purple hole'):
        ZeroShotCocoMetric(ann_file=ann_file, split_path=split_path)
    json.dump(dict(seen=['black round spot'], unseen=['black round spot']),
              open(split_path, 'w'))
    with pytest.raises(ValueError, match='both seen and unseen'):
        ZeroShotCocoMetric(ann_file=ann_file, split_path=split_path)
    json.dump(dict(seen='black round spot', unseen=[]), open(split_path, 'w'))
    with pytest.raises(ValueError, match='split.json: field "seen"'):
        ZeroShotCocoMetric(ann_file=ann_file, split_path=split_path)


def test_labels_follow_the_dataset_class_order(tmp_path):
    """A config that lists the classes in another order than the file:
    label i is scored as the class named ``classes[i]``, not as the i-th
    category of the file."""
    ann_file = str(tmp_path / 'gt.json')
    images, anns = _make_gt(ann_file)
    preds = _noisy_predictions(anns, len(images))
    order = (3, 1, 0, 2)  # dataset class k is file class order[k]
    reordered = tuple(CLASSES[i] for i in order)
    inv = {file_idx: k for k, file_idx in enumerate(order)}
    relabelled = {k: [(b, s, inv[lab]) for b, s, lab in v]
                  for k, v in preds.items()}
    metric = ZeroShotCocoMetric(
        ann_file=ann_file, seen_classes=SPLIT['seen'],
        unseen_classes=SPLIT['unseen'])
    metric.dataset_meta = dict(classes=reordered)
    res = _run_metric(metric, relabelled)
    for subset, cat_ids in (('unseen', [3, 4]), ('seen', [1, 2])):
        stats = _pycocotools_stats(ann_file, preds, cat_ids)
        assert res[f'{subset}_bbox_mAP'] == pytest.approx(
            round(stats[0], 4), abs=1e-4), subset
    assert res['seen_bbox_mAP'] > 0.3
    metric = ZeroShotCocoMetric(
        ann_file=ann_file, seen_classes=SPLIT['seen'],
        unseen_classes=SPLIT['unseen'])
    metric.dataset_meta = dict(classes=('purple hole', ) + CLASSES[1:])
    with pytest.raises(ValueError, match=r'gt\.json.*purple hole'):
        _run_metric(metric, relabelled)


def test_classwise_ap_hand_case(tmp_path):
    ann_file = str(tmp_path / 'gt.json')
    _write_hand_gt(ann_file)
    preds = {1: [
        ([0, 0, 20, 20], 0.9, 2),      # unseen: TP, FP, TP in score order
        ([80, 0, 95, 15], 0.8, 2),
        ([50, 50, 70, 70], 0.1, 2),
        ([0, 50, 20, 62.5], 0.7, 0),   # seen: IoU 0.625 with its gt
    ]}
    metric = ZeroShotCocoMetric(
        ann_file=ann_file, seen_classes=SPLIT['seen'],
        unseen_classes=SPLIT['unseen'], classwise=True)
    metric.dataset_meta = dict(classes=CLASSES)
    res = _run_metric(metric, preds)
    # unseen: recall 1/2 at precision 1, then 2/2 at precision 2/3; COCO's
    # 101 recall points: 51 of them (0 .. 0.50) at 1, 50 at 2/3 (every IoU
    # threshold alike, the boxes are exact)
    hand = (51 + 50 * 2 / 3) / 101
    assert res['white round spot_bbox_mAP_50'] == pytest.approx(
        round(hand, 4))
    assert res['white round spot_bbox_mAP'] == pytest.approx(round(hand, 4))
    # seen: matched at IoU 0.5, 0.55, 0.6 only, 3 of the 10 thresholds
    assert res['black round spot_bbox_mAP_50'] == pytest.approx(1.0)
    assert res['black round spot_bbox_mAP'] == pytest.approx(0.3)
    # no ground truth: NaN, as COCO leaves it out of the mean
    assert np.isnan(res['black long scratch_bbox_mAP'])
    # a subset's AP is the mean of its classes'
    assert res['unseen_bbox_mAP_50'] == pytest.approx(round(hand, 4))
    assert res['all_bbox_mAP'] == pytest.approx(
        round((hand + 0.3) / 2, 4), abs=1e-4)
    # without classwise: no per-class keys
    metric = ZeroShotCocoMetric(
        ann_file=ann_file, seen_classes=SPLIT['seen'],
        unseen_classes=SPLIT['unseen'])
    metric.dataset_meta = dict(classes=CLASSES)
    assert not any('round spot_' in k for k in _run_metric(metric, preds))
