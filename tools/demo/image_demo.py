# Copyright (c) mmase contributors. All rights reserved.
"""Detect defects named by free text in an image or a folder of images.

Example:
    python tools/demo/image_demo.py data/mmio_synth/images \\
        configs/rtvp/rtvp_mmio_demo.py work_dirs/rtvp_mmio_demo/epoch_12.pth \\
        --texts "white round spot . black long scratch" --out outputs/demo

For every image it writes ``<name>.png`` (boxes, names and scores drawn) and
one ``detections.json`` for the whole run.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import mmcv  # noqa: E402
import torch  # noqa: E402
from mmengine.dataset import Compose, pseudo_collate  # noqa: E402

import mmase  # noqa: E402,F401
from mmase.utils.file_io import dump_json_atomic  # noqa: E402

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
# Transforms that need annotations or a data set's vocabulary; the demo
# supplies the vocabulary itself.
_SKIP = ('LoadAnnotations', 'LoadVocabulary', 'RandomVocabulary')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--texts',
        required=True,
        help='class names separated by " . " or ",", or a .txt/.json file '
        '(one name per line / a list of names or of [name, descriptions...])')
    parser.add_argument('--out', default='outputs/demo', help='output folder')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument(
        '--topk',
        type=int,
        default=None,
        help='keep at most this many of the highest-scoring detections per '
        'image (after --score-thr)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--no-strict', action='store_true',
        help='load a checkpoint whose keys do not match the model')
    return parser.parse_args(argv)


def parse_texts(texts: str) -> list:
    """Turn ``--texts`` into a list of class names."""
    if osp.isfile(texts):
        if texts.endswith('.json'):
            with open(texts, encoding='utf-8') as f:
                items = json.load(f)
            names = [t[0] if isinstance(t, list) else t for t in items]
        else:
            with open(texts, encoding='utf-8') as f:
                names = [line.strip() for line in f]
    else:
        sep = ' . ' if ' . ' in texts else ','
        names = [t.strip(' .') for t in texts.split(sep)]
    names = [n for n in names if n]
    if not names:
        raise ValueError(f'--texts: no class name in {texts!r}')
    if len(set(names)) != len(names):
        raise ValueError(f'--texts: duplicate class names in {names}')
    return names


def list_images(inputs: str) -> list:
    if osp.isdir(inputs):
        files = sorted(
            osp.join(inputs, f) for f in os.listdir(inputs)
            if f.lower().endswith(IMG_EXTS))
        if not files:
            raise FileNotFoundError(f'no image in folder {inputs}')
        return files
    if not osp.isfile(inputs):
        raise FileNotFoundError(f'input not found: {inputs}')
    return [inputs]


def check_images(images: list) -> None:
    """Decode every image before the model is built or anything written, so
    a missing, corrupt or truncated file fails the run up front."""
    for img_path in images:
        try:
            img = mmcv.imread(img_path)
        except Exception as err:  # noqa: BLE001  (any decoder error)
            raise ValueError(f'{img_path}: cannot read image: {err}') from err
        if img is None:
            raise ValueError(f'{img_path}: cannot read image (corrupt or '
                             f'truncated file)')


def build_pipeline(cfg) -> Compose:
    """The config's test pipeline without annotation/vocabulary loading."""
    steps = []
    for t in cfg.test_dataloader.dataset.pipeline:
        if t['type'].split('.')[-1] in _SKIP:
            continue
        t = dict(t)
        if t['type'].split('.')[-1] == 'PackDetInputs':
            keys = tuple(t.get('meta_keys', ()))
            keys = tuple(k for k in keys if k != 'texts') + ('texts', )
            t['meta_keys'] = keys
        steps.append(t)
    return Compose(steps)


def main(argv=None):
    args = parse_args(argv)
    texts = parse_texts(args.texts)
    images = list_images(args.inputs)
    check_images(images)

    from mmdet.apis import init_detector
    from mmdet.visualization import DetLocalVisualizer
    from mmengine.runner import load_checkpoint
    # mmdet's init_detector loads leniently (a warning on mismatched keys);
    # a checkpoint of another model would draw random boxes, so load strictly
    model = init_detector(args.config, None, device=args.device)
    try:
        ckpt = load_checkpoint(model, args.checkpoint, map_location='cpu',
                               strict=not args.no_strict)
    except RuntimeError as err:
        if 'state_dict' not in str(err) or args.checkpoint in str(err):
            raise  # e.g. refused unsafe unpickling: already names the file
        raise RuntimeError(
            f'{args.checkpoint}: the checkpoint does not match the model of '
            f'{args.config}:\n{err}\nPass --no-strict to load it anyway.'
        ) from None
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    if 'dataset_meta' in meta:
        model.dataset_meta = dict(meta['dataset_meta'])
    if hasattr(model, 'set_vocabulary'):
        model.set_vocabulary(texts)
    pipeline = build_pipeline(model.cfg)
    visualizer = DetLocalVisualizer()
    visualizer.dataset_meta = dict(classes=tuple(texts))

    os.makedirs(args.out, exist_ok=True)
    records = []
    for img_path in images:
        try:
            img = mmcv.imread(img_path, channel_order='rgb')
        except Exception as err:  # corrupt or unreadable file
            raise ValueError(f'{img_path}: cannot read image: {err}')
        if img is None:
            raise ValueError(f'{img_path}: cannot read image')
        data = pipeline(dict(img_path=img_path, img_id=0, texts=texts))
        with torch.no_grad():
            result = model.test_step(pseudo_collate([data]))[0]
        pred = result.pred_instances
        pred = pred[pred.scores >= args.score_thr]
        if args.topk is not None:
            pred = pred[pred.scores.argsort(descending=True)[:args.topk]]
        name = osp.splitext(osp.basename(img_path))[0]
        vis_sample = result.clone()
        vis_sample.pred_instances = pred
        visualizer.add_datasample(
            name, img, data_sample=vis_sample, draw_gt=False, show=False,
            pred_score_thr=args.score_thr,
            out_file=osp.join(args.out, f'{name}.png'))
        records.append(dict(
            image=img_path,
            detections=[
                dict(bbox=[round(float(v), 2) for v in box],
                     score=round(float(score), 4), label=texts[int(label)])
                for box, score, label in zip(
                    pred.bboxes.tolist(), pred.scores.tolist(),
                    pred.labels.tolist())
            ]))
    out_json = osp.join(args.out, 'detections.json')
    dump_json_atomic(dict(texts=texts, results=records), out_json, indent=1)
    print(f'{len(images)} image(s), '
          f'{sum(len(r["detections"]) for r in records)} detection(s) '
          f'written to {args.out}')


if __name__ == '__main__':
    main()
