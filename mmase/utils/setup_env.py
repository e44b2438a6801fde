# Copyright (c) mmase contributors. All rights reserved.
"""Environment set-up shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import functools
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


def _mismatch_error(checkpoint: str, err: RuntimeError,
                    what: str) -> RuntimeError:
    """The one error for a checkpoint that does not fit the model."""
    return RuntimeError(
        f'{checkpoint}: the checkpoint does not match the model of the '
        f'config:\n{err}\nPass --no-strict to {what} anyway (the missing '
        f'weights stay randomly initialised).')


def load_checkpoint_checked(runner: Runner, checkpoint: str,
                            strict: bool = True) -> None:
    """Load ``checkpoint`` into the runner's model, strictly by default.

    mmengine's ``load_from`` only logs a warning for missing or unexpected
    keys, so a checkpoint of another model would be evaluated with random
    weights. Here a mismatch raises one error naming the file and the keys.
    Afterwards the runner does not load the weights again.

    Args:
        runner (Runner): A built runner.
        checkpoint (str): Checkpoint file.
        strict (bool): Refuse missing, unexpected or differently shaped
            weights. Defaults to True.
    """
    try:
        runner.load_checkpoint(checkpoint, map_location='cpu', strict=strict)
    except RuntimeError as err:
        if 'state_dict' not in str(err) or checkpoint in str(err):
            raise  # e.g. refused unsafe unpickling: already names the file
        raise _mismatch_error(checkpoint, err, 'load it') from None
    runner._has_loaded = True


def strict_resume(runner: Runner) -> None:
    """Make the runner's resume refuse a checkpoint that does not fit.

    ``Runner.resume`` loads the weights with ``strict=False``: resuming from
    the checkpoint of another model only logs a warning and trains on with
    random weights where the keys differ. After this call the weights are
    loaded strictly when resuming and a mismatch raises one error naming the
    checkpoint and the keys, before any new file is written. Fine-tuning
    with ``load_from`` (no resume) stays lenient, as in mmengine.

    Args:
        runner (Runner): A built runner whose config asks to resume.
    """
    load = runner.load_checkpoint

    @functools.wraps(load)
    def load_strictly(filename: str, *args, **kwargs):
        kwargs['strict'] = True
        try:
            return load(filename, *args, **kwargs)
        except RuntimeError as err:
            if 'state_dict' not in str(err) or filename in str(err):
                raise
            raise _mismatch_error(filename, err, 'resume') from None

    runner.resume = functools.partial(_resume_with, runner, load_strictly)


def _resume_with(runner: Runner, load, filename: str, *args, **kwargs):
    """``Runner.resume`` with ``load`` as its checkpoint loader."""
    original = runner.load_checkpoint
    runner.load_checkpoint = load
    try:
        return Runner.resume(runner, filename, *args, **kwargs)
    finally:
        runner.load_checkpoint = original
