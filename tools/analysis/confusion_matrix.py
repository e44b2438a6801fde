# Copyright (c) mmase contributors. All rights reserved.
"""Detection confusion matrix (PNG + JSON) of a ``tools/test.py --out``
pickle.

The counting and the drawing are mmdet's own
(``tools/analysis_tools/confusion_matrix.py``, shipped in mmdet's package):
a detection above ``--score-thr`` matches every ground truth it overlaps with
IoU >= ``--tp-iou-thr`` (row: true class, column: predicted class); one
that matches none counts in the ``background`` row, a ground truth no
detection of its class matched in the ``background`` column. mmase adds the
mapping of open-vocabulary labels to the dataset classes by name, an
allow-list pickle loader and atomic writes::

    python tools/test.py CONFIG CKPT --out work_dirs/x/preds.pkl
    python tools/analysis/confusion_matrix.py CONFIG work_dirs/x/preds.pkl \\
        work_dirs/x/confusion --score-thr 0.3

writes ``confusion_matrix.png`` (row-normalised %, mmdet's plot) and
``confusion_matrix.json`` (``classes`` with ``background`` last, raw
``counts``).
"""
import argparse
import importlib.util
import os.path as osp

from mmengine.config import Config, DictAction

from mmase.apis.det_results import (build_test_dataset,
                                    check_results_match, class_names,
                                    dataset_labels, load_results)
from mmase.utils.file_io import atomic_file, dump_json_atomic
from mmase.utils.setup_env import load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config the pickle was tested with')
    parser.add_argument('prediction_path', help='tools/test.py --out pickle')
    parser.add_argument('save_dir', help='output folder')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--tp-iou-thr', type=float, default=0.5)
    parser.add_argument('--nms-iou-thr', type=float, default=None,
                        help='re-apply NMS per class with this IoU')
    parser.add_argument('--color-theme', default='plasma')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args(argv)


def mmdet_tool(name: str):
    """Import one of mmdet's analysis tool scripts as a module."""
    import mmdet
    root = osp.dirname(osp.abspath(mmdet.__file__))
    for base in (osp.join(root, '.mim', 'tools', 'analysis_tools'),
                 osp.join(osp.dirname(root), 'tools', 'analysis_tools')):
        path = osp.join(base, f'{name}.py')
        if osp.isfile(path):
            spec = importlib.util.spec_from_file_location(
                f'mmdet_{name}', path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise FileNotFoundError(
        f'mmdet tool {name}.py not found under {root}/.mim/tools (mmdet '
        'installed from a wheel ships it)')


def confusion_matrix(cfg: Config, pkl_path: str, score_thr: float = 0.3,
                     tp_iou_thr: float = 0.5,
                     nms_iou_thr=None):
    """``(matrix (C+1, C+1), classes + ['background'])``."""
    import torch
    tool = mmdet_tool('confusion_matrix')
    dataset = build_test_dataset(cfg)
    results = load_results(pkl_path)
    check_results_match(results, dataset, pkl_path)
    classes = class_names(dataset)
    mapped = []
    for res in results:
        labels = torch.as_tensor(dataset_labels(res, classes, pkl_path))
        pred = res['pred_instances']
        keep = labels >= 0  # names outside the dataset classes
        mapped.append(dict(pred_instances=dict(
            bboxes=torch.as_tensor(pred['bboxes']).cpu()[keep],
            scores=torch.as_tensor(pred['scores']).cpu()[keep],
            labels=labels[keep])))
    matrix = tool.calculate_confusion_matrix(dataset, mapped, score_thr,
                                             nms_iou_thr, tp_iou_thr)
    return matrix, classes + ['background'], tool


def main(argv=None):
    args = parse_args(argv)
    import mmase  # noqa: F401
    cfg = load_config(args.config, args.cfg_options)
    matrix, labels, tool = confusion_matrix(
        cfg, args.prediction_path, args.score_thr, args.tp_iou_thr,
        args.nms_iou_thr)

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    with np.errstate(invalid='ignore', divide='ignore'):
        tool.plot_confusion_matrix(matrix, labels, save_dir=None, show=False,
                                   color_theme=args.color_theme)
    fig = plt.gcf()
    png = osp.join(args.save_dir, 'confusion_matrix.png')
    try:
        with atomic_file(png, suffix='.png') as tmp:
            fig.savefig(tmp, format='png')
    finally:
        plt.close(fig)
    dump_json_atomic(
        dict(classes=labels, counts=matrix.astype(int).tolist(),
             score_thr=args.score_thr, tp_iou_thr=args.tp_iou_thr),
        osp.join(args.save_dir, 'confusion_matrix.json'), indent=1)
    print(f'\nwritten {png} and confusion_matrix.json '
          f'({len(labels) - 1} classes + background)')
    return matrix, labels


if __name__ == '__main__':
    main()
