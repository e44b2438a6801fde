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

    python tools/deploy/export_onnx.py \\
        configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py \\
        work_dirs/rtvp_demo/epoch_3.pth --out work_dirs/rtvp_onnx
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, Optional


os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import torch  # noqa: E402

from mmase.apis.model_builder import add_strict_argument  # noqa: E402
from mmase.utils.onnx_check import check, pad_vocabulary  # noqa: E402,F401
from mmase.utils.onnx_graphs import (  # noqa: E402,F401
    DET_OUTPUTS, DetectionGraph, ImageGraph, TextGraph, build_detector,
    detector_head_outputs, export_graph, flatten, output_names)
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
            det_outs = detector_head_outputs(image_graph, image, txt_feats,
                                       txt_masks)
            names = output_names(det_outs)

    with atomic_output_dir(out_dir) as tmp:
        export_graph(text_graph, (ids, att), osp.join(tmp, 'text.onnx'),
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
        export_graph(image_graph, (image, txt_feats, txt_masks),
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
