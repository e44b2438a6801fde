# Copyright (c) mmase contributors. All rights reserved.
"""Best and worst test images of each class, from a ``tools/test.py --out``
pickle.

For every class and every test image holding ground truth of that class,
the image's AP of the class is computed with mmdet's ``eval_map`` (the VOC
style AP of one image, averaged over IoU 0.50:0.05:0.95 like COCO's AP; all
detections of the class count, whatever their score). Per class, the
``--topk`` highest and lowest are drawn with mmdet's ``DetLocalVisualizer``
(ground truth left, detections above ``--show-score-thr`` right) into
``SHOW_DIR/<class>/{best,worst}/<rank>_<image>_ap<AP>.png``; the ranking of
every class is written to ``SHOW_DIR/per_class_ap.json``::

    python tools/test.py CONFIG CKPT --out work_dirs/x/preds.pkl
    python tools/analysis/analyze_results.py CONFIG work_dirs/x/preds.pkl \\
        work_dirs/x/analysis --topk 5 --show-score-thr 0.3

mmdet's own ``analyze_results.py`` ranks images by their mean AP over all
classes; a per-class ranking shows which images each defect class fails
on. Open-vocabulary labels are mapped to the dataset classes by name.
"""
import argparse
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config, DictAction

from mmase.apis.det_results import (build_test_dataset,
                                    check_results_match, class_names,
                                    ground_truth, load_results, predictions)
from mmase.utils.file_io import atomic_file, dump_json_atomic

IOU_THRS = np.linspace(0.5, 0.95, 10)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config the pickle was tested with')
    parser.add_argument('prediction_path', help='tools/test.py --out pickle')
    parser.add_argument('show_dir', help='output folder')
    parser.add_argument('--topk', type=int, default=5,
                        help='best and worst images drawn per class')
    parser.add_argument('--show-score-thr', type=float, default=0.3,
                        help='detections drawn from this score on')
    parser.add_argument('--classes', nargs='*', default=None,
                        help='only these classes (default: all)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args(argv)


def image_class_aps(gt_bboxes: np.ndarray, gt_labels: np.ndarray,
                    gt_ignore: np.ndarray, bboxes: np.ndarray,
                    scores: np.ndarray, labels: np.ndarray,
                    num_classes: int) -> Dict[int, float]:
    """AP (IoU 0.50:0.95 mean) of one image for each class with ground
    truth in it, from mmdet's ``eval_map``."""
    from mmdet.evaluation import eval_map
    dets = [
        np.hstack([bboxes[labels == c], scores[labels == c, None]]).astype(
            np.float32) for c in range(num_classes)
    ]
    ann = dict(bboxes=gt_bboxes[~gt_ignore], labels=gt_labels[~gt_ignore],
               bboxes_ignore=gt_bboxes[gt_ignore],
               labels_ignore=gt_labels[gt_ignore])
    present = sorted(set(ann['labels'].tolist()))
    if not present:
        return {}
    aps = np.zeros((len(IOU_THRS), num_classes))
    for t, thr in enumerate(IOU_THRS):
        _, per_class = eval_map([dets], [ann], iou_thr=float(thr),
                                logger='silent', nproc=1)
        aps[t] = [float(r['ap']) for r in per_class]
    return {c: float(aps[:, c].mean()) for c in present}


def rank_images(dataset, results: Sequence[dict], path: str,
                classes_filter: Optional[Sequence[str]] = None
                ) -> Dict[str, List[dict]]:
    """Per class: ``[{index, img_path, ap}]`` sorted best first."""
    classes = class_names(dataset)
    if classes_filter:
        unknown = [c for c in classes_filter if c not in classes]
        if unknown:
            raise ValueError(f'--classes: {unknown} not in the test '
                             f'dataset classes {classes}')
    ranking: Dict[str, List[dict]] = {c: [] for c in classes}
    for i, res in enumerate(results):
        info = dataset.get_data_info(i)
        gt = ground_truth(info)
        pred = predictions(res, classes, 0.0, path)
        for c, ap in image_class_aps(*gt, *pred, len(classes)).items():
            ranking[classes[c]].append(
                dict(index=i, img_path=info['img_path'], ap=ap))
    keep = set(classes_filter) if classes_filter else set(classes)
    return {
        c: sorted(r, key=lambda x: (-x['ap'], x['index']))
        for c, r in ranking.items() if c in keep
    }


def _safe(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9._-]+', '_', name).strip('_') or 'class'


def draw(dataset, results: Sequence[dict], item: dict, out_file: str,
         score_thr: float, path: str, visualizer) -> None:
    """Ground truth and detections of one image, written atomically."""
    import mmcv
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    classes = class_names(dataset)
    info = dataset.get_data_info(item['index'])
    gt_bboxes, gt_labels, _ = ground_truth(info)
    bboxes, scores, labels = predictions(results[item['index']], classes,
                                         score_thr, path)
    sample = DetDataSample()
    sample.gt_instances = InstanceData(
        bboxes=torch.as_tensor(gt_bboxes), labels=torch.as_tensor(gt_labels))
    sample.pred_instances = InstanceData(
        bboxes=torch.as_tensor(bboxes), scores=torch.as_tensor(scores),
        labels=torch.as_tensor(labels))
    img = mmcv.imread(info['img_path'], channel_order='rgb')
    if img is None:
        raise FileNotFoundError(f'{info["img_path"]}: cannot read image')
    visualizer.add_datasample('image', img, sample, show=False,
                              pred_score_thr=score_thr)
    with atomic_file(out_file, suffix='.png') as tmp:
        mmcv.imwrite(visualizer.get_image()[..., ::-1], tmp)


def main(argv=None) -> Dict[str, List[dict]]:
    args = parse_args(argv)
    import mmase  # noqa: F401
    if args.topk < 1:
        raise ValueError(f'--topk must be >= 1, got {args.topk}')
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    dataset = build_test_dataset(cfg)
    results = load_results(args.prediction_path)
    check_results_match(results, dataset, args.prediction_path)
    ranking = rank_images(dataset, results, args.prediction_path,
                          args.classes)

    from mmdet.visualization import DetLocalVisualizer
    visualizer = DetLocalVisualizer.get_instance('mmase_analyze_results')
    visualizer.dataset_meta = dataset.metainfo
    for cls, rows in ranking.items():
        if not rows:
            continue
        k = min(args.topk, len(rows))
        for group, picked in (('best', rows[:k]),
                              ('worst', rows[::-1][:k])):
            for rank, item in enumerate(picked, 1):
                stem = osp.splitext(osp.basename(item['img_path']))[0]
                out_file = osp.join(
                    args.show_dir, _safe(cls), group,
                    f'{rank:02d}_{stem}_ap{item["ap"]:.3f}.png')
                draw(dataset, results, item, out_file, args.show_score_thr,
                     args.prediction_path, visualizer)
    summary = {
        cls: [dict(img_path=r['img_path'], ap=round(r['ap'], 4))
              for r in rows]
        for cls, rows in ranking.items()
    }
    dump_json_atomic(summary, osp.join(args.show_dir, 'per_class_ap.json'),
                     indent=1)
    drawn = sum(min(args.topk, len(r)) * 2 for r in ranking.values() if r)
    print(f'{len(ranking)} classes, {drawn} pictures and per_class_ap.json '
          f'written to {args.show_dir}')
    return ranking


if __name__ == '__main__':
    main()
