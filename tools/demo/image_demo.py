# Copyright (c) mmase contributors. All rights reserved.
"""Detect defects named by free text in images (mmdet's DetInferencer).

Example:
    python tools/demo/image_demo.py data/mmio_synth/images \\
        configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py \\
        work_dirs/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo/epoch_2.pth \\
        --texts "white round spot . black long scratch" --out outputs/demo

The same in Python::

    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(model=CONFIG, weights=CKPT, device='cpu')
    inferencer('img.png', texts='white round spot . black long scratch',
               out_dir='outputs/demo')

This script adds what the inferencer leaves out: the checkpoint must match
the model (strict loading; ``--no-strict`` to opt out), every image is
decoded before the model is built, ``--out`` may not hold any input, output
names stay distinct (``a.png`` and ``a.jpg`` give ``a_png.png`` and
``a_jpg.png``), ``--topk``, and atomic writes. For every image it writes
``<name>.png`` (boxes, names and scores drawn) and one ``detections.json``
for the whole run (each record names its image and picture).
"""
import argparse
import os
import os.path as osp
import warnings
from collections import Counter
from typing import Dict, List, Optional

import mmcv

from mmase.utils.file_io import atomic_file, dump_json_atomic

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('inputs', nargs='+',
                        help='image files and/or folders of images')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--texts',
        default=None,
        help='class names separated by " . " or ",", or a .txt/.json file '
        '(one name per line / a list of names or of [name, descriptions...]);'
        ' default: the model\'s own vocabulary (config `model.vocabulary`, '
        'else the classes saved with the checkpoint)')
    parser.add_argument('--out', default='outputs/demo',
                        help='output folder (may not contain an input)')
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


def parse_texts(texts: str) -> List[str]:
    """Turn ``--texts`` into a list of class names."""
    from mmase.datasets.transforms.load_vocabulary import split_class_names
    from mmase.utils.file_io import load_json
    if osp.isfile(texts):
        if texts.lower().endswith('.json'):
            items = load_json(texts, '--texts file')
            if not isinstance(items, list):
                raise ValueError(f'{texts}: --texts file must hold a list')
            names = [t[0] if isinstance(t, list) and t else t for t in items]
        else:
            with open(texts, encoding='utf-8') as f:
                names = [line.strip() for line in f if line.strip()]
        if not names:
            raise ValueError(f'--texts: no class name in {texts!r}')
        return split_class_names(names, field=f'--texts file {texts}')
    return split_class_names(texts, field='--texts')


def list_images(inputs: List[str]) -> List[str]:
    """Files of ``inputs`` (folders expanded, sorted), each listed once."""
    files = []
    for inp in inputs:
        if osp.isdir(inp):
            found = sorted(
                osp.join(inp, f) for f in os.listdir(inp)
                if f.lower().endswith(IMG_EXTS)
                and osp.isfile(osp.join(inp, f)))
            if not found:
                raise FileNotFoundError(f'no image in folder {inp}')
            files.extend(found)
        elif osp.isfile(inp):
            files.append(inp)
        else:
            raise FileNotFoundError(f'input not found: {inp}')
    seen = set()
    unique = []
    for f in files:
        key = osp.realpath(f)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def check_images(images: List[str]) -> None:
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


def check_out_dir(out_dir: str, images: List[str]) -> None:
    """Refuse an output folder that is, or contains, an input.

    Raises:
        ValueError: naming ``--out`` and the first input inside it.
    """
    out = osp.realpath(out_dir)
    if osp.exists(out) and not osp.isdir(out):
        raise ValueError(f'--out {out_dir}: exists and is not a folder')
    for img in images:
        real = osp.realpath(img)
        if osp.commonpath([out, real]) == out:
            raise ValueError(
                f'--out {out_dir}: contains the input {img}; pictures would '
                'overwrite or mix with the inputs, choose a folder that holds '
                'no input')


def output_names(images: List[str]) -> Dict[str, str]:
    """A distinct picture name ``<name>.png`` for each image.

    The stem when it is unique; ``<stem>_<ext>`` for inputs that share a
    stem (``a.png``, ``a.jpg`` -> ``a_png``, ``a_jpg``); a ``_<k>`` suffix
    for what still collides (same file name in two folders).
    """
    stems = {img: osp.splitext(osp.basename(img))[0] for img in images}
    count = Counter(stems.values())
    names = {}
    for img in images:
        stem, ext = osp.splitext(osp.basename(img))
        names[img] = stem if count[stem] == 1 else \
            f'{stem}_{ext.lstrip(".").lower()}'
    count = Counter(names.values())
    taken = set(n for n, c in count.items() if c == 1)
    seen: Counter = Counter()
    for img in images:
        name = names[img]
        if count[name] == 1:
            continue
        while True:
            seen[name] += 1
            cand = f'{name}_{seen[name]}'
            if cand not in taken:
                break
        taken.add(cand)
        names[img] = cand
    return {img: f'{n}.png' for img, n in names.items()}


def build_inferencer(config: str, checkpoint: str, device: str,
                     strict: bool = True, palette: Optional[list] = None):
    """mmdet's ``DetInferencer``, loading the checkpoint strictly.

    mmdet loads leniently (a warning on mismatched keys, random weights
    where they differ); a checkpoint of another model would draw random
    boxes, so keys are checked first.
    """
    from mmdet.apis import DetInferencer

    from mmase.apis.model_builder import load_state_dict_checked

    class StrictDetInferencer(DetInferencer):

        def _load_weights_to_model(self, model, ckpt, cfg):
            if ckpt is not None:  # mmase's strict check (or its warning)
                load_state_dict_checked(model, ckpt, checkpoint, strict)
            super()._load_weights_to_model(model, ckpt, cfg)

    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='palette does not exist')
        return StrictDetInferencer(
            model=config, weights=checkpoint, device=device,
            palette=palette if palette is not None else 'none',
            show_progress=False)


def main(argv=None):
    args = parse_args(argv)
    texts = parse_texts(args.texts) if args.texts is not None else None
    images = list_images(args.inputs)
    check_out_dir(args.out, images)
    names = output_names(images)
    check_images(images)

    import mmase  # noqa: F401  (registers the modules)
    from mmase.datasets.mmio_dataset import make_palette
    palette = make_palette(len(texts)) if texts else None
    inferencer = build_inferencer(args.config, args.checkpoint, args.device,
                                  strict=not args.no_strict, palette=palette)
    open_vocab = hasattr(inferencer.model, 'set_vocabulary')
    if texts is not None and not open_vocab:
        print(f'warning: {type(inferencer.model).__name__} has a fixed class '
              'list; --texts is ignored')
    call_texts = ([tuple(texts)] * len(images)
                  if texts is not None and open_vocab else None)
    preds = inferencer(
        images, texts=call_texts, custom_entities=True,
        return_datasamples=True, no_save_pred=True,
        no_save_vis=True)['predictions']
    classes = list(inferencer.model.dataset_meta.get('classes') or [])

    os.makedirs(args.out, exist_ok=True)
    records = []
    for img_path, pred in zip(images, preds):
        inst = pred.pred_instances
        inst = inst[inst.scores >= args.score_thr]
        if args.topk is not None:
            inst = inst[inst.scores.argsort(descending=True)[:args.topk]]
        pred.pred_instances = inst
        vis = inferencer.visualize([img_path], [pred], return_vis=True,
                                   pred_score_thr=args.score_thr)[0]
        out_file = osp.join(args.out, names[img_path])
        with atomic_file(out_file, suffix='.png') as tmp:
            mmcv.imwrite(vis[..., ::-1], tmp)
        if 'label_names' in inst:
            labels = list(inst.label_names)
        else:
            labels = [classes[i] if i < len(classes) else str(i)
                      for i in inst.labels.tolist()]
        records.append(dict(
            image=img_path,
            picture=names[img_path],
            detections=[
                dict(bbox=[round(float(v), 2) for v in box],
                     score=round(float(score), 4), label=label)
                for box, score, label in zip(
                    inst.bboxes.tolist(), inst.scores.tolist(), labels)
            ]))
    vocab = texts if call_texts is not None else classes
    dump_json_atomic(dict(texts=vocab, results=records),
                     osp.join(args.out, 'detections.json'), indent=1)
    print(f'{len(images)} image(s), '
          f'{sum(len(r["detections"]) for r in records)} detection(s) '
          f'written to {args.out}')


if __name__ == '__main__':
    main()
