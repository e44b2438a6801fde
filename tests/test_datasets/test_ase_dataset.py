# Copyright (c) mmase contributors. All rights reserved.
"""ASEDataset: record parsing, descriptions, packing, errors."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS

import mmase  # noqa: F401  (registers the modules)
from mmase.datasets import ASEDataset
from mmase.datasets.synthetic import generate_ase


@pytest.fixture(scope='module')
def ase_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('ase') / 'set')
    generate_ase(root, num_images=20, seed=0, img_size=64)
    return root


def _build(root, **kwargs):
    cfg = dict(type='ASEDataset', data_root=root,
               ann_file='annotations/train.jsonl', pipeline=[])
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(cfg)


def _rows(root, split='train'):
    with open(osp.join(root, 'annotations', f'{split}.jsonl')) as f:
        return [json.loads(line) for line in f]


def test_data_info(ase_root):
    ds = _build(ase_root)
    assert isinstance(ds, ASEDataset)
    with open(osp.join(ase_root, 'meta.json')) as f:
        meta = json.load(f)
    assert ds.metainfo['classes'] == tuple(meta['classes'])
    assert ds.metainfo['numeric_fields'] == tuple(meta['numeric_fields'])
    rows = _rows(ase_root)
    assert len(ds) == len(rows)
    info = ds.get_data_info(0)
    row = rows[0]
    assert info['img_path'] == osp.join(ase_root, row['img_path'])
    assert info['gt_label'] == meta['classes'].index(row['label'])
    assert info['numeric'].dtype == np.float32
    np.testing.assert_allclose(
        info['numeric'],
        [row['record'][f] for f in meta['numeric_fields']], rtol=1e-6)
    assert info['record_text'] == '; '.join(
        f'{f}: {row["record"][f]}' for f in meta['text_fields'])
    assert info['record_text'].startswith('machine_id: AOI-0')
    assert info['description'] == ''


def test_normalize_and_descriptions(ase_root, tmp_path):
    ds = _build(ase_root, normalize_numeric=True)
    with open(osp.join(ase_root, 'meta.json')) as f:
        meta = json.load(f)
    raw = np.array([[r['record'][f] for f in meta['numeric_fields']]
                    for r in _rows(ase_root)], np.float32)
    got = np.stack([ds.get_data_info(i)['numeric'] for i in range(len(ds))])
    expect = (raw - np.array(meta['numeric_mean'], np.float32)) / np.array(
        meta['numeric_std'], np.float32)
    np.testing.assert_allclose(got, expect, rtol=1e-4, atol=1e-4)
    # the generator computes the stats on train: standardised train ~ N(0,1)
    np.testing.assert_allclose(got.mean(0), 0, atol=1e-3)

    rows = _rows(ase_root)
    cache = tmp_path / 'desc.jsonl'
    cache.write_text(
        json.dumps(dict(img_path=rows[1]['img_path'],
                        description='dense pink dot grid')) + '\n')
    ds = _build(ase_root, description_file=str(cache))
    assert ds.get_data_info(1)['description'] == 'dense pink dot grid'
    assert ds.get_data_info(0)['description'] == ''


def test_pack_inputs(ase_root):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(32, 32)),
        dict(type='PackInputs',
             algorithm_keys=['numeric', 'record_text', 'description']),
    ]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = _build(ase_root, pipeline=pipeline)
    out = ds[0]
    sample = out['data_samples']
    assert out['inputs'].shape == (3, 32, 32)
    assert sample.numeric.shape == (len(ds.metainfo['numeric_fields']), )
    assert sample.record_text.startswith('machine_id:')
    assert sample.description == ''
    assert int(sample.gt_label) == ds.get_data_info(0)['gt_label']


def _bad_set(tmp_path, ase_root, mutate, line=2):
    rows = _rows(ase_root)
    mutate(rows[line - 1])
    path = tmp_path / 'bad.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return str(path)


def test_errors_name_file_line_field(ase_root, tmp_path):
    bad = _bad_set(tmp_path, ase_root,
                   lambda r: r['record'].pop('pitch_um'))
    with pytest.raises(ValueError,
                       match=r'bad\.jsonl:2: record\.pitch_um: missing'):
        _build(ase_root, ann_file=bad)
    with open(osp.join(ase_root, 'meta.json')) as f:
        last = json.load(f)['numeric_fields'][-1]  # whatever the generator has
    bad = _bad_set(tmp_path, ase_root,
                   lambda r: r['record'].update({last: '97.1'}), line=3)
    with pytest.raises(ValueError, match=rf'bad\.jsonl:3: record\.{last}: '
                       r'not a finite number: "97\.1"'):
        _build(ase_root, ann_file=bad)
    bad = _bad_set(tmp_path, ase_root, lambda r: r.update(label='scratch'))
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: label: 'scratch' "
                       r'is not one of the classes'):
        _build(ase_root, ann_file=bad)
    bad = _bad_set(tmp_path, ase_root,
                   lambda r: r['record'].pop('machine_id'))
    with pytest.raises(ValueError, match=r'record\.machine_id: missing'):
        _build(ase_root, ann_file=bad)
    with pytest.raises(FileNotFoundError, match='nometa.json'):
        _build(ase_root, meta_file='nometa.json')
