# Copyright (c) mmase contributors. All rights reserved.
import pytest
import torch

from mmase.models.necks.pfa_neck import PFANeck


def test_projection_and_pooling():
    neck = PFANeck(img_channels=8, text_channels=6, embed_dims=4)
    neck.init_weights()
    img = torch.randn(2, 5, 8)
    txt = torch.randn(2, 3, 6)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    out = neck(img, txt, mask)
    assert out['img_tokens'].shape == (2, 5, 4)
    assert out['text_tokens'].shape == (2, 3, 4)
    assert torch.allclose(out['img_feat'], out['img_tokens'].mean(1))
    # masked mean over the two valid tokens of sample 0
    assert torch.allclose(out['text_feat'][0],
                          out['text_tokens'][0, :2].mean(0), atol=1e-6)
    # sample 1 has no valid token: zero vector, marked invalid
    assert torch.all(out['text_feat'][1] == 0)
    assert out['text_valid'].tolist() == [True, False]
    # image only
    assert 'text_feat' not in neck(img)


def test_bad_channels():
    neck = PFANeck(img_channels=8, text_channels=6, embed_dims=4)
    with pytest.raises(ValueError, match='img_tokens'):
        neck(torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match='text_tokens'):
        neck(torch.randn(2, 5, 8), torch.randn(2, 3, 5))
