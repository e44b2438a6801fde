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
# the zero-shot baselines that hand the vocabulary over as a caption (GLIP,
# Grounding DINO: the `mmio_caption_*` loaders): same data as RTVP's base
ZS_CONFIGS = [
    'configs/glip/glip_swin-t-a_4xb4-24e_mmio-zs.py',
    'configs/glip/glip_swin-t-a_1xb8-4e_mmio-zs-demo.py',
    'configs/grounding_dino/grounding-dino_swin-t_4xb4-12e_mmio-zs.py',
    'configs/grounding_dino/grounding-dino_swin-t_1xb4-4e_mmio-zs-demo.py',
]
# the closed rows of table 2a (closed-set detectors and RTVP), and the
# demo size of each closed-set detector
CLOSED_CONFIGS = {
    'configs/rtvp/rtvp_yolo-world-s_4xb8-200e_mmio-closed.py': 640,
    'configs/yolo/rtmdet_s_4xb8-300e_mmio-closed.py': 640,
    'configs/yolo/rtmdet_s_1xb8-6e_mmio-closed-demo.py': 320,
    'configs/yolo/yolox_s_4xb8-300e_mmio-closed.py': 640,
    'configs/yolo/yolox_s_1xb8-6e_mmio-closed-demo.py': 320,
    'configs/yolo/yolov8_s_4xb8-200e_mmio-closed.py': 640,
    'configs/yolo/yolov8_s_1xb8-6e_mmio-closed-demo.py': 320,
    'configs/yolo/yolov8_n-effnet_1xb4-4e_mmio-closed-demo.py': 320,
    'configs/yolo/rtmdet_tiny-effnet_1xb4-4e_mmio-closed-demo.py': 320,
}
VOCAB_TRANSFORMS = {'RandomVocabulary', 'LoadVocabulary', 'VocabularyAsText'}


def _cfg(path):
    return Config.fromfile(osp.join(REPO, path))


def _types(pipeline):
    return [t['type'] for t in pipeline if t['type'] not in VOCAB_TRANSFORMS]


@pytest.mark.parametrize('path', ZS_CONFIGS)
def test_zero_shot_baselines_have_the_data_and_metric_of_the_mmio_base(path):
    cfg, base = _cfg(path), _cfg(ZS_BASE)
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        got, ref = cfg[split].dataset, base[split].dataset
        for key in ('type', 'data_root', 'ann_file', 'data_prefix',
                    'class_text_path', 'vocabulary', 'split_path'):
            assert got.get(key) == ref.get(key), (path, split, key)
        # same transforms apart from how the vocabulary is handed over
        assert _types(got.pipeline) == _types(ref.pipeline), (path, split)
    assert cfg.test_evaluator == base.test_evaluator
    assert cfg.test_evaluator.type == 'ZeroShotCocoMetric'
    assert cfg.test_evaluator.split_path == 'data/mmio_synth/split.json'
    names = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
    assert names.index('VocabularyAsText') > names.index('LoadVocabulary')
    keys = cfg.test_dataloader.dataset.pipeline[-1].meta_keys
    assert 'text' in keys and 'custom_entities' in keys


@pytest.mark.parametrize('path', sorted(CLOSED_CONFIGS))
def test_closed_rows_train_on_the_closed_split_with_the_shared_metric(path):
    """Every closed row of table 2a trains on the closed training file with
    all classes, is validated and tested on the closed val file, and is
    scored by the same evaluators (mmdet's CocoMetric and the
    precision/recall of ZeroShotCocoMetric) on that file."""
    cfg = _cfg(path)
    train = cfg.train_dataloader.dataset
    assert (train.type, train.data_root, train.ann_file,
            train.vocabulary) == ('MMIODataset', 'data/mmio_synth/',
                                  'annotations/instances_train.json', 'all')
    assert not train.get('split_path')  # no class held out
    assert train.filter_cfg.filter_empty_gt
    for split in ('val_dataloader', 'test_dataloader'):
        ds = cfg[split].dataset
        assert (ds.ann_file, ds.vocabulary, ds.test_mode) == (
            'annotations/instances_val.json', 'all', True), (path, split)
        assert cfg[split].sampler == dict(type='DefaultSampler',
                                          shuffle=False)
    assert cfg.val_evaluator == cfg.test_evaluator
    assert [e.type for e in cfg.test_evaluator] == ['CocoMetric',
                                                     'ZeroShotCocoMetric']
    for evaluator in cfg.test_evaluator:
        assert evaluator.ann_file == (
            'data/mmio_synth/annotations/instances_val.json')
    assert cfg.test_evaluator[1].split_path == 'data/mmio_synth/split.json'
    # the test images go through resize/pad at the config's size, no flip
    test_types = _types(cfg.test_dataloader.dataset.pipeline)
    assert test_types == ['LoadImageFromFile', 'Resize', 'Pad',
                          'LoadAnnotations', 'PackDetInputs']
    resize = cfg.test_dataloader.dataset.pipeline[1]
    assert resize.scale == (CLOSED_CONFIGS[path], ) * 2
    if 'rtvp' not in path:
        # closed-set detectors: labels are the dataset's class ids, the
        # pipelines have no vocabulary transforms
        assert cfg.model.bbox_head.num_classes == 38
        assert not {t['type'] for t in train.pipeline} & VOCAB_TRANSFORMS
        assert train.pipeline[-1].meta_keys == cfg.mmio_train_meta_keys


def _batch(size=64):
    return make_det_batch(size)


@pytest.mark.parametrize('path', [
    'configs/yolo/rtmdet_s_1xb8-6e_mmio-closed-demo.py',
    'configs/yolo/yolox_s_1xb8-6e_mmio-closed-demo.py',
    'configs/yolo/yolov8_s_1xb8-6e_mmio-closed-demo.py',
    'configs/yolo/yolov8_n-effnet_1xb4-4e_mmio-closed-demo.py',
    'configs/yolo/rtmdet_tiny-effnet_1xb4-4e_mmio-closed-demo.py',
    'configs/glip/glip_swin-t-a_1xb8-4e_mmio-zs-demo.py',
    'configs/grounding_dino/grounding-dino_swin-t_1xb4-4e_mmio-zs-demo.py',
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


EFFNET_CLOSED_DEMOS = [
    'configs/yolo/yolov8_n-effnet_1xb4-4e_mmio-closed-demo.py',
    'configs/yolo/rtmdet_tiny-effnet_1xb4-4e_mmio-closed-demo.py',
]


@pytest.mark.parametrize('path', EFFNET_CLOSED_DEMOS)
def test_closed_benchmark_demos_start_like_the_zero_shot_demos(path):
    """Table 2a's benchmark rows share backbone, initialisation, input
    size, epochs and BN recalibration with the YOLO-World-N demo of table
    2b, and their preprocessor hands the backbone 0-255 RGB pixels."""
    cfg = _cfg(path)
    ref = _cfg(
        'configs/yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py')
    assert cfg.model.backbone == ref.model.backbone
    assert cfg.model.backbone.pretrained == 'packaged'
    pre = cfg.model.data_preprocessor
    assert (pre.mean, pre.std, pre.bgr_to_rgb) == ([0., 0., 0.],
                                                   [255., 255., 255.], True)
    assert cfg.train_cfg.max_epochs == ref.train_cfg.max_epochs
    assert cfg.train_dataloader.batch_size == ref.train_dataloader.batch_size
    hooks = [h.type for h in cfg.custom_hooks]
    assert hooks == [h.type for h in ref.custom_hooks]
    assert cfg.custom_hooks[1].interval == cfg.train_cfg.max_epochs


DEMO_SCHEDULES = {
    'configs/yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py': 0.05,
    'configs/yolo/rtmdet_s_1xb8-6e_mmio-closed-demo.py': 0.05,
    'configs/yolo/yolov8_s_1xb8-6e_mmio-closed-demo.py': 0.01,
}


@pytest.mark.parametrize('path', sorted(DEMO_SCHEDULES))
def test_demo_schedule_ends_with_training(path, tmp_path):
    """The demos' schedules (configs/_base_/schedules/cpu_demo.py) name no
    `end`: with another `max_epochs` the decay still reaches its floor at
    the last iteration, and the one checkpoint is the last epoch's."""
    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, inputs, data_samples=None, mode='loss'):
            return dict(loss=((self.w - inputs.mean())**2).sum())

    class RecordLR(Hook):
        lrs = []

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])

    cfg = _cfg(path)
    lr = 1e-2
    epochs, iters = 3, 200  # the 30-50 warm-up is short against 600
    runner = Runner(
        model=Toy(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(1))] * iters,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        param_scheduler=cfg.param_scheduler,
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        default_hooks=dict(cfg.default_hooks, logger=None),
        custom_hooks=[RecordLR()],
        default_scope='mmdet')
    runner.train()
    lrs = RecordLR.lrs
    assert len(lrs) == epochs * iters
    assert lrs[0] < 0.01 * lr  # warm-up starts at 1e-3 of lr
    assert max(lrs) == pytest.approx(lr, rel=0.1)
    floor = DEMO_SCHEDULES[path] * lr
    assert lrs[-1] == pytest.approx(floor, rel=0.1, abs=0.02 * lr)
    assert all(a >= b for a, b in zip(lrs[100:], lrs[101:]))  # decays
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == [
        f'epoch_{epochs}.pth']
