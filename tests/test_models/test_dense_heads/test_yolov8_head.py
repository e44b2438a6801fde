# Copyright (c) mmase contributors. All rights reserved.
"""The closed-set YOLOv8 head, alone and inside mmdet's SingleStageDetector
with DetDataPreprocessor."""
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmase.models.dense_heads import YOLOv8Head, YOLOWorldHead
from mmase.testing import tiny_model_cfg

NUM_CLASSES = 4
IMG = 64
TEST_CFG = dict(
    score_thr=0.01,
    nms_pre=1000,
    nms=dict(type='nms', iou_threshold=0.7),
    max_per_img=20)


def _head(**kwargs):
    torch.manual_seed(0)
    head = YOLOv8Head(
        num_classes=NUM_CLASSES,
        in_channels=[16, 32, 64],
        widen_factor=1.0,
        train_cfg=ConfigDict(
            assigner=dict(type='BatchTaskAlignedAssigner', topk=10)),
        test_cfg=ConfigDict(TEST_CFG),
        **kwargs)
    head.init_weights()
    return head


def _detector():
    init_default_scope('mmdet')
    torch.manual_seed(0)
    cfg = tiny_model_cfg('yolov8', num_classes=NUM_CLASSES,
                         test_cfg=TEST_CFG)
    cfg['bbox_head']['prior_cfg'] = dict(num_objects=2, img_size=IMG)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _batch():
    """Two grey images: a bright square of class 1 and a dark rectangle of
    class 3, and both in the second image."""
    inputs, samples = [], []
    objects = [[([8, 12, 40, 44], 1)],
               [([4, 4, 28, 28], 1), ([36, 20, 60, 60], 3)]]
    for objs in objects:
        img = torch.full((3, IMG, IMG), 120, dtype=torch.uint8)
        for (x1, y1, x2, y2), label in objs:
            img[:, y1:y2, x1:x2] = 250 if label == 1 else 10
        inputs.append(img)
        s = DetDataSample(metainfo=dict(
            img_shape=(IMG, IMG), ori_shape=(IMG, IMG),
            pad_shape=(IMG, IMG), scale_factor=(1., 1.)))
        s.gt_instances = InstanceData(
            bboxes=torch.tensor([b for b, _ in objs], dtype=torch.float32),
            labels=torch.tensor([lab for _, lab in objs]))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def test_shares_yolo_world_box_branch_and_losses():
    head = _head()
    assert isinstance(head, YOLOWorldHead)
    assert not hasattr(head, 'cls_contrasts')
    # YOLOv8's widths: classifier max(C0, num_classes), box branch
    # max(16, C0 // 4, 4 * reg_max)
    assert head.cls_preds[0][0].conv.out_channels == 16
    assert head.reg_preds[0][0].conv.out_channels == 64
    assert head.reg_preds[0][-1].out_channels == 4 * 16
    # YOLOv8's class prior: log(5 / num_classes / (640 / stride) ** 2)
    for cls_pred, stride in zip(head.cls_preds, (8, 16, 32)):
        expected = torch.log(torch.tensor(5 / NUM_CLASSES /
                                          (640 / stride)**2))
        assert torch.allclose(cls_pred[-1].bias,
                              expected.expand(NUM_CLASSES))
    wide = YOLOv8Head(num_classes=100, in_channels=[16, 32, 64],
                      widen_factor=1.0)
    assert wide.cls_preds[0][0].conv.out_channels == 100


def test_forward_shapes():
    head = _head()
    feats = [torch.randn(2, c, IMG // s, IMG // s)
             for c, s in ((16, 8), (32, 16), (64, 32))]
    cls_scores, bbox_preds, dists = head(feats)
    assert [tuple(t.shape) for t in cls_scores] == [
        (2, NUM_CLASSES, 8, 8), (2, NUM_CLASSES, 4, 4),
        (2, NUM_CLASSES, 2, 2)]
    assert [tuple(t.shape) for t in bbox_preds] == [
        (2, 4, 8, 8), (2, 4, 4, 4), (2, 4, 2, 2)]
    assert [t.shape[1] for t in dists] == [64] * 3
    # expectations of a distribution over bins 0..15
    assert all(((t >= 0) & (t <= 15)).all() for t in bbox_preds)
    with pytest.raises(ValueError, match='expected 3 levels'):
        head(feats[:2])


def test_predict_by_feat_decodes_a_hand_made_prediction():
    """One confident anchor of level 0 at cell (row 1, col 2): point
    (2 * 8 + 4, 1 * 8 + 4) = (20, 12), distances 1.5 strides = 12 px to
    every side -> box (8, 0, 32, 24) in the 64 px input, halved by
    ``rescale`` with scale_factor 2."""
    head = _head()
    cls_scores = [torch.full((1, NUM_CLASSES, IMG // s, IMG // s), -20.)
                  for s in (8, 16, 32)]
    cls_scores[0][0, 3, 1, 2] = 5.0
    bbox_preds = [torch.full((1, 4, IMG // s, IMG // s), 1.5)
                  for s in (8, 16, 32)]
    meta = dict(img_shape=(IMG, IMG), scale_factor=(2., 2.),
                ori_shape=(IMG // 2, IMG // 2))
    res, = head.predict_by_feat(cls_scores, bbox_preds, [meta],
                                rescale=False)
    assert res.labels.tolist() == [3]
    assert torch.allclose(res.scores, torch.sigmoid(torch.tensor([5.])))
    assert torch.allclose(res.bboxes, torch.tensor([[8., 0., 32., 24.]]))
    res, = head.predict_by_feat(cls_scores, bbox_preds, [meta],
                                rescale=True)
    assert torch.allclose(res.bboxes, torch.tensor([[4., 0., 16., 12.]]))


def test_detector_loss_decreases_on_a_hand_made_batch():
    model = _detector()
    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3)
    totals = []
    for _ in range(16):
        data = model.data_preprocessor(_batch(), True)
        losses = model.loss(data['inputs'], data['data_samples'])
        assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_dfl'}
        assert all(torch.isfinite(v) and v > 0 for v in losses.values())
        total = sum(losses.values())
        optim.zero_grad()
        total.backward()
        optim.step()
        totals.append(float(total))
    # 15.6 -> 3.5 at seed 0; the last three all well below half the start
    assert max(totals[-3:]) < 0.5 * totals[0], totals


def test_detector_predicts_class_ids_in_image_coordinates():
    model = _detector()
    model.eval()
    batch = _batch()
    # the original images were twice as large (a 2x downscale by Resize)
    for s in batch['data_samples']:
        s.set_metainfo(dict(ori_shape=(2 * IMG, 2 * IMG),
                            scale_factor=(0.5, 0.5)))
    with torch.no_grad():
        out = model.test_step(batch)
    assert len(out) == 2
    for sample in out:
        assert isinstance(sample, DetDataSample)
        pred = sample.pred_instances
        assert 0 < len(pred) <= TEST_CFG['max_per_img']
        assert int(pred.labels.max()) < NUM_CLASSES
        assert int(pred.labels.min()) >= 0
        boxes = pred.bboxes
        assert (boxes >= 0).all() and (boxes <= 2 * IMG).all()
        # rescaled to the original image: some box reaches beyond the
        # 64 px input (boxes are clipped to it before rescaling)
        assert float(boxes.max()) > IMG
        assert (boxes[:, 2:] >= boxes[:, :2]).all()


def test_loss_names_the_field_of_a_label_beyond_num_classes():
    head = _head()
    feats = [torch.randn(1, c, IMG // s, IMG // s)
             for c, s in ((16, 8), (32, 16), (64, 32))]
    sample = DetDataSample(metainfo=dict(img_shape=(IMG, IMG),
                                         img_path='a/b.png'))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[4., 4., 30., 30.]]),
        labels=torch.tensor([NUM_CLASSES]))
    with pytest.raises(ValueError,
                       match=r'a/b.png: field `gt_instances.labels`.*'
                       r'num_classes=4'):
        head.loss(feats, [sample])


def test_loss_without_assigner_is_refused():
    head = YOLOv8Head(num_classes=2, in_channels=[16, 32, 64],
                      widen_factor=1.0)
    feats = [torch.randn(1, c, IMG // s, IMG // s)
             for c, s in ((16, 8), (32, 16), (64, 32))]
    sample = DetDataSample(metainfo=dict(img_shape=(IMG, IMG)))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[4., 4., 30., 30.]]), labels=torch.tensor([1]))
    with pytest.raises(RuntimeError, match='YOLOv8Head: `train_cfg`'):
        head.loss(feats, [sample])
