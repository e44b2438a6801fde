# Copyright (c) mmase contributors. All rights reserved.
"""MMIODataset: vocabulary selection, texts, label remapping, errors."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope

import mmase  # noqa: F401  (registers the modules)
from mmase.datasets import MMIODataset
from mmase.datasets.synthetic import generate_mmio

CATS = ['black round spot', 'white long scratch', 'white round spot']


def _write(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


@pytest.fixture
def hand_set(tmp_path):
    """3 classes, 3 images of 40x30; hand-checked label expectations."""
    (tmp_path / 'images').mkdir()
    images = []
    for i in range(3):
        cv2.imwrite(str(tmp_path / 'images' / f'{i}.png'),
                    np.full((30, 40, 3), 120, np.uint8))
        images.append(dict(id=i + 1, file_name=f'{i}.png', width=40,
                           height=30))
    anns = [
        # image 1: seen only; image 2: seen + unseen; image 3: unseen only
        dict(id=1, image_id=1, category_id=1, bbox=[1, 1, 5, 5]),
        dict(id=2, image_id=1, category_id=2, bbox=[10, 10, 8, 3]),
        dict(id=3, image_id=2, category_id=2, bbox=[2, 2, 9, 4]),
        dict(id=4, image_id=2, category_id=3, bbox=[20, 5, 6, 6]),
        dict(id=5, image_id=3, category_id=3, bbox=[30, 20, 4, 4]),
    ]
    for a in anns:
        a.update(area=a['bbox'][2] * a['bbox'][3], iscrowd=0)
    cats = [dict(id=k + 1, name=n, supercategory='metallurgy')
            for k, n in enumerate(CATS)]
    _write(tmp_path / 'ann.json',
           dict(images=images, annotations=anns, categories=cats))
    _write(tmp_path / 'class_texts.json',
           [[n, f'{n} on steel', f'a {n}'] for n in CATS])
    _write(tmp_path / 'split.json',
           dict(seen=CATS[:2], unseen=CATS[2:]))
    return tmp_path


def _build(root, **kwargs):
    cfg = dict(type='MMIODataset', data_root=str(root), ann_file='ann.json',
               data_prefix=dict(img='images/'),
               class_text_path='class_texts.json', pipeline=[],
               test_mode=True)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def _labels(info):
    return [inst['bbox_label'] for inst in info['instances']]


def test_vocabulary_all(hand_set):
    ds = _build(hand_set)
    assert isinstance(ds, MMIODataset)
    assert ds.metainfo['classes'] == tuple(CATS)
    assert len(ds.metainfo['palette']) == 3
    assert len(ds) == 3
    info = ds.get_data_info(1)
    assert _labels(info) == [1, 2]
    assert info['texts'][2] == ['white round spot', 'white round spot on '
                                'steel', 'a white round spot']
    assert info['img_path'] == osp.join(str(hand_set), 'images/', '1.png')


def test_vocabulary_seen_and_unseen(hand_set):
    seen = _build(hand_set, split_path='split.json', vocabulary='seen')
    assert seen.metainfo['classes'] == tuple(CATS[:2])
    assert [_labels(seen.get_data_info(i)) for i in range(3)] == [[0, 1],
                                                                  [1], []]
    assert [t[0] for t in seen.get_data_info(0)['texts']] == CATS[:2]
    unseen = _build(hand_set, split_path='split.json', vocabulary='unseen')
    assert unseen.metainfo['classes'] == ('white round spot', )
    # seen annotations dropped, the unseen class becomes label 0
    assert [_labels(unseen.get_data_info(i)) for i in range(3)] == [[], [0],
                                                                    [0]]
    assert unseen.get_data_info(1)['instances'][0]['bbox'] == [20, 5, 26, 11]
    assert unseen.get_data_info(0)['texts'] == [[
        'white round spot', 'white round spot on steel', 'a white round spot'
    ]]


def test_filter_empty_gt_uses_active_vocabulary(hand_set):
    ds = _build(hand_set, split_path='split.json', vocabulary='unseen',
                test_mode=False, filter_cfg=dict(filter_empty_gt=True))
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == [2, 3]


def test_metainfo_classes_reorder(hand_set):
    ds = _build(hand_set,
                metainfo=dict(classes=('white round spot',
                                       'black round spot')))
    assert ds.metainfo['classes'] == ('white round spot', 'black round spot')
    # image 2 has 'white long scratch' (dropped) and 'white round spot'
    assert _labels(ds.get_data_info(1)) == [0]
    assert _labels(ds.get_data_info(0)) == [1]


def test_errors_name_file_and_item(hand_set):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        _build(hand_set, class_text_path='nope.json')
    _write(hand_set / 'texts_missing.json', [[n] for n in CATS[:2]])
    with pytest.raises(ValueError,
                       match=r"texts_missing\.json.*'white round spot'"):
        _build(hand_set, class_text_path='texts_missing.json')
    _write(hand_set / 'texts_bad.json', [['black round spot'], [],
                                         ['white round spot']])
    with pytest.raises(ValueError, match=r'texts_bad\.json: \[1\]: texts: '
                       r'must be a non-empty list'):
        _build(hand_set, class_text_path='texts_bad.json')
    _write(hand_set / 'split_unknown.json',
           dict(seen=['black round spot', 'rust'], unseen=[]))
    with pytest.raises(ValueError,
                       match=r"split_unknown\.json: seen\[1\]: seen: "
                       r"'rust' is not a category"):
        _build(hand_set, split_path='split_unknown.json', vocabulary='seen')
    _write(hand_set / 'split_overlap.json',
           dict(seen=CATS[:2], unseen=CATS[1:]))
    with pytest.raises(ValueError,
                       match=r"split_overlap\.json.*'white long scratch'"):
        _build(hand_set, split_path='split_overlap.json', vocabulary='seen')
    _write(hand_set / 'split_nolist.json', dict(seen=CATS))
    with pytest.raises(ValueError, match=r'split_nolist\.json: top level: '
                       r'unseen: missing or not a list'):
        _build(hand_set, split_path='split_nolist.json', vocabulary='seen')
    with pytest.raises(ValueError, match='needs split_path'):
        _build(hand_set, vocabulary='unseen')
    with pytest.raises(ValueError, match='vocabulary must be one of'):
        _build(hand_set, vocabulary='novel')


def test_pipeline_on_generated_set(tmp_path):
    root = str(tmp_path / 'mmio')
    generate_mmio(root, num_images=8, seed=0, img_size=128)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(96, 96), keep_ratio=True),
        dict(type='RandomVocabulary', num_vocab=5),
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                        'scale_factor', 'texts')),
    ]
    with DefaultScope.overwrite_default_scope('mmdet'):
        ds = DATASETS.build(
            dict(type='MMIODataset', data_root=root,
                 ann_file='annotations/instances_zs_train.json',
                 data_prefix=dict(img='images/'), split_path='split.json',
                 vocabulary='seen', pipeline=pipeline))
    with open(osp.join(root, 'split.json')) as f:
        seen = json.load(f)['seen']
    assert list(ds.metainfo['classes']) == seen
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        names = [ds.metainfo['classes'][lab] for lab in _labels(info)]
        out = ds[i]
        sample = out['data_samples']
        texts = sample.texts
        assert isinstance(texts, list) and all(
            isinstance(t, str) for t in texts)
        assert len(texts) == max(5, len(set(names)))
        labels = sample.gt_instances.labels.tolist()
        assert sorted(texts[lab] for lab in labels) == sorted(names)
        assert out['inputs'].shape[1:] == (96, 96)
