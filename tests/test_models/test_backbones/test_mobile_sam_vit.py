# Copyright (c) mmase contributors. All rights reserved.
import warnings

import pytest
import torch

import mmase  # noqa: F401
from mmase.models.backbones import MobileSAMViT

TINY = dict(
    embed_dims=[16, 32, 40, 80],
    depths=[1, 1, 1, 1],
    num_heads=[1, 2, 2, 4],
    window_sizes=[7, 7, 14, 7])


def _official_state(tmp_path):
    """State dict of mobile_sam's own vit_t model, random weights."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        from mobile_sam import sam_model_registry
    torch.manual_seed(0)
    sam = sam_model_registry['vit_t']()
    path = tmp_path / 'mobile_sam.pt'
    torch.save(sam.state_dict(), path)
    return sam, str(path)


def test_official_key_layout_and_flexible_size(tmp_path):
    sam, path = _official_state(tmp_path)
    model = MobileSAMViT(checkpoint=path)
    ref = sam.image_encoder.state_dict()
    ours = model.encoder.state_dict()
    assert set(ref) == set(ours)
    for k in ref:
        assert torch.equal(ref[k], ours[k]), k
    # frozen by default
    assert not any(p.requires_grad for p in model.parameters())
    model.train()
    assert not model.encoder.training
    # non-1024 input (the package hard-codes a 64x64 grid)
    x = torch.randn(1, 3, 128, 96)
    stem, s1, s2, neck = model(x)
    assert stem.shape == (1, 64, 32, 24)
    assert s1.shape == (1, 128, 16, 12)
    assert s2.shape == (1, 160, 8, 6)
    assert neck.shape == (1, 256, 8, 6)
    # Same embedding as mobile_sam's own layer-by-layer forward at 112 px
    # (token grids 28/14/7/7 written into the package's attributes).
    x = torch.randn(1, 3, 112, 112)
    enc = sam.image_encoder
    for layer, res in zip(enc.layers, [28, 14, 7, 7]):
        layer.input_resolution = (res, res)
        for blk in layer.blocks:
            blk.input_resolution = (res, res)
        if layer.downsample is not None:
            layer.downsample.input_resolution = (res, res)
    with torch.no_grad():
        h = enc.patch_embed(x)
        for layer in enc.layers:
            h = layer(h)
        h = h.view(1, 7, 7, -1).permute(0, 3, 1, 2)
        ref_neck = enc.neck(h)
        ours_neck = model(x)[-1]
    assert torch.allclose(ref_neck, ours_neck, atol=1e-5)


def test_missing_keys_raise(tmp_path):
    path = tmp_path / 'bad.pt'
    torch.save({'image_encoder.patch_embed.seq.0.c.weight':
                torch.zeros(1)}, path)
    with pytest.raises((KeyError, RuntimeError)):
        MobileSAMViT(arch=TINY, checkpoint=str(path))
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        MobileSAMViT(arch=TINY, checkpoint=str(tmp_path / 'nope.pt'))


def test_adapters_trainable_and_identity_at_init():
    torch.manual_seed(0)
    plain = MobileSAMViT(arch=TINY)
    adapted = MobileSAMViT(arch=TINY, with_adapter=True)
    adapted.encoder.load_state_dict(plain.encoder.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        a = plain(x)
        b = adapted(x)
    for u, v in zip(a, b):
        assert torch.allclose(u, v, atol=1e-6)
    trainable = [n for n, p in adapted.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith('adapters.') for n in trainable)
    out = adapted(x)
    sum(o.sum() for o in out).backward()
    assert adapted.adapters['stem'].down.weight.grad is not None


def test_input_renormalisation():
    model = MobileSAMViT(
        arch=TINY, out_features=('neck', ), in_mean=(0, 0, 0),
        in_std=(255, 255, 255))
    ref = MobileSAMViT(arch=TINY, out_features=('neck', ))
    ref.encoder.load_state_dict(model.encoder.state_dict())
    img = torch.rand(1, 3, 64, 64) * 255
    mean = torch.tensor(MobileSAMViT.SAM_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(MobileSAMViT.SAM_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        a = model(img / 255)[0]
        b = ref((img - mean) / std)[0]
    assert torch.allclose(a, b, atol=1e-4)
    assert model.out_channels == [256] and model.out_strides == [16]
