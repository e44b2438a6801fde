# Copyright (c) mmase contributors. All rights reserved.
import torch

from mmase.models.backbones import YOLOv8CSPDarknet


def test_s_model_shapes_and_depth():
    model = YOLOv8CSPDarknet(deepen_factor=0.33, widen_factor=0.5)
    assert model.out_channels == [32, 64, 128, 256, 512]
    # blocks [3, 6, 6, 3] x 0.33 -> [1, 2, 2, 1]
    assert [len(getattr(model, f'stage{i}')[1].blocks)
            for i in range(1, 5)] == [1, 2, 2, 1]
    outs = model(torch.randn(1, 3, 64, 96))
    assert [o.shape for o in outs] == [(1, 128, 8, 12), (1, 256, 4, 6),
                                       (1, 512, 2, 3)]


def test_out_indices_and_frozen_stages():
    model = YOLOv8CSPDarknet(
        deepen_factor=0.33, widen_factor=0.25, out_indices=(1, 4),
        frozen_stages=1)
    model.train()
    outs = model(torch.randn(2, 3, 32, 32))
    assert [o.shape for o in outs] == [(2, 32, 8, 8), (2, 256, 1, 1)]
    assert not any(p.requires_grad for p in model.stem.parameters())
    assert not any(p.requires_grad for p in model.stage1.parameters())
    assert all(p.requires_grad for p in model.stage2.parameters())
    assert not model.stage1.training and model.stage2.training
