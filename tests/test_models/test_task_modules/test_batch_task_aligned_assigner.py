# Copyright (c) mmase contributors. All rights reserved.
import torch

from mmase.models.task_modules import BatchTaskAlignedAssigner


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
