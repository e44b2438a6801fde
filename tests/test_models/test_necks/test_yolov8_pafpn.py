# Copyright (c) mmase contributors. All rights reserved.
import pytest
import torch

from mmase.models.layers import C2f
from mmase.models.necks import YOLOv8PAFPN, YOLOWorldPAFPN


def _feats(batch=2):
    torch.manual_seed(0)
    return [torch.randn(batch, c, s, s) for c, s in ((32, 8), (64, 4),
                                                      (128, 2))]


def test_shapes_and_yolov8_blocks():
    neck = YOLOv8PAFPN(
        in_channels=[128, 256, 512], out_channels=[128, 256, 512],
        deepen_factor=0.33, widen_factor=0.25).eval()
    assert neck.out_channels == [32, 64, 128]
    outs = neck(_feats())
    assert [tuple(o.shape) for o in outs] == [(2, 32, 8, 8), (2, 64, 4, 4),
                                               (2, 128, 2, 2)]
    blocks = list(neck.top_down_layers) + list(neck.bottom_up_layers)
    assert all(isinstance(b, C2f) for b in blocks)
    # YOLOv8-S depth: 3 bottlenecks x 0.33 -> 1, no identity in the neck
    assert all(len(b.blocks) == 1 for b in blocks)
    assert not any(m.add_identity for b in blocks for m in b.blocks)
    # input channels: upsampled top (128) + level 1 (64); then level 0
    assert neck.top_down_layers[0].main_conv.conv.in_channels == 128 + 64
    assert neck.top_down_layers[1].main_conv.conv.in_channels == 64 + 32
    assert neck.bottom_up_layers[1].main_conv.conv.in_channels == 64 + 128
    with pytest.raises(ValueError, match='expected 3 levels'):
        neck(_feats()[:2])


def test_same_layout_as_the_text_guided_neck_minus_the_guidance():
    """The plain neck has the module names of YOLOWorldPAFPN; the guided
    one only adds the attention of its fusion blocks (whose output also
    widens their final 1x1 conv)."""
    kwargs = dict(in_channels=[128, 256, 512], out_channels=[128, 256, 512],
                  deepen_factor=0.33, widen_factor=0.25)
    plain = YOLOv8PAFPN(**kwargs).state_dict()
    guided = YOLOWorldPAFPN(guide_channels=12, embed_channels=[64, 128, 256],
                            num_heads=[2, 4, 8], **kwargs).state_dict()
    assert set(plain) < set(guided)
    for k, v in plain.items():
        if 'final_conv.conv.weight' in k:
            assert guided[k].shape[1] > v.shape[1], k
        else:
            assert guided[k].shape == v.shape, k
    extra = {k.split('.')[2] for k in set(guided) - set(plain)}
    assert extra == {'attn_block'}


def test_bad_channels_are_refused():
    with pytest.raises(ValueError, match='one entry per level'):
        YOLOv8PAFPN(in_channels=[128, 256, 512], out_channels=[128, 256])
