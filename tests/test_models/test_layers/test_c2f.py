# Copyright (c) mmase contributors. All rights reserved.
import torch

from mmase.models.layers import C2f


def test_c2f_shapes_and_structure():
    block = C2f(8, 16, num_blocks=2, expand_ratio=0.5)
    assert block.mid_channels == 8
    assert block.final_conv.conv.in_channels == (2 + 2) * 8
    out = block(torch.randn(2, 8, 5, 7))
    assert out.shape == (2, 16, 5, 7)


def test_c2f_identity_only_when_channels_match():
    block = C2f(8, 8, num_blocks=1, add_identity=True)
    assert block.blocks[0].add_identity
    block = C2f(8, 8, num_blocks=1, add_identity=False)
    assert not block.blocks[0].add_identity
