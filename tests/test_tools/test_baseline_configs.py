# Copyright (c) mmase contributors. All rights reserved.
"""The baseline configs: shared MMIO data/metric, and the demo models build,
train one step and predict (GLIP/Grounding DINO with a tiny random BERT)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mmase  # noqa: F401
from mmase.testing import make_det_batch
from tests.conftest import build_demo_model

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ZS_BASE = 'configs/_base_/datasets/mmio_zeroshot.py'
CLOSED_BASE = 'configs/_base_/datasets/mmio_closed.py'
CONFIGS = {
    'configs/yolo/rtmdet_s_mmio_closed.py': CLOSED_BASE,
    'configs/yolo/rtmdet_s_mmio_closed_demo.py': CLOSED_BASE,
    'configs/yolo/yolox_s_mmio_closed.py': CLOSED_BASE,
    'configs/yolo/yolox_s_mmio_closed_demo.py': CLOSED_BASE,
    'configs/yolo/yolov8_s_mmio_closed_demo.py': CLOSED_BASE,
    'configs/glip/glip_t_mmio.py': ZS_BASE,
    'configs/glip/glip_t_mmio_demo.py': ZS_BASE,
    'configs/grounding_dino/grounding_dino_t_mmio.py': ZS_BASE,
    'configs/grounding_dino/grounding_dino_t_mmio_demo.py': ZS_BASE,
}
VOCAB_TRANSFORMS = {'RandomVocabulary', 'LoadVocabulary', 'VocabularyAsText'}


def _cfg(path):
    return Config.fromfile(osp.join(REPO, path))


def _types(pipeline):
    return [t['type'] for t in pipeline if t['type'] not in VOCAB_TRANSFORMS]


@pytest.mark.parametrize('path', sorted(CONFIGS))
def test_same_data_and_metric_as_mmio_base(path):
    cfg, base = _cfg(path), _cfg(CONFIGS[path])
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        got, ref = cfg[split].dataset, base[split].dataset
        for key in ('type', 'data_root', 'ann_file', 'data_prefix',
                    'class_text_path', 'vocabulary', 'split_path'):
            assert got.get(key) == ref.get(key), (path, split, key)
        # same transforms apart from how the vocabulary is handed over
        assert _types(got.pipeline) == _types(ref.pipeline), (path, split)
    assert cfg.test_evaluator == base.test_evaluator
    zero_shot = CONFIGS[path] == ZS_BASE
    if zero_shot:
        assert cfg.test_evaluator.type == 'ZeroShotCocoMetric'
        assert cfg.test_evaluator.split_path == 'data/mmio_synth/split.json'
        names = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
        assert names.index('VocabularyAsText') > names.index(
            'LoadVocabulary')
        keys = cfg.test_dataloader.dataset.pipeline[-1].meta_keys
        assert 'text' in keys and 'custom_entities' in keys
    else:
        assert cfg.model.bbox_head.num_classes == 38
        assert not set(_types(cfg.train_dataloader.dataset.pipeline)) & \
            VOCAB_TRANSFORMS


def _batch(size=64):
    return make_det_batch(size)


@pytest.mark.parametrize('path', [
    'configs/yolo/rtmdet_s_mmio_closed_demo.py',
    'configs/yolo/yolox_s_mmio_closed_demo.py',
    'configs/yolo/yolov8_s_mmio_closed_demo.py',
    'configs/glip/glip_t_mmio_demo.py',
    'configs/grounding_dino/grounding_dino_t_mmio_demo.py',
])
def test_demo_model_trains_and_predicts(path, caption_bert):
    cfg = _cfg(path)
    model = build_demo_model(cfg, caption_bert)
    # Grounding DINO selects 100 queries among the encoder tokens: 128 px
    # gives 340 tokens over its 4 levels (64 px only 85)
    size = 128 if 'grounding_dino' in path else 64
    data = model.data_preprocessor(_batch(size), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(v)
                for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total) and total > 0
    total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.backbone.parameters())
    model.eval()
    with torch.no_grad():
        out = model.test_step(_batch(size))
    labels = out[0].pred_instances.labels
    n_cls = cfg.model.bbox_head.get('num_classes', 3)
    limit = 3 if 'language_model' in cfg.model else n_cls
    assert labels.numel() == 0 or int(labels.max()) < limit


@pytest.mark.parametrize('path', [
    'configs/rtvp/rtvp_mmio_closed.py',
    'configs/yolo/rtmdet_s_mmio_closed.py',
    'configs/yolo/yolox_s_mmio_closed.py',
    'configs/yolo/yolov8_s_mmio_closed.py',
])
def test_table_2a_rows_share_their_metrics(path):
    """Every closed row of table 2a, RTVP's included, is scored by the same
    evaluators (same metrics, same maxDets) on the same file."""
    cfg, base = _cfg(path), _cfg(CLOSED_BASE)
    assert cfg.test_evaluator == base.test_evaluator
    assert [e.type for e in cfg.test_evaluator] == ['CocoMetric',
                                                     'ZeroShotCocoMetric']
    assert cfg.test_dataloader.dataset.ann_file == \
        base.test_dataloader.dataset.ann_file
