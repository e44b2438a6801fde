# Copyright (c) mmase contributors. All rights reserved.
from collections import Counter

import numpy as np
import pytest
from mmdet.registry import DATA_SAMPLERS
from mmpretrain.registry import DATA_SAMPLERS as PRETRAIN_SAMPLERS

import mmase  # noqa: F401


class _Labels:
    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def __len__(self):
        return len(self.labels)

    def get_gt_labels(self):
        return self.labels


def test_balances_tail_classes():
    ds = _Labels([0] * 90 + [1] * 9 + [2] * 1)
    sampler = PRETRAIN_SAMPLERS.build(
        dict(type='ClassBalancedSampler', seed=0, num_samples=3000),
        default_args=dict(dataset=ds))
    idx = list(sampler)
    assert len(idx) == len(sampler) == 3000
    counts = Counter(ds.labels[idx].tolist())
    for c in range(3):
        assert 800 < counts[c] < 1200  # ~1/3 each (vs 1% for class 2)
    sampler.set_epoch(1)
    assert list(sampler) != idx  # a new draw per epoch


def test_power_zero_is_uniform_and_errors():
    ds = _Labels([0] * 90 + [1] * 10)
    s = DATA_SAMPLERS.build(
        dict(type='ClassBalancedSampler', power=0., seed=0, num_samples=5000),
        default_args=dict(dataset=ds))
    frac = np.mean(ds.labels[list(s)] == 1)
    assert 0.07 < frac < 0.13
    with pytest.raises(ValueError):
        DATA_SAMPLERS.build(dict(type='ClassBalancedSampler', power=-1),
                            default_args=dict(dataset=ds))
