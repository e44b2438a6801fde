# Copyright (c) mmase contributors. All rights reserved.
import pytest
import torch

import mmase  # noqa: F401
from mmase.models.layers import SparseSelection


def test_hand_made_map():
    # 4x4 map, patch 2 at stride 1, k=1: each 2x2 patch keeps its maximum
    # if it is above the patch mean; the constant patch keeps nothing.
    s = torch.tensor([[0.1, 0.9, 0.5, 0.5],
                      [0.2, 0.3, 0.5, 0.5],
                      [0.0, 0.0, 0.7, 0.6],
                      [0.0, 0.4, 0.1, 0.8]]).view(1, 1, 4, 4)
    sel = SparseSelection(patch_size=2, topk=1)(s, stride=1)
    expect = torch.tensor([[0, 1, 0, 0],
                           [0, 0, 0, 0],
                           [0, 0, 0, 0],
                           [0, 1, 0, 1]], dtype=torch.float).view(1, 1, 4, 4)
    assert torch.equal(sel, expect)
    # k=3: only above-mean pixels are eligible.
    # patch (0,0): mean .375 -> {0.9}; patch (1,0): mean .1 -> {0.4};
    # patch (1,1): mean .55 -> {0.7, 0.6, 0.8}
    sel3 = SparseSelection(patch_size=2, topk=3)(s, stride=1)
    expect3 = torch.tensor([[0, 1, 0, 0],
                            [0, 0, 0, 0],
                            [0, 0, 1, 1],
                            [0, 1, 0, 1]], dtype=torch.float).view(1, 1, 4, 4)
    assert torch.equal(sel3, expect3)


def test_patch_size_in_input_pixels_and_borders():
    # patch 32 px at stride 16 -> 2x2 feature patches; a 3x3 map has
    # border patches with 2 and 1 valid pixels
    s = torch.tensor([[1., 2., 5.],
                      [3., 4., 6.],
                      [9., 8., 7.]]).view(1, 1, 3, 3)
    sel = SparseSelection(patch_size=32, topk=1)(s, stride=16)
    expect = torch.tensor([[0, 0, 0],
                           [0, 1, 1],
                           [1, 0, 0]], dtype=torch.float).view(1, 1, 3, 3)
    # (0,0): {1,2,3,4} mean 2.5 -> 4; (0,1): {5,6} mean 5.5 -> 6;
    # (1,0): {9,8} mean 8.5 -> 9; (1,1): {7} alone, not above its mean
    assert torch.equal(sel, expect)
    sel_fine = SparseSelection(patch_size=32)(torch.rand(2, 1, 16, 16), 4)
    # 8x8 patches, k = 0.25 * 64 = 16 per patch, 4 patches
    assert sel_fine.sum().item() <= 2 * 4 * 16
    assert sel_fine.sum().item() > 0


def test_bigger_patches_are_sparser():
    torch.manual_seed(0)
    s = torch.rand(1, 1, 32, 32)
    counts = [SparseSelection(patch_size=p, topk=4)(s, 4).sum().item()
              for p in (32, 64, 128)]
    assert counts[0] > counts[1] > counts[2]


def test_bad_args():
    with pytest.raises(ValueError):
        SparseSelection(patch_size=0)
    with pytest.raises(ValueError):
        SparseSelection(topk_ratio=0)
    with pytest.raises(ValueError, match='score'):
        SparseSelection()(torch.rand(1, 2, 4, 4))
