# Copyright (c) mmase contributors. All rights reserved.
import torch

import mmase  # noqa: F401
from mmase.models.layers import UncertaintyScorer


def test_hand_case():
    scorer = UncertaintyScorer(in_channels=2, min_hidden=2, kernel_size=1)
    # MLP(v) = v  (identity, via ReLU on non-negative inputs)
    with torch.no_grad():
        scorer.mlp[0].weight.copy_(torch.eye(2).view(2, 2, 1, 1))
        scorer.mlp[0].bias.zero_()
        scorer.mlp[2].weight.copy_(torch.eye(2).view(2, 2, 1, 1))
        scorer.mlp[2].bias.zero_()
        # spatial: 1 * channel-mean + 2 * channel-max
        scorer.spatial.weight.copy_(torch.tensor([1., 2.]).view(1, 2, 1, 1))
        scorer.spatial.bias.zero_()
    x = torch.tensor([[[[1., 3.]], [[0., 2.]]]])  # (1, 2, 1, 2)
    mc = scorer.channel_activation(x)
    # ch0: avg 2, max 3 -> sigmoid(5); ch1: avg 1, max 2 -> sigmoid(3)
    s5, s3 = torch.sigmoid(torch.tensor(5.)), torch.sigmoid(torch.tensor(3.))
    assert torch.allclose(mc.flatten(), torch.stack([s5, s3]))
    enhanced, score = scorer(x)
    xc = x * torch.stack([s5, s3]).view(1, 2, 1, 1)
    expect = []
    for j in range(2):
        col = xc[0, :, 0, j]
        expect.append(torch.sigmoid(col.mean() + 2 * col.max()))
    expect = torch.stack(expect).view(1, 1, 1, 2)
    assert torch.allclose(score, expect)
    assert torch.allclose(enhanced, xc * expect)
    assert ((score > 0) & (score < 1)).all()


def test_shapes_and_grad():
    scorer = UncertaintyScorer(in_channels=32)
    x = torch.randn(2, 32, 9, 7, requires_grad=True)
    enhanced, score = scorer(x)
    assert enhanced.shape == x.shape and score.shape == (2, 1, 9, 7)
    score.sum().backward()
    assert scorer.spatial.weight.grad is not None
    assert scorer.mlp[0].weight.grad is not None
