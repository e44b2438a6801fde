# Copyright (c) mmase contributors. All rights reserved.
"""Compatibility fixes for the verified stack, applied once on ``import mmase``.

Every fix here is small, idempotent and states why it exists. Nothing here
changes behaviour on versions that do not need it.

* torch >= 2.6 loads with ``weights_only=True`` by default. mmengine 0.10.x
  checkpoints hold numpy scalars/arrays and ``HistoryBuffer`` objects in their
  ``message_hub`` state, so ``--resume`` fails. ``HistoryBuffer`` is made to
  pickle without bound methods (which would need ``getattr``). Instead of switching to unsafe
  loading, the few classes an mmengine checkpoint needs are allow-listed with
  :func:`torch.serialization.add_safe_globals`; anything else still fails, and
  :func:`load_checkpoint_file` says which global the file asks for and how to
  opt in to unsafe loading for a trusted file.
  mmengine's loader for local files is routed through that function.
* lvis 0.5.3 uses ``np.float``, removed in numpy 1.24.
"""
import os
import pickle
from typing import Any, Optional

import numpy as np
import torch

#: Set to ``1`` to let :func:`load_checkpoint_file` fall back to unsafe
#: (``weights_only=False``) loading. Only for files from a trusted source.
UNSAFE_LOAD_ENV = 'MMASE_ALLOW_UNSAFE_LOAD'


def _numpy_safe_globals() -> list:
    """Numpy objects that appear in mmengine checkpoints (log scalars, RNG)."""
    items = [np.dtype, np.ndarray]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    items += [scalar, _reconstruct]
    # Concrete dtype classes (e.g. ``numpy.dtypes.Float64DType``) are pickled
    # by reference since numpy 1.25.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return items


def _mmengine_safe_globals() -> list:
    """mmengine objects stored in a checkpoint's ``message_hub`` state."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer]


def patch_torch_load() -> None:
    """Allow-list the globals mmengine checkpoints need for safe loading."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch < 2.4: no weights_only default
        return
    add_safe_globals(_numpy_safe_globals() + _mmengine_safe_globals())


def load_checkpoint_file(filename: str,
                         map_location: Any = 'cpu',
                         allow_unsafe: Optional[bool] = None) -> Any:
    """Load a checkpoint safely, with a clear message when that is refused.

    Args:
        filename (str): Path of the checkpoint.
        map_location (Any): Passed to :func:`torch.load`. Defaults to 'cpu'.
        allow_unsafe (bool, optional): Fall back to ``weights_only=False`` when
            the file needs globals outside the allow-list. Defaults to None,
            which reads the ``MMASE_ALLOW_UNSAFE_LOAD`` environment variable.

    Returns:
        Any: The loaded object.

    Raises:
        FileNotFoundError: The file does not exist.
        RuntimeError: The file needs unsafe loading and it was not allowed,
            or it cannot be read (truncated, e.g. by a run killed while
            saving, or not a checkpoint); the message names the file.
    """
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except (EOFError, OSError, RuntimeError) as err:
        # torch names neither the file nor the cause: an empty file gives a
        # bare EOFError, a cut zip archive "failed finding central
        # directory" or "[Errno 22] Invalid argument".
        raise RuntimeError(
            f'{filename}: cannot read the checkpoint: '
            f'{type(err).__name__}: {err} (the file is empty, truncated - '
            f'e.g. by a run killed while saving it - or not a checkpoint)'
        ) from err
    except pickle.UnpicklingError as err:
        if allow_unsafe is None:
            allow_unsafe = os.environ.get(UNSAFE_LOAD_ENV, '0') == '1'
        if not allow_unsafe:
            raise RuntimeError(
                f'{filename}: refused to load with weights_only=True because '
                f'the file contains objects outside the allow-list ({err}). '
                f'Loading it would run code from the file. If you trust its '
                f'source, set {UNSAFE_LOAD_ENV}=1 and retry.') from None
        return torch.load(filename, map_location=map_location,
                          weights_only=False)


def patch_history_buffer() -> None:
    """Keep mmengine's built-in statistics methods out of pickled
    ``HistoryBuffer`` objects.

    mmengine 0.10.x pickles ``HistoryBuffer.min`` and friends with every log
    buffer, which needs ``builtins.getattr`` when unpickling; allow-listing
    ``getattr`` would make ``weights_only=True`` unsafe. The built-in methods
    are class-level and re-registered on load, so only user-registered
    methods are stored.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if getattr(HistoryBuffer, '_mmase_patched', False):
        return
    builtin = ('min', 'max', 'current', 'mean')
    original_setstate = HistoryBuffer.__setstate__

    def __getstate__(self) -> dict:
        state = {
            k: v
            for k, v in self.__dict__.items() if k != 'statistics_methods'
        }
        custom = {
            k: v
            for k, v in self._statistics_methods.items() if k not in builtin
        }
        if custom:
            state['statistics_methods'] = custom
        return state

    def __setstate__(self, state: dict) -> None:
        original_setstate(self, state)
        self._set_default_statistics()

    HistoryBuffer.__getstate__ = __getstate__
    HistoryBuffer.__setstate__ = __setstate__
    HistoryBuffer._mmase_patched = True


def patch_mmengine_loader() -> None:
    """Route mmengine's local checkpoint loading through
    :func:`load_checkpoint_file`, so ``load_from``/``--resume`` get the safe
    path and its clear refusal message."""
    from mmengine.runner.checkpoint import CheckpointLoader

    def _load_from_local(filename: str, map_location: Any = None) -> Any:
        return load_checkpoint_file(
            os.path.expanduser(filename), map_location=map_location)

    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_from_local, force=True)


def patch_lvis() -> None:
    """Restore ``np.float`` for lvis 0.5.3, which still uses it."""
    if 'float' not in np.__dict__:
        np.float = float  # type: ignore[attr-defined]


def apply_all() -> None:
    """Apply every fix; safe to call more than once."""
    patch_torch_load()
    patch_history_buffer()
    patch_mmengine_loader()
    patch_lvis()


apply_all()
