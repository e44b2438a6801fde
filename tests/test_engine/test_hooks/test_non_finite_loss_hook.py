# Copyright (c) mmase contributors. All rights reserved.
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmase.engine.hooks import NonFiniteLossHook
from mmase.engine.hooks.non_finite_loss_hook import NonFiniteLossError


class _Model(BaseModel):
    """loss_b turns NaN on the third call."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.calls = 0

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(torch.stack(inputs)).mean()
        if mode != 'loss':
            return out
        self.calls += 1
        bad = torch.tensor(float('nan')) if self.calls == 3 else 0.0
        return dict(loss_a=out**2, loss_b=out.abs() + bad)


def _collate(batch):
    return dict(inputs=[b['inputs'] for b in batch],
                labels=[b['labels'] for b in batch])


def test_stops_at_the_bad_iteration_naming_the_term(tmp_path):
    data = [dict(inputs=torch.ones(2), labels=torch.tensor(0.))] * 8
    runner = Runner(
        model=_Model(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2, collate_fn=_collate),
        train_cfg=dict(by_epoch=False, max_iters=6),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(
            type='CheckpointHook', interval=1, by_epoch=False)),
        custom_hooks=[dict(type='NonFiniteLossHook')],
        default_scope='mmdet')
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    msg = str(err.value)
    assert 'iteration 3' in msg and 'loss_b=' in msg
    assert 'loss_a' not in msg
    # iterations 1 and 2 were saved, the damaged iteration 3 was not
    assert osp.isfile(tmp_path / 'iter_2.pth')
    assert not osp.isfile(tmp_path / 'iter_3.pth')


def test_finite_losses_pass():
    hook = NonFiniteLossHook()

    class _Runner:
        iter = 0
        epoch = 0
        work_dir = '.'

    hook.after_train_iter(_Runner(), 0, outputs=dict(
        loss=torch.tensor(1.0), acc=99.0))
    with pytest.raises(NonFiniteLossError, match='loss=inf'):
        hook.after_train_iter(_Runner(), 0, outputs=dict(loss=float('inf')))
