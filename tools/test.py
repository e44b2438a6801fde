# Copyright (c) mmase contributors. All rights reserved.
"""Evaluate a checkpoint on a config's test set.

Examples:
    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --out results.pkl --show-dir vis
    bash tools/dist_test.sh CONFIG CHECKPOINT 4
"""
import argparse
import os.path as osp

from mmengine.config import Config
from mmengine.dist import get_rank

import mmase  # noqa: F401  (registers mmase modules, applies compat)
from mmase.apis.model_builder import add_strict_argument
from mmase.utils.file_io import dump_json_atomic
from mmase.utils.setup_env import (add_common_args,
                                   build_runner, load_checkpoint_checked,
                                   load_tool_config, parse_tool_args,
                                   setup_distributed)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        type=str,
        help='dump predictions to a pickle file (.pkl) for offline analysis')
    parser.add_argument(
        '--show-dir',
        help='directory (inside the work dir) where painted predictions '
        'are saved')
    add_strict_argument(parser)
    add_common_args(parser)
    return parse_tool_args(parser, argv)


def build_config(args) -> Config:
    """Load the config and apply the command line to it."""
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = load_tool_config(args)
    cfg.load_from = args.checkpoint

    is_det = cfg.get('default_scope', 'mmdet') == 'mmdet'
    if args.show_dir:
        hook = cfg.default_hooks.get('visualization')
        if hook is None:
            raise RuntimeError(f'{args.config}: --show-dir needs a '
                               f'`visualization` entry in default_hooks')
        if is_det:  # mmdet DetVisualizationHook
            hook.update(draw=True, test_out_dir=args.show_dir)
        else:  # mmpretrain VisualizationHook
            hook.update(enable=True, out_dir=args.show_dir)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl file, got {args.out}')
        dump = dict(type='DumpDetResults' if is_det else 'DumpResults',
                    out_file_path=args.out)
        evaluators = cfg.test_evaluator
        if isinstance(evaluators, (list, tuple)):
            cfg.test_evaluator = list(evaluators) + [dump]
        else:
            cfg.test_evaluator = [evaluators, dump]

    setup_distributed(cfg, args.launcher)
    return cfg


def write_metrics(metrics: dict, work_dir: str) -> str:
    """Write ``metrics.json`` into the work dir atomically (rank 0 only)."""
    path = osp.join(work_dir, 'metrics.json')
    if get_rank() == 0:
        dump_json_atomic(
            {
                k: float(v) if isinstance(v, (int, float)) else v
                for k, v in metrics.items()
            },
            path,
            indent=1)
    return path


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    runner = build_runner(cfg)
    load_checkpoint_checked(runner, args.checkpoint, args.strict)
    metrics = runner.test()
    path = write_metrics(metrics, cfg.work_dir)
    runner.logger.info(f'metrics written to {path}')
    return metrics


if __name__ == '__main__':
    main()
