# Copyright (c) mmase contributors. All rights reserved.
"""ONNX Runtime against PyTorch for the graphs of
:mod:`mmase.utils.onnx_graphs` (``tools/deploy/export_onnx.py``): fresh
inputs, two vocabulary sizes, padded static vocabularies and the decoded
detections against the detector's own ``predict``."""
import json
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from .onnx_graphs import DetectionGraph, detector_head_outputs


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
        raw = detector_head_outputs(graph.image_graph, image, feats, masks)
    logits = torch.cat([c[0].flatten(1) for c in raw[0]], 1)  # (N, A)
    head = graph.image_graph.detector.bbox_head
    valid = masks[0].bool()
    cand = head._class_scores(logits.t(), graph.cfg, valid[None]).t()
    cand = cand[valid].flatten().numpy()
    ref = ref[ref.scores.argsort(descending=True)[:graph.max_per_img]]
    expect = (ref.bboxes.numpy(), ref.scores.numpy(), ref.labels.numpy())
    got = _detections(onnx_outs)
    return (_compare_detections(f'[N={n}]', got, _detections(torch_outs),
                                cand, atol, rtol) +
            _compare_detections(f'[N={n} vs detector predict]', got, expect,
                                cand, atol, rtol))
