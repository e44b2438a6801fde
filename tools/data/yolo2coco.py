# Copyright (c) mmase contributors. All rights reserved.
"""Convert a YOLO detection set (images + labels/*.txt) to a COCO json.

Example::

    python tools/data/yolo2coco.py --img-dir neu/images/train \\
        --label-dir neu/labels/train --classes neu/data.yaml \\
        --supercategory metallurgy --out neu/annotations/train.json
"""
import argparse
import sys

from mmase.datasets.converters.yolo2coco import convert


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--img-dir', required=True)
    p.add_argument('--label-dir', default=None,
                   help='default: img-dir with "images" replaced by '
                   '"labels"')
    p.add_argument('--classes', required=True,
                   help='names.txt (one per line) or YOLO data.yaml')
    p.add_argument('--supercategory', default='defect')
    p.add_argument('--out', required=True)
    args = p.parse_args(argv)
    coco = convert(args.img_dir, args.label_dir, args.classes, args.out,
                   args.supercategory)
    print(f'{args.out}: {len(coco["images"])} images, '
          f'{len(coco["annotations"])} boxes, {len(coco["categories"])} '
          f'classes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
