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


def _infonce(img, txt, admitted, tau, labels=None):
    """Hand-written symmetric InfoNCE with an admitted-negative set; same-
    class pairs are no negatives; anchors without negatives are skipped."""
    img, txt = img.tolist(), txt.tolist()
    n = len(img)
    labels = list(range(n)) if labels is None else list(labels)
    total, count = 0., 0
    for k in range(n):
        negs = [j for j in range(n)
                if j != k and j in admitted and labels[j] != labels[k]]
        if not negs:
            continue
        for anchor, others in ((img[k], txt), (txt[k], img)):
            pos = math.exp(_sim(anchor, others[k]) / tau)
            neg = sum(math.exp(_sim(anchor, others[j]) / tau) for j in negs)
            total += -math.log(pos / (pos + neg))
        count += 2
    return total / count


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


def test_same_class_pairs_are_never_negatives():
    """Hand-made batch: two classes of two pairs each."""
    torch.manual_seed(0)
    # unit vectors, so the hand-written cosine is a dot product
    img = torch.nn.functional.normalize(torch.randn(4, 3), dim=-1)
    txt = torch.nn.functional.normalize(torch.randn(4, 3), dim=-1)
    labels = torch.tensor([0, 0, 1, 1])
    pfa = PFALoss(temperature=0.5, start_ratio=0.25, ramp_end=0.5)
    same = labels[:, None] == labels[None, :]
    for progress in (0.0, 0.25, 0.5, 1.0):
        keep = pfa.pair_mask(img, txt, progress, labels)
        assert keep.diagonal().all()  # every anchor keeps its positive
        assert not (keep & same & ~torch.eye(4, dtype=torch.bool)).any()
        admitted = set(
            pfa.negative_mask(img, txt, progress).nonzero()[:, 0].tolist())
        assert pfa(img, txt, progress=progress,
                   labels=labels).item() == pytest.approx(
                       _infonce(img, txt, admitted, 0.5, labels.tolist()),
                       rel=1e-5)
    # at the end every other-class pair is a negative: rows 0/1 see 2, 3
    keep = pfa.pair_mask(img, txt, 1.0, labels)
    assert keep.tolist() == [[True, False, True, True],
                             [False, True, True, True],
                             [True, True, True, False],
                             [True, True, False, True]]
    # the unsupervised loss differs: it pushes pair 1 away from anchor 0
    assert pfa(img, txt, progress=1.0).item() != pytest.approx(
        pfa(img, txt, progress=1.0, labels=labels).item())
    # one class only: no negative at all, zero loss with a gradient path
    img.requires_grad_(True)
    one = pfa(img, txt, progress=1.0, labels=torch.zeros(4, dtype=int))
    assert one.item() == 0 and one.requires_grad
    with pytest.raises(ValueError, match='3 labels'):
        pfa(img, txt, labels=torch.zeros(3, dtype=int))


def test_labels_follow_the_valid_mask():
    torch.manual_seed(1)
    img, txt = torch.randn(4, 5), torch.randn(4, 5)
    labels = torch.tensor([0, 1, 1, 0])
    valid = torch.tensor([True, False, True, True])
    pfa = PFALoss()
    assert pfa(img, txt, valid=valid, labels=labels,
               progress=1.).item() == pytest.approx(
                   pfa(img[valid], txt[valid], labels=labels[valid],
                       progress=1.).item())


def test_bad_arguments():
    with pytest.raises(ValueError):
        PFALoss(start_ratio=0.8, end_ratio=0.5)
    with pytest.raises(ValueError):
        PFALoss()(torch.zeros(3, 4), torch.zeros(3, 5))
