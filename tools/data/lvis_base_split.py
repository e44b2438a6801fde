# Copyright (c) mmase contributors. All rights reserved.
"""Write the LVIS base-class training file used by
configs/rtvp/rtvp_yolo-world-s_4xb8-200e_lvis-zs.py.

Example::

    python tools/data/lvis_base_split.py \\
        data/lvis_v1/annotations/lvis_v1_train.json \\
        data/lvis_v1/annotations/lvis_v1_train_base.json

Every annotation of a rare class is removed; the 1203 categories stay, in
order, so label indices keep matching the class names (see
``mmase/datasets/converters/lvis_base.py``).
"""
import argparse
import sys

from mmase.datasets.converters.lvis_base import lvis_base_split
from mmase.utils.file_io import dump_json_atomic, load_json


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('src', help='lvis_v1_train.json')
    p.add_argument('out', help='output, e.g. lvis_v1_train_base.json')
    p.add_argument(
        '--drop', nargs='+', default=['r'], choices=['r', 'c', 'f'],
        help='frequency groups whose annotations are removed (default: r)')
    args = p.parse_args(argv)
    lvis = load_json(args.src, 'LVIS annotation file')
    out = lvis_base_split(lvis, args.drop, source=args.src)
    dump_json_atomic(out, args.out)
    s = out['info']['base_split']
    print(f'{args.out}: {len(out["annotations"])} annotations kept, '
          f'{s["dropped_annotations"]} removed from {s["dropped_categories"]}'
          f' {"/".join(s["dropped_frequencies"])} classes; '
          f'{len(out["categories"])} categories, {len(out["images"])} images')
    return 0


if __name__ == '__main__':
    sys.exit(main())
