# Copyright (c) mmase contributors. All rights reserved.
"""Dataset doctor: print every problem of a COCO, MMIO or ASE set.

Examples::

    python tools/data/check_dataset.py data/mmio_synth
    python tools/data/check_dataset.py data/ase_synth
    python tools/data/check_dataset.py my/train.json --img-dir my/images \\
        --fix-to my/train.clean.json

Exit status 0 when nothing is wrong, 1 otherwise. ``--fix-to`` (a single
COCO ``.json`` or ASE ``.jsonl`` input) writes a cleaned copy atomically:
boxes clipped to the image, bad annotations/lines and unreadable images
dropped, image sizes corrected. The input is never modified.
"""
import argparse
import os.path as osp
import sys
from collections import Counter

from mmase.datasets.doctor import diagnose
from mmase.utils.file_io import dump_json_atomic, dump_jsonl_atomic


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('path', help='dataset folder, COCO .json or ASE .jsonl')
    p.add_argument('--img-dir', default=None,
                   help='image folder of a COCO file (default: ROOT/images '
                   'in an MMIO layout)')
    p.add_argument('--class-texts', default=None)
    p.add_argument('--split', default=None)
    p.add_argument('--no-images', action='store_true',
                   help='do not open the image files')
    p.add_argument('--fix-to', default=None,
                   help='write a cleaned copy of the single input file here')
    args = p.parse_args(argv)

    if args.fix_to and osp.isdir(args.path):
        p.error('--fix-to needs a single .json or .jsonl input file')
    if args.fix_to and osp.exists(args.path) and osp.exists(
            args.fix_to) and osp.samefile(args.path, args.fix_to):
        p.error('--fix-to must differ from the input; the input is never '
                'modified')
    rep = diagnose(args.path, args.img_dir, args.class_texts, args.split,
                   check_images=not args.no_images)
    for prob in rep.problems:
        print(prob)
    counts = Counter(prob.rule for prob in rep.problems)
    summary = ', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))
    print(f'{len(rep.problems)} problem(s)' + (f' ({summary})'
                                                if summary else ''))
    if args.fix_to:
        if rep.cleaned is None:
            print('nothing to write: the file could not be read as a '
                  'dataset', file=sys.stderr)
            return 1
        if args.path.endswith('.jsonl'):
            dump_jsonl_atomic(rep.cleaned, args.fix_to)
        else:
            dump_json_atomic(rep.cleaned, args.fix_to)
        print(f'cleaned copy written to {args.fix_to}')
    return 0 if rep.ok else 1


if __name__ == '__main__':
    sys.exit(main())
