# Copyright (c) mmase contributors. All rights reserved.
"""Export an open-vocabulary detector (YOLOWorldDetector, RTVP) to ONNX.

Two graphs are written so the vocabulary stays changeable after export:

* ``text.onnx``: ``input_ids`` (N, L) int64, ``attention_mask`` (N, L)
  int64 -> ``text_embeds`` (N, D), the L2-normalised sentence embeddings of
  the frozen text encoder (CLIP ``text_embeds`` or masked mean pooling,
  exactly as ``HFTextEncoder``). Its tokenizer is saved next to it
  (``tokenizer/``); N and L are dynamic.
* ``image.onnx``: ``image`` (1, 3, H, W) float32 (pixel values 0-255 in
  the channel order images are loaded in, i.e. BGR; the data
  preprocessor's channel swap and mean/std are inside the graph),
  ``txt_feats`` (1, N, D) float32 and ``txt_masks`` (1, N) bool ->
  the raw head outputs before decoding and NMS (per level: class logits
  (1, N, h, w), box distances, distance logits). N is dynamic: a new
  vocabulary only needs the text graph (or any embeddings of the same
  model) and no re-export.

A prompt given as several strings (name + descriptions) is, as in the
detector, the re-normalised mean of their embeddings; the caller does it
between the two graphs.

Options for deployment:

* ``--max-vocab N``: every shape of ``image.onnx`` is static, for runtimes
  that need it (TensorRT, RKNN): ``txt_feats`` (1, N, D) and ``txt_masks``
  (1, N). A vocabulary of n <= N classes is padded at the end with any
  vector (zeros) and ``txt_masks`` False, as the detector pads a batch; the
  padded classes never score.
* ``--with-nms``: ``image.onnx`` decodes boxes and runs the model's own
  post-processing (``test_cfg``: ``score_thr``, ``nms_pre``, class-wise NMS
  at ``nms.iou_threshold``, ``min_bbox_size``, ``max_per_img``) in the graph
  and outputs ``num_dets`` (1, 1) int64, ``boxes`` (1, K, 4) float32 (x1,
  y1, x2, y2 in input pixels), ``scores`` (1, K) and ``labels`` (1, K)
  int64 (index into the vocabulary), K = ``max_per_img``, sorted by score;
  rows past ``num_dets`` are zero with label -1. The check compares them with
  the detector's own ``predict`` post-processing.

After export ONNX Runtime runs both graphs on random inputs and on a
second vocabulary size, and the outputs are compared with PyTorch
(``--atol``/``--rtol``); the script exits with status 1 on a mismatch.

Example::

    python tools/deploy/export_onnx.py configs/rtvp/rtvp_mmio_demo.py \\
        work_dirs/rtvp_demo/epoch_3.pth --out work_dirs/rtvp_onnx
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from mmase.apis.model_builder import add_strict_argument  # noqa: E402
from mmase.utils.file_io import (atomic_output_dir,  # noqa: E402
                                 dump_json_atomic)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export image and text graphs of an open-vocabulary '
        'detector to ONNX and check them with ONNX Runtime')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint (random weights if omitted)')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--img-size', type=int, default=None,
                        help='square input size (default: the config\'s '
                        'img_scale, else 640)')
    parser.add_argument('--vocab-size', type=int, default=4,
                        help='vocabulary size of the export example')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--atol', type=float, default=1e-3)
    parser.add_argument('--rtol', type=float, default=1e-3)
    parser.add_argument('--skip-check', action='store_true')
    parser.add_argument(
        '--max-vocab', type=int, default=None,
        help='static vocabulary size N of image.onnx (every shape static); '
        'pad smaller vocabularies and set their txt_masks to False')
    parser.add_argument(
        '--with-nms', action='store_true',
        help='decode boxes and run the test_cfg post-processing (score '
        'threshold, class-wise NMS, max_per_img) inside image.onnx')
    add_strict_argument(parser)
    return parser.parse_args(argv)


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
    output shapes: sigmoid scores of the real (masked-in) vocabulary
    entries, the ``nms_pre`` best (anchor, class) pairs above
    ``score_thr``, boxes decoded from the distances and clipped to the
    input, class-wise NMS (classes separated by coordinate offsets, as mmcv
    does) and the ``max_per_img`` best kept boxes, padded.

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
        scores = cls_flat[0].sigmoid()  # (A, N)
        num_texts = scores.shape[1]
        valid = (scores > self.score_thr) & txt_masks[0].bool()[None]
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
        outs = _nested_outputs(self.image_graph, image, txt_feats,
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


def _export(module, args, path, input_names, output_names_, dynamic_axes,
            opset):
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


def export(config: str,
           checkpoint: Optional[str],
           out_dir: str,
           img_size: Optional[int] = None,
           vocab_size: int = 4,
           opset: int = 17,
           strict: bool = True,
           max_vocab: Optional[int] = None,
           with_nms: bool = False) -> Dict[str, object]:
    """Export both graphs into ``out_dir`` (replaced atomically); the
    checkpoint is loaded strictly unless ``strict=False``.

    ``max_vocab``: static vocabulary size of ``image.onnx`` (None: dynamic);
    ``with_nms``: post-processing inside ``image.onnx`` (module
    :class:`DetectionGraph`, returned as ``'image_graph'``).

    Returns:
        dict: ``meta`` written to ``out_dir/meta.json`` plus the models
        (``'model'``, ``'text_graph'``, ``'image_graph'``) for checking.
    """
    model, cfg = build_detector(config, checkpoint, strict)
    if img_size is None:
        scale = cfg.get('img_scale', (640, 640))
        img_size = int(scale[0] if isinstance(scale, (tuple, list))
                       else scale)
    if max_vocab is not None and not 1 <= vocab_size <= max_vocab:
        raise ValueError(f'export_onnx: --vocab-size {vocab_size} must be in '
                         f'[1, --max-vocab {max_vocab}]')
    text_graph = TextGraph(model.text_encoder).eval()
    image_graph = ImageGraph(model).eval()
    if with_nms:
        image_graph = DetectionGraph(image_graph, img_size).eval()
    vocab = [f'defect class {i}' for i in range(vocab_size)]
    tokens = model.text_encoder.tokenizer(
        vocab, padding=True, truncation=True,
        max_length=model.text_encoder.max_length, return_tensors='pt')
    ids = tokens['input_ids'].long()
    att = tokens['attention_mask'].long()
    with torch.no_grad():
        txt = text_graph(ids, att)
    image = torch.rand(1, 3, img_size, img_size) * 255.
    txt_feats, txt_masks = pad_vocabulary(txt, max_vocab)
    with torch.no_grad():
        if with_nms:
            det_outs = image_graph(image, txt_feats, txt_masks)
            names = list(DET_OUTPUTS)
        else:
            det_outs = _nested_outputs(image_graph, image, txt_feats,
                                       txt_masks)
            names = output_names(det_outs)

    with atomic_output_dir(out_dir) as tmp:
        _export(text_graph, (ids, att), osp.join(tmp, 'text.onnx'),
                ['input_ids', 'attention_mask'], ['text_embeds'],
                {'input_ids': {0: 'num_texts', 1: 'num_tokens'},
                 'attention_mask': {0: 'num_texts', 1: 'num_tokens'},
                 'text_embeds': {0: 'num_texts'}}, opset)
        dyn = {'txt_feats': {1: 'vocab'}, 'txt_masks': {1: 'vocab'}}
        for n, o in zip(names, flatten(det_outs)):
            if (not with_nms and o.dim() >= 2
                    and o.shape[1] == vocab_size):
                dyn[n] = {1: 'vocab'}
        if max_vocab is not None:
            dyn = {}  # every shape of image.onnx static
        _export(image_graph, (image, txt_feats, txt_masks),
                osp.join(tmp, 'image.onnx'),
                ['image', 'txt_feats', 'txt_masks'], names, dyn, opset)
        model.text_encoder.tokenizer.save_pretrained(
            osp.join(tmp, 'tokenizer'))
        meta = dict(
            config=config, checkpoint=checkpoint, img_size=img_size,
            embed_dim=int(txt.shape[-1]),
            max_length=int(model.text_encoder.max_length),
            model_type=model.text_encoder.model_type,
            image_input='float32 (1, 3, H, W), 0-255, loading channel '
            'order (BGR); preprocessing inside the graph',
            outputs=names, max_vocab=max_vocab, with_nms=bool(with_nms))
        dump_json_atomic(meta, osp.join(tmp, 'meta.json'), indent=2)
    return dict(meta=meta, model=model, text_graph=text_graph,
                image_graph=image_graph)


def pad_vocabulary(txt: Tensor, max_vocab: Optional[int] = None
                   ) -> Tuple[Tensor, Tensor]:
    """``(txt_feats (1, N, D), txt_masks (1, N))`` of ``n`` embeddings
    (n, D): N = n, or ``max_vocab`` with zero rows masked out at the end."""
    n = txt.shape[0]
    size = n if max_vocab is None else max_vocab
    if n > size:
        raise ValueError(f'export_onnx: a vocabulary of {n} classes does '
                         f'not fit the static size {max_vocab} (--max-vocab)')
    feats = txt.new_zeros((1, size, txt.shape[1]))
    feats[0, :n] = txt
    masks = torch.zeros(1, size, dtype=torch.bool)
    masks[0, :n] = True
    return feats, masks


def image_graph_preprocess(graph: ImageGraph, image: Tensor) -> Tensor:
    x = image[:, [2, 1, 0]] if graph.bgr_to_rgb else image
    return (x - graph.mean) / graph.std if graph.mean is not None else x


def _nested_outputs(graph: ImageGraph, image, txt_feats, txt_masks):
    """The detector's nested tensor-mode outputs for the graph inputs."""
    det = graph.detector
    det.encode_texts = lambda samples: (txt_feats, txt_masks)
    try:
        return det._forward(image_graph_preprocess(graph, image), None)
    finally:
        del det.encode_texts


def check(out_dir: str, text_graph: nn.Module, image_graph: nn.Module,
          vocab_sizes=(3, 7), atol: float = 1e-3, rtol: float = 1e-3,
          images: Optional[List[Tensor]] = None
          ) -> List[Tuple[str, float, bool]]:
    """Compare ONNX Runtime with PyTorch on fresh inputs.

    Args:
        out_dir (str): Export directory.
        text_graph, image_graph (nn.Module): The exported modules.
        vocab_sizes (tuple[int]): Vocabulary sizes to try (differing from
            the export example proves the vocabulary is dynamic).
        atol, rtol (float): Tolerances of ``np.allclose``.
        images (list[Tensor], optional): One (1, 3, S, S) 0-255 image per
            vocabulary size. Defaults to None (uniform noise).

    Returns:
        list[tuple[str, float, bool]]: (output, max abs difference, ok).
    """
    import onnxruntime as ort
    with open(osp.join(out_dir, 'meta.json')) as f:
        meta = json.load(f)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    text_sess = ort.InferenceSession(
        osp.join(out_dir, 'text.onnx'), so,
        providers=['CPUExecutionProvider'])
    img_sess = ort.InferenceSession(
        osp.join(out_dir, 'image.onnx'), so,
        providers=['CPUExecutionProvider'])
    tok = text_graph.encoder.tokenizer
    size = meta['img_size']
    g = torch.Generator().manual_seed(1)
    results = []
    for j, n in enumerate(vocab_sizes):
        vocab = [f'white round spot number {i}' for i in range(n)]
        t = tok(vocab, padding=True, truncation=True,
                max_length=meta['max_length'], return_tensors='pt')
        ids, att = t['input_ids'].long(), t['attention_mask'].long()
        with torch.no_grad():
            ref_txt = text_graph(ids, att)
        onnx_txt = text_sess.run(None, {
            'input_ids': ids.numpy(), 'attention_mask': att.numpy()})[0]
        diff = float(np.abs(onnx_txt - ref_txt.numpy()).max())
        results.append((f'text_embeds[N={n}]', diff,
                        bool(np.allclose(onnx_txt, ref_txt.numpy(),
                                         atol=atol, rtol=rtol))))
        image = (images[j].float() if images is not None else
                 torch.rand(1, 3, size, size, generator=g) * 255.)
        feats, masks = pad_vocabulary(ref_txt, meta.get('max_vocab'))
        with torch.no_grad():
            ref = image_graph(image, feats, masks)
        onnx_outs = img_sess.run(None, {
            'image': image.numpy(), 'txt_feats': feats.numpy(),
            'txt_masks': masks.numpy()})
        if meta.get('with_nms'):
            results.extend(_check_detections(image_graph, image, feats,
                                             masks, onnx_outs, ref, n, atol,
                                             rtol))
            continue
        if meta.get('max_vocab') is not None:
            results.extend(_check_padding(image_graph, image, ref_txt,
                                          onnx_outs, meta['outputs'], n,
                                          atol, rtol))
        for name, r, o in zip(meta['outputs'], ref, onnx_outs):
            r = r.numpy() if isinstance(r, Tensor) else r
            if r.shape != o.shape:
                results.append((f'{name}[N={n}] shape {o.shape} != '
                                f'{r.shape}', float('inf'), False))
                continue
            d = float(np.abs(o - r).max()) if r.size else 0.0
            results.append((f'{name}[N={n}]', d,
                            bool(np.allclose(o, r, atol=atol, rtol=rtol))))
    return results


def _close(name: str, o: np.ndarray, r: np.ndarray, atol: float,
           rtol: float) -> Tuple[str, float, bool]:
    if o.shape != r.shape:
        return (f'{name} shape {o.shape} != {r.shape}', float('inf'), False)
    d = float(np.abs(o - r).max()) if r.size else 0.0
    return (name, d, bool(np.allclose(o, r, atol=atol, rtol=rtol)))


def _check_padding(image_graph, image, txt, onnx_outs, names, n, atol,
                   rtol) -> List[Tuple[str, float, bool]]:
    """The padded static graph gives what the detector gives for the
    unpadded vocabulary (class logits of the n real classes, boxes)."""
    with torch.no_grad():
        ref = image_graph(image, txt[None],
                          torch.ones(1, n, dtype=torch.bool))
    out = []
    for name, r, o in zip(names, ref, onnx_outs):
        r = r.numpy()
        if o.ndim >= 2 and o.shape[1] != r.shape[1]:  # class logits
            o = o[:, :n]
        out.append(_close(f'{name}[N={n} padded vs unpadded torch]', o, r,
                          atol, rtol))
    return out


def _detections(outs) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(boxes, scores, labels)`` of the first ``num_dets`` rows, sorted by
    score (stable)."""
    num, boxes, scores, labels = [
        o.numpy() if isinstance(o, Tensor) else np.asarray(o) for o in outs
    ]
    k = int(num.reshape(-1)[0])
    order = np.argsort(-scores[0, :k], kind='stable')
    return boxes[0, :k][order], scores[0, :k][order], labels[0, :k][order]


def _compare_detections(tag: str, got, expect, cand_scores: np.ndarray,
                        atol: float, rtol: float, tie: float = 1e-7
                        ) -> List[Tuple[str, float, bool]]:
    """Compare two sorted detection lists.

    Counts and sorted scores must agree. Boxes and labels are compared for
    every detection whose score no other candidate shares (within
    ``tie``): equal scores have no defined order, so the runtimes may keep
    either of two tied candidates (untrained weights give many).
    """
    (gb, gs, gl), (eb, es, el) = got, expect
    out = [(f'num_dets{tag} {len(gs)} vs {len(es)}',
            float(abs(len(gs) - len(es))), len(gs) == len(es))]
    if len(gs) != len(es):
        return out
    out.append(_close(f'scores{tag}', gs, es, atol, rtol))
    tied = np.array([(np.abs(cand_scores - v) <= tie).sum() > 1 for v in es],
                    bool).reshape(-1)
    keep = ~tied
    out.append(_close(f'boxes{tag} ({int(keep.sum())} untied)', gb[keep],
                      eb[keep], atol, rtol))
    same = bool(np.array_equal(gl[keep], el[keep]))
    out.append((f'labels{tag}', 0.0 if same else float('inf'), same))
    return out


def _check_detections(graph: DetectionGraph, image, feats, masks,
                      onnx_outs, torch_outs, n, atol,
                      rtol) -> List[Tuple[str, float, bool]]:
    """ONNX detections equal the same graph in PyTorch and the detector's
    own post-processing (``predict_by_feat``)."""
    with torch.no_grad():
        ref = graph.reference(image, feats, masks)
        raw = _nested_outputs(graph.image_graph, image, feats, masks)
    cand = torch.cat([c[0].flatten(1) for c in raw[0]], 1).sigmoid()
    cand = cand[masks[0].bool()].flatten().numpy()
    ref = ref[ref.scores.argsort(descending=True)[:graph.max_per_img]]
    expect = (ref.bboxes.numpy(), ref.scores.numpy(), ref.labels.numpy())
    got = _detections(onnx_outs)
    return (_compare_detections(f'[N={n}]', got, _detections(torch_outs),
                                cand, atol, rtol) +
            _compare_detections(f'[N={n} vs detector predict]', got, expect,
                                cand, atol, rtol))


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.manual_seed(0)
    res = export(args.config, args.checkpoint, args.out, args.img_size,
                 args.vocab_size, args.opset, args.strict, args.max_vocab,
                 args.with_nms)
    print(f'written {args.out}/text.onnx, image.onnx, tokenizer/, '
          f'meta.json (img_size {res["meta"]["img_size"]}, embed_dim '
          f'{res["meta"]["embed_dim"]})')
    if args.skip_check:
        return 0
    sizes = (args.vocab_size, args.vocab_size + 3)
    if args.max_vocab is not None:  # what fits the static size
        sizes = tuple(sorted({min(s, args.max_vocab) for s in sizes} |
                             {args.max_vocab}))
    results = check(args.out, res['text_graph'], res['image_graph'],
                    vocab_sizes=sizes,
                    atol=args.atol, rtol=args.rtol)
    ok = all(r[2] for r in results)
    for name, diff, good in results:
        print(f'  {"ok  " if good else "FAIL"} {name}: max |onnx - torch| '
              f'= {diff:.2e}')
    print(f'ONNX Runtime vs PyTorch (atol {args.atol}, rtol {args.rtol}): '
          f'{"match" if ok else "MISMATCH"}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
