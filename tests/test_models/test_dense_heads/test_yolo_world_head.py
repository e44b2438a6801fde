# Copyright (c) mmase contributors. All rights reserved.
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from mmase.models.dense_heads import YOLOWorldHead

IMG = 64


ASSIGNERS = {
    'batched': dict(assigner=dict(type='BatchTaskAlignedAssigner', topk=10)),
    'mmdet': dict(
        assigner=dict(type='TaskAlignedAssigner', topk=10), alpha=0.5,
        beta=6.0),
}


def _head(assigner='batched', **kwargs):
    torch.manual_seed(0)
    head = YOLOWorldHead(
        in_channels=[16, 32, 64],
        embed_dims=8,
        widen_factor=1.0,
        reg_max=16,
        train_cfg=ConfigDict(ASSIGNERS[assigner]),
        test_cfg=ConfigDict(
            score_thr=0.0,
            nms_pre=1000,
            nms=dict(type='nms', iou_threshold=0.7),
            max_per_img=20),
        **kwargs)
    head.init_weights()
    return head


def _inputs(batch=2):
    torch.manual_seed(1)
    feats = [torch.randn(batch, c, IMG // s, IMG // s)
             for c, s in ((16, 8), (32, 16), (64, 32))]
    texts = torch.randn(batch, 3, 8)
    masks = torch.tensor([[True, True, False], [True, True, True]])[:batch]
    return feats, texts, masks


def _metas(batch=2, scale=1.0):
    return [
        dict(img_shape=(IMG, IMG), scale_factor=(scale, scale),
             ori_shape=(int(IMG / scale), int(IMG / scale)))
        for _ in range(batch)
    ]


def _gts():
    gt0 = InstanceData(
        bboxes=torch.tensor([[4., 6., 30., 34.], [30., 30., 60., 58.]]),
        labels=torch.tensor([0, 1]))
    gt1 = InstanceData(
        bboxes=torch.zeros((0, 4)), labels=torch.zeros((0, ),
                                                       dtype=torch.long))
    return [gt0, gt1]


def test_forward_shapes():
    head = _head()
    feats, texts, masks = _inputs()
    cls_scores, bbox_preds, dists = head(feats, texts, masks)
    assert [c.shape for c in cls_scores] == [(2, 3, 8, 8), (2, 3, 4, 4),
                                             (2, 3, 2, 2)]
    assert [b.shape for b in bbox_preds] == [(2, 4, 8, 8), (2, 4, 4, 4),
                                             (2, 4, 2, 2)]
    assert dists[0].shape == (2, 64, 8, 8)
    # expected distances lie in [0, reg_max - 1]
    assert all((b >= 0).all() and (b <= 15).all() for b in bbox_preds)
    # padded text of image 0 has probability ~0
    assert (cls_scores[0][0, 2].sigmoid() < 1e-6).all()


@pytest.mark.parametrize('assigner', ['batched', 'mmdet'])
def test_loss_positive_and_empty_image(assigner):
    head = _head(assigner)
    feats, texts, masks = _inputs()
    outs = head(feats, texts, masks)
    losses = head.loss_by_feat(*outs, _gts(), _metas(), masks)
    for name in ('loss_cls', 'loss_bbox', 'loss_dfl'):
        assert torch.isfinite(losses[name]) and losses[name] > 0, name
    # an image without objects only has a classification loss
    empty = head.loss_by_feat(*[[o[1:] for o in out] for out in outs],
                              _gts()[1:], _metas(1), masks[1:])
    assert empty['loss_cls'] > 0
    assert empty['loss_bbox'] == 0 and empty['loss_dfl'] == 0
    sum(empty.values()).backward()


@pytest.mark.parametrize('assigner', ['batched', 'mmdet'])
def test_padded_texts_do_not_contribute(assigner):
    head = _head(assigner)
    feats, texts, masks = _inputs()
    losses = head.loss_by_feat(*head(feats, texts, masks), _gts(), _metas(),
                               masks)
    texts2 = texts.clone()
    texts2[0, 2] = torch.randn(8) * 5  # image 0's padded slot
    losses2 = head.loss_by_feat(*head(feats, texts2, masks), _gts(),
                                _metas(), masks)
    for k in losses:
        torch.testing.assert_close(losses[k], losses2[k])
    # a gt label outside the image's vocabulary is an error
    bad = _gts()
    bad[0].labels = torch.tensor([0, 2])
    with pytest.raises(ValueError, match='vocabulary'):
        head.loss_by_feat(*head(feats, texts, masks), bad, _metas(), masks)


def test_predict_rescale_and_vocab_bounds():
    head = _head()
    head.eval()
    feats, texts, masks = _inputs()
    outs = head(feats, texts, masks)
    res = head.predict_by_feat(outs[0], outs[1], _metas(scale=0.5), masks,
                               rescale=False)
    res_scaled = head.predict_by_feat(outs[0], outs[1], _metas(scale=0.5),
                                      masks, rescale=True)
    assert len(res) == 2
    for r, rs in zip(res, res_scaled):
        assert 0 < len(r) <= 20
        torch.testing.assert_close(rs.bboxes, r.bboxes * 2)
        assert (r.bboxes >= 0).all() and (r.bboxes <= IMG).all()
    assert res[0].labels.max() <= 1  # image 0 has a 2-text vocabulary
    assert res[1].labels.max() <= 2
    # score threshold: only scores above it survive
    thr = float(res[1].scores.median())
    high = head.predict_by_feat(
        outs[0], outs[1], _metas(), masks,
        cfg=dict(score_thr=thr, nms_pre=100,
                 nms=dict(type='nms', iou_threshold=0.7), max_per_img=20))
    assert (high[1].scores > thr).all() and len(high[1]) < len(res[1])


@pytest.mark.parametrize('assigner', ['batched', 'mmdet'])
def test_loss_decreases_on_fixed_batch(assigner):
    head = _head(assigner)
    feats, texts, masks = _inputs()
    opt = torch.optim.Adam(head.parameters(), lr=5e-3)
    totals = []
    for _ in range(8):
        losses = head.loss_by_feat(*head(feats, texts, masks), _gts(),
                                   _metas(), masks)
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(total.item())
    assert totals[-1] < 0.7 * totals[0]


def test_softmax_score_mode_hand_case():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    # sigmoid(2) = 0.880797; softmax([2, 0, -1]) = [0.843795, 0.114195,
    # 0.042010]; at T = 0.5, softmax([4, 0, -2]) = [0.979629, 0.017943,
    # 0.002428]
    scores = YOLOWorldHead._class_scores(logits, ConfigDict())
    torch.testing.assert_close(scores, logits.sigmoid())
    scores = YOLOWorldHead._class_scores(logits,
                                         ConfigDict(score_mode='softmax'))
    torch.testing.assert_close(
        scores, 0.880797 * torch.tensor([[0.843795, 0.114195, 0.042010]]),
        atol=1e-5, rtol=0)
    scores = YOLOWorldHead._class_scores(
        logits, ConfigDict(score_mode='softmax', softmax_temperature=0.5))
    torch.testing.assert_close(
        scores, 0.880797 * torch.tensor([[0.979629, 0.017943, 0.002428]]),
        atol=1e-5, rtol=0)
    # an empty vocabulary gives no scores, not an error
    assert YOLOWorldHead._class_scores(
        torch.zeros(5, 0), ConfigDict(score_mode='softmax')).shape == (5, 0)
    with pytest.raises(ValueError, match='score_mode'):
        YOLOWorldHead._class_scores(logits, ConfigDict(score_mode='max'))
    with pytest.raises(ValueError, match='softmax_temperature'):
        YOLOWorldHead._class_scores(
            logits, ConfigDict(score_mode='softmax', softmax_temperature=0))


def test_softmax_score_mode_ignores_padded_texts():
    """Image 0 has 2 real texts of 3: its softmax runs over those 2, so a
    padded slot, whatever its embedding, changes none of its scores."""
    head = _head()
    head.eval()
    feats, texts, masks = _inputs()
    cfg = dict(score_mode='softmax', score_thr=0.0, nms_pre=1000,
               nms=dict(type='nms', iou_threshold=0.7), max_per_img=20)
    res = head.predict_by_feat(*head(feats, texts, masks)[:2], _metas(),
                               masks, cfg=cfg)
    texts2 = texts.clone()
    texts2[0, 2] = torch.randn(8) * 5
    res2 = head.predict_by_feat(*head(feats, texts2, masks)[:2], _metas(),
                                masks, cfg=cfg)
    torch.testing.assert_close(res[0].scores, res2[0].scores)
    assert res[0].labels.max() <= 1
    # scores are objectness x class shares: below the best sigmoid
    sig = head.predict_by_feat(*head(feats, texts, masks)[:2], _metas(),
                               masks, cfg=dict(cfg, score_mode='sigmoid'))
    assert res[1].scores.max() <= sig[1].scores.max() + 1e-6


def test_vocab_loss_hand_case():
    head = _head(loss_vocab=dict(type='CrossEntropyLoss', loss_weight=2.0))
    # one image, two anchors, three texts of which the last is padding
    logits = torch.tensor([[[1.0, 3.0, 50.0], [0.0, 0.0, 0.0]]])
    targets = torch.zeros(1, 2, 3)
    targets[0, 0, 1] = 0.5
    pos_mask = torch.tensor([[True, False]])
    valid = torch.tensor([[True, True, False]])
    loss = head._vocab_loss(logits, targets, pos_mask, torch.tensor([0.5]),
                            valid, torch.tensor(1.0))
    # -log softmax([1, 3])[1] = log(1 + e^-2) = 0.126928; x 0.5 x 2.0
    torch.testing.assert_close(loss, torch.tensor(0.126928), atol=1e-5,
                               rtol=0)
    # no positives: zero, still in the graph
    zero = head._vocab_loss(logits.requires_grad_(), targets,
                            torch.zeros(1, 2, dtype=torch.bool),
                            torch.zeros(0), valid, torch.tensor(1.0))
    assert zero.item() == 0 and zero.requires_grad


def test_vocab_loss_only_when_configured():
    feats, texts, masks = _inputs()
    plain = _head()
    plain_losses = plain.loss_by_feat(*plain(feats, texts, masks), _gts(),
                                      _metas(), masks)
    assert 'loss_vocab' not in plain_losses
    head = _head(loss_vocab=dict(type='CrossEntropyLoss', loss_weight=1.0))
    losses = head.loss_by_feat(*head(feats, texts, masks), _gts(), _metas(),
                               masks)
    assert losses['loss_vocab'] > 0
    # the other losses are those of the head without it
    for k in ('loss_cls', 'loss_bbox', 'loss_dfl'):
        torch.testing.assert_close(losses[k], plain_losses[k])
