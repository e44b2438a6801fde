# Copyright (c) mmase contributors. All rights reserved.
"""Train a detector or classifier from an mmase / mmdet / mmpretrain config.

Examples:
    python tools/train.py \\
        configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --resume
    bash tools/dist_train.sh CONFIG 4            # 4 GPUs, or 4 CPU processes
"""
import argparse
import logging
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.logging import print_log

import mmase  # noqa: F401  (registers mmase modules, applies compat)
from mmase.apis.model_builder import add_strict_argument
from mmase.utils.setup_env import (add_common_args,
                                   build_runner, checkpoint_problem,
                                   load_tool_config, parse_tool_args,
                                   resolve_resume, setup_distributed,
                                   strict_resume)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision training (CUDA only)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by total batch / base batch')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a path, resume from '
        'the newest complete checkpoint of the work dir (an error when '
        'there is none)')
    add_strict_argument(parser)
    add_common_args(parser)
    return parse_tool_args(parser, argv)


def set_amp(cfg: Config) -> None:
    """``--amp``: fp16 with dynamic loss scaling on CUDA, bfloat16 autocast
    on a CPU that supports it, an error otherwise."""
    from mmase.engine.optimizers import amp_optim_wrapper_type
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    cfg.optim_wrapper.type = amp_optim_wrapper_type(device)
    if device == 'cuda':
        cfg.optim_wrapper.loss_scale = 'dynamic'


def build_config(args) -> Config:
    """Load the config and apply the command line to it."""
    cfg = load_tool_config(args)

    if args.amp:
        set_amp(cfg)

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
                cfg.auto_scale_lr:
            raise RuntimeError(
                f'{args.config}: --auto-scale-lr needs '
                f'`auto_scale_lr = dict(base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        # the newest complete checkpoint of the work dir (a WARNING names
        # any broken one skipped); nothing to resume from is an error
        cfg.resume = True
        cfg.load_from, warnings = resolve_resume(cfg)
        for msg in warnings:
            print_log(msg, logger='current', level=logging.WARNING)
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume: checkpoint not found: '
                                    f'{args.resume}')
        problem = checkpoint_problem(args.resume)
        if problem is not None:  # before anything is built
            raise RuntimeError(f'--resume: {args.resume}: {problem}')
        cfg.resume = True
        cfg.load_from = args.resume

    setup_distributed(cfg, args.launcher)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    runner = build_runner(cfg)
    if cfg.get('resume') and args.strict:
        strict_resume(runner)
    runner.train()


if __name__ == '__main__':
    main()
