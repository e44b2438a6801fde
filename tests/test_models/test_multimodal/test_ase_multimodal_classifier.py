# Copyright (c) mmase contributors. All rights reserved.
import copy

import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmase  # noqa: F401
from mmase.testing import make_tiny_bert

NUM_CLASSES = 3


@pytest.fixture(scope='module')
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(str(tmp_path_factory.mktemp('bert')))


def _cfg(bert_dir, fusion=True, align=True, text=True):
    embed = 16
    cfg = dict(
        type='ASEMultimodalClassifier',
        data_preprocessor=dict(
            type='ClsDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
        backbone=dict(
            type='ResNet', depth=18, stem_channels=8, base_channels=8,
            out_indices=(3, )),
        text_encoder=dict(type='HFTextEncoder', model_name=bert_dir)
        if text else None,
        numeric_encoder=dict(type='NumericRecordEncoder', num_fields=2,
                             hidden_channels=8),
        pfa_neck=dict(type='PFANeck', embed_dims=embed),
        fusion=dict(type='CMAFNeck', embed_dims=embed, num_heads=2)
        if fusion else None,
        align_loss=dict(type='PFALoss', temperature=0.1) if align else None,
        head=dict(
            type='LinearClsHead', num_classes=NUM_CLASSES,
            in_channels=embed if fusion else 2 * embed))
    return cfg


def _batch(n=6, with_text=True):
    rng = np.random.default_rng(0)
    inputs = torch.from_numpy(
        rng.integers(0, 255, (n, 3, 32, 32)).astype(np.float32))
    samples = []
    for i in range(n):
        s = DataSample().set_gt_label(i % NUM_CLASSES)
        s.set_field(np.array([i, 2. * (i % 3)], np.float32), 'numeric')
        s.set_field('spot crack' if i % 2 else 'dark line', 'description')
        s.set_field(f'station: {i % 3}', 'record_text')
        samples.append(s)
    if with_text:
        # one sample with neither text nor numeric record
        samples[-1].set_field('', 'description')
        samples[-1].set_field('', 'record_text')
        samples[-1].set_field(np.full(2, np.nan, np.float32), 'numeric')
    return inputs, samples


def test_loss_predict_tensor(tiny_bert):
    torch.manual_seed(0)
    model = MODELS.build(_cfg(tiny_bert))
    model.init_weights()
    inputs, samples = _batch()
    data = model.data_preprocessor(
        dict(inputs=list(inputs), data_samples=samples), True)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    assert set(losses) == {'loss', 'loss_align'}
    assert all(torch.isfinite(v) for v in losses.values())

    logits = model(data['inputs'], data['data_samples'], mode='tensor')
    assert logits.shape == (6, NUM_CLASSES)
    feats = model.extract_feat(data['inputs'], data['data_samples'])
    assert torch.all(feats['gate'][-1] == 1)  # no text: image only
    assert feats['text_valid'].tolist() == [True] * 5 + [False]

    model.eval()
    with torch.no_grad():
        preds = model(data['inputs'], copy.deepcopy(data['data_samples']),
                      mode='predict')
    assert len(preds) == 6
    assert preds[0].pred_score.shape == (NUM_CLASSES, )
    assert 0 <= int(preds[0].pred_label) < NUM_CLASSES
    # predict without data samples: image-only fusion, still works
    with torch.no_grad():
        preds = model(data['inputs'], None, mode='predict')
    assert len(preds) == 6
    with pytest.raises(RuntimeError):
        model(data['inputs'], mode='bad')


def test_training_reduces_loss_and_text_encoder_frozen(tiny_bert):
    torch.manual_seed(0)
    model = MODELS.build(_cfg(tiny_bert))
    model.init_weights()
    before = {
        k: v.clone()
        for k, v in model.text_encoder.state_dict().items()
    }
    inputs, samples = _batch()
    data = model.data_preprocessor(
        dict(inputs=list(inputs), data_samples=samples), True)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=3e-3)
    model.train()
    first = None
    for _ in range(15):
        losses = model(data['inputs'], data['data_samples'], mode='loss')
        total = sum(losses.values())
        first = total.item() if first is None else first
        opt.zero_grad()
        total.backward()
        opt.step()
    assert total.item() < first
    for k, v in model.text_encoder.state_dict().items():
        assert torch.equal(v, before[k]), k
    # the numeric encoder learned running statistics of its fields
    assert model.numeric_encoder.running_mean[0] == pytest.approx(2., abs=.01)


def test_ablation_variants(tiny_bert):
    inputs, samples = _batch()
    for kwargs in (dict(fusion=False), dict(align=False),
                   dict(text=False)):
        model = MODELS.build(_cfg(tiny_bert, **kwargs))
        data = model.data_preprocessor(
            dict(inputs=list(inputs), data_samples=samples), True)
        losses = model(data['inputs'], data['data_samples'], mode='loss')
        assert ('loss_align' in losses) == kwargs.get('align', True)
        assert torch.isfinite(losses['loss'])


def test_head_channel_mismatch(tiny_bert):
    cfg = _cfg(tiny_bert)
    cfg['head']['in_channels'] = 7
    with pytest.raises(ValueError, match='in_channels'):
        MODELS.build(cfg)


def test_text_cache_gives_same_features(tiny_bert):
    torch.manual_seed(0)
    cfg = _cfg(tiny_bert)
    plain = MODELS.build(cfg).eval()
    cached = MODELS.build(dict(cfg, text_cache_size=3)).eval()
    cached.load_state_dict(plain.state_dict())
    inputs, samples = _batch()
    data = plain.data_preprocessor(
        dict(inputs=list(inputs), data_samples=samples), False)
    with torch.no_grad():
        ref = plain(data['inputs'], data['data_samples'])
        out1 = cached(data['inputs'], data['data_samples'])
        out2 = cached(data['inputs'], data['data_samples'])  # from cache
    assert torch.allclose(ref, out1, atol=1e-5)
    assert torch.allclose(ref, out2, atol=1e-5)
    assert len(cached.text_cache.store) == 3  # bounded


@pytest.mark.parametrize('out_type', ['featmap', 'raw', 'cls_token'])
def test_vit_backbone_tokens(tiny_bert, out_type):
    cfg = _cfg(tiny_bert)
    cfg['backbone'] = dict(
        type='VisionTransformer',
        arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                  feedforward_channels=64),
        img_size=32, patch_size=8, out_type=out_type)
    model = MODELS.build(cfg)
    inputs, samples = _batch()
    data = model.data_preprocessor(
        dict(inputs=list(inputs), data_samples=samples), True)
    feats = model.extract_feat(data['inputs'], data['data_samples'])
    # 4x4 patches as tokens (+ the class token for 'raw'), or the class
    # token alone
    expected = dict(featmap=16, raw=17, cls_token=1)[out_type]
    assert feats['img_tokens'].shape[1] == expected
    assert model(**data, mode='tensor').shape == (6, NUM_CLASSES)


def test_text_cache_shared_by_equal_frozen_encoders(tiny_bert):
    """Two models with the same frozen encoder weights (two seeds of a
    benchmark) encode a text once; other weights get their own cache."""
    torch.manual_seed(0)
    cfg = dict(_cfg(tiny_bert), text_cache_size=100)
    first, second = MODELS.build(cfg).eval(), MODELS.build(cfg).eval()
    inputs, samples = _batch()
    data = first.data_preprocessor(
        dict(inputs=list(inputs), data_samples=samples), False)
    calls = []
    encode = second.text_encoder.forward_tokens
    second.text_encoder.forward_tokens = lambda t: calls.append(t) or \
        encode(t)
    with torch.no_grad():
        first(data['inputs'], data['data_samples'])
        second(data['inputs'], data['data_samples'])
    assert calls == []  # every text came from the first model's cache
    assert second.text_cache.store is first.text_cache.store
    with torch.no_grad():
        for p in second.text_encoder.parameters():
            p.add_(0.1)
    second.load_state_dict(second.state_dict())  # weights changed
    with torch.no_grad():
        second(data['inputs'], data['data_samples'])
    assert calls and second.text_cache.store is not first.text_cache.store
