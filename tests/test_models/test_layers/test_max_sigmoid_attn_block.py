# Copyright (c) mmase contributors. All rights reserved.
import math

import pytest
import torch

from mmase.models.layers import MaxSigmoidAttnBlock


def _block(**kwargs):
    torch.manual_seed(0)
    block = MaxSigmoidAttnBlock(**kwargs).eval()
    return block


def test_hand_computed_single_head():
    # in == embed -> no embed conv; guide_fc = identity; bias 0.3
    block = _block(in_channels=2, out_channels=2, guide_channels=2,
                   embed_channels=2, num_heads=1)
    assert block.embed_conv is None
    with torch.no_grad():
        block.guide_fc.weight.copy_(torch.eye(2))
        block.guide_fc.bias.zero_()
        block.bias.fill_(0.3)
    x = torch.tensor([[1., 0.], [2., -1.]]).reshape(1, 2, 1, 2)
    # pixel 0: feature (1, 2); pixel 1: feature (0, -1)
    texts = torch.tensor([[[1., 0.], [0., 1.], [50., 50.]]])
    mask = torch.tensor([[True, True, False]])  # third text is padding
    w = block.attention(x, texts, mask)
    # pixel 0: dots (1, 2) -> max 2; pixel 1: dots (0, -1) -> max 0
    expected = torch.tensor([
        1 / (1 + math.exp(-(2 / math.sqrt(2) + 0.3))),
        1 / (1 + math.exp(-(0 / math.sqrt(2) + 0.3)))
    ]).reshape(1, 1, 1, 2)
    torch.testing.assert_close(w, expected)
    out = block(x, texts, mask)
    torch.testing.assert_close(out, block.project_conv(x) * expected)
    # without the mask the huge padded text would dominate
    assert not torch.allclose(block.attention(x, texts), expected)


def test_hand_computed_two_heads_loop():
    block = _block(in_channels=4, out_channels=4, guide_channels=3,
                   embed_channels=6, num_heads=2)
    x = torch.randn(2, 4, 3, 2)
    texts = torch.randn(2, 5, 3)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]).bool()
    w = block.attention(x, texts, mask)
    embed = block.embed_conv(x)
    guide = block.guide_fc(texts)
    expected = torch.empty(2, 2, 3, 2)
    for b in range(2):
        for m in range(2):
            for i in range(3):
                for j in range(2):
                    e = embed[b, 3 * m:3 * m + 3, i, j]
                    dots = [
                        float(e @ guide[b, n, 3 * m:3 * m + 3])
                        for n in range(5) if mask[b, n]
                    ]
                    z = max(dots) / math.sqrt(3) + float(block.bias[m])
                    expected[b, m, i, j] = 1 / (1 + math.exp(-z))
    torch.testing.assert_close(w, expected, atol=1e-5, rtol=1e-5)
    out = block(x, texts, mask)
    proj = block.project_conv(x).reshape(2, 2, 2, 3, 2)
    torch.testing.assert_close(
        out, (proj * expected[:, :, None]).reshape(2, 4, 3, 2))


def test_empty_vocabulary_is_neutral():
    block = _block(in_channels=2, out_channels=2, guide_channels=2,
                   embed_channels=2)
    x = torch.randn(1, 2, 2, 2)
    mask = torch.zeros(1, 3, dtype=torch.bool)
    w = block.attention(x, torch.randn(1, 3, 2), mask)
    torch.testing.assert_close(w, torch.full_like(w, 0.5))
    assert torch.isfinite(block(x, torch.randn(1, 3, 2), mask)).all()


def test_bad_heads():
    with pytest.raises(ValueError, match='num_heads'):
        MaxSigmoidAttnBlock(4, 4, 2, embed_channels=6, num_heads=4)
