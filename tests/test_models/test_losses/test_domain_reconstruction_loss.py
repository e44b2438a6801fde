# Copyright (c) mmase contributors. All rights reserved.
import pytest
import torch

import mmase  # noqa: F401
from mmase.models.losses import DomainReconstructionLoss


def test_zero_when_equal_and_scale_invariant():
    loss = DomainReconstructionLoss()
    x = torch.randn(2, 8, 5, 5)
    assert loss(x, x.clone()).item() == pytest.approx(0.0, abs=1e-10)
    # channel normalisation: a per-pixel affine change of the target is free
    assert loss(x, 3 * x + 2).item() == pytest.approx(0.0, abs=1e-8)
    raw = DomainReconstructionLoss(normalize='none')
    assert raw(x, x).item() == 0.0
    assert raw(x, x + 1).item() == pytest.approx(1.0)


def test_hand_value_and_weight():
    raw = DomainReconstructionLoss(normalize='none', loss_weight=2.0)
    pred = torch.zeros(1, 2, 1, 2)
    target = torch.tensor([[[[1., 3.]], [[1., 1.]]]])
    # per pixel mean over channels: (1+1)/2 = 1, (9+1)/2 = 5 -> mean 3, x2
    assert raw(pred, target).item() == pytest.approx(6.0)
    w = torch.tensor([[[[1., 0.]]]])
    assert raw(pred, target, w).item() == pytest.approx(2.0)
    # normalised: two channels -> values become +-1
    norm = DomainReconstructionLoss()
    p = torch.tensor([[[[1.]], [[0.]]]])
    t = torch.tensor([[[[0.]], [[1.]]]])
    assert norm(p, t).item() == pytest.approx(4.0, rel=1e-4)


def test_gradients_and_detach():
    pred = torch.randn(1, 4, 3, 3, requires_grad=True)
    target = torch.randn(1, 4, 6, 6, requires_grad=True)
    # the expert feature is a target: no gradient by default
    DomainReconstructionLoss()(pred, target).backward()
    assert pred.grad is not None and target.grad is None
    DomainReconstructionLoss(detach_target=False)(pred, target).backward()
    assert target.grad is not None
    with pytest.raises(ValueError, match='channels'):
        DomainReconstructionLoss()(pred, torch.randn(1, 5, 3, 3))
