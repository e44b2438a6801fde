# Copyright (c) mmase contributors. All rights reserved.
"""configs/_base_/datasets/*.py build and run on generated data."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmase  # noqa: F401  (registers the modules)
from mmase.datasets.synthetic import generate_ase, generate_mmio
from tests.conftest import REPO_ROOT

CFG_DIR = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets')


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp('cfg')
    mmio = str(base / 'mmio') + '/'
    ase = str(base / 'ase') + '/'
    generate_mmio(mmio, num_images=10, seed=1, img_size=128)
    generate_ase(ase, num_images=20, seed=1, img_size=64)
    return mmio, ase


def _dataset(cfg, key, root):
    ds_cfg = cfg[key].dataset
    ds_cfg.data_root = root
    return ds_cfg


@pytest.mark.parametrize('name,vocab', [('mmio_zeroshot.py', None),
                                        ('mmio_closed.py', 'all')])
def test_mmio_configs(roots, name, vocab):
    from mmdet.registry import DATASETS
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    assert cfg.img_scale == (640, 640)
    with DefaultScope.overwrite_default_scope('mmdet'):
        train = DATASETS.build(_dataset(cfg, 'train_dataloader', roots[0]))
        val = DATASETS.build(_dataset(cfg, 'val_dataloader', roots[0]))
        sample = train[0]
        out = val[0]
    assert sample['inputs'].shape[1:] == (640, 640)
    texts = sample['data_samples'].texts
    labels = sample['data_samples'].gt_instances.labels
    assert len(texts) == min(cfg.num_train_vocab, len(train.metainfo[
        'classes']))
    assert int(labels.max()) < len(texts)
    zero_shot = name.startswith('mmio_zeroshot')
    assert train.metainfo['vocabulary'] == ('seen' if zero_shot else 'all')
    if zero_shot:
        # model selection on held-out seen-only images (zs_val); the test
        # vocabulary is a config choice ('all' or 'unseen')
        assert val.metainfo['vocabulary'] == 'seen'
        assert cfg.val_dataloader.dataset.ann_file.endswith('zs_val.json')
        with DefaultScope.overwrite_default_scope('mmdet'):
            test = DATASETS.build(
                _dataset(cfg, 'test_dataloader', roots[0]))
        assert cfg.test_vocabulary in ('all', 'unseen')
        assert test.metainfo['vocabulary'] == cfg.test_vocabulary
        assert cfg.test_evaluator.ann_file.endswith(
            cfg.test_dataloader.dataset.ann_file)
    else:
        assert val.metainfo['vocabulary'] == vocab
    assert out['data_samples'].texts == list(val.metainfo['classes'])
    evaluators = cfg.val_evaluator if isinstance(
        cfg.val_evaluator, list) else [cfg.val_evaluator]
    assert [e.type for e in evaluators] == (
        ['ZeroShotCocoMetric'] if name.startswith('mmio_zeroshot') else
        ['CocoMetric', 'ZeroShotCocoMetric'])
    for e in evaluators:
        assert e.ann_file.endswith(cfg.val_dataloader.dataset.ann_file)


def test_ase_config(roots):
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(osp.join(CFG_DIR, 'ase.py'))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            ds = DATASETS.build(_dataset(cfg, key, roots[1]))
            out = ds[0]
            assert out['inputs'].shape == (3, 224, 224)
            assert out['inputs'].dtype == torch.uint8
            sample = out['data_samples']
            assert sample.numeric.shape == (len(
                ds.metainfo['numeric_fields']), )
            assert isinstance(sample.record_text, str)
            assert sample.description == ''
