# Copyright (c) mmase contributors. All rights reserved.
import torch

from mmase.models.layers import MaxSigmoidCSPLayer


def test_shapes_and_text_dependence():
    torch.manual_seed(0)
    layer = MaxSigmoidCSPLayer(
        16, 24, guide_channels=8, embed_channels=8, num_heads=2,
        num_blocks=1).eval()
    # (3 + num_blocks) chunks of mid channels feed the final conv
    assert layer.final_conv.conv.in_channels == 4 * 12
    x = torch.randn(2, 16, 6, 6)
    texts = torch.randn(2, 3, 8)
    out = layer(x, texts, torch.ones(2, 3, dtype=torch.bool))
    assert out.shape == (2, 24, 6, 6)
    other = layer(x, torch.randn(2, 3, 8))
    assert not torch.allclose(out, other)
