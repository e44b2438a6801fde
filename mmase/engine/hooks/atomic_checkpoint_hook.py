# Copyright (c) mmase contributors. All rights reserved.
"""mmengine's CheckpointHook with writes that survive a kill at any moment."""
import contextlib
import difflib
import glob
import inspect
import os
import shutil
import os.path as osp
from typing import Any, Callable, Iterable, Iterator, List

from mmdet.registry import HOOKS as MMDET_HOOKS
from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

from mmase.utils.file_io import atomic_file, dump_text_atomic

#: Suffix of the temporary files checkpoints are written to.
TMP_SUFFIX = '.tmp'


class _DeferredRemoval:
    """A file backend whose ``remove``/``rmtree`` are only queued.

    Everything else goes to the wrapped backend.
    """

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.pending: List[str] = []

    def remove(self, path: str) -> None:
        self.pending.append(path)

    def rmtree(self, path: str) -> None:
        self.pending.append(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


@MMDET_HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Save checkpoints so that a kill never costs a complete one.

    mmengine's :class:`~mmengine.hooks.CheckpointHook` removes the oldest
    checkpoint (``max_keep_ckpts``) and the previous best one *before*
    writing the new file in place, and then rewrites ``last_checkpoint``
    in place. A kill during the write leaves a truncated ``epoch_N.pth``,
    the previous one deleted and ``last_checkpoint`` naming a missing file;
    with ``max_keep_ckpts=1`` nothing is left to resume from.

    This hook keeps every rule of the parent (interval, ``save_best``,
    ``max_keep_ckpts``, names) and changes only the order and the way of
    writing, on the local file system:

    1. the checkpoint is written to a temporary file next to its final name
       (``.epoch_N.pth.<random>.tmp``), flushed to disk and renamed over the
       final name (atomic);
    2. ``last_checkpoint`` is then replaced atomically, so it only ever
       names a complete file;
    3. only then are the outdated checkpoints (and the previous best one)
       removed.

    Temporary files left by a killed run are removed when training starts.
    Other storage backends keep mmengine's behaviour.

    Unlike the parent, unknown arguments are refused when the hook is built
    (the parent forwards them to ``Runner.save_checkpoint``, which fails
    only at the first save, after an epoch of training).

    Args:
        **kwargs: The arguments of :class:`~mmengine.hooks.CheckpointHook`.

    Raises:
        TypeError: An argument that ``CheckpointHook`` does not know.
    """

    def __init__(self, **kwargs) -> None:
        known = named_parameters(CheckpointHook.__init__)
        unknown = [k for k in kwargs if k not in known]
        if unknown:
            raise TypeError(unknown_argument_message(
                type(self).__name__, unknown, known))
        super().__init__(**kwargs)
        self._local = False

    # ----------------------------------------------------------- helpers
    def _is_local(self) -> bool:
        """Whether checkpoints go to the local file system (set in
        ``before_train``)."""
        return self._local

    def _save_atomically(self, runner, filename: str, **kwargs) -> None:
        """``Runner.save_checkpoint(out_dir, filename)`` through a temporary
        file renamed into place once complete (main process only: the
        runner saves there only)."""
        save = type(runner).save_checkpoint
        if not is_main_process():
            save(runner, self.out_dir, filename, **kwargs)
            return
        with atomic_file(osp.join(self.out_dir, filename),
                         suffix=TMP_SUFFIX) as tmp:
            save(runner, self.out_dir, osp.basename(tmp), **kwargs)
            with open(tmp, 'rb') as f:
                os.fsync(f.fileno())

    @staticmethod
    def _remove(path: str) -> None:
        if osp.isfile(path):
            os.remove(path)
        elif osp.isdir(path):  # checkpoints saved by deepspeed
            shutil.rmtree(path)

    @contextlib.contextmanager
    def _atomic_parent_saves(self, runner) -> Iterator[None]:
        """Run parent code with its saves made atomic and its removals
        delayed until it has finished without an error."""
        backend = self.file_backend
        deferred = _DeferredRemoval(backend)
        self.file_backend = deferred

        def save(out_dir: str, filename: str, **kwargs) -> None:
            assert out_dir == self.out_dir
            self._save_atomically(runner, filename, **kwargs)

        runner.save_checkpoint = save
        try:
            yield
        finally:
            del runner.save_checkpoint
            self.file_backend = backend
        if is_main_process():
            keep = {getattr(self, 'best_ckpt_path', None), self.last_ckpt,
                    *getattr(self, 'best_ckpt_path_dict', {}).values()}
            for path in deferred.pending:
                if path not in keep:
                    self._remove(path)

    # ------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        """Set up as the parent, then drop temporary files of a killed
        run."""
        super().before_train(runner)
        self._local = isinstance(self.file_backend, LocalBackend)
        if self._local and is_main_process():
            pattern = '.*.pth.*' + TMP_SUFFIX  # see _save_atomically
            for tmp in glob.glob(
                    osp.join(glob.escape(self.out_dir), pattern)):
                runner.logger.warning(
                    f'removing {tmp}: an incomplete checkpoint of an '
                    f'interrupted run')
                os.remove(tmp)

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        """Save ``filename_tmpl.format(step)`` atomically, point
        ``last_checkpoint`` at it, then remove outdated checkpoints."""
        if not self._is_local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._save_atomically(
            runner,
            filename,
            file_client_args=self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args)
        if not is_main_process():
            return
        dump_text_atomic(self.last_ckpt,
                         osp.join(runner.work_dir, 'last_checkpoint'))
        for old in outdated:
            self._remove(
                osp.join(self.out_dir, self.filename_tmpl.format(old)))

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        """The parent's best-checkpoint logic with atomic writes; the
        previous best file is removed after the new one is complete."""
        if not self._is_local():
            return super()._save_best_checkpoint(runner, metrics)
        with self._atomic_parent_saves(runner):
            super()._save_best_checkpoint(runner, metrics)


def quote_with_hint(name: str, known: Iterable[str]) -> str:
    """``'name'``, with `` (did you mean 'x'?)`` when a known name is
    close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else '')


def unknown_argument_message(owner: str, unknown: List[str],
                             known: Iterable[str]) -> str:
    """``<owner>: unknown argument(s) 'x' (did you mean 'y'?); known: ...``
    """
    known = sorted(known)
    names = ', '.join(quote_with_hint(n, known) for n in unknown)
    return (f'{owner}: unknown argument(s) {names}; known: '
            f'{", ".join(known)}')


def named_parameters(func: Callable) -> List[str]:
    """Names ``func`` takes as keyword arguments (``self`` excluded)."""
    params = inspect.signature(func).parameters
    return [
        n for n, p in params.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != 'self'
    ]


MMPRETRAIN_HOOKS.register_module(module=AtomicCheckpointHook)
