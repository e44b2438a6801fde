# Copyright (c) mmase contributors. All rights reserved.
import pytest
import torch
from torch import nn

from mmase.models.utils import probe_outputs


class _TwoLevels(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        y = self.bn(self.conv(x))
        return y, y[:, :2, ::2, ::2]


def test_shapes_without_touching_statistics_or_mode():
    m = _TwoLevels().train()
    outs = probe_outputs(m, img_size=32)
    assert [tuple(o.shape) for o in outs] == [(1, 4, 16, 16), (1, 2, 8, 8)]
    assert m.training and not outs[0].requires_grad
    assert int(m.bn.num_batches_tracked) == 0  # ran in eval mode
    single = probe_outputs(nn.Conv2d(3, 5, 1), img_size=8)
    assert len(single) == 1 and single[0].shape[1] == 5
    # explicit inputs, and a module without weights gets a CPU image
    assert probe_outputs(nn.Identity(), torch.ones(2, 1))[0].shape == (2, 1)
    assert probe_outputs(nn.Identity(), img_size=4)[0].shape == (1, 3, 4, 4)


def test_mode_restored_when_the_forward_raises():
    m = nn.Sequential(nn.Linear(2, 2)).train()
    with pytest.raises(RuntimeError):
        probe_outputs(m, img_size=8)  # (1, 3, 8, 8) into Linear(2, 2)
    assert m.training
