# Copyright (c) mmase contributors. All rights reserved.
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import mmase  # noqa: F401
from mmase.testing import make_tiny_bert, tiny_model_cfg

IMG = 64


@pytest.fixture(autouse=True)
def _mmdet_scope():
    init_default_scope('mmdet')


@pytest.fixture(scope='module')
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(str(tmp_path_factory.mktemp('bert')))


def tiny_cfg(text_model, **kwargs):
    torch.manual_seed(0)
    return tiny_model_cfg('yolo_world', text_model, **kwargs)


def _samples(with_texts=True):
    metas = dict(img_shape=(IMG, IMG), ori_shape=(IMG * 2, IMG * 2),
                 scale_factor=(0.5, 0.5), pad_shape=(IMG, IMG),
                 batch_input_shape=(IMG, IMG))
    s0 = DetDataSample(metainfo=dict(
        metas, texts=['white spot', 'crack', 'dent']))
    s0.gt_instances = InstanceData(
        bboxes=torch.tensor([[8., 8., 30., 30.]]), labels=torch.tensor([2]))
    s1 = DetDataSample(metainfo=dict(
        metas, texts=[['scratch', 'a long scratch'], 'stain']))
    s1.gt_instances = InstanceData(
        bboxes=torch.tensor([[30., 20., 60., 50.], [2., 40., 20., 60.]]),
        labels=torch.tensor([0, 1]))
    samples = [s0, s1]
    if not with_texts:
        samples = [DetDataSample(metainfo=metas) for _ in range(2)]
    return samples


def _images():
    torch.manual_seed(0)
    img = torch.full((2, 3, IMG, IMG), 100.)
    img[0, :, 8:30, 8:30] = 250.
    img[1, :, 20:50, 30:60] = 10.
    img[1, :, 40:60, 2:20] = 200.
    return img


def test_encode_texts_pads_and_ensembles(tiny_bert):
    model = MODELS.build(tiny_cfg(tiny_bert)).eval()
    feats, masks = model.encode_texts(_samples())
    assert feats.shape == (2, 3, 32) and masks.tolist() == [
        [True, True, True], [True, True, False]]
    assert torch.all(feats[1, 2] == 0)
    # a prompt list is the normalised mean of its embeddings
    table = model.text_encoder(['scratch', 'a long scratch'])
    expected = torch.nn.functional.normalize(table.mean(0), dim=-1)
    torch.testing.assert_close(feats[1, 0], expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(feats[0, 1], model.text_encoder(['crack'])[0])


def test_loss_predict_tensor_modes(tiny_bert):
    model = MODELS.build(tiny_cfg(tiny_bert))
    model.init_weights()
    data = model.data_preprocessor(
        dict(inputs=list(_images()), data_samples=_samples()), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_dfl'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    model.eval()
    data = model.data_preprocessor(
        dict(inputs=list(_images()), data_samples=_samples()), False)
    with torch.no_grad():
        preds = model(**data, mode='predict')
        outs = model(**data, mode='tensor')
    assert len(preds) == 2
    for pred, n in zip(preds, (3, 2)):
        inst = pred.pred_instances
        assert 0 < len(inst) <= 10
        assert inst.labels.max() < n  # labels index the sample's vocabulary
        # rescaled to the original (2x) image
        assert inst.bboxes.max() <= IMG * 2 and inst.bboxes.max() > IMG / 2
    cls_scores, bbox_preds, dists = outs
    assert cls_scores[0].shape == (2, 3, 8, 8)


def test_set_vocabulary_and_errors(tiny_bert):
    model = MODELS.build(tiny_cfg(tiny_bert)).eval()
    samples = _samples(with_texts=False)
    with pytest.raises(ValueError, match='set_vocabulary'):
        model.encode_texts(samples)
    model.set_vocabulary(['crack', 'dent', 'rust', 'hole'])
    data = model.data_preprocessor(
        dict(inputs=list(_images()), data_samples=samples), False)
    with torch.no_grad():
        preds = model(**data, mode='predict')
        outs = model._forward(data['inputs'])
    assert all(p.pred_instances.labels.max() < 4 for p in preds)
    assert outs[0][0].shape == (2, 4, 8, 8)
    # cached embeddings: a second call reuses the same tensors
    assert set(model.text_cache.store) == {'crack', 'dent', 'rust', 'hole'}
    with pytest.raises(TypeError):
        model.set_vocabulary('crack')


def test_predict_with_a_vocabulary_per_call(tiny_bert):
    """``texts=`` replaces every sample's vocabulary for one call: the
    scores are those of that vocabulary given as the samples' ``texts``."""
    model = MODELS.build(tiny_cfg(tiny_bert)).eval()
    vocab = ['rust', ['scratch', 'a long scratch'], 'hole', 'dent']
    data = model.data_preprocessor(
        dict(inputs=list(_images()), data_samples=_samples()), False)
    with torch.no_grad():
        preds = model.predict(data['inputs'], data['data_samples'],
                              texts=vocab)
        ref_samples = _samples()
        for sample in ref_samples:
            sample.set_metainfo(dict(texts=vocab))
        ref = model.predict(data['inputs'], ref_samples)
    for p, r in zip(preds, ref):
        assert p.texts == vocab
        torch.testing.assert_close(p.pred_instances.scores,
                                   r.pred_instances.scores)
        assert p.pred_instances.labels.max() < 4
    assert preds[0].pred_instances.label_names[0] in (
        'rust', 'scratch', 'hole', 'dent')
    with pytest.raises(TypeError, match='YOLOWorldDetector.predict'):
        model.predict(data['inputs'], data['data_samples'], texts='rust')


def test_without_text_in_neck(tiny_bert):
    cfg = tiny_cfg(tiny_bert, use_text_feats_in_neck=False)
    cfg['neck'] = dict(type='FPN', in_channels=[32, 64, 128],
                       out_channels=32, num_outs=3)
    cfg['bbox_head'] = dict(type='YOLOWorldHead', in_channels=[32, 32, 32],
                            widen_factor=1.0)
    model = MODELS.build(cfg)
    data = model.data_preprocessor(
        dict(inputs=list(_images()), data_samples=_samples()), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(sum(losses.values()))


def test_few_steps_lower_the_loss(tiny_bert):
    model = MODELS.build(tiny_cfg(tiny_bert))
    model.train()
    data = model.data_preprocessor(
        dict(inputs=list(_images()), data_samples=_samples()), True)
    params = [p for p in model.parameters() if p.requires_grad]
    assert not any(p.requires_grad for p in model.text_encoder.parameters())
    opt = torch.optim.AdamW(params, lr=5e-3)
    totals = []
    for _ in range(6):
        losses = model(**copy.deepcopy(data), mode='loss')
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(total.item())
    assert totals[-1] < 0.8 * totals[0]
