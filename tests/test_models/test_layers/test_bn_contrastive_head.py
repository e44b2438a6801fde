# Copyright (c) mmase contributors. All rights reserved.
import math

import pytest
import torch
from mmengine.config import ConfigDict

from mmase.models.dense_heads import YOLOWorldHead
from mmase.models.layers import BNContrastiveHead, RegionTextContrastiveHead


def _tiny_case():
    # two pixels, two channels: channel 0 is (1, 3) -> batch mean 2, var 1;
    # channel 1 is constant (5, 5) -> normalised to 0.
    x = torch.tensor([[[[1., 3.]], [[5., 5.]]]])  # (1, 2, 1, 2)
    texts = torch.tensor([[[3., 4.], [0., -2.], [1., 0.]]])  # (1, 3, 2)
    return x, texts


def test_initial_state_matches_reference():
    head = BNContrastiveHead(embed_dims=4)
    # YOLO-World v2 starts logit_scale at -1 and the bias at 0
    torch.testing.assert_close(head.logit_scale, torch.tensor([-1.]))
    torch.testing.assert_close(head.bias, torch.tensor([0.]))
    assert isinstance(head.norm, torch.nn.BatchNorm2d)
    assert head.norm.momentum == 0.03 and head.norm.eps == 0.001
    assert sorted(head.state_dict()) == [
        'bias', 'logit_scale', 'norm.bias', 'norm.num_batches_tracked',
        'norm.running_mean', 'norm.running_var', 'norm.weight'
    ]
    with pytest.raises(ValueError, match='init_logit_scale'):
        BNContrastiveHead(embed_dims=4, init_logit_scale=0.)


def test_train_mode_values_by_hand():
    eps = 1e-3
    head = BNContrastiveHead(
        embed_dims=2,
        norm_cfg=dict(type='BN', momentum=0.5, eps=eps),
        init_logit_scale=2.0,
        init_bias=0.5)
    head.train()
    x, texts = _tiny_case()
    logits = head(x, texts)
    assert logits.shape == (1, 3, 1, 2)
    k = 1 / math.sqrt(1 + eps)  # BN(1) = -k, BN(3) = +k, BN(5) = 0
    # texts L2-normalised: (0.6, 0.8), (0, -1), (1, 0)
    expected = torch.tensor([
        [2 * 0.6 * -k + 0.5, 2 * 0.6 * k + 0.5],
        [0.5, 0.5],
        [2 * -k + 0.5, 2 * k + 0.5],
    ]).reshape(1, 3, 1, 2)
    torch.testing.assert_close(logits, expected)
    # running statistics moved half way (momentum 0.5), unbiased variance
    torch.testing.assert_close(head.norm.running_mean,
                               torch.tensor([0.5 * 2, 0.5 * 5]))
    torch.testing.assert_close(head.norm.running_var,
                               torch.tensor([0.5 + 0.5 * 2., 0.5]))


def test_eval_mode_uses_running_statistics():
    head = BNContrastiveHead(embed_dims=2, init_logit_scale=1.0)
    with torch.no_grad():
        head.norm.running_mean.copy_(torch.tensor([1., 4.]))
        head.norm.running_var.copy_(torch.tensor([4., 1.]))
        head.norm.weight.copy_(torch.tensor([2., 1.]))
        head.norm.bias.copy_(torch.tensor([0., 1.]))
    head.norm.eps = 0.
    head.eval()
    x, texts = _tiny_case()
    logits = head(x, texts)
    # BN(x): channel 0 (1, 3) -> 2 * ((1, 3) - 1) / 2 = (0, 2);
    # channel 1 (5, 5) -> (5 - 4) / 1 + 1 = (2, 2)
    bn = torch.tensor([[0., 2.], [2., 2.]])
    unit = torch.tensor([[0.6, 0.8], [0., -1.], [1., 0.]])
    expected = (unit @ bn).reshape(1, 3, 1, 2)
    torch.testing.assert_close(logits, expected)


def test_mask_and_learnable_parameters():
    head = BNContrastiveHead(embed_dims=8)
    names = dict(head.named_parameters())
    assert {'logit_scale', 'bias', 'norm.weight', 'norm.bias'} == set(names)
    assert all(p.requires_grad for p in names.values())
    x, texts = torch.randn(2, 8, 3, 3), torch.randn(2, 4, 8)
    mask = torch.tensor([[True, True, False, False], [True] * 4])
    out = head(x, texts, mask)
    assert out.shape == (2, 4, 3, 3)
    assert (out[0, 2:] <= -1e3).all() and (out[1] > -1e3).all()
    out[mask].sum().backward()
    assert head.logit_scale.grad is not None and head.bias.grad is not None
    assert head.logit_scale.grad.abs().item() > 0
    # d(sum of logits)/d(bias) = number of unmasked logits
    assert head.bias.grad.item() == pytest.approx(6 * 9)


def test_yolo_world_head_switch():
    """``contrastive_head=dict(type='BNContrastiveHead')`` builds one BN
    classifier per level with the head's embed_dims and norm_cfg, gets the
    per-level prior bias; the L2 classifier stays the default."""
    common = dict(
        in_channels=[16, 32, 64],
        embed_dims=8,
        widen_factor=1.0,
        norm_cfg=dict(type='BN', momentum=0.1, eps=1e-4),
        prior_cfg=dict(num_objects=5, num_classes=80, img_size=640),
        test_cfg=ConfigDict(score_thr=0.0))
    default = YOLOWorldHead(**common)
    assert all(
        isinstance(c, RegionTextContrastiveHead)
        for c in default.cls_contrasts)

    head = YOLOWorldHead(
        contrastive_head=dict(type='BNContrastiveHead'), **common)
    head.init_weights()
    assert len(head.cls_contrasts) == 3
    for contrast, stride in zip(head.cls_contrasts, (8, 16, 32)):
        assert isinstance(contrast, BNContrastiveHead)
        assert contrast.norm.num_features == 8
        assert contrast.norm.momentum == 0.1 and contrast.norm.eps == 1e-4
        prior = math.log(5 / 80 / (640 / stride)**2)
        assert contrast.bias.item() == pytest.approx(prior, rel=1e-6)
        assert contrast.logit_scale.item() == pytest.approx(-1.0)
    # the same parameter names as the reference's head module
    keys = set(head.state_dict())
    assert {'cls_contrasts.2.norm.running_var', 'cls_contrasts.0.bias',
            'cls_contrasts.1.logit_scale'} <= keys

    # an explicit norm_cfg in the classifier config wins
    own = YOLOWorldHead(
        contrastive_head=dict(
            type='BNContrastiveHead', norm_cfg=dict(type='BN', eps=0.5)),
        **common)
    assert own.cls_contrasts[0].norm.eps == 0.5

    feats = [torch.randn(2, c, 64 // s, 64 // s)
             for c, s in ((16, 8), (32, 16), (64, 32))]
    cls_scores, bbox_preds, _ = head(feats, torch.randn(2, 3, 8),
                                     torch.tensor([[True, True, False],
                                                   [True] * 3]))
    assert [tuple(c.shape) for c in cls_scores] == [(2, 3, 8, 8),
                                                    (2, 3, 4, 4),
                                                    (2, 3, 2, 2)]
    assert (cls_scores[0][0, 2] <= -1e3).all()
