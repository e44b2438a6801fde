# Copyright (c) mmase contributors. All rights reserved.
"""Draw data set samples as the model sees them: after the pipeline.

Like mmdet's ``browse_dataset.py`` the samples come out of the config's
pipeline (resize, flip, pad... and, for the open-vocabulary configs,
``RandomVocabulary`` / ``LoadVocabulary``), and mmdet's
``DetLocalVisualizer`` draws them. mmase adds what the vocabulary
transforms change: each box is labelled ``<label>: <text>``, its label after
the remapping into the image's own vocabulary and the text that label
points to, and a panel to the right lists the whole vocabulary of the image
(``*`` marks the classes present). ``browse.json`` holds the same per
image::

    python tools/analysis/browse_dataset.py \\
        configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py \\
        --output-dir outputs/browse --num 8 [--split train|val|test]

ASE (mmpretrain) configs: the image with its class, description and record
text.
"""
import argparse
import os.path as osp
import random
from typing import List

import numpy as np
from mmengine.config import Config, DictAction

from mmase.utils.file_io import atomic_file, dump_json_atomic

LINE_PX = 13


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', required=True, help='output folder')
    parser.add_argument('--split', choices=['train', 'val', 'test'],
                        default='train', help='which dataloader\'s dataset')
    parser.add_argument('--num', type=int, default=8,
                        help='samples to draw (random, --seed); 0 = all')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the sample choice and of the random '
                        'transforms')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args(argv)


def text_panel(visualizer, lines: List[str], height: int,
               width: int = 260) -> np.ndarray:
    """A white panel of ``height`` (or taller) with one text per line."""
    height = max(height, LINE_PX * len(lines) + 8)
    visualizer.set_image(np.full((height, width, 3), 255, np.uint8))
    if lines:
        visualizer.draw_texts(
            lines,
            np.array([[4, 4 + LINE_PX * i] for i in range(len(lines))]),
            colors='black', font_sizes=9, vertical_alignments='top')
    return visualizer.get_image()


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    height = max(left.shape[0], right.shape[0])

    def pad(img):
        out = np.full((height, img.shape[1], 3), 255, np.uint8)
        out[:img.shape[0]] = img
        return out

    return np.concatenate([pad(left), pad(right)], axis=1)


def draw_detection(visualizer, img: np.ndarray, sample, classes) -> tuple:
    """Image with gt boxes named ``label: text`` and the vocabulary panel;
    returns ``(picture, record)``."""
    from mmdet.structures.bbox import BaseBoxes
    gt = sample.gt_instances
    bboxes = gt.bboxes.tensor if isinstance(gt.bboxes, BaseBoxes) else \
        gt.bboxes
    labels = [int(v) for v in gt.labels.tolist()]
    texts = sample.get('texts', None)
    vocab = ([t if isinstance(t, str) else t[0] for t in texts]
             if texts is not None else list(classes))
    bad = [lab for lab in labels if not 0 <= lab < len(vocab)]
    if bad:
        raise ValueError(f'{sample.img_path}: labels {bad} outside the '
                         f'{len(vocab)}-entry vocabulary of the sample')
    from mmengine.structures import InstanceData
    shown = sample.clone()
    shown.gt_instances = InstanceData(
        bboxes=bboxes, labels=gt.labels,
        label_names=[f'{lab}: {vocab[lab]}' for lab in labels])
    visualizer.add_datasample('sample', img, shown, draw_pred=False,
                              show=False)
    drawn = visualizer.get_image()
    present = set(labels)
    lines = [f'vocabulary ({len(vocab)})' + (' = texts' if texts is not None
                                             else ' = dataset classes')]
    lines += [f'{"*" if k in present else " "} {k}: {v}'
              for k, v in enumerate(vocab)]
    panel = text_panel(visualizer, lines, drawn.shape[0])
    record = dict(
        img_path=sample.img_path, texts=vocab, gt_labels=labels,
        gt_names=[vocab[lab] for lab in labels],
        gt_bboxes=[[round(float(v), 1) for v in b] for b in bboxes.tolist()])
    return side_by_side(drawn, panel), record


def draw_classification(visualizer, img: np.ndarray, sample,
                        classes) -> tuple:
    """ASE sample: image + class, description and record text."""
    label = int(sample.gt_label[0]) if 'gt_label' in sample else None
    name = classes[label] if label is not None and classes else label
    desc = str(sample.get('description', '') or '')
    rec = str(sample.get('record_text', '') or '')
    lines = [f'class: {name}', 'record:'] + [
        '  ' + p for p in rec.split('; ') if p
    ] + ['description:'] + [
        '  ' + desc[i:i + 40] for i in range(0, len(desc), 40)
    ]
    panel = text_panel(visualizer, lines, img.shape[0], width=300)
    record = dict(img_path=sample.get('img_path'), gt_label=label,
                  gt_name=name, record_text=rec, description=desc)
    return side_by_side(img, panel), record


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    import mmcv
    import torch
    from mmengine.registry import DATASETS, init_default_scope

    import mmase  # noqa: F401
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    if args.num < 0:
        raise ValueError(f'--num must be >= 0, got {args.num}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    loader = cfg.get(f'{args.split}_dataloader')
    if not loader:
        raise KeyError(f'{args.config}: no {args.split}_dataloader')
    dataset = DATASETS.build(loader.dataset)
    classes = list(dataset.metainfo.get('classes') or [])

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    indices = list(range(len(dataset)))
    if args.num and args.num < len(indices):
        indices = sorted(random.Random(args.seed).sample(indices, args.num))

    from mmengine.visualization import Visualizer
    if cfg.get('default_scope', 'mmdet') == 'mmdet':
        from mmdet.visualization import DetLocalVisualizer as Vis
    else:
        Vis = Visualizer
    visualizer = Vis.get_instance(f'mmase_browse_{Vis.__name__}')
    if hasattr(visualizer, 'dataset_meta'):
        visualizer.dataset_meta = dataset.metainfo

    records = []
    for idx in indices:
        item = dataset[idx]
        sample = item['data_samples']
        img = item['inputs'].permute(1, 2, 0).cpu().numpy()
        img = np.ascontiguousarray(img[..., ::-1]).astype(np.uint8)  # RGB
        if 'gt_instances' in sample:
            picture, record = draw_detection(visualizer, img, sample,
                                             classes)
        else:
            picture, record = draw_classification(visualizer, img, sample,
                                                  classes)
        stem = osp.splitext(osp.basename(str(record['img_path'])))[0]
        name = f'{idx:05d}_{stem}.png'
        with atomic_file(osp.join(args.output_dir, name),
                         suffix='.png') as tmp:
            mmcv.imwrite(picture[..., ::-1], tmp)
        record.update(index=idx, picture=name)
        records.append(record)
    dump_json_atomic(records, osp.join(args.output_dir, 'browse.json'),
                     indent=1)
    print(f'{len(records)} samples of the {args.split} set drawn after the '
          f'pipeline into {args.output_dir}')
    return records


if __name__ == '__main__':
    main()
