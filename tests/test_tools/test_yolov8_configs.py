# Copyright (c) mmase contributors. All rights reserved.
"""The YOLOv8-S configs: the closed-set row of table 2a with YOLOv8's recipe,
its CPU demo trained through tools/train.py, and the seen-class first stage
whose backbone RTVP takes as its expert."""
import json
import os
import os.path as osp
import subprocess
import sys

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmase  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLOSED = 'configs/yolo/yolov8_s_4xb8-200e_mmio-closed.py'
DEMO = 'configs/yolo/yolov8_s_1xb8-6e_mmio-closed-demo.py'
SEEN = 'configs/yolo/yolov8_s_4xb8-200e_mmio-seen.py'


def _cfg(path):
    return Config.fromfile(osp.join(REPO, path))


def _types(pipeline):
    return [t['type'] for t in pipeline]


def test_closed_config_has_yolov8_recipe():
    cfg = _cfg(CLOSED)
    model = cfg.model
    assert model.type == 'SingleStageDetector'
    assert (model.backbone.deepen_factor, model.backbone.widen_factor) == (
        0.33, 0.5)
    assert model.neck.type == 'YOLOv8PAFPN'
    assert model.bbox_head.type == 'YOLOv8Head'
    assert model.train_cfg.assigner.type == 'BatchTaskAlignedAssigner'
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.optim_wrapper.optimizer.momentum == 0.937
    hooks = {h['type']: h for h in cfg.custom_hooks}
    assert hooks['EMAHook']['ema_type'] == 'ExpMomentumEMA'
    switch = hooks['PipelineSwitchHook']
    assert switch['switch_epoch'] == cfg.train_cfg.max_epochs - 10
    types = _types(cfg.train_dataloader.dataset.pipeline)
    stage2 = _types(switch['switch_pipeline'])
    assert types[2:4] == ['CachedMosaic', 'RandomAffine']
    assert stage2 == _types(cfg.mmio_train_transforms) + ['PackDetInputs']
    # nothing selected on the closed split's test images
    assert cfg.default_hooks.checkpoint.get('save_best') is None
    # the shared closed data and metrics of table 2a
    base = _cfg('configs/_base_/datasets/mmio_closed.py')
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for key in ('ann_file', 'vocabulary', 'data_root'):
            assert cfg[split].dataset[key] == base[split].dataset[key]
    assert cfg.test_evaluator == base.test_evaluator


def test_demo_is_the_closed_config_at_320_px_without_mosaic():
    cfg = _cfg(DEMO)
    assert cfg.model.backbone.norm_cfg.type == 'BN'
    types = _types(cfg.train_dataloader.dataset.pipeline)
    assert 'CachedMosaic' not in types
    resize = [t for t in cfg.train_dataloader.dataset.pipeline
              if t['type'] == 'Resize'][0]
    assert resize['scale'] == (320, 320)
    hooks = {h['type'] for h in cfg.custom_hooks}
    assert 'PipelineSwitchHook' not in hooks and 'EMAHook' not in hooks
    assert cfg.optim_wrapper.optimizer == dict(
        type='AdamW', lr=2e-3, weight_decay=0.025)


def test_seen_config_trains_on_seen_classes_and_selects_on_zs_val(
        tmp_path):
    from mmase.datasets.synthetic.mmio_generator import generate_mmio
    cfg = _cfg(SEEN)
    train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert train.ann_file == 'annotations/instances_zs_train.json'
    assert train.vocabulary == 'seen'
    assert val.ann_file == 'annotations/instances_zs_val.json'
    assert val.vocabulary == 'seen'
    # never the zero-shot test split
    assert 'zs_test' not in cfg.test_dataloader.dataset.ann_file
    assert 'zs_test' not in cfg.test_evaluator.ann_file
    assert cfg.val_evaluator.ann_file.endswith('instances_zs_val.json')
    assert cfg.default_hooks.checkpoint.save_best == 'zs/seen_bbox_mAP'
    # one logit per seen class of the generator's split
    root = tmp_path / 'mmio'
    generate_mmio(str(root), num_images=8, seed=0, img_size=64)
    with open(root / 'split.json') as f:
        seen = json.load(f)['seen']
    assert cfg.model.bbox_head.num_classes == len(seen)
    # the same recipe as the closed row
    closed = _cfg(CLOSED)
    assert cfg.optim_wrapper == closed.optim_wrapper
    assert _types(cfg.train_dataloader.dataset.pipeline) == _types(
        closed.train_dataloader.dataset.pipeline)


def test_stage1_checkpoint_loads_as_the_rtvp_expert(tmp_path):
    """The seen-class detector's `backbone.*` weights are RTVP's expert
    (rtvp_yolo-world-s_4xb8-200e_mmio-zs.py with init_cfg Pretrained +
    prefix): every expert weight comes from the checkpoint, nothing is
    missing or left over."""
    init_default_scope('mmdet')
    stage1 = _cfg(SEEN)
    torch.manual_seed(0)
    det = MODELS.build(stage1.model)
    det.init_weights()
    ckpt = tmp_path / 'best_zs_seen_bbox_mAP_epoch_1.pth'
    torch.save(dict(state_dict=det.state_dict(), meta=dict(epoch=1)), ckpt)

    rtvp = _cfg('configs/rtvp/rtvp_yolo-world-s_4xb8-200e_mmio-zs.py')
    expert_cfg = rtvp.model.expert
    for key in ('deepen_factor', 'widen_factor', 'last_stage_out_channels'):
        assert expert_cfg[key] == stage1.model.backbone[key], key
    expert_cfg.init_cfg = dict(
        type='Pretrained', checkpoint=str(ckpt), prefix='backbone.')
    torch.manual_seed(1)
    expert = MODELS.build(expert_cfg)
    expert.init_weights()
    got = expert.state_dict()
    source = {k[len('backbone.'):]: v for k, v in det.state_dict().items()
              if k.startswith('backbone.')}
    assert set(got) == set(source)
    for k, v in got.items():
        assert torch.equal(v, source[k]), k


def test_demo_trains_one_iteration_through_train_py(tmp_path):
    """tools/train.py with the demo config on a tiny generated MMIO set
    (where the config expects data/mmio_synth): one iteration, a
    checkpoint, then the closed-split evaluation with both metrics."""
    from mmase.datasets.synthetic.mmio_generator import generate_mmio
    generate_mmio(str(tmp_path / 'data' / 'mmio_synth'), num_images=12,
                  seed=0, img_size=64)
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1',
               HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    res = subprocess.run([
        sys.executable, osp.join(REPO, 'tools', 'train.py'),
        osp.join(REPO, DEMO), '--work-dir', 'wd', '--cfg-options',
        'train_dataloader.dataset.indices=2',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1'
    ], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-3000:])
    assert (tmp_path / 'wd' / 'epoch_1.pth').is_file()
    logs = [osp.join(d, f) for d, _, fs in os.walk(tmp_path / 'wd')
            for f in fs if f == 'scalars.json']
    lines = [json.loads(line) for line in open(logs[0])]
    train = [x for x in lines if 'loss' in x]
    assert len(train) == 1 and train[0]['iter'] == 1
    assert {'loss_cls', 'loss_bbox', 'loss_dfl'} <= set(train[0])
    val = [x for x in lines if 'coco/bbox_mAP' in x]
    assert len(val) == 1 and 'zs/all_precision' in val[0]
