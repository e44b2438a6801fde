# Copyright (c) mmase contributors. All rights reserved.
import pytest
import torch

from mmase.models.necks import YOLOWorldPAFPN


def _feats(batch=2):
    torch.manual_seed(0)
    return [torch.randn(batch, c, s, s) for c, s in ((32, 8), (64, 4),
                                                      (128, 2))]


@pytest.mark.parametrize('with_enhancer', [False, True])
def test_shapes_text_guidance_and_padding(with_enhancer):
    enhancer = dict(type='ImagePoolingAttention', embed_channels=16,
                    num_heads=2) if with_enhancer else None
    neck = YOLOWorldPAFPN(
        in_channels=[128, 256, 512], out_channels=[128, 256, 512],
        guide_channels=12, embed_channels=[64, 128, 256],
        num_heads=[2, 4, 8], deepen_factor=0.33, widen_factor=0.25,
        text_enhancer=enhancer).eval()
    assert neck.out_channels == [32, 64, 128]
    feats = _feats()
    texts = torch.randn(2, 4, 12)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]]).bool()
    outs = neck(feats, texts, mask)
    assert [o.shape for o in outs] == [(2, 32, 8, 8), (2, 64, 4, 4),
                                       (2, 128, 2, 2)]
    # padded texts of image 0 do not matter
    texts2 = texts.clone()
    texts2[0, 2:] = 100.
    for a, b in zip(outs, neck(feats, texts2, mask)):
        torch.testing.assert_close(a[0], b[0])
    # real texts do matter
    texts3 = texts.clone()
    texts3[0, :2] = torch.randn(2, 12)
    assert not torch.allclose(outs[0][0], neck(feats, texts3, mask)[0][0])


def test_bad_levels():
    with pytest.raises(ValueError, match='per level'):
        YOLOWorldPAFPN([128, 256], [128, 256, 512], 8, [64, 64, 64],
                       [1, 1, 1])
