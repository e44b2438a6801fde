# Copyright (c) mmase contributors. All rights reserved.
import torch

from mmase.models.necks.cmaf_neck import CMAFNeck


def _inputs(b=3, ni=5, nt=4, d=16):
    torch.manual_seed(0)
    img = torch.randn(b, ni, d)
    txt = torch.randn(b, nt, d)
    mask = torch.ones(b, nt, dtype=torch.bool)
    return img, txt, mask


def test_shapes_and_gate_range():
    neck = CMAFNeck(embed_dims=16, num_heads=2)
    img, txt, mask = _inputs()
    mask[1, 2:] = False
    fused, gate = neck(img, txt, mask)
    assert fused.shape == (3, 16) and gate.shape == (3, 16)
    assert torch.isfinite(fused).all()
    assert (gate > 0).all() and (gate < 1).all()
    scalar = CMAFNeck(embed_dims=16, num_heads=2, gate_per_channel=False)
    _, g = scalar(img, txt, mask)
    assert g.shape == (3, 1)


def test_padding_tokens_are_ignored():
    neck = CMAFNeck(embed_dims=16, num_heads=2).eval()
    img, txt, mask = _inputs(b=1)
    mask[0, 2:] = False
    fused, _ = neck(img, txt, mask)
    txt2 = txt.clone()
    txt2[0, 2:] = 100.  # garbage in the padded positions
    fused2, _ = neck(img, txt2, mask)
    assert torch.allclose(fused, fused2, atol=1e-5)


def test_missing_text_uses_image_only():
    neck = CMAFNeck(embed_dims=16, num_heads=2).eval()
    img, txt, mask = _inputs()
    mask[2] = False  # sample 2 has no text at all
    fused, gate = neck(img, txt, mask)
    assert torch.isfinite(fused).all()
    assert torch.all(gate[2] == 1)
    # its output does not depend on the (masked) text tokens ...
    txt2 = torch.randn_like(txt)
    fused2, _ = neck(img, txt2, mask)
    assert torch.allclose(fused[2], fused2[2], atol=1e-5)
    # ... but the others' does
    assert not torch.allclose(fused[0], fused2[0], atol=1e-3)
    # and equals the image-only path: self-contained check with a batch of
    # one image-only sample
    alone, _ = neck(img[2:], txt[2:], mask[2:])
    assert torch.allclose(alone[0], fused[2], atol=1e-5)


def test_backward():
    neck = CMAFNeck(embed_dims=16, num_heads=2)
    img, txt, mask = _inputs()
    img.requires_grad_(True)
    txt.requires_grad_(True)
    fused, _ = neck(img, txt, mask)
    fused.sum().backward()
    assert img.grad.abs().sum() > 0 and txt.grad.abs().sum() > 0
