# Copyright (c) mmase contributors. All rights reserved.
import os.path as osp

import torch
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

import mmase  # noqa: F401


def _samples(preds, gts, num_classes=3):
    out = []
    for p, g in zip(preds, gts):
        score = torch.zeros(num_classes)
        score[p] = 1.
        out.append(DataSample().set_pred_score(score).set_gt_label(g)
                   .to_dict())
    return out


def test_matrix_and_png(tmp_path):
    metric = METRICS.build(
        dict(type='ConfusionMatrixPlot', out_dir=str(tmp_path)))
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    metric.process(None, _samples([0, 1, 1, 2], [0, 2, 1, 2]))
    res = metric.evaluate(4)
    assert res['confusion_matrix/result'].tolist() == [[1, 0, 0], [0, 1, 0],
                                                       [0, 1, 1]]
    png = res['confusion_matrix/png']
    assert osp.isfile(png) and png.endswith('.png')
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    # a second evaluation writes a new file
    metric.process(None, _samples([0], [0]))
    assert metric.evaluate(1)['confusion_matrix/png'] != png


def test_without_out_dir_or_visualizer():
    metric = METRICS.build(dict(type='ConfusionMatrixPlot', num_classes=3))
    metric.process(None, _samples([0, 2], [0, 1]))
    res = metric.evaluate(2)
    assert res['confusion_matrix/result'].sum() == 2


def test_macro_and_per_class_f1_from_mmpretrain():
    """The configs' F1 metrics: mmpretrain's SingleLabelMetric."""
    macro = METRICS.build(dict(type='SingleLabelMetric', average='macro'))
    per = METRICS.build(dict(type='SingleLabelMetric', items=('f1-score', ),
                             average=None))
    data = _samples([0, 1, 1, 2], [0, 2, 1, 2])
    for m in (macro, per):
        m.process(None, data)
    # class F1: a 1.0, b 2/3, c 2/3 -> macro 7/9
    f1 = per.evaluate(4)['single-label/f1-score_classwise']
    assert [round(v, 2) for v in f1] == [100., 66.67, 66.67]
    assert abs(macro.evaluate(4)['single-label/f1-score'] - 700 / 9) < 1e-3
