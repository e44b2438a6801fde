# Copyright (c) mmase contributors. All rights reserved.
"""The paper's first stage: the backbone of the seen-class YOLO-World-N demo
checkpoint becomes RTVP's expert (`init_cfg` with prefix), every weight of
the expert comes from it, and it stays frozen."""
import os.path as osp
from unittest import mock

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmase  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def test_stage1_backbone_loads_as_the_expert(tmp_path):
    init_default_scope('mmdet')
    stage1 = Config.fromfile(
        osp.join(
            REPO,
            'configs/yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py'))
    torch.manual_seed(0)
    yw = MODELS.build(stage1.model)
    yw.init_weights()
    ckpt = tmp_path / 'epoch_2.pth'
    torch.save(dict(state_dict=yw.state_dict(), meta=dict(epoch=2)), ckpt)

    cfg = Config.fromfile(
        osp.join(
            REPO,
            'configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py'))
    cfg.model.expert.init_cfg = dict(
        type='Pretrained', checkpoint=str(ckpt), prefix='backbone.')
    torch.manual_seed(1)
    with mock.patch('mmase.models.detectors.rtvp.MMLogger') as logger:
        rtvp = MODELS.build(cfg.model)
    # a pre-trained expert: no warning
    assert logger.get_current_instance.return_value.warning.call_count == 0
    rtvp.init_weights()
    expert = rtvp.expert.state_dict()
    source = {k[len('backbone.'):]: v for k, v in yw.state_dict().items()
              if k.startswith('backbone.')}
    assert set(expert) == set(source)  # nothing missing, nothing extra
    for k, v in expert.items():
        assert torch.equal(v, source[k]), k
    assert not any(p.requires_grad for p in rtvp.expert.parameters())
