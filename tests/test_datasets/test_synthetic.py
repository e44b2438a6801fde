# Copyright (c) mmase contributors. All rights reserved.
"""Procedural MMIO-style and ASE-style generators."""
import filecmp
import json
import os
import os.path as osp

import numpy as np
import pytest

from mmase.datasets.synthetic import (generate_ase, generate_mmio,
                                      load_class_spec, render_image)
from mmase.datasets.synthetic import mmio_generator
from mmase.datasets.synthetic.class_spec import transfer_gaps
from mmase.datasets.synthetic.defects import render_defect


def _load(root, name):
    with open(osp.join(root, name)) as f:
        return json.load(f)


def test_default_spec_shape_of_mmio():
    spec = load_class_spec()
    classes = spec['classes']
    assert len(classes) >= 30
    assert len(spec['supercategories']) == 6
    # one distinct surface texture per super-category
    surfaces = {s['surface'] for s in spec['supercategories'].values()}
    assert len(surfaces) == 6
    names = [c['name'] for c in classes]
    assert len(set(names)) == len(names)
    assert 'black round spot' in names and 'white round spot' in names
    seen = [c for c in classes if c['split'] == 'seen']
    unseen = [c for c in classes if c['split'] == 'unseen']
    assert seen and unseen
    assert transfer_gaps(spec) == []
    # the designed zero-shot transfer: every unseen class has a seen class of
    # its colour and a seen class of its (form, shape) with another colour
    for u in unseen:
        assert any(s['color'] == u['color'] for s in seen), u['name']
        assert any((s['form'], s['shape']) == (u['form'], u['shape'])
                   and s['color'] != u['color'] for s in seen), u['name']
    # long tail: the most frequent class is >= 5x the rarest
    freqs = [c['frequency'] for c in classes]
    assert max(freqs) >= 5 * min(freqs)
    for c in classes:
        assert len(c['descriptions']) >= 1
        assert c['color'] in c['descriptions'][1]


@pytest.fixture(scope='module')
def tiny_mmio(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('mmio') / 'set')
    summary = generate_mmio(root, num_images=12, seed=3, img_size=128)
    return root, summary


def test_mmio_layout_and_splits(tiny_mmio):
    root, summary = tiny_mmio
    for f in ('class_texts.json', 'split.json', 'class_spec.json',
              'annotations/instances_all.json',
              'annotations/instances_zs_train.json',
              'annotations/instances_zs_test.json',
              'annotations/instances_train.json',
              'annotations/instances_val.json'):
        assert osp.isfile(osp.join(root, f)), f
    coco = _load(root, 'annotations/instances_all.json')
    assert len(coco['images']) == 12
    assert len(os.listdir(osp.join(root, 'images'))) == 12
    cats = coco['categories']
    assert all({'id', 'name', 'supercategory'} <= set(c) for c in cats)
    texts = _load(root, 'class_texts.json')
    assert [t[0] for t in texts] == [c['name'] for c in cats]
    assert all(len(t) >= 2 for t in texts)

    per_img = {}
    for a in coco['annotations']:
        per_img.setdefault(a['image_id'], []).append(a)
        x, y, w, h = a['bbox']
        assert x >= 0 and y >= 0 and x + w <= 128 and y + h <= 128
        assert w >= 1 and h >= 1
    assert all(1 <= len(v) <= 6 for v in per_img.values())

    split = _load(root, 'split.json')
    id2name = {c['id']: c['name'] for c in cats}
    unseen = set(split['unseen'])
    assert not set(split['seen']) & unseen
    zs_train = _load(root, 'annotations/instances_zs_train.json')
    zs_test = _load(root, 'annotations/instances_zs_test.json')
    assert all(id2name[a['category_id']] not in unseen
               for a in zs_train['annotations'])
    test_ids = {im['id'] for im in zs_test['images']}
    has_unseen = {a['image_id'] for a in zs_test['annotations']
                  if id2name[a['category_id']] in unseen}
    assert test_ids == has_unseen and test_ids
    assert test_ids.isdisjoint(im['id'] for im in zs_train['images'])
    # zs_val: held-out seen-only images for model selection, disjoint from
    # both
    zs_val = _load(root, 'annotations/instances_zs_val.json')
    val_ids = {im['id'] for im in zs_val['images']}
    assert val_ids and val_ids.isdisjoint(test_ids)
    assert val_ids.isdisjoint(im['id'] for im in zs_train['images'])
    assert all(id2name[a['category_id']] not in unseen
               for a in zs_val['annotations'])
    assert len(zs_train['images']) + len(val_ids) + \
        len(zs_test['images']) == 12
    train = _load(root, 'annotations/instances_train.json')
    val = _load(root, 'annotations/instances_val.json')
    tr_ids = {im['id'] for im in train['images']}
    va_ids = {im['id'] for im in val['images']}
    assert not tr_ids & va_ids and len(tr_ids | va_ids) == 12
    assert len(va_ids) == round(0.2 * 12)
    assert summary['splits']['zs_test']['images'] == len(test_ids)


def test_mmio_deterministic_per_seed(tmp_path, tiny_mmio):
    root, _ = tiny_mmio
    again = str(tmp_path / 'again')
    generate_mmio(again, num_images=12, seed=3, img_size=128)
    cmp = filecmp.dircmp(root, again)
    assert not cmp.diff_files
    for sub in ('images', 'annotations'):
        _, mismatch, errors = filecmp.cmpfiles(
            osp.join(root, sub), osp.join(again, sub),
            os.listdir(osp.join(root, sub)), shallow=False)
        assert not mismatch and not errors
    other = str(tmp_path / 'other')
    generate_mmio(other, num_images=12, seed=4, img_size=128)
    a = _load(root, 'annotations/instances_all.json')['annotations']
    b = _load(other, 'annotations/instances_all.json')['annotations']
    assert [x['bbox'] for x in a] != [x['bbox'] for x in b]


def test_mmio_defects_visible():
    """Each box contains pixels that clearly differ from its surroundings."""
    spec = load_class_spec()
    for c in spec['classes']:
        c['split'] = c['split'] or 'seen'
    for i in range(6):
        out = render_image(spec, i, seed=0, img_size=320)
        img = out['img'].astype(np.float32)
        for _, (x, y, w, h) in out['objects']:
            inner = img[y:y + h, x:x + w].reshape(-1, 3)
            ring = np.concatenate([
                img[max(0, y - 3):y, x:x + w].reshape(-1, 3),
                img[y + h:y + h + 3, x:x + w].reshape(-1, 3)])
            if len(ring) == 0:
                continue
            diff = np.abs(inner - np.median(ring, 0)).sum(1).max()
            assert diff > 60, (i, x, y, w, h, diff)


def test_render_defect_sizes_and_shapes():
    rng = np.random.default_rng(0)
    for shape in ('spot', 'scratch', 'hole', 'crack', 'bubble', 'stain'):
        alpha, rim = render_defect(shape, 'round', 20, rng)
        assert alpha.shape == rim.shape == (48, 48)
        ys, xs = np.nonzero(np.maximum(alpha, rim) > 0.2)
        extent = max(xs.max() - xs.min(), ys.max() - ys.min()) + 1
        assert 8 <= extent <= 30, (shape, extent)
    with pytest.raises(KeyError, match='blob'):
        render_defect('blob', 'round', 10, rng)


def _write_spec(path, classes):
    spec = dict(
        supercategories={
            'metallurgy': dict(surface='brushed_metal', product='steel'),
            'wood': dict(surface='wood_grain')
        },
        classes=classes)
    with open(path, 'w') as f:
        json.dump(spec, f)
    return str(path)


def test_user_spec_with_three_classes(tmp_path):
    spec = _write_spec(tmp_path / 'spec.json', [
        dict(shape='spot', form='round', color='black',
             supercategory='metallurgy', split='seen', frequency=2.0),
        dict(shape='scratch', form='long', color='white', size='medium',
             supercategory='metallurgy', surfaces=['metallurgy', 'wood'],
             split='seen', name='white scratch',
             descriptions=['a bright line']),
        dict(shape='spot', form='round', color='white',
             supercategory='wood', split='unseen'),
    ])
    root = str(tmp_path / 'out')
    summary = generate_mmio(root, num_images=10, seed=0, class_spec=spec,
                            img_size=128)
    coco = _load(root, 'annotations/instances_all.json')
    assert [c['name'] for c in coco['categories']] == [
        'black round spot', 'white scratch', 'white round spot']
    assert [c['supercategory'] for c in coco['categories']] == [
        'metallurgy', 'metallurgy', 'wood']
    assert _load(root, 'split.json') == dict(
        seen=['black round spot', 'white scratch'],
        unseen=['white round spot'])
    texts = _load(root, 'class_texts.json')
    assert texts[1] == ['white scratch', 'a bright line']
    assert texts[0][1] == 'black round spot defect on steel'
    used = {a['category_id'] for a in coco['annotations']}
    assert used <= {1, 2, 3} and summary['num_classes'] == 3
    # a wood image can only show the classes allowed on wood
    sc = {im['id']: im['supercategory'] for im in coco['images']}
    for a in coco['annotations']:
        if sc[a['image_id']] == 'wood':
            assert a['category_id'] in (2, 3)
        else:
            assert a['category_id'] in (1, 2)


def test_spec_errors_name_file_and_field(tmp_path):
    bad = _write_spec(tmp_path / 'bad.json', [
        dict(shape='blob', form='round', color='black',
             supercategory='metallurgy')
    ])
    with pytest.raises(ValueError, match=r'bad\.json: classes\[0\]\.shape'):
        load_class_spec(bad)
    dup = _write_spec(tmp_path / 'dup.json', [
        dict(shape='spot', form='round', color='black',
             supercategory='metallurgy'),
        dict(shape='spot', form='round', color='black', supercategory='wood')
    ])
    with pytest.raises(ValueError, match=r'classes\[1\]\.name.*duplicate'):
        load_class_spec(dup)
    sc = _write_spec(tmp_path / 'sc.json', [
        dict(shape='spot', form='round', color='black',
             supercategory='textiles')
    ])
    with pytest.raises(ValueError, match=r'classes\[0\]\.supercategory'):
        load_class_spec(sc)


def test_failed_generation_leaves_output_untouched(tmp_path, monkeypatch):
    root = tmp_path / 'keep'
    root.mkdir()
    (root / 'marker.txt').write_text('old')
    calls = {'n': 0}
    real = mmio_generator.render_image

    def flaky(*args, **kwargs):
        calls['n'] += 1
        if calls['n'] == 3:
            raise RuntimeError('disk full')
        return real(*args, **kwargs)

    monkeypatch.setattr(mmio_generator, 'render_image', flaky)
    with pytest.raises(RuntimeError, match='disk full'):
        generate_mmio(str(root), num_images=5, img_size=96)
    assert sorted(os.listdir(root)) == ['marker.txt']
    assert [p for p in os.listdir(tmp_path) if p != 'keep'] == []


def test_generate_ase(tmp_path):
    root = str(tmp_path / 'ase')
    out = generate_ase(root, num_images=40, seed=1, img_size=64)
    meta = _load(root, 'meta.json')
    assert len(meta['classes']) == 5 and meta['classes'][0] == 'normal'
    assert len(meta['numeric_fields']) == len(meta['numeric_mean'])
    rows = {}
    for split in ('train', 'val', 'test'):
        with open(osp.join(root, 'annotations', f'{split}.jsonl')) as f:
            rows[split] = [json.loads(line) for line in f]
        # stratified: every class in every split
        assert {r['label'] for r in rows[split]} == set(meta['classes'])
    all_rows = sum(rows.values(), [])
    assert len(all_rows) == 40
    counts = [sum(r['label'] == c for r in all_rows) for c in meta['classes']]
    assert counts[0] == max(counts) and counts[0] > 2 * min(counts)
    for r in all_rows:
        assert osp.isfile(osp.join(root, r['img_path']))
        for f in meta['numeric_fields']:
            assert isinstance(r['record'][f], (int, float))
        for f in meta['text_fields']:
            assert isinstance(r['record'][f], str)
    assert out['class_counts']['train']['normal'] == sum(
        r['label'] == 'normal' for r in rows['train'])
    again = str(tmp_path / 'again')
    generate_ase(again, num_images=40, seed=1, img_size=64)
    for split in ('train', 'val', 'test'):
        assert filecmp.cmp(
            osp.join(root, 'annotations', f'{split}.jsonl'),
            osp.join(again, 'annotations', f'{split}.jsonl'), shallow=False)
    assert filecmp.cmp(osp.join(root, all_rows[0]['img_path']),
                       osp.join(again, all_rows[0]['img_path']),
                       shallow=False)


def test_ase_record_is_measured_from_the_image(tmp_path):
    """Every reliable record equals the measurement of its own rendered
    image within the stated sensor noise; faulty records are listed."""
    import cv2
    from mmase.datasets.synthetic import ase_generator as gen
    root = tmp_path / 'ase'
    generate_ase(str(root), num_images=30, seed=3, img_size=128,
                 unreliable_ratio=0.3)
    truth = _load(str(root), 'generator.json')
    assert truth['measurement_noise'] == gen.MEASUREMENT_NOISE
    faulty = {s['img_path'] for s in truth['samples'] if s['faulty_record']}
    assert 0 < len(faulty) < 30
    rows = []
    for split in ('train', 'val', 'test'):
        with open(root / 'annotations' / f'{split}.jsonl') as f:
            rows += [json.loads(line) for line in f]
    checked = 0
    for row in rows:
        img = cv2.cvtColor(cv2.imread(str(root / row['img_path'])),
                           cv2.COLOR_BGR2RGB)
        measured = gen.measure_record_fields(img)
        off = {f: abs(row['record'][f] - measured[f])
               for f in gen.MEASURED_FIELDS}
        # 4 sigma of the sensor noise, plus the rounding of the record
        within = {f: off[f] <= 4 * gen.MEASUREMENT_NOISE[f] + 0.5
                  for f in off}
        if row['img_path'] in faulty:
            continue
        assert all(within.values()), (row['img_path'], off)
        checked += 1
    assert checked == 30 - len(faulty)
    # the measurement itself is exact on a hand-made lattice (no noise)
    img = np.full((128, 128, 3), 245, np.uint8)
    for y in range(6, 124, 12):
        for x in range(6, 124, 12):
            cv2.circle(img, (x, y), 3, (228, 112, 168), -1)
    m = gen.measure_record_fields(img)
    assert m['dot_count'] == 10 * 10  # 6, 18, ..., 114 on both axes
    assert m['pitch_um'] == pytest.approx(12 * gen.um_per_px(128), rel=0.01)
    assert m['offset_rms_um'] < 1.0 * gen.um_per_px(128)
    one = np.zeros((16, 16), np.uint8)
    area = cv2.circle(one, (8, 8), 3, 1, -1).sum()  # pixels of one dot
    assert m['dot_diameter_um'] / gen.um_per_px(128) == pytest.approx(
        2 * np.sqrt(area / np.pi), rel=1e-6)


def test_ase_modalities_carry_different_signal(tmp_path):
    """The record sees a whole-board change, the pixels' description the
    location of a local one (the split the benchmark relies on)."""
    from mmase.datasets.synthetic import ase_generator as gen

    def record(label, region):
        img, _ = gen.render_pattern(label, np.random.default_rng(1), 160,
                                    strength=1.2, region=region)
        return gen.measure_record_fields(img)

    normal = record('normal', None)
    assert record('enlarged dots', dict(kind='whole'))['dot_diameter_um'] > \
        1.3 * normal['dot_diameter_um']
    assert record('dense cluster', dict(kind='whole'))['dot_count'] > \
        1.4 * normal['dot_count']
    # a shift moves the offset RMS, not the dot count or size
    shifted = record('shifted pattern', dict(kind='band', side='left',
                                            width=50.))
    assert shifted['offset_rms_um'] > 2 * normal['offset_rms_um']
    assert shifted['dot_diameter_um'] == pytest.approx(
        normal['dot_diameter_um'], rel=0.05)
