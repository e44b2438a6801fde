# Copyright (c) mmase contributors. All rights reserved.
"""Every ASE config parses, builds its model and computes a loss."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmase  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIGS = [
    'pfa-cmaf_effnet-lite0_1xb16-8e_ase.py',
    'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-pfa.py',
    'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-cmaf.py',
    'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-aug.py',
    'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-sampler.py',
    'pfa-cmaf_effnet-lite0_1xb16-8e_ase_image-only.py',
    'descriptor-only_minilm_1xb16-8e_ase.py',
    'resnet50_1xb16-3e_ase.py',
    'deit-tiny_1xb16-6e_ase.py',
    'protonet_resnet18-half_1xb20-8e_ase.py'
]
# building is slow on CPU (ResNet-50, MiniLM): build the configs whose model
# differs in kind, parse the others
BUILD = ('pfa-cmaf_effnet-lite0_1xb16-8e_ase.py',
         'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-cmaf.py',
         'descriptor-only_minilm_1xb16-8e_ase.py',
         'deit-tiny_1xb16-6e_ase.py',
         'protonet_resnet18-half_1xb20-8e_ase.py')
TDA = {'AOIDotJitter', 'AOIColorShift', 'RecordFieldDropout',
       'DescriptionParaphrase'}


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_and_computes_loss(name):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'ase', name))
    assert cfg.model.head.num_classes == 5
    _check_pipeline(cfg, name)
    if name == 'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-pfa.py':
        assert cfg.model.align_loss is None
    if name == 'resnet50_1xb16-3e_ase.py':
        assert cfg.model.backbone.depth == 50
    if name not in BUILD:
        return
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    n = 4
    samples = []
    for i in range(n):
        s = DataSample().set_gt_label(i % 2)
        s.set_field(np.arange(9, dtype=np.float32) + i, 'numeric')
        s.set_field('machine_id: AOI-01; operator_note: ok', 'record_text')
        s.set_field('AOI sample. Unusual measurements: dot_count high.',
                    'description')
        samples.append(s)
    size = 128 if 'deit' in name else 64
    data = model.data_preprocessor(
        dict(inputs=[torch.randint(0, 255, (3, size, size),
                                   dtype=torch.uint8) for _ in range(n)],
             data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    assert ('loss_align' in losses) == (name in (
        'pfa-cmaf_effnet-lite0_1xb16-8e_ase.py',
        'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-cmaf.py'))
    if name == 'descriptor-only_minilm_1xb16-8e_ase.py':
        # no image branch: the image does not change the logits
        model.eval()
        logits = model(data['inputs'], data['data_samples'], mode='tensor')
        other = model(torch.zeros_like(data['inputs']), data['data_samples'],
                      mode='tensor')
        assert torch.equal(logits, other)


def _augmentations(pipeline):
    types = set()
    for t in pipeline:
        if t['type'] == 'TailClassAugment':
            types |= {a['type'] for a in t['transforms']}
    return types


def _check_pipeline(cfg, name):
    pipeline = cfg.train_dataloader.dataset.pipeline
    sampler = cfg.train_dataloader.sampler.type
    full = ('pfa-cmaf_effnet-lite0_1xb16-8e_ase.py',
            'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-pfa.py',
            'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-cmaf.py',
            'pfa-cmaf_effnet-lite0_1xb16-8e_ase_image-only.py')
    if name in full:
        assert _augmentations(pipeline) == TDA
        assert sampler == 'ClassBalancedSampler'
    # each ablation removes one thing only
    if name == 'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-aug.py':
        assert _augmentations(pipeline) == set()
        assert sampler == 'ClassBalancedSampler'
    if name == 'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-sampler.py':
        assert _augmentations(pipeline) == TDA
        assert sampler == 'DefaultSampler'
    if name in full or name in (
            'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-aug.py',
            'pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-sampler.py'):
        # the head class is never augmented
        tail = [t for t in pipeline if t['type'] == 'TailClassAugment']
        for t in tail:
            counts = t['class_counts']
            assert counts.index(max(counts)) == 0
