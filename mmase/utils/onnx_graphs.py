# Copyright (c) mmase contributors. All rights reserved.
"""Traceable wrappers of an open-vocabulary detector for ONNX export
(``tools/deploy/export_onnx.py``): the text graph (token ids -> normalised
sentence embeddings), the image graph (raw head outputs, or decoded and
NMS-filtered detections), and the detector loading."""
import os.path as osp
from typing import List, Optional

import torch
from torch import Tensor, nn


class TextGraph(nn.Module):
    """Token ids -> normalised sentence embeddings (``HFTextEncoder``)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        enc = self.encoder
        if enc.model_type == 'clip':
            embeds = enc.model(
                input_ids=input_ids, attention_mask=attention_mask).text_embeds
        else:
            hidden = enc.model(
                input_ids=input_ids,
                attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            embeds = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)
        return nn.functional.normalize(embeds, p=2, dim=-1)


class ImageGraph(nn.Module):
    """Raw image + vocabulary embeddings -> raw head outputs.

    The detector's :meth:`encode_texts` is replaced, for the duration of a
    call, by the given ``(txt_feats, txt_masks)``, so the same code path
    as ``mode='tensor'`` runs for both YOLOWorldDetector and RTVP.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector
        pre = detector.data_preprocessor
        self.bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))
        if getattr(pre, '_enable_normalize', False):
            self.register_buffer('mean', pre.mean.detach().clone().float())
            self.register_buffer('std', pre.std.detach().clone().float())
        else:
            self.mean = None
            self.std = None

    def forward(self, image: Tensor, txt_feats: Tensor,
                txt_masks: Tensor) -> List[Tensor]:
        x = image
        if self.bgr_to_rgb:
            x = x[:, [2, 1, 0], ...]
        if self.mean is not None:
            x = (x - self.mean) / self.std
        det = self.detector
        det.encode_texts = lambda samples: (txt_feats, txt_masks)
        try:
            outs = det._forward(x, None)
        finally:
            del det.encode_texts
        return flatten(outs)


def flatten(outs) -> List[Tensor]:
    """Nested lists/tuples of tensors -> flat list."""
    if isinstance(outs, Tensor):
        return [outs]
    flat = []
    for o in outs:
        flat.extend(flatten(o))
    return flat


def output_names(outs) -> List[str]:
    """Names ``out{i}_{j}`` for the nested head outputs."""
    names = []
    if isinstance(outs, Tensor):
        return ['out0']
    for i, o in enumerate(outs):
        if isinstance(o, Tensor):
            names.append(f'out{i}')
        else:
            names.extend(f'out{i}_{j}' for j in range(len(flatten(o))))
    return names


class DetectionGraph(nn.Module):
    """:class:`ImageGraph` followed by the head's post-processing.

    The same steps as ``YOLOWorldHead.predict_by_feat`` with mmdet's
    ``filter_scores_and_topk`` and ``batched_nms``, written with static
    output shapes: the head's scores (``test_cfg.score_mode``) of the
    real (masked-in) vocabulary entries, the ``nms_pre`` best (anchor,
    class) pairs above ``score_thr``, boxes decoded from the distances
    and clipped to the input, class-wise NMS (classes separated by
    coordinate offsets, as mmcv does) and the ``max_per_img`` best kept
    boxes, padded.

    Args:
        image_graph (ImageGraph): The raw graph.
        img_size (int): Square input size (the clipping shape).
        test_cfg (dict, optional): Post-processing settings. Defaults to
            the head's ``test_cfg``.
    """

    def __init__(self, image_graph: ImageGraph, img_size: int,
                 test_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.image_graph = image_graph
        head = image_graph.detector.bbox_head
        cfg = dict(test_cfg or head.test_cfg or dict(
            score_thr=0.001, nms_pre=30000,
            nms=dict(type='nms', iou_threshold=0.7), max_per_img=300))
        head._class_scores(torch.zeros(1, 1), cfg)  # checks score_mode
        self.cfg = cfg
        nms = dict(cfg.get('nms') or {})
        if nms.get('type', 'nms') != 'nms':
            raise ValueError(f'export_onnx --with-nms: only test_cfg.nms '
                             f'type "nms" is supported, got {nms}')
        self.score_thr = float(cfg.get('score_thr', 0.0))
        self.nms_pre = int(cfg.get('nms_pre', 30000))
        self.iou_thr = float(nms.get('iou_threshold', 0.7))
        self.max_per_img = int(cfg.get('max_per_img', 300))
        self.min_bbox_size = float(cfg.get('min_bbox_size', -1))
        self.img_size = int(img_size)
        self.num_levels = int(head.num_levels)

    def forward(self, image: Tensor, txt_feats: Tensor,
                txt_masks: Tensor) -> List[Tensor]:
        outs = self.image_graph(image, txt_feats, txt_masks)
        L = self.num_levels
        return self.postprocess(list(outs[:L]), list(outs[L:2 * L]),
                                txt_masks)

    def postprocess(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                    txt_masks: Tensor) -> List[Tensor]:
        """Head outputs (class logits (1, N, H, W), distances (1, 4, H, W)
        per level) -> ``[num_dets, boxes, scores, labels]``."""
        from torchvision.ops import nms
        head = self.image_graph.detector.bbox_head
        cls_flat, ltrb, _, priors = head._flatten(cls_scores, bbox_preds)
        points, strides = priors[:, :2], priors[:, 2]
        # decoded without max_shape (mmdet's ONNX branch of distance2bbox
        # imports a module mmdet 3 no longer has), then clipped to the
        # input as the coder does
        all_boxes = head.bbox_coder.decode(points, ltrb[0] * strides[:, None])
        if getattr(head.bbox_coder, 'clip_border', True):
            all_boxes = all_boxes.clamp(min=0, max=self.img_size)
        real = txt_masks[0].bool()[None]  # (1, N)
        # (A, N); padded texts score 0 (test_cfg.score_mode as the head)
        scores = head._class_scores(cls_flat[0], self.cfg, real)
        num_texts = scores.shape[1]
        valid = (scores > self.score_thr) & real
        # pad so that nms_pre entries exist whatever A * N is
        flat = torch.cat([scores.reshape(-1), scores.new_zeros(self.nms_pre)])
        flat_valid = torch.cat([
            valid.reshape(-1),
            torch.zeros(self.nms_pre, dtype=torch.bool, device=flat.device)
        ])
        flat = torch.where(flat_valid, flat, flat.new_full((1, ), -1.))
        top, idx = flat.topk(self.nms_pre)
        top_valid = flat_valid[idx]
        anchor = torch.clamp(idx // num_texts, max=all_boxes.shape[0] - 1)
        labels = idx % num_texts
        boxes = all_boxes[anchor]
        if self.min_bbox_size >= 0:
            wh = boxes[:, 2:] - boxes[:, :2]
            top_valid = top_valid & (wh > self.min_bbox_size).all(1)
        cand = torch.nonzero(top_valid).reshape(-1)
        c_boxes, c_scores, c_labels = boxes[cand], top[cand], labels[cand]
        # mmcv's batched_nms: one NMS over boxes shifted apart per class
        max_coord = torch.cat([c_boxes.reshape(-1),
                               c_boxes.new_zeros(1)]).max()
        shifted = c_boxes + (c_labels.to(c_boxes.dtype) *
                             (max_coord + 1))[:, None]
        keep = nms(shifted, c_scores, self.iou_thr)
        kept = flat.new_full((self.nms_pre, ), -1.).scatter(
            0, cand[keep], c_scores[keep])
        out_scores, order = kept.topk(min(self.max_per_img, self.nms_pre))
        is_det = out_scores >= 0
        num_dets = is_det.sum().reshape(1, 1).long()
        out_boxes = boxes[order] * is_det[:, None].to(boxes.dtype)
        out_labels = torch.where(is_det, labels[order],
                                 torch.full_like(labels[order], -1))
        out_scores = out_scores * is_det.to(out_scores.dtype)
        return [num_dets, out_boxes[None], out_scores[None],
                out_labels[None].long()]

    def reference(self, image: Tensor, txt_feats: Tensor,
                  txt_masks: Tensor):
        """The detector's own post-processing of the same inputs
        (``predict_by_feat``, no rescaling): ``InstanceData``."""
        outs = detector_head_outputs(self.image_graph, image, txt_feats,
                               txt_masks)
        head = self.image_graph.detector.bbox_head
        meta = dict(img_shape=(self.img_size, self.img_size))
        return head.predict_by_feat(
            outs[0], outs[1], batch_img_metas=[meta], txt_masks=txt_masks,
            rescale=False)[0]


DET_OUTPUTS = ['num_dets', 'boxes', 'scores', 'labels']


def build_detector(config: str, checkpoint: Optional[str] = None,
                   strict: bool = True):
    """Build the detector (eval, CPU, SyncBN reverted) and its config with
    :func:`mmase.apis.init_model` (the checkpoint strictly by default)."""
    from mmase.apis import init_model
    if not osp.isfile(config):
        raise FileNotFoundError(f'export_onnx: config not found: {config}')
    if checkpoint and not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'export_onnx: checkpoint not found: {checkpoint}')
    model = init_model(config, checkpoint or None, strict=strict)
    cfg = model.cfg
    if not (hasattr(model, 'encode_texts') and hasattr(model, '_forward')
            and hasattr(model, 'text_encoder')):
        raise TypeError(
            f'export_onnx: {config}: model {type(model).__name__} is not a '
            'YOLOWorldDetector/RTVP-style detector (needs text_encoder, '
            'encode_texts and _forward)')
    return model, cfg


def _register_symbolics(opset: int) -> None:
    """ONNX mappings for aten ops the exporter lacks.

    ``torch.isneginf`` (used by the max-sigmoid attention to neutralise
    fully masked vocabularies) maps to ONNX ``IsInf`` with only negative
    infinities detected.
    """
    from torch.onnx import register_custom_op_symbolic

    def isneginf(g, x):
        return g.op('IsInf', x, detect_negative_i=1, detect_positive_i=0)

    register_custom_op_symbolic('aten::isneginf', isneginf, opset)


def export_graph(module: nn.Module, args: tuple, path: str,
                 input_names: List[str], output_names_: List[str],
                 dynamic_axes: dict, opset: int) -> None:
    """``torch.onnx.export`` (TorchScript exporter) with the symbolics of
    :func:`_register_symbolics`."""
    _register_symbolics(opset)
    kwargs = dict(
        input_names=input_names,
        output_names=output_names_,
        dynamic_axes=dynamic_axes,
        opset_version=opset,
        do_constant_folding=True)
    try:
        torch.onnx.export(module, args, path, dynamo=False, **kwargs)
    except TypeError:  # older torch without the `dynamo` argument
        torch.onnx.export(module, args, path, **kwargs)


def image_graph_preprocess(graph: ImageGraph, image: Tensor) -> Tensor:
    x = image[:, [2, 1, 0]] if graph.bgr_to_rgb else image
    return (x - graph.mean) / graph.std if graph.mean is not None else x


def detector_head_outputs(graph: ImageGraph, image, txt_feats, txt_masks):
    """The detector's nested tensor-mode outputs for the graph inputs."""
    det = graph.detector
    det.encode_texts = lambda samples: (txt_feats, txt_masks)
    try:
        return det._forward(image_graph_preprocess(graph, image), None)
    finally:
        del det.encode_texts
