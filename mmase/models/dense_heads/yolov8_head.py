# Copyright (c) mmase contributors. All rights reserved.
"""Closed-set YOLOv8 head (the paper's YOLOv8-S baseline and the expert's
first stage)."""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import InstanceList, OptConfigType, OptInstanceList
from torch import Tensor

from ..utils import make_divisible
from .yolo_world_head import YOLOWorldHead


@MODELS.register_module()
class YOLOv8Head(YOLOWorldHead):
    """YOLOv8's decoupled anchor-free head with a fixed set of classes.

    The box branch, the decoding, the task-aligned assignment and the
    losses are :class:`YOLOWorldHead`'s (this class inherits them); only
    the classifier differs. Per level, the class branch is two 3x3 convs
    and a 1x1 conv to ``num_classes`` logits (YOLOv8) instead of a region
    embedding compared with text embeddings. ``loss``/``predict`` take the
    neck levels and the data samples only, as mmdet's
    ``SingleStageDetector`` calls them; labels are the dataset's class
    ids.

    The classifier width is ``max(C0, num_classes)`` by default (mmyolo's
    YOLOv8 head; ultralytics caps the class count at 100), the box branch
    ``max(16, C0 // 4, 4 * reg_max)``, with ``C0`` the first level's
    channels.

    Args:
        num_classes (int): Number of classes.
        in_channels (Sequence[int]): Unscaled input channels per level.
        widen_factor (float): Width multiplier of ``in_channels``.
            Defaults to 0.5.
        cls_feat_channels (int, optional): Class branch width. Defaults to
            None (``max(C0, num_classes)``).
        **kwargs: The other arguments of :class:`YOLOWorldHead` (strides,
            ``reg_max``, box branch width, coder, losses, class-bias prior,
            norm/act, train/test and init configs), with its defaults.
            ``embed_dims`` is ``num_classes`` and there is no
            ``contrastive_head``; ``prior_cfg`` defaults to
            dict(num_objects=5, img_size=640) and its ``num_classes`` to
            this head's.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: Sequence[int],
                 widen_factor: float = 0.5,
                 cls_feat_channels: Optional[int] = None,
                 **kwargs) -> None:
        if num_classes < 1:
            raise ValueError(
                f'YOLOv8Head: num_classes must be >= 1, got {num_classes}')
        for key in ('embed_dims', 'contrastive_head'):
            if key in kwargs:
                raise TypeError(f'YOLOv8Head: `{key}` is not an argument of '
                                'a closed-set head')
        prior_cfg = kwargs.get('prior_cfg', dict(num_objects=5, img_size=640))
        if prior_cfg is not None:
            kwargs['prior_cfg'] = dict(
                dict(num_classes=num_classes), **prior_cfg)
        if cls_feat_channels is None:
            cls_feat_channels = max(
                make_divisible(in_channels[0], widen_factor), num_classes)
        # the parent's `embed_dims` is the width of the class branch's last
        # conv, here one logit per class
        super().__init__(
            in_channels=in_channels,
            embed_dims=num_classes,
            widen_factor=widen_factor,
            cls_feat_channels=cls_feat_channels,
            contrastive_head=None,
            **kwargs)
        self.num_classes = num_classes

    def _init_layers(self) -> None:
        """Box branch as :class:`YOLOWorldHead`; the class branch ends in
        a 1x1 conv to the class logits."""
        self.reg_preds = nn.ModuleList()
        self.cls_preds = nn.ModuleList()
        for c in self.in_channels:
            self.reg_preds.append(
                self._build_branch(c, self.reg_feat_channels,
                                   4 * self.reg_max))
            self.cls_preds.append(
                self._build_branch(c, self.cls_feat_channels,
                                   self.embed_dims))

    def _class_biases(self) -> List[Optional[Tensor]]:
        """The bias of each level's last class conv (YOLOv8's class prior,
        ``prior_cfg``)."""
        return [cls_pred[-1].bias for cls_pred in self.cls_preds]

    def forward_single(self, x: Tensor,
                       level: int) -> Tuple[Tensor, Tensor, Tensor]:
        """One level.

        Returns:
            tuple[Tensor, Tensor, Tensor]: Class logits
            (B, num_classes, H, W), expected distances in stride units
            (B, 4, H, W) and the distance logits (B, 4 * reg_max, H, W).
        """
        bbox_pred, dist = self._forward_box(x, level)
        return self.cls_preds[level](x), bbox_pred, dist

    def forward(self, x: Sequence[Tensor]
                ) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
        """Forward all levels.

        Args:
            x (Sequence[Tensor]): Neck levels, finest first.

        Returns:
            tuple[list[Tensor]]: ``cls_scores``, ``bbox_preds`` and
            ``bbox_dist_preds``, one tensor per level.
        """
        if len(x) != self.num_levels:
            raise ValueError(f'YOLOv8Head: expected {self.num_levels} '
                             f'levels, got {len(x)}')
        outs = [self.forward_single(feat, i) for i, feat in enumerate(x)]
        return tuple(list(o) for o in zip(*outs))

    def loss(self, x: Sequence[Tensor],
             batch_data_samples: SampleList) -> dict:
        """Forward and compute losses.

        Args:
            x (Sequence[Tensor]): Neck levels.
            batch_data_samples (list[DetDataSample]): With ``gt_instances``
                (``labels`` are class ids < ``num_classes``).

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox``, ``loss_dfl``.
        """
        (batch_gt_instances, batch_gt_instances_ignore,
         batch_img_metas) = unpack_gt_instances(batch_data_samples)
        return self.loss_by_feat(
            *self(x),
            batch_gt_instances=batch_gt_instances,
            batch_img_metas=batch_img_metas,
            batch_gt_instances_ignore=batch_gt_instances_ignore)

    def loss_by_feat(
            self,
            cls_scores: List[Tensor],
            bbox_preds: List[Tensor],
            bbox_dist_preds: List[Tensor],
            batch_gt_instances: InstanceList,
            batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """Losses from the head outputs (:meth:`YOLOWorldHead.loss_by_feat`
        with every class in every image).

        Raises:
            ValueError: A gt label outside ``0..num_classes - 1``, naming
                the image (``img_path`` when known) and the field.
        """
        for i, (gt, meta) in enumerate(
                zip(batch_gt_instances, batch_img_metas)):
            labels = gt.labels
            if labels.numel() and (int(labels.min()) < 0 or
                                   int(labels.max()) >= self.num_classes):
                where = meta.get('img_path', f'image {i} of the batch')
                raise ValueError(
                    f'YOLOv8Head: {where}: field `gt_instances.labels` has '
                    f'{labels.tolist()}, outside 0..{self.num_classes - 1} '
                    f'(num_classes={self.num_classes})')
        return super().loss_by_feat(
            cls_scores,
            bbox_preds,
            bbox_dist_preds,
            batch_gt_instances=batch_gt_instances,
            batch_img_metas=batch_img_metas,
            txt_masks=None,
            batch_gt_instances_ignore=batch_gt_instances_ignore)

    def predict(self,
                x: Sequence[Tensor],
                batch_data_samples: SampleList,
                rescale: bool = False) -> InstanceList:
        """Forward and post-process.

        Args:
            x (Sequence[Tensor]): Neck levels.
            batch_data_samples (list[DetDataSample]): Their metainfo gives
                ``img_shape`` and ``scale_factor``.
            rescale (bool): Boxes in original image pixels.
                Defaults to False.

        Returns:
            list[InstanceData]: Per image ``bboxes``, ``scores`` and
            ``labels`` (class ids).
        """
        batch_img_metas = [s.metainfo for s in batch_data_samples]
        cls_scores, bbox_preds, _ = self(x)
        return self.predict_by_feat(
            cls_scores, bbox_preds, batch_img_metas=batch_img_metas,
            rescale=rescale)

    def loss_and_predict(self, x: Sequence[Tensor],
                         batch_data_samples: SampleList,
                         proposal_cfg: OptConfigType = None
                         ) -> Tuple[dict, InstanceList]:
        """Losses and predictions from one forward pass (mmdet's two-stage
        detectors use a dense head this way).

        Returns:
            tuple[dict, list[InstanceData]]: The losses and the
            predictions.
        """
        (batch_gt_instances, batch_gt_instances_ignore,
         batch_img_metas) = unpack_gt_instances(batch_data_samples)
        outs = self(x)
        losses = self.loss_by_feat(
            *outs,
            batch_gt_instances=batch_gt_instances,
            batch_img_metas=batch_img_metas,
            batch_gt_instances_ignore=batch_gt_instances_ignore)
        predictions = self.predict_by_feat(
            outs[0], outs[1], batch_img_metas=batch_img_metas,
            cfg=proposal_cfg)
        return losses, predictions
