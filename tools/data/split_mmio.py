# Copyright (c) mmase contributors. All rights reserved.
"""Write the MMIO zero-shot (seen/unseen) and closed (80/20) splits.

Examples::

    python tools/data/split_mmio.py data/mmio_real --unseen-ratio 0.35
    python tools/data/split_mmio.py data/mmio_real \\
        --unseen "white round spot" "black irregular spot"

Reads ``ROOT/annotations/instances_all.json``; writes
``instances_{zs_train,zs_val,zs_test,train,val}.json`` and ``ROOT/split.json``.
"""
import argparse
import os.path as osp
import sys

from mmase.datasets.converters.split_mmio import (split_classes,
                                                  write_mmio_splits)
from mmase.datasets.validation import Report, check_coco
from mmase.utils.file_io import load_json


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('root')
    p.add_argument('--ann', default='annotations/instances_all.json')
    g = p.add_mutually_exclusive_group()
    g.add_argument('--unseen', nargs='+', default=None)
    g.add_argument('--unseen-file', default=None,
                   help='text file, one unseen class name per line')
    g.add_argument('--unseen-ratio', type=float, default=None)
    p.add_argument('--val-ratio', type=float, default=0.2)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    ann = osp.join(args.root, args.ann)
    coco = load_json(ann, 'annotation file')
    # the split files must not carry bad boxes/ids on unnoticed: the rules
    # of the datasets, stopping at the first problem
    check_coco(coco, ann, Report(stop_at_first=True), image_check=None)
    unseen = args.unseen
    if args.unseen_file:
        with open(args.unseen_file, encoding='utf-8') as f:
            unseen = [ln.strip() for ln in f if ln.strip()]
    split = split_classes([c['name'] for c in coco['categories']], unseen,
                          args.unseen_ratio, args.seed)
    paths = write_mmio_splits(coco, args.root, split, args.val_ratio,
                              args.seed)
    print(f'{len(split["seen"])} seen / {len(split["unseen"])} unseen '
          f'classes')
    for k, v in paths.items():
        print(f'{k}: {v}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
