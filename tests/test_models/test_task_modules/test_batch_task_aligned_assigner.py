# Copyright (c) mmase contributors. All rights reserved.
import math

import torch

import pytest
from mmdet.models.losses.iou_loss import ciou_loss

from mmase.models.task_modules import BatchTaskAlignedAssigner
from mmase.models.task_modules.batch_task_aligned_assigner import \
    pairwise_ciou


def _grid():
    # 4 x 4 anchor points at stride 8 (centres 4, 12, 20, 28)
    ys, xs = torch.meshgrid(
        torch.arange(4.) * 8 + 4, torch.arange(4.) * 8 + 4, indexing='ij')
    return torch.stack([xs.flatten(), ys.flatten()], -1)


def test_hand_case_inside_gt_and_targets():
    points = _grid()
    A = points.size(0)
    # every anchor predicts the same box; scores 0.5 for class 0
    pred_bboxes = torch.tensor([0., 0., 16., 16.]).expand(1, A, 4).clone()
    pred_scores = torch.full((1, A, 2), 0.5)
    # gt covering the four top-left anchor centres (4, 4), (12, 4), ...
    gt_bboxes = torch.tensor([[[0., 0., 16., 16.], [0., 0., 0., 0.]]])
    gt_labels = torch.tensor([[0, 1]])
    gt_valid = torch.tensor([[True, False]])
    assigner = BatchTaskAlignedAssigner(topk=10)
    res = assigner.assign_batch(pred_scores, pred_bboxes, points, gt_labels,
                                gt_bboxes, gt_valid)
    inside = ((points[:, 0] < 16) & (points[:, 1] < 16))
    # topk=10 > 4 candidates, yet only the 4 anchors inside are positives
    assert torch.equal(res['pos_mask'][0], inside)
    assert (res['gt_inds'][0][inside] == 0).all()
    # equal metrics, IoU 1 -> normalised targets are 1 for positives
    torch.testing.assert_close(res['targets'][0], inside.float())


def test_topk_and_overlap_resolution():
    points = _grid()
    A = points.size(0)
    torch.manual_seed(0)
    pred_bboxes = torch.tensor([0., 0., 32., 32.]).expand(1, A, 4).clone()
    pred_scores = torch.rand(1, A, 1)
    gt_bboxes = torch.tensor([[[0., 0., 32., 32.], [0., 0., 20., 20.]]])
    assigner = BatchTaskAlignedAssigner(topk=3)
    res = assigner.assign_batch(pred_scores, pred_bboxes, points,
                                torch.zeros(1, 2, dtype=torch.long),
                                gt_bboxes, torch.ones(1, 2, dtype=torch.bool))
    pos = res['pos_mask'][0]
    # at most topk per gt
    assert 0 < pos.sum() <= 6
    # all predicted boxes equal gt 0 (IoU 1 > IoU with gt 1): shared
    # anchors go to gt 0
    assert (res['gt_inds'][0][pos] == 0).sum() >= 3
    # the three best-scoring anchors (all inside gt 0) are its positives
    best3 = pred_scores[0, :, 0].topk(3).indices
    assert pos[best3].all() and (res['gt_inds'][0][best3] == 0).all()
    assert (res['targets'][0][~pos] == 0).all()
    assert (res['targets'][0][pos] <= 1).all()


def test_no_gt():
    res = BatchTaskAlignedAssigner().assign_batch(
        torch.rand(2, 16, 3), torch.rand(2, 16, 4), _grid(),
        torch.zeros(2, 0, dtype=torch.long), torch.zeros(2, 0, 4),
        torch.zeros(2, 0, dtype=torch.bool))
    assert not res['pos_mask'].any() and (res['targets'] == 0).all()


def test_pairwise_ciou_hand_case_and_mmdet():
    # IoU 1/7; centres (1, 1) and (2, 2): rho^2 = 2; enclosing box 3 x 3:
    # c^2 = 18; same aspect ratio: v = 0
    a = torch.tensor([[[0., 0., 2., 2.]]])
    b = torch.tensor([[[1., 1., 3., 3.]]])
    assert pairwise_ciou(a, b).item() == pytest.approx(1 / 7 - 2 / 18,
                                                       abs=1e-6)
    # mmdet's CIoU loss drops the aspect term below IoU 0.5 (its variant);
    # above it both are the CIoU of Zheng et al.
    torch.manual_seed(0)
    xy = torch.rand(1, 6, 2) * 20
    wh = torch.rand(1, 6, 2) * 10 + 5
    boxes1 = torch.cat([xy, xy + wh], -1)
    boxes2 = boxes1 + torch.rand(1, 6, 4) * 0.8
    got = pairwise_ciou(boxes1, boxes2)[0].diagonal()
    ref = 1 - ciou_loss(boxes2[0], boxes1[0], reduction='none')
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)
    # different aspect ratios: v > 0 enters (hand value)
    a = torch.tensor([[[0., 0., 4., 2.]]])
    b = torch.tensor([[[0., 0., 2., 4.]]])
    iou = 4 / 12
    v = 4 / math.pi**2 * (math.atan(2) - math.atan(0.5))**2
    alpha = v / (1 - iou + v)
    # same centre offset (1, -1) / 1: rho^2 = 2, enclosing 4 x 4: c^2 = 32
    assert pairwise_ciou(a, b).item() == pytest.approx(
        iou - 2 / 32 - alpha * v, abs=1e-6)


@pytest.mark.parametrize('iou_mode', ['ciou', 'iou'])
def test_every_gt_gets_a_positive(iou_mode):
    """Five gts (two tiny, two overlapping, one at the border) while every
    predicted box is far away from all of them (IoU 0, CIoU < 0): the
    alignment metric is 0 everywhere, yet each gt takes positives among the
    anchors inside it."""
    points = _grid()
    A = points.size(0)
    pred_bboxes = torch.tensor([100., 100., 110., 110.]).expand(
        1, A, 4).clone()
    pred_scores = torch.rand(1, A, 3)
    gt_bboxes = torch.tensor([[[2., 2., 6., 6.], [10., 10., 14., 14.],
                               [16., 0., 32., 16.], [18., 2., 30., 22.],
                               [24., 24., 32., 32.]]])
    gt_labels = torch.tensor([[0, 1, 2, 0, 1]])
    res = BatchTaskAlignedAssigner(topk=10, iou_mode=iou_mode).assign_batch(
        pred_scores, pred_bboxes, points, gt_labels, gt_bboxes,
        torch.ones(1, 5, dtype=torch.bool))
    assigned = set(res['gt_inds'][0][res['pos_mask'][0]].tolist())
    assert assigned == {0, 1, 2, 3, 4}
    # positives lie inside their gt
    for a in res['pos_mask'][0].nonzero().flatten().tolist():
        g = gt_bboxes[0, res['gt_inds'][0, a]]
        x, y = points[a]
        assert g[0] < x < g[2] and g[1] < y < g[3]


def test_bad_iou_mode():
    with pytest.raises(ValueError, match='iou_mode'):
        BatchTaskAlignedAssigner(iou_mode='giou')
