# Copyright (c) mmase contributors. All rights reserved.
"""Merge COCO defect sets into one MMIO-layout set (class names unified by
text-embedding cosine similarity, threshold 0.8 as in the RTVP paper).

Each ``--src`` is ``NAME:ANN_JSON:IMG_DIR[:SUPERCATEGORY]``. Example::

    python tools/data/merge_coco.py \\
        --src neu:neu/train.json:neu/images:metallurgy \\
        --src pcb:pcb/train.json:pcb/images:precision\\ electronics \\
        --out data/mmio_real --unseen-ratio 0.35

writes ``images/<NAME>/...``, ``annotations/instances_all.json``,
``class_texts.json`` and, with ``--unseen-ratio`` or ``--unseen``, the
zero-shot/closed splits (see split_mmio.py).
"""
import argparse
import json
import sys

from mmase.datasets.converters.merge_coco import minilm_encoder, write_merged
from mmase.datasets.converters.split_mmio import (split_classes,
                                                  write_mmio_splits)
from mmase.utils.file_io import load_json


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--src', action='append', required=True,
                   help='NAME:ANN_JSON:IMG_DIR[:SUPERCATEGORY]')
    p.add_argument('--out', required=True)
    p.add_argument('--threshold', type=float, default=0.8,
                   help='cosine similarity to merge two names; >1 merges '
                   'identical names only')
    p.add_argument('--encoder', default=None,
                   help='local sentence-encoder folder (default: packaged '
                   'all-MiniLM-L6-v2)')
    p.add_argument('--link', action='store_true',
                   help='symlink images instead of copying')
    p.add_argument('--unseen', nargs='+', default=None)
    p.add_argument('--unseen-ratio', type=float, default=None)
    p.add_argument('--val-ratio', type=float, default=0.2)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    sources = []
    for spec in args.src:
        parts = spec.split(':')
        if len(parts) not in (3, 4):
            p.error(f'--src {spec!r}: expected NAME:ANN_JSON:IMG_DIR'
                    f'[:SUPERCATEGORY]')
        # checked by merge_coco with the rules of the datasets
        coco = load_json(parts[1], 'annotation file')
        sources.append(
            dict(name=parts[0], coco=coco, img_dir=parts[2], file=parts[1],
                 supercategory=parts[3] if len(parts) == 4 else None))
    encoder = None if args.threshold > 1 else minilm_encoder(args.encoder)
    merged = write_merged(sources, args.out, encoder, args.threshold,
                          args.link)
    print(json.dumps(merged['mapping'], indent=2))
    if args.unseen or args.unseen_ratio:
        names = [c['name'] for c in merged['coco']['categories']]
        split = split_classes(names, args.unseen, args.unseen_ratio,
                              args.seed)
        write_mmio_splits(merged['coco'], args.out, split, args.val_ratio,
                          args.seed)
    print(f'{args.out}: {len(merged["coco"]["images"])} images, '
          f'{len(merged["coco"]["categories"])} classes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
