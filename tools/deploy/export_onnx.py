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
           strict: bool = True) -> Dict[str, object]:
    """Export both graphs into ``out_dir`` (replaced atomically); the
    checkpoint is loaded strictly unless ``strict=False``.

    Returns:
        dict: ``meta`` written to ``out_dir/meta.json`` plus the models
        (``'model'``, ``'text_graph'``, ``'image_graph'``) for checking.
    """
    model, cfg = build_detector(config, checkpoint, strict)
    if img_size is None:
        scale = cfg.get('img_scale', (640, 640))
        img_size = int(scale[0] if isinstance(scale, (tuple, list))
                       else scale)
    text_graph = TextGraph(model.text_encoder).eval()
    image_graph = ImageGraph(model).eval()
    vocab = [f'defect class {i}' for i in range(vocab_size)]
    tokens = model.text_encoder.tokenizer(
        vocab, padding=True, truncation=True,
        max_length=model.text_encoder.max_length, return_tensors='pt')
    ids = tokens['input_ids'].long()
    att = tokens['attention_mask'].long()
    with torch.no_grad():
        txt = text_graph(ids, att)
    image = torch.rand(1, 3, img_size, img_size) * 255.
    txt_feats = txt[None]
    txt_masks = torch.ones(1, vocab_size, dtype=torch.bool)
    with torch.no_grad():
        det_outs = _nested_outputs(image_graph, image, txt_feats, txt_masks)
    names = output_names(det_outs)

    with atomic_output_dir(out_dir) as tmp:
        _export(text_graph, (ids, att), osp.join(tmp, 'text.onnx'),
                ['input_ids', 'attention_mask'], ['text_embeds'],
                {'input_ids': {0: 'num_texts', 1: 'num_tokens'},
                 'attention_mask': {0: 'num_texts', 1: 'num_tokens'},
                 'text_embeds': {0: 'num_texts'}}, opset)
        dyn = {'txt_feats': {1: 'vocab'}, 'txt_masks': {1: 'vocab'}}
        for n, o in zip(names, flatten(det_outs)):
            if o.dim() >= 2 and o.shape[1] == vocab_size:
                dyn[n] = {1: 'vocab'}
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
            outputs=names)
        dump_json_atomic(meta, osp.join(tmp, 'meta.json'), indent=2)
    return dict(meta=meta, model=model, text_graph=text_graph,
                image_graph=image_graph)


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
          vocab_sizes=(3, 7), atol: float = 1e-3,
          rtol: float = 1e-3) -> List[Tuple[str, float, bool]]:
    """Compare ONNX Runtime with PyTorch on fresh inputs.

    Args:
        out_dir (str): Export directory.
        text_graph, image_graph (nn.Module): The exported modules.
        vocab_sizes (tuple[int]): Vocabulary sizes to try (differing from
            the export example proves the vocabulary is dynamic).
        atol, rtol (float): Tolerances of ``np.allclose``.

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
    for n in vocab_sizes:
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
        image = torch.rand(1, 3, size, size, generator=g) * 255.
        feats = ref_txt[None]
        masks = torch.ones(1, n, dtype=torch.bool)
        with torch.no_grad():
            ref = image_graph(image, feats, masks)
        onnx_outs = img_sess.run(None, {
            'image': image.numpy(), 'txt_feats': feats.numpy(),
            'txt_masks': masks.numpy()})
        for name, r, o in zip(meta['outputs'], ref, onnx_outs):
            r = r.numpy()
            if r.shape != o.shape:
                results.append((f'{name}[N={n}] shape {o.shape} != '
                                f'{r.shape}', float('inf'), False))
                continue
            d = float(np.abs(o - r).max()) if r.size else 0.0
            results.append((f'{name}[N={n}]', d,
                            bool(np.allclose(o, r, atol=atol, rtol=rtol))))
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.manual_seed(0)
    res = export(args.config, args.checkpoint, args.out, args.img_size,
                 args.vocab_size, args.opset, args.strict)
    print(f'written {args.out}/text.onnx, image.onnx, tokenizer/, '
          f'meta.json (img_size {res["meta"]["img_size"]}, embed_dim '
          f'{res["meta"]["embed_dim"]})')
    if args.skip_check:
        return 0
    results = check(args.out, res['text_graph'], res['image_graph'],
                    vocab_sizes=(args.vocab_size, args.vocab_size + 3),
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
