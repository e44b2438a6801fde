# Copyright (c) mmase contributors. All rights reserved.
import math

import pytest
import torch
from mmengine.logging import MessageHub

from mmase.models.losses.pfa_loss import PFALoss

# three unit-norm pairs in 2-D; self-similarities cos(i_k, t_k):
# pair 0: 1.0, pair 1: cos(90deg) = 0.0, pair 2: cos(45deg) ~ 0.707
IMG = torch.tensor([[1., 0.], [0., 1.], [1., 0.]])
TXT = torch.tensor([[1., 0.], [1., 0.],
                    [math.sqrt(.5), math.sqrt(.5)]])


def _sim(a, b):
    return sum(x * y for x, y in zip(a, b))


def _infonce(img, txt, admitted, tau):
    """Hand-written symmetric InfoNCE with an admitted-negative set."""
    img, txt = img.tolist(), txt.tolist()
    n = len(img)
    total = 0.
    for k in range(n):
        for anchor, others in ((img[k], txt), (txt[k], img)):
            pos = math.exp(_sim(anchor, others[k]) / tau)
            neg = sum(
                math.exp(_sim(anchor, others[j]) / tau) for j in range(n)
                if j != k and j in admitted)
            total += -math.log(pos / (pos + neg))
    return total / (2 * n)


def test_full_negatives_is_hand_computed_infonce():
    loss = PFALoss(temperature=0.5)(IMG, TXT, progress=1.0)
    expected = _infonce(IMG, TXT, admitted={0, 1, 2}, tau=0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # ... which is CLIP's symmetric cross entropy
    logits = IMG @ TXT.t() / 0.5
    labels = torch.arange(3)
    clip = 0.5 * (torch.nn.functional.cross_entropy(logits, labels) +
                  torch.nn.functional.cross_entropy(logits.t(), labels))
    assert loss.item() == pytest.approx(clip.item(), rel=1e-5)


def test_negative_order_low_self_similarity_first():
    order = PFALoss.negative_order(IMG, TXT)
    assert order.tolist() == [1, 2, 0]


def test_progressive_admission():
    pfa = PFALoss(temperature=0.5, start_ratio=1 / 3, end_ratio=1.0,
                  ramp_end=0.5)
    # start: only the lowest self-similarity pair (1) is a negative
    assert pfa.negative_mask(IMG, TXT, 0.0).tolist() == [False, True, False]
    loss0 = pfa(IMG, TXT, progress=0.0)
    assert loss0.item() == pytest.approx(
        _infonce(IMG, TXT, admitted={1}, tau=0.5), rel=1e-5)
    # half-way up the ramp: ratio 2/3 -> pairs 1 and 2
    assert pfa.negative_ratio(0.25) == pytest.approx(2 / 3)
    assert pfa.negative_mask(IMG, TXT, 0.25).tolist() == [False, True, True]
    loss1 = pfa(IMG, TXT, progress=0.25)
    assert loss1.item() == pytest.approx(
        _infonce(IMG, TXT, admitted={1, 2}, tau=0.5), rel=1e-5)
    # end of the ramp and after: all negatives
    assert pfa.negative_mask(IMG, TXT, 0.9).all()
    # more negatives -> a harder (larger) loss
    assert loss0 < loss1 < pfa(IMG, TXT, progress=1.0)


def test_progress_from_message_hub():
    hub = MessageHub.get_instance('test_pfa_progress')
    hub.update_info('iter', 25)
    hub.update_info('max_iters', 100)
    hub.update_info('epoch', 1)
    hub.update_info('max_epochs', 4)
    assert PFALoss().current_progress() == pytest.approx(0.25)
    assert PFALoss(by_epoch=True).current_progress() == pytest.approx(0.25)


def test_valid_mask_and_gradient():
    torch.manual_seed(0)
    img = torch.randn(4, 8, requires_grad=True)
    txt = torch.randn(4, 8)
    valid = torch.tensor([True, True, False, True])
    pfa = PFALoss()
    loss = pfa(img, txt, valid=valid, progress=1.0)
    ref = pfa(img[valid], txt[valid], progress=1.0)
    assert loss.item() == pytest.approx(ref.item())
    loss.backward()
    assert img.grad[2].abs().sum() == 0 and img.grad[0].abs().sum() > 0
    # fewer than two valid pairs: zero loss, still differentiable
    one = pfa(img, txt, valid=torch.tensor([True, False, False, False]))
    assert one.item() == 0 and one.requires_grad


def test_bad_arguments():
    with pytest.raises(ValueError):
        PFALoss(start_ratio=0.8, end_ratio=0.5)
    with pytest.raises(ValueError):
        PFALoss()(torch.zeros(3, 4), torch.zeros(3, 5))
