# Copyright (c) mmase contributors. All rights reserved.
import copy
from types import SimpleNamespace

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.registry import init_default_scope

from mmase.engine.hooks import ChannelsLastHook
from mmase.testing import make_det_batch, make_tiny_bert
from mmase.testing.tiny_open_vocab import tiny_model_cfg


@pytest.fixture(scope='module')
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(str(tmp_path_factory.mktemp('bert')))


@pytest.mark.parametrize('kind', ['yolo_world', 'rtvp'])
def test_same_losses_and_predictions_in_nhwc(tiny_bert, kind):
    """After the hook, the weights and the preprocessed batch are NHWC, and
    the losses, gradients and predictions equal the NCHW model's."""
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg(kind, tiny_bert))
    model.init_weights()
    nhwc = copy.deepcopy(model)
    ChannelsLastHook().before_run(SimpleNamespace(model=nhwc))
    conv = nhwc.backbone.stem.conv.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert not conv.is_contiguous()
    batch = make_det_batch(64, batch=2)
    data = nhwc.data_preprocessor(copy.deepcopy(batch), True)
    assert data['inputs'].is_contiguous(memory_format=torch.channels_last)

    # raw head outputs and the gradient of a smooth function of them, with
    # the running BatchNorm statistics: the same up to float sums in
    # another order (a wrong layout would change them entirely). Train-mode
    # BatchNorm over the 2 x 2 cells of two 64 px images amplifies those
    # last-bit differences to percents, and the losses' label assignment
    # breaks ties between identical anchors of this flat image either way:
    # training is checked to run, not compared.
    outs, grads = [], []
    for m in (model, nhwc):
        m.eval()
        data = m.data_preprocessor(copy.deepcopy(batch), False)
        out = m(data['inputs'], data['data_samples'], mode='tensor')
        flat = [t for level in out for t in level]
        m.zero_grad()
        sum(t.float().pow(2).mean() for t in flat).backward()
        outs.append([t.detach() for t in flat])
        grads.append(m.backbone.stem.conv.weight.grad.clone())
    for a, b in zip(*outs):
        assert a.shape == b.shape
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-4)
    assert torch.allclose(grads[0], grads[1], rtol=1e-3, atol=1e-5)
    with torch.no_grad():
        preds = nhwc.test_step(copy.deepcopy(batch))
    assert len(preds) == 2 and len(preds[0].pred_instances) > 0
    nhwc.train()
    data = nhwc.data_preprocessor(copy.deepcopy(batch), True)
    losses = nhwc.loss(data['inputs'], data['data_samples'])
    assert all(torch.isfinite(v).all() for v in losses.values()
               if isinstance(v, torch.Tensor))
