# Copyright (c) mmase contributors. All rights reserved.
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmase.utils import compat


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(torch.stack(inputs)).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((out - torch.stack(labels))**2).mean())
        return out


def _collate(batch):
    return dict(
        inputs=[b['inputs'] for b in batch],
        labels=[b['labels'] for b in batch])


def _train_toy(work_dir: str, max_epochs: int) -> Runner:
    data = [
        dict(inputs=torch.full((2, ), float(i)), labels=torch.tensor(1.0))
        for i in range(4)
    ]
    runner = Runner(
        model=_Toy(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            collate_fn=_collate),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0))
    runner.train()
    return runner


def test_runner_checkpoint_loads_with_weights_only(tmp_path):
    _train_toy(str(tmp_path), max_epochs=1)
    ckpt_file = str(tmp_path / 'epoch_1.pth')

    # Plain torch.load with torch's own default (weights_only=True since 2.6)
    # works thanks to the allow-list, and so does the helper.
    ckpt = torch.load(ckpt_file, map_location='cpu', weights_only=True)
    assert compat.load_checkpoint_file(ckpt_file).keys() == ckpt.keys()

    scalars = ckpt['message_hub']['log_scalars']
    buf = scalars['train/loss']
    assert isinstance(buf, HistoryBuffer)
    # The statistics methods are usable after loading.
    assert buf.statistics('mean') == pytest.approx(float(buf.data[0].mean()))
    assert buf.max() >= buf.min()
    # numpy scalars and arrays round-trip too.
    assert isinstance(buf.data[0], np.ndarray)
    assert ckpt['meta']['epoch'] == 1


def test_resume_from_runner_checkpoint(tmp_path):
    _train_toy(str(tmp_path), max_epochs=1)
    data = [
        dict(inputs=torch.full((2, ), float(i)), labels=torch.tensor(1.0))
        for i in range(4)
    ]
    runner = Runner(
        model=_Toy(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            collate_fn=_collate),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0),
        resume=True)
    runner.train()
    assert runner.epoch == 2
    # 2 iterations per epoch: the resumed run continued at iteration 2.
    assert runner.iter == 4


class _Evil:

    def __reduce__(self):
        return (print, ('this would run code',))


def test_untrusted_object_is_refused(tmp_path, monkeypatch, capsys):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'payload': _Evil()}, path)
    monkeypatch.delenv(compat.UNSAFE_LOAD_ENV, raising=False)
    with pytest.raises(RuntimeError) as err:
        compat.load_checkpoint_file(path)
    assert path in str(err.value)
    assert compat.UNSAFE_LOAD_ENV in str(err.value)
    # mmengine's loader goes through the same door.
    from mmengine.runner import load_checkpoint
    with pytest.raises(RuntimeError, match='refused'):
        load_checkpoint(nn.Linear(1, 1), path)
    # Refusal ran nothing from the file.
    assert 'this would run code' not in capsys.readouterr().out
    # Explicit opt-in for a trusted file: now the file's code does run.
    ckpt = compat.load_checkpoint_file(path, allow_unsafe=True)
    assert 'payload' in ckpt
    assert 'this would run code' in capsys.readouterr().out


def test_missing_checkpoint_names_the_file(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        compat.load_checkpoint_file(missing)


def test_history_buffer_pickle_has_no_bound_methods():
    buf = HistoryBuffer()
    buf.update(1.0)
    data = pickle.dumps(buf)
    assert b'getattr' not in data
    restored = pickle.loads(data)
    assert restored.mean() == 1.0


def test_lvis_eval_runs_on_numpy2():
    compat.patch_lvis()
    assert np.float is float
    # the line lvis 0.5.3 runs in accumulate()
    arr = np.cumsum(np.ones((2, 3)), axis=1).astype(dtype=np.float)
    assert arr.dtype == np.float64


@pytest.mark.parametrize('keep', [0, 10, 0.5, -10])
def test_truncated_checkpoint_names_the_file(keep, tmp_path):
    path = str(tmp_path / 'epoch_1.pth')
    torch.save({'state_dict': {'w': torch.zeros(64, 64)}}, path)
    with open(path, 'rb') as f:
        data = f.read()
    n = int(len(data) * keep) if isinstance(keep, float) else keep
    with open(path, 'wb') as f:
        f.write(data[:n])
    # torch alone: EOFError / "failed reading zip archive" / Errno 22,
    # none of which names the file
    with pytest.raises(RuntimeError) as err:
        compat.load_checkpoint_file(path)
    assert str(err.value).startswith(f'{path}: cannot read the checkpoint')
    assert 'truncated' in str(err.value)


def test_every_checkpoint_read_goes_through_the_safe_reader():
    """Outside ``load_checkpoint_file`` nothing calls ``torch.load``
    without ``weights_only=True`` or passes ``weights_only=False``: models,
    tools and converters call that function or mmengine's loader, which is
    routed to it. Before: ``MobileSAMViT`` read its checkpoint with
    ``weights_only=False``."""
    import ast
    import os

    from tests.conftest import REPO_ROOT

    def unsafe_calls(tree):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            kw = {k.arg: k.value for k in node.keywords}
            flag = kw.get('weights_only')
            if isinstance(flag, ast.Constant) and flag.value is False:
                yield node.lineno
            elif (isinstance(node.func, ast.Attribute)
                  and node.func.attr == 'load'
                  and isinstance(node.func.value, ast.Name)
                  and node.func.value.id == 'torch'
                  and not (isinstance(flag, ast.Constant)
                           and flag.value is True)):
                yield node.lineno

    found = []
    for top in ('mmase', 'tools'):
        for dirpath, _, names in os.walk(os.path.join(REPO_ROOT, top)):
            for name in sorted(n for n in names if n.endswith('.py')):
                path = os.path.join(dirpath, name)
                with open(path, encoding='utf-8') as f:
                    tree = ast.parse(f.read(), path)
                rel = os.path.relpath(path, REPO_ROOT)
                found += [f'{rel}:{line}' for line in unsafe_calls(tree)]
    # the one deliberate exception: the documented opt-in for trusted files
    assert found and all(f.startswith('mmase/utils/compat.py:')
                         for f in found), found
