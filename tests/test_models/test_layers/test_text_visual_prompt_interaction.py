# Copyright (c) mmase contributors. All rights reserved.
import math

import torch

import mmase  # noqa: F401
from mmase.models.layers import TextVisualPromptInteraction
from mmase.models.layers.text_visual_prompt_interaction import (
    max_sigmoid_attention, resize_prompt)


def test_max_sigmoid_hand_computation():
    # 1 image, 2 heads of dim 2, 1x2 pixels, 3 texts
    q = torch.tensor([[[[1., 0.]], [[0., 2.]]],
                      [[[1., 1.]], [[-1., 0.]]]]).view(1, 2, 2, 1, 2)
    t = torch.tensor([[[1., 0.], [0., 1.]],
                      [[0., 1.], [1., 1.]],
                      [[-1., 0.], [2., 0.]]]).view(1, 3, 2, 2)
    bias = torch.tensor([0.5, -1.0])
    w = max_sigmoid_attention(q, t, bias)
    expect = torch.zeros(1, 2, 1, 2)
    for m in range(2):
        for x in range(2):
            qv = q[0, m, :, 0, x]
            best = max(float(qv @ t[0, n, m]) for n in range(3))
            expect[0, m, 0, x] = 1 / (1 + math.exp(-(best / math.sqrt(2) +
                                                     bias[m].item())))
    assert torch.allclose(w, expect)
    # head 0, pixel 0: q=(1,0); texts give 1, 0, -1 -> max 1
    assert math.isclose(
        w[0, 0, 0, 0].item(),
        1 / (1 + math.exp(-(1 / math.sqrt(2) + 0.5))), rel_tol=1e-6)
    # a masked text is ignored: drop text 0 -> head 0 pixel 0 max is 0
    mask = torch.tensor([[False, True, True]])
    w2 = max_sigmoid_attention(q, t, bias, mask)
    assert math.isclose(w2[0, 0, 0, 0].item(),
                        1 / (1 + math.exp(-0.5)), rel_tol=1e-6)


def test_resize_prompt_keeps_sparse_pixels():
    p = torch.zeros(1, 1, 8, 8)
    p[0, 0, 3, 5] = 2.0
    down = resize_prompt(p, (2, 2))
    assert down[0, 0, 0, 1].item() == 2.0 and down.sum().item() == 2.0
    up = resize_prompt(p, (16, 16))
    assert up.shape == (1, 1, 16, 16)


def test_interaction_shapes_and_text_dependence():
    torch.manual_seed(0)
    inter = TextVisualPromptInteraction(
        img_channels=[16, 32], prompt_channels=[8, 12], text_channels=10,
        embed_channels=16, num_heads=4)
    inter.eval()
    img = [torch.randn(2, 16, 8, 8), torch.randn(2, 32, 4, 4)]
    prompts = [torch.randn(2, 8, 16, 16), torch.randn(2, 12, 8, 8)]
    txt = torch.randn(2, 5, 10)
    out = inter(img, prompts, txt)
    assert [o.shape for o in out] == [i.shape for i in img]
    assert not torch.allclose(out[0], img[0])
    out2 = inter(img, prompts, torch.randn(2, 5, 10))
    assert not torch.allclose(out[0], out2[0])
    # zero prompt scale -> identity
    with torch.no_grad():
        for s in inter.scale:
            s.zero_()
    out3 = inter(img, prompts, txt)
    assert all(torch.equal(a, b) for a, b in zip(out3, img))


def test_without_text_guidance():
    torch.manual_seed(0)
    inter = TextVisualPromptInteraction(
        img_channels=[8], prompt_channels=[4], text_channels=6,
        embed_channels=8, num_heads=2, use_text=False)
    inter.eval()
    img = [torch.randn(1, 8, 4, 4)]
    prompts = [torch.randn(1, 4, 8, 8)]
    a = inter(img, prompts, torch.randn(1, 3, 6))
    b = inter(img, prompts, torch.randn(1, 3, 6))
    assert torch.equal(a[0], b[0])
    assert not hasattr(inter, 'text_proj')
