# Copyright (c) mmase contributors. All rights reserved.
"""YOLO-World's recipe in the configs: mosaic that keeps each box's label on
the right text, EMA and close-mosaic where the config says so, no weight
decay on norms, biases and the classifier's logit scale/bias."""
import os.path as osp
import random

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS, TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mmase  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FULL = [
    'configs/yolo_world/yolo-world_s_4xb8-200e_mmio-zs.py',
    'configs/rtvp/rtvp_yolo-world-s_4xb8-200e_mmio-zs.py'
]
DEMOS = ['configs/yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py',
         'configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py']
NAMES = ['red dent', 'blue hole', 'green scratch', 'white spot',
         'black crack']


def _cfg(path):
    return Config.fromfile(osp.join(REPO, path))


def _colour(c):
    return 30 + 50 * c  # far apart, none equal to the 114 border fill


def _image(rng, size=160):
    """Black image with two squares whose grey level encodes their class."""
    img = np.zeros((size, size, 3), np.uint8)
    boxes, labels = [], []
    for c in rng.choice(len(NAMES), 2, replace=False):
        x, y = rng.integers(0, size - 40, 2)
        if any(abs(x - b[0]) < 44 and abs(y - b[1]) < 44 for b in boxes):
            continue
        img[y:y + 40, x:x + 40] = _colour(int(c))
        boxes.append([x, y, x + 40, y + 40])
        labels.append(int(c))
    return dict(
        img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
        gt_bboxes=HorizontalBoxes(torch.tensor(boxes, dtype=torch.float32)),
        gt_bboxes_labels=np.array(labels, np.int64),
        gt_ignore_flags=np.zeros(len(labels), bool),
        texts=[[n] for n in NAMES])


def test_mosaic_keeps_labels_on_the_right_texts():
    cfg = _cfg(
        'configs/yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py')
    init_default_scope('mmdet')
    steps = cfg.mmio_demo_mosaic_train_transforms[2:]  # after loading
    assert [t['type'] for t in steps][:2] == ['CachedMosaic', 'RandomAffine']
    steps = [dict(s, img_scale=(160, 160)) if s['type'] == 'CachedMosaic'
             else dict(s, border=(-80, -80)) if s['type'] == 'RandomAffine'
             else s for s in steps]
    steps.append(dict(type='RandomVocabulary', num_vocab=5))
    pipeline = [TRANSFORMS.build(s) for s in steps]
    rng = np.random.default_rng(0)
    random.seed(0)
    np.random.seed(0)
    checked = 0
    for _ in range(24):
        results = _image(rng)
        for t in pipeline:
            results = t(results)
        img, texts = results['img'], results['texts']
        assert img.shape[:2] == (160, 160)
        for box, label in zip(results['gt_bboxes'].tensor.numpy(),
                              results['gt_bboxes_labels']):
            cx, cy = int((box[0] + box[2]) / 2), int((box[1] + box[3]) / 2)
            grey = int(img[cy, cx, 0])
            cls = int(round((grey - 30) / 50))
            assert abs(grey - _colour(cls)) <= 8, (grey, box)
            assert texts[label] == NAMES[cls]
            checked += 1
    assert checked > 20


@pytest.mark.parametrize('path', FULL + DEMOS)
def test_ema_and_close_mosaic_where_configured(path):
    cfg = _cfg(path)
    hooks = {h['type']: h for h in cfg.custom_hooks}
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    if path in FULL:
        assert hooks['EMAHook']['ema_type'] == 'ExpMomentumEMA'
        switch = hooks['PipelineSwitchHook']
        assert switch['switch_epoch'] == cfg.train_cfg.max_epochs - 10
        stage2 = [t['type'] for t in switch['switch_pipeline']]
        assert 'CachedMosaic' in types and 'CachedMosaic' not in stage2
        assert types.index('RandomVocabulary') > types.index('RandomAffine')
        assert stage2[-2:] == types[-2:]  # same vocabulary tail
    else:
        assert 'EMAHook' not in hooks and 'PipelineSwitchHook' not in hooks
        assert 'CachedMosaic' not in types


def test_no_decay_on_norms_biases_and_logit_scale():
    cfg = _cfg(
        'configs/yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py')
    assert cfg.model.bbox_head.contrastive_head.type == 'BNContrastiveHead'
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    decay = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            decay[names[id(p)]] = group['weight_decay']
    scales = [n for n in decay if n.endswith('logit_scale')]
    cls_bias = [n for n in decay if 'cls_contrasts' in n and
                n.endswith('.bias')]
    assert scales and cls_bias
    assert all(decay[n] == 0 for n in scales + cls_bias)
    assert all(decay[n] == 0 for n in decay if '.bn.' in n)
    conv = [n for n in decay if n.endswith('conv.weight')]
    assert conv and all(decay[n] == pytest.approx(0.025) for n in conv)
