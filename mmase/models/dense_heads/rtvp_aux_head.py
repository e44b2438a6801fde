# Copyright (c) mmase contributors. All rights reserved.
"""Auxiliary head of RTVP's CIoU-optimised feature activation."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.registry import MODELS, TASK_UTILS
from mmdet.utils import ConfigType, InstanceList, OptMultiConfig


@MODELS.register_module()
class RTVPAuxHead(BaseModule):
    """Class-agnostic anchor-free head on the refined visual prompt.

    RTVP's "CIoU-optimised feature activation": a small detection head
    regresses boxes from the refined prompt and is trained with CIoU, so the
    gradients pull the prompt (and the scorer that weights it) towards
    object evidence; the selected pixels are pushed inside the ground truth.

    Per prompt scale a 1x1 ``ConvModule`` maps to ``feat_channels``, then
    ``num_convs`` shared 3x3 ``ConvModule`` s and two 1x1 outputs:
    objectness (1) and ``ltrb`` distances (``softplus * stride``). Training:

    - priors: mmdet ``MlvlPointGenerator`` (pixel centres), boxes decoded
      with ``DistancePointBBoxCoder``;
    - assignment: mmdet ``TaskAlignedAssigner`` (class-agnostic: every gt
      has label 0);
    - ``loss_aux_cls``: objectness, ``CrossEntropyLoss(use_sigmoid=True)``,
      positives = assigned points, averaged over positives;
    - ``loss_aux_bbox``: ``CIoULoss`` between positives' boxes and their gt;
    - ``loss_aux_inside``: binary cross-entropy between the uncertainty score
      of every *selected* pixel and whether that pixel lies inside a gt
      box. The paper states the goal ("make the selected pixels fall
      within the ground truth") but no formula; the selection itself is a
      hard top-k, so this term is what reaches the scorer directly.
      ``loss_inside_weight=0`` leaves only the CIoU mechanism.

    Not used at test time.

    Args:
        in_channels (Sequence[int]): Prompt channels per scale.
        strides (Sequence[int]): Prompt strides per scale.
        feat_channels (int): Head width. Defaults to 64.
        num_convs (int): Shared 3x3 convs. Defaults to 2.
        assigner (dict): Assigner config.
        bbox_coder (dict): Box coder config.
        loss_cls (dict): Objectness loss config.
        loss_bbox (dict): Box loss config (CIoU).
        loss_inside_weight (float): Weight of ``loss_aux_inside``.
            Defaults to 1.0.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to SiLU.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 strides: Sequence[int],
                 feat_channels: int = 64,
                 num_convs: int = 2,
                 assigner: ConfigType = dict(
                     type='TaskAlignedAssigner', topk=10),
                 bbox_coder: ConfigType = dict(type='DistancePointBBoxCoder'),
                 loss_cls: ConfigType = dict(
                     type='CrossEntropyLoss',
                     use_sigmoid=True,
                     loss_weight=1.0),
                 loss_bbox: ConfigType = dict(type='CIoULoss', loss_weight=2.0),
                 loss_inside_weight: float = 1.0,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(strides):
            raise ValueError('RTVPAuxHead: in_channels and strides must have '
                             'the same length')
        self.strides = list(strides)
        self.inputs = nn.ModuleList([
            ConvModule(c, feat_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for c in in_channels
        ])
        self.convs = nn.Sequential(*[
            ConvModule(
                feat_channels,
                feat_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for _ in range(num_convs)
        ])
        self.cls_out = nn.Conv2d(feat_channels, 1, 1)
        self.reg_out = nn.Conv2d(feat_channels, 4, 1)
        # objectness prior of 1 %, as in RetinaNet / FCOS
        nn.init.constant_(self.cls_out.bias, -4.595)
        self.prior_generator = TASK_UTILS.build(
            dict(type='MlvlPointGenerator', strides=self.strides, offset=0.5))
        self.assigner = TASK_UTILS.build(assigner)
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.loss_inside_weight = loss_inside_weight

    def forward(self, prompts: Sequence[Tensor]
                ) -> Tuple[List[Tensor], List[Tensor]]:
        """Predict objectness logits (B, 1, H, W) and distances
        (B, 4, H, W, in pixels) per scale."""
        cls_scores, bbox_preds = [], []
        for x, proj, stride in zip(prompts, self.inputs, self.strides):
            y = self.convs(proj(x))
            cls_scores.append(self.cls_out(y))
            bbox_preds.append(F.softplus(self.reg_out(y)) * stride)
        return cls_scores, bbox_preds

    def loss(self, prompts: Sequence[Tensor], scores: Sequence[Tensor],
             masks: Sequence[Tensor], batch_gt_instances: InstanceList,
             batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """Auxiliary losses.

        Args:
            prompts (Sequence[Tensor]): Refined prompts per scale.
            scores (Sequence[Tensor]): Uncertainty scores (B, 1, H, W).
            masks (Sequence[Tensor]): Selection masks (B, 1, H, W).
            batch_gt_instances (list[InstanceData]): Gt with ``bboxes``.
            batch_img_metas (list[dict]): Image metas.

        Returns:
            dict[str, Tensor]: ``loss_aux_cls``, ``loss_aux_bbox``,
            ``loss_aux_inside``.
        """
        cls_scores, bbox_preds = self(prompts)
        priors, flat_cls, flat_boxes = self._flatten_predictions(
            cls_scores, bbox_preds)
        flat_score = torch.cat([s.flatten(1) for s in scores], 1)  # B,P
        flat_mask = torch.cat([m.flatten(1) for m in masks], 1)  # B,P

        cls_targets = torch.zeros_like(flat_cls)
        pos_boxes, pos_targets = [], []
        inside_scores, inside_targets = [], []
        for i, gt in enumerate(batch_gt_instances):
            gt_boxes = gt.bboxes
            if hasattr(gt_boxes, 'tensor'):
                gt_boxes = gt_boxes.tensor
            gt_boxes = gt_boxes.to(priors.dtype)
            sel = flat_mask[i] > 0
            inside = self._points_inside(priors, gt_boxes)
            inside_scores.append(flat_score[i][sel])
            inside_targets.append(inside[sel].to(flat_score.dtype))
            if gt_boxes.numel() == 0:
                continue
            pos = self._assign_positives(priors, flat_cls[i], flat_boxes[i],
                                         gt_boxes)
            if pos is not None:
                cls_targets[i, pos[0]] = 1.0
                pos_boxes.append(flat_boxes[i][pos[0]])
                pos_targets.append(pos[1])

        num_pos = sum(p.shape[0] for p in pos_boxes)
        avg = max(float(num_pos), 1.0)
        loss_cls = self.loss_cls(
            flat_cls.reshape(-1, 1), cls_targets.reshape(-1, 1),
            avg_factor=avg)
        if num_pos > 0:
            loss_bbox = self.loss_bbox(
                torch.cat(pos_boxes), torch.cat(pos_targets), avg_factor=avg)
        else:
            loss_bbox = flat_boxes.sum() * 0.0
        loss_inside = self._loss_inside(
            torch.cat(inside_scores), torch.cat(inside_targets), flat_score)
        return dict(
            loss_aux_cls=loss_cls,
            loss_aux_bbox=loss_bbox,
            loss_aux_inside=loss_inside)

    def _flatten_predictions(self, cls_scores: List[Tensor],
                             bbox_preds: List[Tensor]
                             ) -> Tuple[Tensor, Tensor, Tensor]:
        """Points (P, 2) of all scales, objectness logits (B, P, 1) and the
        decoded boxes (B, P, 4)."""
        b = cls_scores[0].shape[0]
        sizes = [c.shape[-2:] for c in cls_scores]
        priors = torch.cat(
            self.prior_generator.grid_priors(
                sizes, dtype=cls_scores[0].dtype,
                device=cls_scores[0].device),
            dim=0)  # (P, 2)
        flat_cls = torch.cat(
            [c.flatten(2).transpose(1, 2) for c in cls_scores], 1)  # B,P,1
        flat_dist = torch.cat(
            [r.flatten(2).transpose(1, 2) for r in bbox_preds], 1)  # B,P,4
        flat_boxes = self.bbox_coder.decode(
            priors[None].expand(b, -1, -1), flat_dist)
        return priors, flat_cls, flat_boxes

    @staticmethod
    def _points_inside(priors: Tensor, gt_boxes: Tensor) -> Tensor:
        """(P, ) bool: the point lies strictly inside some gt box."""
        if gt_boxes.numel() == 0:
            return priors.new_zeros(priors.shape[0], dtype=torch.bool)
        x, y = priors[:, 0:1], priors[:, 1:2]
        return ((x > gt_boxes[:, 0]) & (x < gt_boxes[:, 2]) &
                (y > gt_boxes[:, 1]) & (y < gt_boxes[:, 3])).any(1)

    def _assign_positives(self, priors: Tensor, cls_logits: Tensor,
                          boxes: Tensor, gt_boxes: Tensor
                          ) -> Optional[Tuple[Tensor, Tensor]]:
        """Assign one image's points to its (non-empty) gt boxes; return
        the positive mask and the gt box of each positive, or None.

        The assignment runs in fp32 with autocast off: under ``--amp`` the
        predictions are half, and mmdet's assigners mix them with fp32 gt
        boxes and fill them with values beyond the half range."""
        with torch.autocast(device_type=priors.device.type, enabled=False):
            priors = priors.float()
            pred = InstanceData(
                priors=torch.cat([priors, priors], dim=1),  # (x, y, x, y)
                bboxes=boxes.detach().float(),
                scores=cls_logits.detach().float().sigmoid())
            gt_boxes = gt_boxes.float()
            gts = InstanceData(
                bboxes=gt_boxes,
                labels=gt_boxes.new_zeros(
                    gt_boxes.shape[0], dtype=torch.long))
            result = self.assigner.assign(pred, gts)
        pos = result.gt_inds > 0
        if not pos.any():
            return None
        return pos, gt_boxes[result.gt_inds[pos] - 1]

    def _loss_inside(self, scores: Tensor, targets: Tensor,
                     flat_score: Tensor) -> Tensor:
        """Binary cross entropy of the selected points' uncertainty scores
        against "inside a gt box" (zero when nothing is selected)."""
        if scores.numel() > 0 and self.loss_inside_weight > 0:
            # the scores are probabilities (eq. 5); CUDA autocast refuses
            # binary_cross_entropy on half tensors, so it runs in fp32
            with torch.autocast(device_type=scores.device.type,
                                enabled=False):
                loss_inside = F.binary_cross_entropy(
                    scores.float().clamp(1e-6, 1 - 1e-6), targets.float())
            return self.loss_inside_weight * loss_inside
        return flat_score.sum() * 0.0
