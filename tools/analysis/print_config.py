# Copyright (c) mmase contributors. All rights reserved.
"""Print the full config after inheritance and ``--cfg-options``.

    python tools/analysis/print_config.py \\
        configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py \\
        [--cfg-options train_cfg.max_epochs=1] [--save-path merged.py]

``mmase`` is imported first, so ``mmdet::`` / ``mmpretrain::`` bases and
mmase's custom imports resolve as in ``tools/train.py``.
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction

from mmase.utils.file_io import atomic_file
from mmase.utils.setup_env import load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument('--save-path', default=None,
                        help='also write the merged config (.py, .json or '
                        '.yml) to this file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args(argv)


def main(argv=None) -> Config:
    args = parse_args(argv)
    import mmase  # noqa: F401
    cfg = load_config(args.config, args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    if args.save_path:
        ext = osp.splitext(args.save_path)[1]
        if ext not in ('.py', '.json', '.yml', '.yaml'):
            raise ValueError(f'--save-path must end in .py, .json or .yml, '
                             f'got {args.save_path}')
        with atomic_file(args.save_path, suffix=ext) as tmp:
            cfg.dump(tmp)
        print(f'saved to {args.save_path}')
    return cfg


if __name__ == '__main__':
    main()
