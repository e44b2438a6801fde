# Copyright (c) mmase contributors. All rights reserved.
import math
from typing import Optional, Sequence, Union

import torch
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]


class NonFiniteLossError(RuntimeError):
    """Raised when a loss term becomes NaN or infinite."""


@MMDET_HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training as soon as a loss term is NaN or infinite.

    mmdet's ``CheckInvalidLossHook`` only asserts on the total loss. This hook
    checks every logged term and stops with the iteration, the epoch and the
    offending terms named, before the checkpoint hook can save the damaged
    weights of that iteration (it runs with a higher priority). The last
    checkpoint saved before stays valid for ``--resume``.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1) -> None:
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        bad = []
        for name, value in outputs.items():
            if isinstance(value, torch.Tensor):
                finite = bool(torch.isfinite(value).all())
                shown = value.detach().flatten()[:4].tolist()
            elif isinstance(value, (float, int)):
                finite = math.isfinite(value)
                shown = value
            else:
                continue
            if not finite:
                bad.append(f'{name}={shown}')
        if bad:
            raise NonFiniteLossError(
                f'non-finite loss at iteration {runner.iter + 1} (epoch '
                f'{runner.epoch + 1}): {", ".join(bad)}. Training stopped; '
                f'the last saved checkpoint in {runner.work_dir} is intact. '
                f'Lower the learning rate or check the data of this '
                f'iteration.')


MMPRETRAIN_HOOKS.register_module(module=NonFiniteLossHook)
