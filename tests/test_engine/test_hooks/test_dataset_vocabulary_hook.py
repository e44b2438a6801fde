# Copyright (c) mmase contributors. All rights reserved.
from types import SimpleNamespace

import pytest
import torch.nn as nn

import mmase  # noqa: F401
from mmase.engine.hooks import DatasetVocabularyHook


class _Det(nn.Module):

    def __init__(self):
        super().__init__()
        self.vocab = None

    def set_vocabulary(self, texts):
        self.vocab = list(texts)


class _Wrapped:
    """A dataset wrapper (like ClassBalancedDataset) without metainfo."""

    def __init__(self, dataset):
        self.dataset = dataset


def _loader(classes, wrap=False):
    ds = SimpleNamespace(metainfo=dict(classes=classes))
    return SimpleNamespace(dataset=_Wrapped(ds) if wrap else ds)


def test_sets_vocabulary_per_phase():
    model = _Det()
    runner = SimpleNamespace(
        model=model,
        train_dataloader=_loader(('traffic_light', 'cat'), wrap=True),
        val_dataloader=_loader(('dog', 'cat', 'bird')),
        test_dataloader=_loader(('zebra', )),
        _train_loop=object())
    hook = DatasetVocabularyHook()
    hook.before_train(runner)
    assert model.vocab == ['traffic light', 'cat']
    hook.before_val(runner)
    assert model.vocab == ['dog', 'cat', 'bird']
    hook.after_val(runner)
    assert model.vocab == ['traffic light', 'cat']
    DatasetVocabularyHook('a photo of a {}').before_test(runner)
    assert model.vocab == ['a photo of a zebra']


def test_errors():
    runner = SimpleNamespace(model=nn.Linear(1, 1),
                             val_dataloader=_loader(('a', )))
    with pytest.raises(TypeError, match='set_vocabulary'):
        DatasetVocabularyHook().before_val(runner)
    runner = SimpleNamespace(model=_Det(), val_dataloader=_loader(()))
    with pytest.raises(ValueError, match='no metainfo classes'):
        DatasetVocabularyHook().before_val(runner)
