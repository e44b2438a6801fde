# Copyright (c) mmase contributors. All rights reserved.
"""Environment set-up shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import functools
import glob
import inspect
import os
import os.path as osp
import re
import zipfile
from datetime import timedelta
from typing import Iterator, List, Optional, Sequence, Tuple

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


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config and merge ``--cfg-options`` into it, what every tool
    that takes a config does first.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): ``--cfg-options`` (``'a.b.c':
            value``); a top-level key nothing reads is refused
            (:func:`check_cfg_options`), then they are merged
            (:func:`merge_cfg_options`). Defaults to None.

    Returns:
        Config: The config.

    Raises:
        FileNotFoundError: The config file does not exist.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options is not None:
        check_cfg_options(cfg, cfg_options, path)
        merge_cfg_options(cfg, cfg_options)
    return cfg


def load_tool_config(args: argparse.Namespace) -> Config:
    """Load ``args.config`` and its ``--cfg-options`` (:func:`load_config`),
    apply ``--work-dir`` and check the result before anything is built.

    Checks (each raises one error naming the config and the key):
    unknown top-level ``--cfg-options`` keys (:func:`check_cfg_options`),
    unknown hook arguments (:func:`check_hook_args`) and an ASE head whose
    ``num_classes`` differs from the classes of the data
    (:func:`check_num_classes`). A plain ``CheckpointHook`` is replaced by
    :class:`~mmase.engine.hooks.AtomicCheckpointHook`
    (:func:`use_atomic_checkpoints`).

    Raises:
        FileNotFoundError: The config file does not exist.
    """
    cfg = load_config(args.config, args.cfg_options)
    apply_common_args(cfg, args.work_dir, args.config)
    use_atomic_checkpoints(cfg)
    check_hook_args(cfg, args.config)
    check_num_classes(cfg, args.config)
    return cfg


#: Top-level keys that mmengine's Runner reads although most configs do not
#: set them (besides the arguments of ``Runner.__init__``).
RUNNER_OPTIONAL_KEYS = frozenset({
    'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'runner_type',
    'custom_imports', 'strategy'
})


def check_cfg_options(cfg: Config, options: dict, config_path: str) -> None:
    """Refuse ``--cfg-options`` whose top-level key nothing reads.

    ``Config.merge_from_dict`` adds any key, so a typo such as
    ``trian_cfg.max_epochs=1`` would be ignored silently. A top-level key
    must exist in the config or be one the Runner reads.

    Args:
        cfg (Config): The loaded config (before the options are merged).
        options (dict): ``--cfg-options`` (``'a.b.c': value``).
        config_path (str): For the message.

    Raises:
        ValueError: A top-level key that is neither in the config nor read
            by the Runner.
    """
    from mmase.engine.hooks.atomic_checkpoint_hook import (named_parameters,
                                                          quote_with_hint)
    known = set(cfg.keys()) | RUNNER_OPTIONAL_KEYS | set(
        named_parameters(Runner.__init__))
    unknown = sorted({
        key.split('.')[0]
        for key in options if key.split('.')[0] not in known
    })
    if unknown:
        names = ', '.join(quote_with_hint(k, known) for k in unknown)
        raise ValueError(
            f'--cfg-options: {config_path}: unknown top-level key(s) '
            f'{names}: not in the config and not read by the runner, so the '
            f'option would be ignored')


def _hook_cfgs(cfg: Config) -> Iterator[Tuple[str, dict]]:
    """``(where, hook config)`` of every default and custom hook."""
    for name, hook in (cfg.get('default_hooks') or {}).items():
        yield f'default_hooks.{name}', hook
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        yield f'custom_hooks[{i}]', hook


def _hook_class(cfg: Config, hook_type,
                scope: Optional[str] = None) -> Optional[type]:
    """The registered class of a hook type (None when it cannot be found:
    the Runner will report that itself)."""
    if isinstance(hook_type, type):
        return hook_type
    from mmengine.registry import HOOKS
    scope = scope or cfg.get('default_scope', None)
    with HOOKS.switch_scope_and_registry(scope) as registry:
        return registry.get(hook_type)


def use_atomic_checkpoints(cfg: Config) -> None:
    """Replace a plain ``CheckpointHook`` by ``AtomicCheckpointHook``.

    Same arguments and files; checkpoints are written to a temporary file
    and renamed into place, and outdated ones are removed afterwards, so a
    kill during a save never leaves nothing to resume from. Configs that
    name ``CheckpointHook`` explicitly get this too.
    """
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if not isinstance(hook, dict):
        return
    hook_type = hook.get('type')
    if isinstance(hook_type, str):
        hook_type = hook_type.split('.')[-1]
    from mmengine.hooks import CheckpointHook
    if hook_type in ('CheckpointHook', CheckpointHook) and _hook_class(
            cfg, 'AtomicCheckpointHook', hook.get('_scope_')) is not None:
        hook['type'] = 'AtomicCheckpointHook'  # (mmdet/mmpretrain scopes)


def check_hook_args(cfg: Config, config_path: str) -> None:
    """Refuse hook arguments the hook does not take, before the Runner is
    built.

    ``CheckpointHook`` takes ``**kwargs`` and passes them on to
    ``Runner.save_checkpoint``, so ``default_hooks.checkpoint.intervall=1``
    used to fail only at the first save, after an epoch of training.
    Hooks that take ``**kwargs`` for other purposes are not checked.

    Raises:
        TypeError: ``<config>: default_hooks.checkpoint: <Hook>: unknown
            argument(s) 'intervall' (did you mean 'interval'?)``.
    """
    from mmengine.hooks import CheckpointHook

    from mmase.engine.hooks.atomic_checkpoint_hook import (
        named_parameters, unknown_argument_message)
    for where, hook in _hook_cfgs(cfg):
        if not isinstance(hook, dict) or 'type' not in hook:
            continue
        cls = _hook_class(cfg, hook['type'], hook.get('_scope_'))
        if cls is None:
            continue
        if issubclass(cls, CheckpointHook):
            init = CheckpointHook.__init__
        else:
            init = cls.__init__
            params = inspect.signature(init).parameters.values()
            if any(p.kind == p.VAR_KEYWORD for p in params):
                continue
        known = named_parameters(init)
        unknown = [
            k for k in hook if k not in known
            and k not in ('type', 'priority')  # read by Runner.register_hook
            and not (k.startswith('_') and k.endswith('_'))  # _scope_ ...
        ]
        if unknown:
            raise TypeError(f'{config_path}: {where}: ' +
                            unknown_argument_message(cls.__name__, unknown,
                                                     known))


def _dataset_cfgs(cfg: Config) -> Iterator[Tuple[str, dict]]:
    """``(where, dataset config)`` of the train/val/test dataloaders
    (through dataset wrappers)."""
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        dataset = loader.get('dataset') if isinstance(loader, dict) else None
        where = f'{split}_dataloader.dataset'
        while isinstance(dataset, dict) and isinstance(
                dataset.get('dataset'), dict):
            dataset, where = dataset['dataset'], where + '.dataset'
        if isinstance(dataset, dict):
            yield where, dataset


#: Dataset fields that an ASE config sets from a top-level key of the same
#: name (``configs/_base_/datasets/ase.py``).
SHARED_DATASET_KEYS = ('data_root', 'description_file')


def merge_cfg_options(cfg: Config, options: dict) -> None:
    """Merge ``--cfg-options``; a top-level ``data_root`` or
    ``description_file`` also goes to the ``ASEDataset`` s that held its old
    value.

    A config's variables are resolved when it is read, so without this
    ``--cfg-options data_root=X`` would change the top-level key only; the
    train, val and test datasets would still read the old root. A dataset
    whose field differs from the old top-level value (set on purpose) keeps
    it.

    Args:
        cfg (Config): The loaded config, changed in place.
        options (dict): ``--cfg-options`` (``'a.b.c': value``).
    """
    old = {k: cfg.get(k) for k in SHARED_DATASET_KEYS
           if k in options and k in cfg}
    cfg.merge_from_dict(options)
    for _, dataset in _dataset_cfgs(cfg):
        if dataset.get('type') not in ('ASEDataset', 'mmase.ASEDataset'):
            continue
        for key, value in old.items():
            if key in dataset and dataset[key] == value:
                dataset[key] = options[key]


def _ase_classes(dataset: dict, where: str) -> Optional[Tuple[str, list]]:
    """``(source, classes)`` of an ``ASEDataset`` config: its
    ``metainfo.classes`` or the ``classes`` of its ``meta.json``; None when
    they cannot be read (the dataset reports that when it is built)."""
    from mmase.utils.file_io import load_json
    classes = (dataset.get('metainfo') or {}).get('classes')
    if classes is not None:
        return f'{where}.metainfo.classes', classes
    meta_file = dataset.get('meta_file', 'meta.json')
    root = dataset.get('data_root') or ''
    path = meta_file if osp.isabs(meta_file) or not root else osp.join(
        root, meta_file)
    if not osp.isfile(path):
        return None
    try:
        meta = load_json(path)
    except ValueError:
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get('classes'),
                                                    list):
        return None
    return f'{path} (field "classes", used by {where})', meta['classes']


def check_num_classes(cfg: Config, config_path: str) -> None:
    """Check a classifier's ``model.head.num_classes`` against the classes
    of its ASE data, before anything is built.

    Otherwise a sixth class in ``meta.json`` with ``num_classes=5`` ends in
    torch's ``IndexError: Target 5 is out of bounds`` inside the loss, and
    fewer classes train a head with dead outputs.

    Raises:
        ValueError: ``<config>: model.head.num_classes = 5 but <meta.json>
            (field "classes", ...) lists 6 classes``.
    """
    head = (cfg.get('model') or {}).get('head')
    if not isinstance(head, dict):
        return
    num_classes = head.get('num_classes')
    if not isinstance(num_classes, int):
        return
    for where, dataset in _dataset_cfgs(cfg):
        if str(dataset.get('type', '')).split('.')[-1] != 'ASEDataset':
            continue
        found = _ase_classes(dataset, where)
        if found is None:
            continue
        source, classes = found
        if len(classes) != num_classes:
            raise ValueError(
                f'{config_path}: model.head.num_classes = {num_classes} but '
                f'{source} lists {len(classes)} classes {list(classes)}; set '
                f'num_classes to {len(classes)} (head, data_preprocessor and '
                f'metrics), e.g. in the config\'s `num_classes`')


def build_runner(cfg: Config) -> Runner:
    """Build the Runner a config asks for (``runner_type``), as mmdet does."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def load_checkpoint_checked(runner: Runner, checkpoint: str,
                            strict: bool = True) -> None:
    """Load ``checkpoint`` into the runner's model, strictly by default.

    mmengine's ``load_from`` only logs a warning for missing or unexpected
    keys, so a checkpoint of another model would be evaluated with random
    weights. Here a mismatch raises one
    :class:`~mmase.apis.model_builder.CheckpointMismatchError` naming the
    file and the keys. Afterwards the runner does not load the weights
    again.

    Args:
        runner (Runner): A built runner.
        checkpoint (str): Checkpoint file.
        strict (bool): Refuse missing, unexpected or differently shaped
            weights. Defaults to True.
    """
    from mmase.apis.model_builder import load_runner_checkpoint
    load_runner_checkpoint(runner, checkpoint, map_location='cpu',
                           strict=strict)


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
    from mmase.apis.model_builder import load_runner_checkpoint

    @functools.wraps(runner.load_checkpoint)
    def load_strictly(filename: str, map_location='cpu', *args, **kwargs):
        return load_runner_checkpoint(runner, filename, map_location,
                                      strict=True, what='resume')

    runner.resume = functools.partial(_resume_with, runner, load_strictly)


def _resume_with(runner: Runner, load, filename: str, *args, **kwargs):
    """``Runner.resume`` with ``load`` as its checkpoint loader."""
    original = runner.load_checkpoint
    runner.load_checkpoint = load
    try:
        return Runner.resume(runner, filename, *args, **kwargs)
    finally:
        runner.load_checkpoint = original


# --------------------------------------------------------------- resuming
def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a complete checkpoint, or None when it is.

    A zip checkpoint (torch's format) is checked member by member against
    its CRCs without unpickling anything (torch itself does not check them,
    so a damaged file can load with wrong weights); an older-format file is
    loaded with the safe reader.

    Args:
        path (str): Checkpoint file.

    Returns:
        str | None: The problem, e.g. ``'empty file'``.
    """
    from mmase.utils.compat import load_checkpoint_file
    if not osp.isfile(path):
        return 'file not found'
    if osp.getsize(path) == 0:
        return 'empty file'
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            return f'damaged zip archive ({err})'
        return None if bad is None else f'damaged member {bad}'
    try:
        load_checkpoint_file(path)
    except Exception as err:  # noqa: BLE001  (reported, not hidden)
        msg = ' '.join(str(err).split())  # one line, for the log
        return msg[len(path) + 2:] if msg.startswith(f'{path}: ') else msg
    return None


def _checkpoint_step(path: str) -> Optional[int]:
    """The number in ``epoch_N.pth`` / ``iter_N.pth``, else None."""
    match = re.fullmatch(r'(?:epoch|iter)_(\d+)\.pth', osp.basename(path))
    return int(match.group(1)) if match else None


def _checkpoint_dirs(cfg: Config, pointed: Optional[str]) -> List[str]:
    """Folders a run's checkpoints can be in: the work dir, the hook's
    ``out_dir/<work dir name>`` and the folder ``last_checkpoint`` names."""
    work_dir = cfg.work_dir
    dirs = [work_dir]
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    out_dir = hook.get('out_dir') if isinstance(hook, dict) else None
    if out_dir:
        dirs.append(osp.join(out_dir, osp.basename(work_dir.rstrip(osp.sep))))
    if pointed:
        dirs.append(osp.dirname(pointed))
    unique = []
    for d in dirs:
        if osp.abspath(d) not in [osp.abspath(u) for u in unique]:
            unique.append(d)
    return unique


def resolve_resume(cfg: Config) -> Tuple[str, List[str]]:
    """The checkpoint ``--resume`` (without a path) continues from.

    mmengine resumes from the file named in ``<work_dir>/last_checkpoint``
    and fails with torch's error when that file is missing or truncated, or
    with an empty path when ``last_checkpoint`` is empty; without
    ``last_checkpoint`` it silently trains from scratch. Here:

    * the file ``last_checkpoint`` names is used when it is complete
      (:func:`checkpoint_problem`);
    * otherwise the newest complete ``epoch_N.pth`` / ``iter_N.pth`` of the
      run's checkpoint folder is used, with a warning naming the broken
      one;
    * with no complete checkpoint at all it is an error: ``--resume`` never
      trains from scratch (run without ``--resume`` for that).

    Args:
        cfg (Config): The config (``work_dir`` set).

    Returns:
        tuple: ``(checkpoint, warnings)``; log the warnings once the
        runner's logger exists.

    Raises:
        FileNotFoundError: Nothing to resume from; the message names the
            work dir and every broken file.
    """
    work_dir = cfg.work_dir
    pointer = osp.join(work_dir, 'last_checkpoint')
    warnings, broken = [], []
    pointed = None
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8', errors='replace') as f:
            pointed = f.read().strip()
        if not pointed:
            broken.append(f'{pointer}: empty file')
        else:
            problem = checkpoint_problem(pointed)
            if problem is None:
                return pointed, warnings
            broken.append(f'{pointed} (named in {pointer}): {problem}')
    candidates = []
    for folder in _checkpoint_dirs(cfg, pointed):
        for path in glob.glob(osp.join(glob.escape(folder), '*.pth')):
            step = _checkpoint_step(path)
            if step is not None and path != pointed:
                candidates.append((step, osp.getmtime(path), path))
    for _, _, path in sorted(candidates, reverse=True):
        problem = checkpoint_problem(path)
        if problem is None:
            for what in broken:
                warnings.append(f'--resume: cannot resume from {what}; '
                                f'resuming from {path} instead')
            if pointed is None:
                warnings.append(f'--resume: {pointer} not found; resuming '
                                f'from the newest complete checkpoint {path}')
            return path, warnings
        broken.append(f'{path}: {problem}')
    detail = ('; '.join(broken) if broken else
              'no last_checkpoint and no epoch_N.pth / iter_N.pth')
    raise FileNotFoundError(
        f'--resume: nothing to resume in {work_dir}: {detail}. Check '
        f'--work-dir, or train without --resume to start from scratch.')
