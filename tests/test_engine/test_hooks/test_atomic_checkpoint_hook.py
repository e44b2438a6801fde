# Copyright (c) mmase contributors. All rights reserved.
"""AtomicCheckpointHook on a toy model with mmengine's real Runner.

A crash inside the write is simulated by making mmengine's file backend
write half of the bytes and raise; the subprocess test that SIGKILLs a real
training in the middle of the write is in tests/test_tools/
test_train_tools.py.
"""
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.fileio.backends import LocalBackend
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmase.engine.hooks import AtomicCheckpointHook
from mmase.utils.compat import load_checkpoint_file


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(torch.stack(inputs)).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((out - torch.stack(labels))**2).mean())
        return [dict(pred=o) for o in out]


class _ScoreSequence(BaseMetric):
    """Reports ``scores[k]`` at the k-th evaluation."""

    def __init__(self, scores):
        super().__init__()
        self.scores = list(scores)
        self.calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        self.calls += 1
        return dict(score=self.scores[self.calls - 1])


def _collate(batch):
    return dict(inputs=[b['inputs'] for b in batch],
                labels=[b['labels'] for b in batch])


def _runner(work_dir, max_epochs, hook=None, scores=None, resume=False):
    data = [dict(inputs=torch.full((2, ), float(i)), labels=torch.tensor(1.))
            for i in range(4)]
    loader = dict(dataset=data, batch_size=2, collate_fn=_collate,
                  sampler=dict(type='DefaultSampler', shuffle=False))
    kwargs = {}
    if scores is not None:
        kwargs = dict(val_dataloader=loader, val_cfg=dict(),
                      val_evaluator=Evaluator([_ScoreSequence(scores)]))
    return Runner(
        model=_Toy(),
        work_dir=str(work_dir),
        train_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(
            type='AtomicCheckpointHook', interval=1, **(hook or {}))),
        randomness=dict(seed=0),
        resume=resume,
        default_scope='mmdet',
        **kwargs)


class _CrashInWrite:
    """Patch ``LocalBackend.put``: a write whose name contains ``target``
    writes half of the bytes and raises (a crash inside the write)."""

    def __init__(self, monkeypatch, target):
        self.target = target
        self.hit = []
        put = LocalBackend.put

        def crashing_put(backend, obj, filepath):
            if target in osp.basename(str(filepath)):
                self.hit.append(str(filepath))
                with open(filepath, 'wb') as f:
                    f.write(obj[:len(obj) // 2])
                raise OSError('simulated crash in the middle of the write')
            return put(backend, obj, filepath)

        monkeypatch.setattr(LocalBackend, 'put', crashing_put)


def _pth(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith('.pth'))


def _last(folder):
    with open(osp.join(folder, 'last_checkpoint')) as f:
        return f.read()


def test_keeps_mmengine_rotation_and_pointer(tmp_path):
    _runner(tmp_path, 3, dict(max_keep_ckpts=2)).train()
    assert _pth(tmp_path) == ['epoch_2.pth', 'epoch_3.pth']
    assert _last(tmp_path) == str(tmp_path / 'epoch_3.pth')
    ckpt = load_checkpoint_file(str(tmp_path / 'epoch_3.pth'))
    assert ckpt['meta']['epoch'] == 3
    assert ckpt['message_hub']['runtime_info']['keep_ckpt_ids'] == [2, 3]
    # no temporary file is left behind
    assert [f for f in os.listdir(tmp_path) if f.endswith('.tmp')] == []


def test_crash_during_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    """max_keep_ckpts=1 and a crash while epoch_2.pth is written: mmengine's
    hook has already deleted epoch_1.pth and leaves half an epoch_2.pth
    with last_checkpoint naming the deleted file; here epoch_1.pth and the
    pointer stay intact and nothing half-written is left."""
    _runner(tmp_path, 1, dict(max_keep_ckpts=1)).train()
    crash = _CrashInWrite(monkeypatch, 'epoch_2')
    runner = _runner(tmp_path, 2, dict(max_keep_ckpts=1), resume=True)
    with pytest.raises(OSError, match='simulated crash'):
        runner.train()
    assert crash.hit and '.tmp' in crash.hit[0]  # written to a temp file
    assert [f for f in os.listdir(tmp_path)
            if f.endswith(('.pth', '.tmp'))] == ['epoch_1.pth']
    assert _last(tmp_path) == str(tmp_path / 'epoch_1.pth')
    assert load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))['meta'][
        'epoch'] == 1
    monkeypatch.undo()
    # and the run resumes from it and rotates normally afterwards
    runner = _runner(tmp_path, 2, dict(max_keep_ckpts=1), resume=True)
    runner.train()
    assert runner.iter == 4
    assert _pth(tmp_path) == ['epoch_2.pth']
    assert _last(tmp_path) == str(tmp_path / 'epoch_2.pth')


def test_crash_during_best_write_keeps_previous_best(tmp_path, monkeypatch):
    """The previous best checkpoint is removed only after the new one is
    complete."""
    hook = dict(save_best='score', rule='greater', max_keep_ckpts=1)
    _runner(tmp_path, 1, hook, scores=[0.2]).train()
    assert 'best_score_epoch_1.pth' in _pth(tmp_path)
    _CrashInWrite(monkeypatch, 'best_score_epoch_2')
    runner = _runner(tmp_path, 2, hook, scores=[0.5], resume=True)
    with pytest.raises(OSError, match='simulated crash'):
        runner.train()
    assert 'best_score_epoch_1.pth' in _pth(tmp_path)
    assert 'best_score_epoch_2.pth' not in _pth(tmp_path)
    monkeypatch.undo()
    # the next better score replaces it, as in mmengine
    runner = _runner(tmp_path, 3, hook, scores=[0.6], resume=True)
    runner.train()
    assert _pth(tmp_path) == ['best_score_epoch_3.pth', 'epoch_3.pth']


def test_removes_temp_files_of_a_killed_run(tmp_path):
    stale = tmp_path / '.epoch_2.pth.abc123.tmp'
    stale.write_bytes(b'half a checkpoint')
    other = tmp_path / 'notes.tmp'  # not a checkpoint temp file: kept
    other.write_text('x')
    _runner(tmp_path, 1).train()
    assert not stale.exists() and other.exists()


def test_unknown_argument_is_refused_when_built():
    # mmengine's CheckpointHook accepts it and fails at the first save
    with pytest.raises(TypeError,
                       match=r"AtomicCheckpointHook: unknown argument\(s\) "
                       r"'intervall' \(did you mean 'interval'\?\)"):
        AtomicCheckpointHook(intervall=1)
    hook = AtomicCheckpointHook(interval=2, max_keep_ckpts=1)
    assert hook.interval == 2 and hook.max_keep_ckpts == 1
