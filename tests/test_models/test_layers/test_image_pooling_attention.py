# Copyright (c) mmase contributors. All rights reserved.
import torch

from mmase.models.layers import ImagePoolingAttention


def test_shapes_and_zero_init_identity():
    torch.manual_seed(0)
    feats = [torch.randn(2, c, s, s) for c, s in ((8, 12), (16, 6), (32, 3))]
    texts = torch.randn(2, 5, 10)
    attn = ImagePoolingAttention([8, 16, 32], 10, embed_channels=16,
                                 num_heads=4, with_scale=True)
    # the residual scale starts at 0: the block starts as the identity
    torch.testing.assert_close(attn(texts, feats), texts)
    with torch.no_grad():
        attn.scale.fill_(1.)
    out = attn(texts, feats)
    assert out.shape == texts.shape and not torch.allclose(out, texts)
    # the update depends on the image
    feats2 = [f.flip(-1) * 2 for f in feats]
    assert not torch.allclose(attn(texts, feats2), out)
