# Copyright (c) mmase contributors. All rights reserved.
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmase.engine.hooks import DomainAdaptationStopHook
from mmase.testing import make_det_batch, make_tiny_bert
from mmase.testing.tiny_open_vocab import tiny_model_cfg


@pytest.fixture(scope='module')
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(str(tmp_path_factory.mktemp('bert')))


class _BranchRecorder(Hook):
    """Copies the adaptation branch's state after every iteration, after
    the other hooks."""
    priority = 'LOWEST'

    def __init__(self):
        self.states = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        m = runner.model
        branch = dict(adapter=m.domain_adapter.state_dict(),
                      sam_adapters=m.sam_backbone.adapters.state_dict())
        self.states.append({
            f'{name}.{k}': v.detach().clone()
            for name, sd in branch.items() for k, v in sd.items()
        })


def _train(tmp_path, bert, threshold, hooks, iters=5):
    """Train a tiny RTVP whose domain adapter has BatchNorm (statistics
    that would move) with stop_patience=1."""
    model = tiny_model_cfg('rtvp', bert)
    model['domain_adapter'] = dict(
        model['domain_adapter'], norm_cfg=dict(type='BN'),
        stop_threshold=threshold, stop_patience=1)
    batch = make_det_batch(size=64, batch=2)
    data = [dict(inputs=i, data_samples=s)
            for i, s in zip(batch['inputs'], batch['data_samples'])]
    recorder = _BranchRecorder()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2, collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=None),
        custom_hooks=hooks + [recorder],
        randomness=dict(seed=0),
        default_scope='mmdet')
    runner.train()
    return runner.model, recorder.states


def _same(a, b):
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_below_threshold_freezes_weights_and_bn_statistics(tmp_path,
                                                           tiny_bert):
    hook = dict(type='DomainAdaptationStopHook', interval=2)
    model, states = _train(tmp_path, tiny_bert, 1e9, [hook])
    assert bool(model.domain_adapter.stopped)
    assert any('running_mean' in k for k in states[0])
    # checked after the 2nd iteration: it still learned up to there...
    assert not _same(states[0], states[1])
    # ...and nothing of the branch changed afterwards
    for later in states[2:]:
        assert _same(states[1], later)
    assert not model.domain_adapter.training
    assert not any(p.requires_grad for p in model.domain_adapter.parameters())


def test_above_threshold_trains_as_without_the_hook(tmp_path, tiny_bert):
    hook = dict(type='DomainAdaptationStopHook', interval=2)
    model, states = _train(tmp_path / 'hook', tiny_bert, -1.0, [hook])
    ref, ref_states = _train(tmp_path / 'plain', tiny_bert, -1.0, [])
    assert not bool(model.domain_adapter.stopped)
    assert int(model.domain_adapter.below_count) == 0
    for i in range(1, len(states)):  # the branch kept learning
        assert not _same(states[i - 1], states[i])
    assert _same(states[-1], ref_states[-1])
    assert _same(model.state_dict(), ref.state_dict())


def test_bad_interval_and_models_without_the_criterion():
    with pytest.raises(ValueError, match='interval'):
        DomainAdaptationStopHook(interval=0)

    class _Runner:
        model = torch.nn.Linear(2, 2)  # no domain adapter: nothing to do
        iter = 0

    hook = DomainAdaptationStopHook(interval=1)
    hook.before_train(_Runner())
    hook.after_train_iter(_Runner(), 0, outputs=dict(loss=torch.ones(())))
