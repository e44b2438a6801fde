# Copyright (c) mmase contributors. All rights reserved.
"""Open-vocabulary YOLOv8-style head (YOLO-World / RTVP detector head)."""
import copy
import inspect
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.utils import filter_scores_and_topk, unpack_gt_instances
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox_overlaps, get_box_tensor
from mmdet.utils import (ConfigType, InstanceList, OptConfigType,
                         OptInstanceList, OptMultiConfig, reduce_mean)
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils import make_divisible

SCORE_MODES = ('sigmoid', 'softmax')


@MODELS.register_module()
class YOLOWorldHead(BaseDenseHead):
    """Decoupled anchor-free head with a region-text contrastive classifier.

    Per level, a box branch (two 3x3 convs + 1x1 to ``4 * reg_max``)
    predicts a discrete distribution over ``0..reg_max-1`` (in stride
    units) for each of the left/top/right/bottom distances; its
    expectation is decoded into a box by ``DistancePointBBoxCoder``
    (distribution focal loss, GFL). The class branch (two 3x3 convs + 1x1
    to ``embed_dims``) gives a region embedding that is compared with the
    vocabulary embeddings by a :class:`RegionTextContrastiveHead`, so the
    classes are whatever texts are given (RTVP's text prompt,
    YOLO-World's region-text matching).

    Training (YOLOv8 recipe): task-aligned assignment, either batched with
    :class:`BatchTaskAlignedAssigner` (candidates restricted to anchors
    inside the gt, as YOLOv8; the default of the configs) or any assigner
    with mmdet's ``assign`` interface such as ``TaskAlignedAssigner`` (one
    image at a time; ``alpha``/``beta`` from ``train_cfg``); soft class
    targets equal to the alignment metric normalised per gt to its best
    IoU; losses
    ``CrossEntropyLoss(use_sigmoid=True)`` on classes, ``CIoULoss`` and
    ``DistributionFocalLoss`` on boxes, all averaged by the sum of the
    class targets.

    Vocabularies may differ per image: texts are padded at the end to the
    longest vocabulary and ``txt_masks`` (B, N) marks the real ones. Padded
    columns never get positive targets, are excluded from the class loss
    and never appear in predictions. Ground-truth labels index into each
    image's vocabulary.

    Args:
        in_channels (Sequence[int]): Unscaled input channels per level.
        embed_dims (int): Text embedding dimension.
        widen_factor (float): Width multiplier of ``in_channels``.
            Defaults to 0.5.
        strides (Sequence[int]): Level strides. Defaults to (8, 16, 32).
        reg_max (int): Number of distance bins. Defaults to 16.
        cls_feat_channels (int, optional): Class branch width. Defaults to
            None (the first level's channels).
        reg_feat_channels (int, optional): Box branch width. Defaults to
            None (``max(16, C0 // 4, 4 * reg_max)``, as in YOLOv8).
        contrastive_head (dict): Classifier config, one per level:
            ``RegionTextContrastiveHead`` (L2-normalised regions and texts,
            YOLO-World v1) or ``BNContrastiveHead`` (BatchNorm on the
            regions, YOLO-World v2). ``embed_dims`` and ``norm_cfg`` are
            filled in from the head when the classifier takes them.
            Defaults to dict(type='RegionTextContrastiveHead').
        bbox_coder (dict): Box coder. Defaults to
            dict(type='DistancePointBBoxCoder').
        loss_cls (dict): Class loss. Defaults to sigmoid
            ``CrossEntropyLoss`` with weight 0.5.
        loss_bbox (dict): Box loss. Defaults to ``CIoULoss`` with
            weight 7.5.
        loss_dfl (dict): DFL. Defaults to weight 1.5 / 4 (sum over the 4
            sides, i.e. 1.5 x their mean).
        loss_vocab (dict, optional): A softmax loss over the image's
            vocabulary on the positive anchors (e.g. ``CrossEntropyLoss``),
            weighted by their soft targets, so the texts compete for a
            region in training as they do under the ``'softmax'`` test
            scores. YOLO-World trains with the sigmoid loss alone.
            Defaults to None (no such loss).
        prior_cfg (dict, optional): Initial bias of each level's contrastive
            classifier, as YOLOv8 initialises its class bias:
            ``log(num_objects / num_classes / (img_size / stride) ** 2)``,
            i.e. a few objects per image spread over all classes and
            locations. Without it every logit starts at p = 0.01 and the
            summed BCE over all anchors x texts is in the thousands.
            Defaults to dict(num_objects=5, num_classes=80, img_size=640).
            None keeps the classifier's own initialisation.
        norm_cfg (dict): Normalization config.
            Defaults to dict(type='BN', momentum=0.03, eps=0.001).
        act_cfg (dict): Activation config. Defaults to dict(type='SiLU').
        train_cfg (dict, optional): ``assigner`` config plus ``alpha`` and
            ``beta`` of the alignment metric. Defaults to None.
        test_cfg (dict, optional): ``score_thr``, ``nms_pre``, ``nms``,
            ``max_per_img`` and, optionally, ``score_mode`` (``'sigmoid'``,
            the default, or ``'softmax'``; see :meth:`_class_scores`) with
            ``softmax_temperature``. Defaults to None.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 embed_dims: int,
                 widen_factor: float = 0.5,
                 strides: Sequence[int] = (8, 16, 32),
                 reg_max: int = 16,
                 cls_feat_channels: Optional[int] = None,
                 reg_feat_channels: Optional[int] = None,
                 contrastive_head: ConfigType = dict(
                     type='RegionTextContrastiveHead'),
                 bbox_coder: ConfigType = dict(type='DistancePointBBoxCoder'),
                 loss_cls: ConfigType = dict(
                     type='CrossEntropyLoss',
                     use_sigmoid=True,
                     reduction='mean',
                     loss_weight=0.5),
                 loss_bbox: ConfigType = dict(
                     type='CIoULoss', reduction='mean', loss_weight=7.5),
                 loss_dfl: ConfigType = dict(
                     type='DistributionFocalLoss',
                     reduction='mean',
                     loss_weight=1.5 / 4),
                 loss_vocab: OptConfigType = None,
                 prior_cfg: Optional[dict] = dict(
                     num_objects=5, num_classes=80, img_size=640),
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(strides):
            raise ValueError('YOLOWorldHead: in_channels and strides need '
                             'one entry per level')
        self.in_channels = [
            make_divisible(c, widen_factor) for c in in_channels
        ]
        self.embed_dims = embed_dims
        self.strides = list(strides)
        self.num_levels = len(strides)
        self.reg_max = reg_max
        c0 = self.in_channels[0]
        self.cls_feat_channels = cls_feat_channels or c0
        self.reg_feat_channels = reg_feat_channels or max(
            16, c0 // 4, 4 * reg_max)
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.contrastive_head_cfg = contrastive_head
        self.prior_cfg = prior_cfg

        self.prior_generator = TASK_UTILS.build(
            dict(type='MlvlPointGenerator', offset=0.5, strides=strides))
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.loss_dfl = MODELS.build(loss_dfl)
        self.loss_vocab = MODELS.build(loss_vocab) if loss_vocab else None
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        if train_cfg:
            self.assigner = TASK_UTILS.build(train_cfg['assigner'])
        self.register_buffer(
            'proj', torch.arange(reg_max, dtype=torch.float),
            persistent=False)
        self._init_layers()

    def _init_layers(self) -> None:
        self.reg_preds = nn.ModuleList()
        self.cls_preds = nn.ModuleList()
        self.cls_contrasts = nn.ModuleList()
        for c in self.in_channels:
            self.reg_preds.append(
                self._build_branch(c, self.reg_feat_channels,
                                   4 * self.reg_max))
            self.cls_preds.append(
                self._build_branch(c, self.cls_feat_channels,
                                   self.embed_dims))
            self.cls_contrasts.append(self._build_contrastive_head())

    def _build_branch(self, in_channels: int, feat_channels: int,
                      out_channels: int) -> nn.Sequential:
        """One level's branch: two 3x3 ConvModules and a 1x1 conv."""
        cfg = dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        return nn.Sequential(
            ConvModule(in_channels, feat_channels, 3, padding=1, **cfg),
            ConvModule(feat_channels, feat_channels, 3, padding=1, **cfg),
            nn.Conv2d(feat_channels, out_channels, 1))

    def _build_contrastive_head(self) -> nn.Module:
        """One level's classifier; ``embed_dims`` and ``norm_cfg`` come
        from the head when the classifier takes them and the config does
        not set them (e.g. :class:`BNContrastiveHead`)."""
        cfg = copy.deepcopy(self.contrastive_head_cfg)
        head_type = cfg.get('type')
        head_cls = MODELS.get(head_type) if isinstance(head_type,
                                                       str) else head_type
        if head_cls is not None:
            params = inspect.signature(head_cls.__init__).parameters
            if 'embed_dims' in params:
                cfg.setdefault('embed_dims', self.embed_dims)
            if 'norm_cfg' in params:
                cfg.setdefault('norm_cfg', self.norm_cfg)
        return MODELS.build(cfg)

    def init_weights(self) -> None:
        """Initialise weights; the box branch starts with bias 1 (a box a
        few strides wide) and the class bias with the ``prior_cfg`` prior,
        as in YOLOv8."""
        super().init_weights()
        for reg_pred in self.reg_preds:
            nn.init.constant_(reg_pred[-1].bias, 1.0)
        if self.prior_cfg is None:
            return
        num_objects = self.prior_cfg.get('num_objects', 5)
        num_classes = self.prior_cfg.get('num_classes', 80)
        img_size = self.prior_cfg.get('img_size', 640)
        for bias, stride in zip(self._class_biases(), self.strides):
            if isinstance(bias, torch.Tensor):
                with torch.no_grad():
                    bias.fill_(
                        math.log(num_objects / num_classes /
                                 (img_size / stride)**2))

    def _class_biases(self) -> List[Optional[Tensor]]:
        """Per level, the class bias that ``prior_cfg`` initialises: the
        contrastive classifier's learnable bias (None when it has none)."""
        return [getattr(c, 'bias', None) for c in self.cls_contrasts]

    # ------------------------------------------------------------ forward
    def forward_single(self, x: Tensor, txt_feats: Tensor,
                       txt_masks: Optional[Tensor], level: int
                       ) -> Tuple[Tensor, Tensor, Tensor]:
        """One level.

        Returns:
            tuple[Tensor, Tensor, Tensor]: Class logits (B, N, H, W),
            expected distances in stride units (B, 4, H, W) and the
            distance logits (B, 4 * reg_max, H, W).
        """
        cls_embed = self.cls_preds[level](x)
        cls_logit = self.cls_contrasts[level](cls_embed, txt_feats,
                                              txt_masks)
        bbox_pred, dist = self._forward_box(x, level)
        return cls_logit, bbox_pred, dist

    def _forward_box(self, x: Tensor, level: int) -> Tuple[Tensor, Tensor]:
        """One level's box branch: the expected distances in stride units
        (B, 4, H, W) and the distance logits (B, 4 * reg_max, H, W)."""
        dist = self.reg_preds[level](x)
        B, _, H, W = dist.shape
        prob = dist.reshape(B, 4, self.reg_max, H, W).softmax(2)
        bbox_pred = torch.einsum('bkrhw,r->bkhw', prob, self.proj)
        return bbox_pred, dist

    def forward(self,
                img_feats: Sequence[Tensor],
                txt_feats: Tensor,
                txt_masks: Optional[Tensor] = None
                ) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
        """Forward all levels.

        Args:
            img_feats (Sequence[Tensor]): Neck levels, finest first.
            txt_feats (Tensor): Vocabulary embeddings (B, N, embed_dims).
            txt_masks (Tensor, optional): (B, N) bool, True for real texts.
                Defaults to None.

        Returns:
            tuple[list[Tensor]]: ``cls_scores``, ``bbox_preds`` and
            ``bbox_dist_preds``, one tensor per level.
        """
        if len(img_feats) != self.num_levels:
            raise ValueError(f'YOLOWorldHead: expected {self.num_levels} '
                             f'levels, got {len(img_feats)}')
        outs = [
            self.forward_single(x, txt_feats, txt_masks, i)
            for i, x in enumerate(img_feats)
        ]
        return tuple(list(o) for o in zip(*outs))

    # ------------------------------------------------------------- helpers
    def _flatten(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                 bbox_dist_preds: Optional[List[Tensor]] = None):
        """Concatenate levels: (B, A, N), (B, A, 4), (B, A, 4 * reg_max),
        and the priors (A, 4) = (x, y, stride_w, stride_h)."""
        featmap_sizes = [s.shape[2:] for s in cls_scores]
        priors = torch.cat(
            self.prior_generator.grid_priors(
                featmap_sizes,
                dtype=cls_scores[0].dtype,
                device=cls_scores[0].device,
                with_stride=True))

        def flat(ts):
            return torch.cat(
                [t.permute(0, 2, 3, 1).flatten(1, 2) for t in ts], dim=1)

        dists = flat(bbox_dist_preds) if bbox_dist_preds is not None else None
        return flat(cls_scores), flat(bbox_preds), dists, priors

    @staticmethod
    def _vocab_sizes(txt_masks: Optional[Tensor], batch: int,
                     num_texts: int, device) -> Tensor:
        if txt_masks is None:
            return torch.full((batch, ), num_texts, device=device)
        return txt_masks.bool().sum(1)

    # ---------------------------------------------------------------- loss
    def loss(self, img_feats: Sequence[Tensor], txt_feats: Tensor,
             txt_masks: Optional[Tensor],
             batch_data_samples: SampleList) -> dict:
        """Forward and compute losses.

        Args:
            img_feats (Sequence[Tensor]): Neck levels.
            txt_feats (Tensor): (B, N, embed_dims).
            txt_masks (Tensor, optional): (B, N) bool.
            batch_data_samples (list[DetDataSample]): With ``gt_instances``.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox``, ``loss_dfl``.
        """
        outs = self(img_feats, txt_feats, txt_masks)
        (batch_gt_instances, batch_gt_instances_ignore,
         batch_img_metas) = unpack_gt_instances(batch_data_samples)
        return self.loss_by_feat(
            *outs,
            batch_gt_instances=batch_gt_instances,
            batch_img_metas=batch_img_metas,
            txt_masks=txt_masks,
            batch_gt_instances_ignore=batch_gt_instances_ignore)

    def loss_by_feat(
            self,
            cls_scores: List[Tensor],
            bbox_preds: List[Tensor],
            bbox_dist_preds: List[Tensor],
            batch_gt_instances: InstanceList,
            batch_img_metas: List[dict],
            txt_masks: Optional[Tensor] = None,
            batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """Losses from the head outputs.

        Args:
            cls_scores (list[Tensor]): (B, N, H, W) per level.
            bbox_preds (list[Tensor]): (B, 4, H, W) per level, stride units.
            bbox_dist_preds (list[Tensor]): (B, 4 * reg_max, H, W).
            batch_gt_instances (list[InstanceData]): ``bboxes`` (x1y1x2y2,
                input pixels) and ``labels`` (index into the image's
                vocabulary).
            batch_img_metas (list[dict]): Image metas.
            txt_masks (Tensor, optional): (B, N) bool. Defaults to None.
            batch_gt_instances_ignore (list[InstanceData], optional):
                Unused (the assigner has no ignore regions).
                Defaults to None.

        Returns:
            dict[str, Tensor]: The losses.
        """
        if self.train_cfg is None or not hasattr(self, 'assigner'):
            raise RuntimeError(f'{type(self).__name__}: `train_cfg` with '
                               'an `assigner` is needed to compute losses')
        cls_flat, ltrb, dists, priors = self._flatten(cls_scores, bbox_preds,
                                                      bbox_dist_preds)
        B, A, N = cls_flat.shape
        points, strides = priors[:, :2], priors[:, 2]
        pred_bboxes = self.bbox_coder.decode(
            points[None].expand(B, -1, -1), ltrb * strides[None, :, None])
        vocab_sizes = self._vocab_sizes(txt_masks, B, N, cls_flat.device)
        col = torch.arange(N, device=cls_flat.device)
        valid_cols = col[None, :] < vocab_sizes[:, None]  # (B, N)
        gt_bboxes_list, gt_labels_list = self._gt_lists(
            batch_gt_instances, vocab_sizes)

        cls_targets = cls_flat.new_zeros((B, A, N))
        if hasattr(self.assigner, 'assign_batch'):
            pos_mask, pos_gt_bboxes, pos_weights = self._assign_batched(
                cls_flat, pred_bboxes, points, vocab_sizes, gt_bboxes_list,
                gt_labels_list, cls_targets)
        else:
            pos_mask, pos_gt_bboxes, pos_weights = self._assign_per_image(
                cls_flat, pred_bboxes, points, vocab_sizes, gt_bboxes_list,
                gt_labels_list, cls_targets)

        avg_factor = reduce_mean(cls_targets.sum()).clamp(min=1.0)
        cls_weight = valid_cols[:, None, :].expand(B, A, N).float()
        loss_cls = self.loss_cls(
            cls_flat, cls_targets, weight=cls_weight, avg_factor=avg_factor)

        if pos_mask.any():
            loss_bbox, loss_dfl = self._box_losses(
                pred_bboxes, dists, priors, pos_mask, pos_gt_bboxes,
                pos_weights, avg_factor)
        else:
            loss_bbox = ltrb.sum() * 0
            loss_dfl = dists.sum() * 0
        losses = dict(
            loss_cls=loss_cls, loss_bbox=loss_bbox, loss_dfl=loss_dfl)
        if self.loss_vocab is not None:
            losses['loss_vocab'] = self._vocab_loss(cls_flat, cls_targets,
                                                    pos_mask, pos_weights,
                                                    valid_cols, avg_factor)
        return losses

    def _vocab_loss(self, cls_flat: Tensor, cls_targets: Tensor,
                    pos_mask: Tensor, pos_weights: Tensor,
                    valid_cols: Tensor, avg_factor: Tensor) -> Tensor:
        """Softmax cross-entropy over the image's vocabulary on the positive
        anchors (their assigned text as the class), weighted by the
        positives' soft targets: the texts compete for a region in
        training as they do under ``test_cfg.score_mode='softmax'``."""
        if not pos_mask.any():
            return cls_flat.sum() * 0
        B, A, N = cls_flat.shape
        logits = cls_flat[pos_mask]  # (P, N)
        valid = valid_cols[:, None, :].expand(B, A, N)[pos_mask]
        logits = torch.where(valid, logits, logits.new_tensor(-1e4))
        # a positive's row holds its soft target in its text's column only
        # (one whose target is 0 also has weight 0)
        labels = cls_targets[pos_mask].argmax(dim=-1)
        return self.loss_vocab(
            logits, labels, weight=pos_weights, avg_factor=avg_factor)

    def _gt_lists(self, batch_gt_instances: InstanceList,
                  vocab_sizes: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        """Gt boxes (float) and labels of every image; a label outside the
        image's vocabulary is an error naming the image."""
        gt_bboxes_list, gt_labels_list = [], []
        for i, gt in enumerate(batch_gt_instances):
            n_i = int(vocab_sizes[i])
            labels = gt.labels.long()
            if labels.numel() and int(labels.max()) >= n_i:
                raise ValueError(
                    f'{type(self).__name__}: image {i} has gt label '
                    f'{int(labels.max())} but its vocabulary has only '
                    f'{n_i} texts (field `gt_instances.labels`)')
            gt_bboxes_list.append(get_box_tensor(gt.bboxes).float())
            gt_labels_list.append(labels)
        return gt_bboxes_list, gt_labels_list

    def _box_losses(self, pred_bboxes: Tensor, dists: Tensor, priors: Tensor,
                    pos_mask: Tensor, gt_bboxes: Tensor, weights: Tensor,
                    avg_factor: Tensor) -> Tuple[Tensor, Tensor]:
        """IoU loss of the positive boxes and DFL of their distance
        distributions against the gt distances in stride units."""
        B = pred_bboxes.shape[0]
        points, strides = priors[:, :2], priors[:, 2]
        loss_bbox = self.loss_bbox(
            pred_bboxes[pos_mask],
            gt_bboxes,
            weight=weights,
            avg_factor=avg_factor)
        pos_strides = strides[None].expand(B, -1)[pos_mask]
        pos_points = points[None].expand(B, -1, -1)[pos_mask]
        target_ltrb = self.bbox_coder.encode(
            pos_points / pos_strides[:, None],
            gt_bboxes / pos_strides[:, None],
            max_dis=self.reg_max - 1,
            eps=0.01)
        loss_dfl = self.loss_dfl(
            dists[pos_mask].reshape(-1, self.reg_max),
            target_ltrb.reshape(-1),
            weight=weights[:, None].expand(-1, 4).reshape(-1),
            avg_factor=avg_factor)
        return loss_bbox, loss_dfl

    def _assign_batched(self, cls_flat: Tensor, pred_bboxes: Tensor,
                        points: Tensor, vocab_sizes: Tensor,
                        gt_bboxes_list: List[Tensor],
                        gt_labels_list: List[Tensor],
                        cls_targets: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Assign with a batched assigner (``assign_batch``); fills
        ``cls_targets`` in place and returns the positive mask (B, A), the
        positives' gt boxes (P, 4) and their soft targets (P, )."""
        B, A, N = cls_flat.shape
        G = max([b.size(0) for b in gt_bboxes_list] + [0])
        gt_bboxes = cls_flat.new_zeros((B, G, 4))
        gt_labels = torch.zeros((B, G), dtype=torch.long,
                                device=cls_flat.device)
        gt_valid = torch.zeros((B, G), dtype=torch.bool,
                               device=cls_flat.device)
        for i, (b, lab) in enumerate(zip(gt_bboxes_list, gt_labels_list)):
            gt_bboxes[i, :b.size(0)] = b
            gt_labels[i, :b.size(0)] = lab
            gt_valid[i, :b.size(0)] = True
        col = torch.arange(N, device=cls_flat.device)
        valid_cols = col[None, None, :] < vocab_sizes[:, None, None]
        scores = cls_flat.detach().sigmoid() * valid_cols
        res = self.assigner.assign_batch(scores, pred_bboxes.detach(),
                                         points, gt_labels, gt_bboxes,
                                         gt_valid)
        pos_mask = res['pos_mask']
        b_idx, a_idx = pos_mask.nonzero(as_tuple=True)
        g_idx = res['gt_inds'][b_idx, a_idx]
        weights = res['targets'][b_idx, a_idx]
        cls_targets[b_idx, a_idx, gt_labels[b_idx, g_idx]] = weights
        return pos_mask, gt_bboxes[b_idx, g_idx], weights

    def _assign_per_image(self, cls_flat: Tensor, pred_bboxes: Tensor,
                          points: Tensor, vocab_sizes: Tensor,
                          gt_bboxes_list: List[Tensor],
                          gt_labels_list: List[Tensor],
                          cls_targets: Tensor
                          ) -> Tuple[Tensor, Tensor, Tensor]:
        """Assign image by image with an mmdet assigner (e.g.
        ``TaskAlignedAssigner``, with ``alpha``/``beta`` from
        ``train_cfg``); same outputs as :meth:`_assign_batched`."""
        alpha = self.train_cfg.get('alpha', 0.5)
        beta = self.train_cfg.get('beta', 6.0)
        point_priors = torch.cat([points, points], dim=1)
        pos_masks, pos_gt_bboxes, pos_weights = [], [], []
        for i, (bboxes, labels) in enumerate(
                zip(gt_bboxes_list, gt_labels_list)):
            n_i = int(vocab_sizes[i])
            pred = InstanceData(
                priors=point_priors,
                bboxes=pred_bboxes[i].detach(),
                scores=cls_flat[i, :, :n_i].detach().sigmoid())
            gt_i = InstanceData(bboxes=bboxes, labels=labels)
            result = self.assigner.assign(pred, gt_i, alpha=alpha, beta=beta)
            pos = result.gt_inds > 0
            pos_gt = result.gt_inds[pos] - 1
            metrics = result.assign_metrics[pos]
            norm = metrics
            if pos.any():
                ious = bbox_overlaps(
                    pred_bboxes[i, pos].detach(), bboxes[pos_gt],
                    is_aligned=True).clamp(min=0)
                num_gt = bboxes.size(0)
                max_metric = metrics.new_zeros(num_gt).scatter_reduce(
                    0, pos_gt, metrics, 'amax', include_self=True)
                max_iou = ious.new_zeros(num_gt).scatter_reduce(
                    0, pos_gt, ious, 'amax', include_self=True)
                norm = metrics / (max_metric[pos_gt] + 1e-9) * max_iou[pos_gt]
                pos_idx = pos.nonzero(as_tuple=True)[0]
                cls_targets[i, pos_idx, labels[pos_gt]] = norm
            pos_masks.append(pos)
            pos_gt_bboxes.append(bboxes[pos_gt])
            pos_weights.append(norm)
        return (torch.stack(pos_masks), torch.cat(pos_gt_bboxes),
                torch.cat(pos_weights))

    # ------------------------------------------------------------- predict
    def predict(self,
                img_feats: Sequence[Tensor],
                txt_feats: Tensor,
                txt_masks: Optional[Tensor],
                batch_data_samples: SampleList,
                rescale: bool = False) -> InstanceList:
        """Forward and post-process.

        Returns:
            list[InstanceData]: Per image ``bboxes``, ``scores``, ``labels``
            (index into the image's vocabulary).
        """
        batch_img_metas = [s.metainfo for s in batch_data_samples]
        cls_scores, bbox_preds, _ = self(img_feats, txt_feats, txt_masks)
        return self.predict_by_feat(
            cls_scores,
            bbox_preds,
            batch_img_metas=batch_img_metas,
            txt_masks=txt_masks,
            rescale=rescale)

    @staticmethod
    def _class_scores(logits: Tensor,
                      cfg: dict,
                      valid: Optional[Tensor] = None) -> Tensor:
        """Test scores (A, N) of the anchors' class logits (A, N).

        ``valid`` (broadcastable to (A, N), bool) marks the real texts when
        the logits still hold padded columns (the static-shape ONNX graph):
        padded texts then score 0 and take no share of the softmax.

        ``cfg.score_mode``:

        - ``'sigmoid'`` (YOLO-World's): every text scored on its own,
          ``sigmoid(l_c)``.
        - ``'softmax'``: the best text's sigmoid as objectness, shared by
          the texts in proportion to a softmax over the vocabulary,
          ``max_k sigmoid(l_k) * softmax(l / T)_c`` with
          ``T = cfg.softmax_temperature`` (default 1, the trained logits as
          they are). The texts then compete for a region: an object that
          matches a trained (seen) text well no longer scores high for a
          similar new (unseen) name, which is what per-class AP of the new
          names suffers from under independent sigmoids.
        """
        mode = cfg.get('score_mode', 'sigmoid')
        if mode not in SCORE_MODES:
            raise ValueError(f'test_cfg.score_mode must be one of '
                             f'{SCORE_MODES}, got {mode!r}')
        if valid is not None:
            # exp(-1e4) and sigmoid(-1e4) are 0 in float32
            logits = torch.where(valid, logits, logits.new_tensor(-1e4))
        probs = logits.sigmoid()
        if mode == 'sigmoid' or logits.size(-1) == 0:
            return probs
        temperature = float(cfg.get('softmax_temperature', 1.0))
        if temperature <= 0:
            raise ValueError('test_cfg.softmax_temperature must be > 0, got '
                             f'{temperature}')
        objectness = probs.max(dim=-1, keepdim=True).values
        return objectness * (logits / temperature).softmax(dim=-1)

    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        batch_img_metas: List[dict],
                        txt_masks: Optional[Tensor] = None,
                        cfg: OptConfigType = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Decode, threshold, NMS and (optionally) rescale.

        Args:
            cls_scores (list[Tensor]): (B, N, H, W) per level.
            bbox_preds (list[Tensor]): (B, 4, H, W) per level.
            batch_img_metas (list[dict]): Need ``img_shape`` and, with
                ``rescale``, ``scale_factor``.
            txt_masks (Tensor, optional): (B, N) bool. Defaults to None.
            cfg (dict, optional): Test config. Defaults to ``test_cfg``.
            rescale (bool): Boxes in original image pixels.
                Defaults to False.
            with_nms (bool): Apply class-wise NMS. Defaults to True.

        Returns:
            list[InstanceData]: ``bboxes``, ``scores``, ``labels``.
        """
        cfg = ConfigDict(cfg or self.test_cfg or dict(
            score_thr=0.001,
            nms_pre=30000,
            nms=dict(type='nms', iou_threshold=0.7),
            max_per_img=300))
        cls_flat, ltrb, _, priors = self._flatten(cls_scores, bbox_preds)
        B, A, N = cls_flat.shape
        points, strides = priors[:, :2], priors[:, 2]
        vocab_sizes = self._vocab_sizes(txt_masks, B, N, cls_flat.device)
        results_list = []
        for i, img_meta in enumerate(batch_img_metas):
            n_i = int(vocab_sizes[i])
            scores = self._class_scores(cls_flat[i, :, :n_i], cfg)
            bboxes = self.bbox_coder.decode(
                points, ltrb[i] * strides[:, None],
                max_shape=img_meta.get('img_shape'))
            scores, labels, _, filtered = filter_scores_and_topk(
                scores, cfg.get('score_thr', 0.0),
                cfg.get('nms_pre', 30000), dict(bboxes=bboxes))
            results = InstanceData(
                bboxes=filtered['bboxes'], scores=scores, labels=labels)
            results = self._bbox_post_process(
                results, cfg, rescale=rescale, with_nms=with_nms,
                img_meta=img_meta)
            if not with_nms:
                results = results[:cfg.get('max_per_img', len(results))]
            results_list.append(results)
        return results_list
