# Copyright (c) mmase contributors. All rights reserved.
"""Batched task-aligned assignment restricted to anchors inside the gt."""
import math
from typing import Dict

import torch
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor


def pairwise_ciou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Complete IoU of every pair of two batched box sets (x1y1x2y2).

    ``CIoU = IoU - rho^2 / c^2 - a * v`` (Zheng et al., 2020) with ``rho``
    the centre distance, ``c`` the diagonal of the enclosing box,
    ``v = 4 / pi^2 * (atan(w1 / h1) - atan(w2 / h2))^2`` and
    ``a = v / (1 - IoU + v)``.

    Args:
        boxes1 (Tensor): (B, M, 4).
        boxes2 (Tensor): (B, N, 4).
        eps (float): Numerical margin. Defaults to 1e-7.

    Returns:
        Tensor: (B, M, N) CIoU in [-1, 1].
    """
    b1, b2 = boxes1[:, :, None], boxes2[:, None]
    w1 = (b1[..., 2] - b1[..., 0]).clamp(min=0)
    h1 = (b1[..., 3] - b1[..., 1]).clamp(min=0)
    w2 = (b2[..., 2] - b2[..., 0]).clamp(min=0)
    h2 = (b2[..., 3] - b2[..., 1]).clamp(min=0)
    iw = (torch.minimum(b1[..., 2], b2[..., 2]) -
          torch.maximum(b1[..., 0], b2[..., 0])).clamp(min=0)
    ih = (torch.minimum(b1[..., 3], b2[..., 3]) -
          torch.maximum(b1[..., 1], b2[..., 1])).clamp(min=0)
    inter = iw * ih
    iou = inter / (w1 * h1 + w2 * h2 - inter + eps)
    cw = (torch.maximum(b1[..., 2], b2[..., 2]) -
          torch.minimum(b1[..., 0], b2[..., 0]))
    ch = (torch.maximum(b1[..., 3], b2[..., 3]) -
          torch.minimum(b1[..., 1], b2[..., 1]))
    c2 = cw.pow(2) + ch.pow(2) + eps
    rho2 = ((b1[..., 0] + b1[..., 2] - b2[..., 0] - b2[..., 2]).pow(2) +
            (b1[..., 1] + b1[..., 3] - b2[..., 1] - b2[..., 3]).pow(2)) / 4
    v = (4 / math.pi**2) * (torch.atan(w1 / (h1 + eps)) -
                            torch.atan(w2 / (h2 + eps))).pow(2)
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return iou - rho2 / c2 - alpha * v


@TASK_UTILS.register_module()
class BatchTaskAlignedAssigner:
    """Task-aligned assignment (TOOD) for a whole batch at once, YOLOv8-style.

    mmdet's ``TaskAlignedAssigner`` picks the top-k anchors by alignment
    metric over the whole image and only then drops those whose centre is
    outside the gt, so early in training (random boxes) a gt can end up
    with no positive at all. Here, as in YOLOv8, only anchor points inside
    a gt are candidates, so every gt that contains an anchor point gets
    positives from the first iteration. The batch is processed in one
    go (padded gts), which is also much faster than a Python loop over
    images.

    For gt ``g`` and anchor ``a`` with centre inside ``g``::

        t(g, a) = score(a, label_g) ** alpha * IoU(box_a, g) ** beta

    ``IoU`` is the Complete IoU clamped at 0 by default (``iou_mode='ciou'``,
    as YOLOv8 and YOLO-World assign), or the plain IoU (``'iou'``).

    the ``topk`` anchors by ``t`` are positives of ``g``; an anchor claimed
    by several gts keeps the one with the highest IoU. The soft class
    target of a positive is ``t / max_a t(g, .) * max_a IoU(g, .)``
    (maxima over the positives of its gt).

    Args:
        topk (int): Positives per gt. Defaults to 10.
        alpha (float): Score exponent. Defaults to 0.5.
        beta (float): IoU exponent. Defaults to 6.0.
        iou_mode (str): ``'ciou'`` or ``'iou'``. Defaults to 'ciou'.
        eps (float): Margin for "inside the gt" and divisions.
            Defaults to 1e-9.
    """

    def __init__(self,
                 topk: int = 10,
                 alpha: float = 0.5,
                 beta: float = 6.0,
                 iou_mode: str = 'ciou',
                 eps: float = 1e-9) -> None:
        if topk < 1:
            raise ValueError('BatchTaskAlignedAssigner: topk must be >= 1')
        if iou_mode not in ('ciou', 'iou'):
            raise ValueError('BatchTaskAlignedAssigner: iou_mode must be '
                             f'"ciou" or "iou", got "{iou_mode}"')
        self.iou_mode = iou_mode
        self.topk = topk
        self.alpha = alpha
        self.beta = beta
        self.eps = eps

    @torch.no_grad()
    def assign_batch(self, pred_scores: Tensor, pred_bboxes: Tensor,
                     points: Tensor, gt_labels: Tensor, gt_bboxes: Tensor,
                     gt_valid: Tensor) -> Dict[str, Tensor]:
        """Assign a batch.

        Args:
            pred_scores (Tensor): Class probabilities (B, A, N).
            pred_bboxes (Tensor): Decoded boxes x1y1x2y2 (B, A, 4).
            points (Tensor): Anchor points (A, 2).
            gt_labels (Tensor): (B, G) long, padded gts may hold any label.
            gt_bboxes (Tensor): (B, G, 4), x1y1x2y2.
            gt_valid (Tensor): (B, G) bool, False for padding.

        Returns:
            dict[str, Tensor]: ``pos_mask`` (B, A) bool, ``gt_inds`` (B, A)
            long index of the assigned gt (valid where ``pos_mask``) and
            ``targets`` (B, A) float soft class targets (0 for negatives).
        """
        B, A, N = pred_scores.shape
        G = gt_bboxes.size(1)
        device = pred_scores.device
        if G == 0 or A == 0:
            return dict(
                pos_mask=torch.zeros((B, A), dtype=torch.bool, device=device),
                gt_inds=torch.zeros((B, A), dtype=torch.long, device=device),
                targets=pred_scores.new_zeros((B, A)))
        # anchors inside gts: (B, G, A)
        x, y = points[:, 0], points[:, 1]
        deltas = torch.stack([
            x[None, None] - gt_bboxes[..., 0:1],
            y[None, None] - gt_bboxes[..., 1:2],
            gt_bboxes[..., 2:3] - x[None, None],
            gt_bboxes[..., 3:4] - y[None, None]
        ], dim=-1)
        inside = (deltas.amin(-1) > self.eps) & gt_valid[..., None]
        if self.iou_mode == 'ciou':
            ious = pairwise_ciou(gt_bboxes, pred_bboxes)
        else:
            ious = bbox_overlaps(gt_bboxes, pred_bboxes)
        ious = ious.clamp(min=0)  # B,G,A
        ious = ious * inside
        labels = gt_labels.clamp(0, max(N - 1, 0))
        scores = pred_scores.gather(
            2, labels[:, None, :].expand(B, A, G)).transpose(1, 2)  # B,G,A
        metric = scores.pow(self.alpha) * ious.pow(self.beta) * inside
        k = min(self.topk, A)
        # ranked with a margin for the anchors inside the gt, so that a gt
        # whose metric is 0 everywhere (no predicted box overlaps it yet)
        # still takes its positives from inside, never from outside
        rank = metric + inside.to(metric.dtype) * self.eps
        top_idx = rank.topk(k, dim=-1).indices  # B,G,k
        candidate = torch.zeros_like(inside)
        candidate.scatter_(-1, top_idx, True)
        pos = candidate & inside  # B,G,A
        # anchors claimed by several gts keep the claimant with the highest
        # IoU (among the claimants only: with IoU 0 everywhere an argmax over
        # all gts could pick one that does not contain the anchor, and the
        # anchor would be lost to every gt)
        multi = pos.sum(1, keepdim=True) > 1  # B,1,A
        if multi.any():
            claim = ious * pos + pos.to(ious.dtype) * self.eps
            best = claim.argmax(1, keepdim=True)  # B,1,A
            best_mask = torch.zeros_like(pos).scatter_(1, best, True)
            pos = torch.where(multi.expand_as(pos), best_mask & pos, pos)
        pos_mask = pos.any(1)  # B,A
        gt_inds = pos.float().argmax(1)  # B,A
        metric = metric * pos
        max_metric = metric.amax(-1, keepdim=True)  # B,G,1
        max_iou = (ious * pos).amax(-1, keepdim=True)
        norm = metric / (max_metric + self.eps) * max_iou  # B,G,A
        targets = norm.amax(1)  # B,A
        return dict(pos_mask=pos_mask, gt_inds=gt_inds, targets=targets)
