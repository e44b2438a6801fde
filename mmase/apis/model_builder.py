# Copyright (c) mmase contributors. All rights reserved.
"""Build a model from a config and load a checkpoint into it, strictly.

Every tool that turns "config + checkpoint" into a model goes through this
module, so they all read checkpoints the same way:

* the file is read by :func:`mmase.utils.compat.load_checkpoint_file` (the
  safe, allow-listed unpickler; a refused, missing or truncated file is one
  error naming it);
* the weights must fit the model exactly (strict by default). mmengine and
  mmdet only log a warning for missing or unexpected keys, so a checkpoint
  of another model would run with random weights; here a mismatch is one
  :class:`CheckpointMismatchError` naming the file and every key;
* ``--no-strict`` (:func:`add_strict_argument`) opts out in every tool the
  same way: mismatched weights are skipped with a warning, the model's own
  ones stay.

Typical use in a tool::

    from mmase.apis import add_strict_argument, init_model

    parser.add_argument('config')
    parser.add_argument('checkpoint')
    add_strict_argument(parser)
    args = parser.parse_args()
    model = init_model(args.config, args.checkpoint, device='cpu',
                       strict=args.strict)

Tools built on mmengine's ``Runner`` (``tools/test.py``, ``tools/train.py
--resume``) use :func:`load_runner_checkpoint`, which adds the runner's
``after_load_checkpoint`` hooks (EMA weights, for instance).
"""
import argparse
import logging
import os.path as osp
import re
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log

from mmase.utils.compat import load_checkpoint_file

#: Help text of ``--no-strict``, the same in every tool.
NO_STRICT_HELP = (
    'load a checkpoint whose weights do not match the model (missing, '
    'unexpected or differently shaped ones are skipped with a warning; the '
    'model keeps its own initial weights there). By default a mismatch is '
    'an error that names the checkpoint and lists the keys')


class CheckpointMismatchError(RuntimeError):
    """A checkpoint whose weights do not fit the model.

    Args:
        filename (str): The checkpoint.
        missing (list[str]): Model weights the checkpoint lacks.
        unexpected (list[str]): Checkpoint weights the model lacks.
        errors (list[str]): Other problems, e.g. shape mismatches.
        what (str): What ``--no-strict`` would do, for the message.
            Defaults to 'load it'.
    """

    def __init__(self,
                 filename: str,
                 missing: List[str],
                 unexpected: List[str],
                 errors: List[str],
                 what: str = 'load it') -> None:
        self.filename = filename
        self.missing = list(missing)
        self.unexpected = list(unexpected)
        self.errors = list(errors)
        super().__init__(
            f'{filename}: the checkpoint does not match the model of the '
            f'config:\n{describe_mismatch(missing, unexpected, errors)}\n'
            f'Pass --no-strict to {what} anyway (the missing weights stay '
            f'randomly initialised).')


def describe_mismatch(missing: List[str], unexpected: List[str],
                      errors: List[str]) -> str:
    """The lines of a mismatch report, in mmengine's wording."""
    lines = []
    if unexpected:
        lines.append('unexpected key in source state_dict: ' +
                     ', '.join(unexpected))
    if missing:
        lines.append('missing keys in source state_dict: ' +
                     ', '.join(missing))
    lines += errors
    return '\n'.join(lines)


def add_strict_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--no-strict`` (``args.strict``, True by default) to a tool."""
    parser.add_argument(
        '--no-strict', dest='strict', action='store_false',
        help=NO_STRICT_HELP)


def checkpoint_state_dict(checkpoint: Any, filename: str) -> Dict[str, Any]:
    """The model weights of a loaded checkpoint.

    Accepts an mmengine checkpoint (``state_dict`` key) or a bare state
    dict; a ``module.`` prefix (saved from a DDP-wrapped model) is removed,
    as mmengine does.

    Args:
        checkpoint (Any): What :func:`load_checkpoint_file` returned.
        filename (str): The checkpoint, for error messages.

    Returns:
        dict: Weights by name (``_metadata`` kept for version upgrades).

    Raises:
        TypeError: The file holds no dict of weights.
    """
    if not isinstance(checkpoint, dict):
        raise TypeError(f'{filename}: a checkpoint must hold a dict of '
                        f'weights, got {type(checkpoint).__name__}')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict):
        raise TypeError(f'{filename}: field "state_dict" must be a dict of '
                        f'weights, got {type(state).__name__}')
    metadata = getattr(state, '_metadata', None)
    state = OrderedDict((re.sub(r'^module\.', '', k), v)
                        for k, v in state.items())
    if metadata is not None:
        state._metadata = metadata  # type: ignore[attr-defined]
    return state


def _load_collecting(model: nn.Module, state_dict: Dict[str, Any]
                     ) -> Tuple[List[str], List[str], List[str]]:
    """Copy matching weights into ``model``; return what did not fit.

    The same walk as :func:`torch.nn.Module.load_state_dict` (so each
    module's own load hooks run, e.g. position-embedding resizing), but
    every problem is collected instead of raised: shape mismatches are
    skipped and reported. BatchNorm's ``num_batches_tracked`` counters may
    be absent, as in mmengine.

    Returns:
        tuple: ``(missing, unexpected, errors)``.
    """
    missing: List[str] = []
    unexpected: List[str] = []
    errors: List[str] = []
    metadata = getattr(state_dict, '_metadata', None)
    state_dict = OrderedDict(state_dict)
    if metadata is not None:
        state_dict._metadata = metadata  # type: ignore[attr-defined]

    def load(module: nn.Module, prefix: str = '') -> None:
        local_metadata = {} if metadata is None else metadata.get(
            prefix[:-1], {})
        module._load_from_state_dict(state_dict, prefix, local_metadata,
                                     True, missing, unexpected, errors)
        for name, child in module._modules.items():
            if child is not None:
                load(child, prefix + name + '.')

    load(model)
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    return missing, unexpected, errors


def load_state_dict_checked(model: nn.Module,
                            checkpoint: Any,
                            filename: str,
                            strict: bool = True,
                            what: str = 'load it') -> None:
    """Load the weights of a loaded checkpoint into ``model``.

    Args:
        model (nn.Module): The model (not wrapped in DDP).
        checkpoint (Any): What :func:`load_checkpoint_file` returned.
        filename (str): The checkpoint, for messages.
        strict (bool): Refuse missing, unexpected or differently shaped
            weights. Defaults to True.
        what (str): What ``--no-strict`` would do, for the message.
            Defaults to 'load it'.

    Raises:
        CheckpointMismatchError: ``strict`` and the weights do not fit.
    """
    state = checkpoint_state_dict(checkpoint, filename)
    missing, unexpected, errors = _load_collecting(model, state)
    if not (missing or unexpected or errors):
        return
    if strict:
        raise CheckpointMismatchError(filename, missing, unexpected, errors,
                                      what)
    print_log(
        f'{filename}: loaded with --no-strict; the checkpoint does not '
        f'match the model:\n{describe_mismatch(missing, unexpected, errors)}',
        logger='current', level=logging.WARNING)


def load_model_checkpoint(model: nn.Module,
                          filename: str,
                          strict: bool = True,
                          map_location: Any = 'cpu') -> Any:
    """Read ``filename`` safely and load its weights into ``model``.

    Args:
        model (nn.Module): The model (not wrapped in DDP).
        filename (str): Checkpoint file.
        strict (bool): See :func:`load_state_dict_checked`.
            Defaults to True.
        map_location (Any): Passed to :func:`torch.load`. Defaults to 'cpu'.

    Returns:
        Any: The whole checkpoint (``meta`` etc.).
    """
    checkpoint = load_checkpoint_file(filename, map_location=map_location)
    load_state_dict_checked(model, checkpoint, filename, strict)
    return checkpoint


def load_runner_checkpoint(runner,
                           filename: str,
                           map_location: Any = 'cpu',
                           strict: bool = True,
                           what: str = 'load it') -> Any:
    """``Runner.load_checkpoint`` with the safe reader and strict loading.

    Runs the runner's ``after_load_checkpoint`` hooks as mmengine does,
    then loads the weights with :func:`load_state_dict_checked`; the runner
    will not load them again.

    Args:
        runner (Runner): A built mmengine runner.
        filename (str): Checkpoint file.
        map_location (Any): Passed to :func:`torch.load`. Defaults to 'cpu'.
        strict (bool): See :func:`load_state_dict_checked`.
            Defaults to True.
        what (str): What ``--no-strict`` would do, for the message.
            Defaults to 'load it'.

    Returns:
        Any: The whole checkpoint.
    """
    from mmengine.model import is_model_wrapper
    checkpoint = load_checkpoint_file(filename, map_location=map_location)
    runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    load_state_dict_checked(model, checkpoint, filename, strict, what)
    runner._has_loaded = True
    runner.logger.info(f'Load checkpoint from {filename}')
    return checkpoint


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               strict: bool = True,
               cfg_options: Optional[dict] = None,
               init_weights: bool = True) -> nn.Module:
    """Build the model of a config, load a checkpoint, ready for inference.

    Works for mmdet and mmpretrain configs (the config's ``default_scope``
    picks the registry).

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file. Defaults to None (the
            model's own initial weights).
        device (str): Device to move the model to. Defaults to 'cpu'.
        strict (bool): Refuse a checkpoint that does not fit the model
            (:class:`CheckpointMismatchError`). Defaults to True.
        cfg_options (dict, optional): Overrides merged into the config.
            Defaults to None.
        init_weights (bool): Without a checkpoint, run the model's
            ``init_weights()`` (pretrained parts, e.g. a Mobile-SAM
            encoder). Defaults to True.

    Returns:
        nn.Module: The model in eval mode on ``device``, SyncBN reverted to
        BN, with ``model.cfg`` (the config) and, when the checkpoint's
        ``meta`` has one, ``model.dataset_meta``.

    Raises:
        FileNotFoundError: The config or the checkpoint does not exist.
        CheckpointMismatchError: ``strict`` and the weights do not fit.
    """
    from mmengine.model.utils import revert_sync_batchnorm
    from mmengine.registry import MODELS, init_default_scope

    import mmase  # noqa: F401  (registers mmase's modules)

    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        config = Config.fromfile(config)
    elif not isinstance(config, Config):
        raise TypeError(f'config must be a path or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    init_default_scope(config.get('default_scope', 'mmdet'))
    model = MODELS.build(config.model)
    if checkpoint is not None:
        ckpt = load_model_checkpoint(model, checkpoint, strict)
        meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
        if isinstance(meta, dict) and 'dataset_meta' in meta:
            model.dataset_meta = dict(meta['dataset_meta'])
    elif init_weights:
        model.init_weights()
    model = revert_sync_batchnorm(model)
    model.cfg = config
    return model.to(device).eval()
