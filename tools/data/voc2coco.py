# Copyright (c) mmase contributors. All rights reserved.
"""Convert a folder of Pascal VOC XML files to a COCO json.

Example::

    python tools/data/voc2coco.py --ann-dir gc10/Annotations \\
        --supercategory metallurgy --out gc10/annotations.json
"""
import argparse
import sys

from mmase.datasets.converters.voc2coco import voc_to_coco
from mmase.datasets.converters.yolo2coco import read_class_names
from mmase.utils.file_io import dump_json_atomic


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--ann-dir', required=True)
    p.add_argument('--classes', default=None,
                   help='names.txt fixing the category order (default: '
                   'sorted names found)')
    p.add_argument('--supercategory', default='defect')
    p.add_argument('--skip-difficult', action='store_true')
    p.add_argument('--out', required=True)
    args = p.parse_args(argv)
    names = read_class_names(args.classes) if args.classes else None
    coco = voc_to_coco(args.ann_dir, names, args.supercategory,
                       args.skip_difficult)
    dump_json_atomic(coco, args.out)
    print(f'{args.out}: {len(coco["images"])} images, '
          f'{len(coco["annotations"])} boxes, {len(coco["categories"])} '
          f'classes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
