# Copyright (c) mmase contributors. All rights reserved.
"""Shared pytest fixtures. Everything runs offline on CPU."""
import json
import os
import os.path as osp

import numpy as np
import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def write_tiny_coco(root: str,
                    num_images: int = 6,
                    size: int = 64,
                    classes=('bright square', 'dark square'),
                    seed: int = 0) -> str:
    """Write a tiny COCO set: grey images with one bright/dark square each.

    Returns:
        str: Path of the annotation file (``root/annotations.json``).
    """
    import cv2
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    images, anns = [], []
    for i in range(num_images):
        img = np.full((size, size, 3), 128, np.uint8)
        label = i % len(classes)
        w = int(rng.integers(size // 4, size // 2))
        x, y = (int(v) for v in rng.integers(0, size - w, 2))
        img[y:y + w, x:x + w] = 250 if label == 0 else 5
        name = f'images/{i:03d}.png'
        cv2.imwrite(osp.join(root, name), img)
        images.append(dict(id=i, file_name=name, width=size, height=size))
        anns.append(
            dict(id=i, image_id=i, category_id=label + 1,
                 bbox=[x, y, w, w], area=w * w, iscrowd=0))
    cats = [dict(id=k + 1, name=n) for k, n in enumerate(classes)]
    ann_file = osp.join(root, 'annotations.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    return ann_file


TINY_DET_CONFIG = '''
_base_ = '{repo}/configs/_base_/default_runtime.py'
data_root = '{data_root}/'
metainfo = dict(classes=('bright square', 'dark square'))
model = dict(
    type='YOLOX',
    data_preprocessor=dict(type='DetDataPreprocessor', pad_size_divisor=32),
    backbone=dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.125,
                  out_indices=(2, 3, 4)),
    neck=dict(type='YOLOXPAFPN', in_channels=[32, 64, 128], out_channels=32,
              num_csp_blocks=1),
    bbox_head=dict(type='YOLOXHead', num_classes=2, in_channels=32,
                   feat_channels=32, stacked_convs=1),
    train_cfg=dict(assigner=dict(type='SimOTAAssigner', center_radius=2.5)),
    test_cfg=dict(score_thr=0.01, nms=dict(type='nms', iou_threshold=0.65),
                  max_per_img=10))
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                          'img_shape', 'scale_factor')),
]
dataset = dict(type='CocoDataset', data_root=data_root, metainfo=metainfo,
               ann_file='annotations.json', data_prefix=dict(img=''),
               filter_cfg=dict(filter_empty_gt=False), pipeline=pipeline)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dataset)
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(dataset, pipeline=test_pipeline,
                                   test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric',
                     ann_file=data_root + 'annotations.json', metric='bbox')
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs={max_epochs},
                 val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=10),
                     visualization=dict(type='DetVisualizationHook'))
'''


@pytest.fixture
def tiny_det_config(tmp_path):
    """A tiny mmdet YOLOX config on a tiny COCO set; returns a factory
    ``make(max_epochs=2) -> config path``."""
    data_root = tmp_path / 'data'
    write_tiny_coco(str(data_root))

    def make(max_epochs: int = 2, name: str = 'tiny_det.py') -> str:
        path = tmp_path / name
        path.write_text(
            TINY_DET_CONFIG.format(
                repo=REPO_ROOT, data_root=data_root, max_epochs=max_epochs))
        return str(path)

    return make


@pytest.fixture(autouse=True, scope='session')
def _one_torch_thread():
    """Run the suite with one torch thread: the small convs of the tiny
    models run much faster single-threaded on a shared 2-core CPU (module
    fixtures that build or export models included)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _isolate_default_scope():
    """Start every test without an mmengine default scope, whatever earlier
    tests or module fixtures set (``init_default_scope``, Runner, dataset
    builds), so tests of mmdet and mmpretrain modules do not depend on their
    order."""
    from mmengine.registry import DefaultScope
    DefaultScope._instance_dict.clear()
    yield


@pytest.fixture(scope='session')
def caption_bert(tmp_path_factory):
    """A tiny random BERT with 512 positions and the uncased BERT vocabulary
    (what tools/misc/make_tiny_bert.py writes) for the GLIP / Grounding
    DINO configs: GLIP pads captions to 256 tokens."""
    from mmase.testing import make_tiny_bert
    return make_tiny_bert(str(tmp_path_factory.mktemp('b') / 'bert'),
                          hidden_size=32, num_layers=1, intermediate_size=128,
                          max_positions=512, tokenizer='packaged')


def build_demo_model(cfg, language_model: str):
    """Build ``cfg.model`` in the mmdet scope (seed 0, weights initialised,
    train mode), with ``language_model`` as GLIP's / Grounding DINO's
    caption encoder."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    if 'language_model' in cfg.model:
        cfg.model.language_model.name = language_model
        if 'lang_model_name' in cfg.model.bbox_head:
            cfg.model.bbox_head.lang_model_name = language_model
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    return model
