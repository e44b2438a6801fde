# Copyright (c) mmase contributors. All rights reserved.
"""Environment set-up shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os
import os.path as osp
from datetime import timedelta
from typing import Optional, Sequence

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


def setup_distributed(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` for the chosen launcher, on GPU or CPU machines.

    With CUDA nothing changes: mmengine initialises ``cfg.env_cfg.dist_cfg``'s
    backend itself. Without CUDA, mmengine's ``pytorch`` launcher would call
    ``torch.cuda.set_device`` and wrap the model in DDP with
    ``device_ids=[LOCAL_RANK]``, both of which fail. So on CPU the ``gloo``
    process group is initialised here, before the Runner is built (the Runner
    then skips its own initialisation), and DDP is configured with
    ``device_ids=None``.

    Args:
        cfg (Config): The config; modified in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
    """
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg['backend'] = 'gloo'
    if not dist.is_initialized():
        if launcher != 'pytorch':
            raise RuntimeError(
                f'launcher "{launcher}" needs CUDA; on CPU use '
                f'tools/dist_train.sh (torchrun, launcher "pytorch").')
        dist.init_process_group(
            backend='gloo', timeout=timedelta(minutes=30))
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper


def apply_common_args(cfg: Config, work_dir: str, config_path: str) -> None:
    """Set ``cfg.work_dir`` as mmdet's tools do.

    Priority: the command line, then the config, then
    ``./work_dirs/<config name>``.

    Args:
        cfg (Config): The config; modified in place.
        work_dir (str): ``--work-dir`` from the command line (may be None).
        config_path (str): Path of the config file.
    """
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = os.path.join(
            './work_dirs',
            os.path.splitext(os.path.basename(config_path))[0])


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the arguments every mmase tool shares with mmdet's tools:
    ``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local_rank``."""
    parser.add_argument('--work-dir', help='the dir to save logs and outputs')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs, e.g. '
        'train_cfg.max_epochs=1 "train_dataloader.batch_size=2"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_tool_args(parser: argparse.ArgumentParser,
                    argv: Optional[Sequence[str]] = None
                    ) -> argparse.Namespace:
    """Parse the command line and export ``LOCAL_RANK`` as torchrun does."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_tool_config(args: argparse.Namespace) -> Config:
    """Load ``args.config`` and apply ``--cfg-options`` and ``--work-dir``.

    Raises:
        FileNotFoundError: The config file does not exist.
    """
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    apply_common_args(cfg, args.work_dir, args.config)
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Build the Runner a config asks for (``runner_type``), as mmdet does."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
