# Copyright (c) mmase contributors. All rights reserved.
from typing import List, Optional, Union

import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

DATA_BATCH = Optional[Union[dict, tuple, list]]


@HOOKS.register_module()
class DomainAdaptationStopHook(Hook):
    """Stop optimising RTVP's domain adaptation branch once its loss is
    "infinitely small" (RTVP, "Expert-assisted Domain Adaptation").

    The criterion is the model's: ``ExpertDomainAdapter.update_stop_state``
    counts consecutive iterations whose summed ``loss_domain_*`` is below
    ``stop_threshold`` and sets ``stopped`` after ``stop_patience`` of them;
    the hook then calls the detector's ``freeze_adaptation`` (no gradients,
    eval mode, so neither the weights nor the normalisation statistics of
    the branch change again; the domain losses are reported as zeros).

    The hook keeps each iteration's summed domain loss on the device and
    reads them every ``interval`` iterations (one host synchronisation per
    check instead of one per iteration), feeding them to the criterion in
    order, so the count is the same as an iteration-by-iteration check; the
    freeze takes effect at most ``interval - 1`` iterations after the
    criterion is met. In distributed training the ranks check the mean over
    ranks of each iteration's loss, so they stop together.

    It does nothing for a model without ``domain_adapter`` or with
    ``stop_threshold=None``.

    Args:
        interval (int): Iterations between checks. Defaults to 50.
    """
    priority = 'NORMAL'

    def __init__(self, interval: int = 50) -> None:
        if int(interval) < 1:
            raise ValueError('DomainAdaptationStopHook: interval must be '
                             f'>= 1, got {interval}')
        self.interval = int(interval)
        self._pending: List[torch.Tensor] = []
        self._done = False

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _adapter(self, runner):
        adapter = getattr(self._model(runner), 'domain_adapter', None)
        if adapter is None or adapter.stop_threshold is None:
            return None
        return adapter

    def before_train(self, runner) -> None:
        adapter = self._adapter(runner)
        # resumed after the stop: the model's train() keeps it stopped
        self._done = adapter is None or bool(adapter.stopped)
        self._pending = []

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if self._done:
            return
        adapter = self._adapter(runner)
        if adapter is None:
            self._done = True
            return
        names = [f'loss_domain_{n}' for n in adapter.level_names]
        if outputs and all(n in outputs for n in names):
            self._pending.append(
                sum(torch.as_tensor(outputs[n]).detach().float().reshape(())
                    for n in names))
        if self.every_n_train_iters(runner, self.interval):
            self._check(runner, adapter)

    def _check(self, runner, adapter) -> None:
        if not self._pending:
            return
        totals = torch.stack(self._pending)
        self._pending = []
        all_reduce(totals, op='mean')
        for total in totals.tolist():
            if adapter.update_stop_state(total):
                self._model(runner).freeze_adaptation()
                self._done = True
                runner.logger.info(
                    'DomainAdaptationStopHook: the domain loss stayed below '
                    f'{adapter.stop_threshold} for {adapter.stop_patience} '
                    f'iterations; the adaptation branch is frozen from '
                    f'iteration {runner.iter + 2} on')
                return
