# Copyright (c) mmase contributors. All rights reserved.
import math

import torch

from mmase.models.layers import RegionTextContrastiveHead


def test_values_by_hand():
    head = RegionTextContrastiveHead()
    # initial state: CLIP temperature and a 1 % prior
    torch.testing.assert_close(head.logit_scale.exp(),
                               torch.tensor([1 / 0.07]))
    torch.testing.assert_close(head.bias.sigmoid(), torch.tensor([0.01]))
    with torch.no_grad():
        head.logit_scale.fill_(math.log(10.))
        head.bias.fill_(-1.)
    x = torch.tensor([3., 4.]).reshape(1, 2, 1, 1)  # -> (0.6, 0.8)
    texts = torch.tensor([[[1., 0.], [0., 2.], [-3., -4.]]])
    logits = head(x, texts)
    expected = torch.tensor([10 * 0.6 - 1, 10 * 0.8 - 1, -10 - 1.])
    torch.testing.assert_close(logits.flatten(), expected)
    masked = head(x, texts, torch.tensor([[True, False, True]]))
    assert masked[0, 1, 0, 0] <= -1e3
    torch.testing.assert_close(masked[0, [0, 2]].flatten(), expected[[0, 2]])


def test_gradients_reach_scale_and_bias():
    head = RegionTextContrastiveHead()
    out = head(torch.randn(2, 8, 3, 3), torch.randn(2, 4, 8))
    assert out.shape == (2, 4, 3, 3)
    out.sum().backward()
    assert head.logit_scale.grad is not None and head.bias.grad is not None
    frozen = RegionTextContrastiveHead(learnable=False)
    assert len(list(frozen.parameters())) == 0
