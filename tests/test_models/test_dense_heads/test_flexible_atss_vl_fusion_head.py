# Copyright (c) mmase contributors. All rights reserved.
import pytest
from mmcv.ops import ModulatedDeformConv2d
from mmdet.registry import MODELS
from mmengine.registry import init_default_scope

import mmase  # noqa: F401


@pytest.fixture(scope='module')
def bert(caption_bert):
    return caption_bert


def _head(bert, type='FlexibleATSSVLFusionHead', **kw):
    init_default_scope('mmdet')
    return MODELS.build(dict(
        type=type, lang_model_name=bert,
        num_classes=80, in_channels=16, feat_channels=16,
        num_dyhead_blocks=1,
        anchor_generator=dict(
            type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
            scales_per_octave=1, strides=[8, 16, 32, 64, 128],
            center_offset=0.5),
        bbox_coder=dict(type='DeltaXYWHBBoxCoderForGLIP',
                        target_means=[.0] * 4,
                        target_stds=[0.1, 0.1, 0.2, 0.2]), **kw))


def _n_dcn(head):
    return sum(isinstance(m, ModulatedDeformConv2d) for m in head.modules())


def test_dcn_switch(bert):
    default = _head(bert)
    no_dcn = _head(bert, use_dcn=False)
    # mmdet's head: 3 deformable convs per DyConv block
    assert _n_dcn(default) == 3
    assert _n_dcn(no_dcn) == 0
    assert no_dcn.head.lang_dim == 32  # read from the BERT config
    # with the defaults the state dict is mmdet's (its checkpoints load)
    mmdet_head = _head(bert, type='ATSSVLFusionHead')
    assert default.state_dict().keys() == mmdet_head.state_dict().keys()
    assert no_dcn.state_dict().keys() != mmdet_head.state_dict().keys()
