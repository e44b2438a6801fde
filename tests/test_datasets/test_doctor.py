# Copyright (c) mmase contributors. All rights reserved.
"""Dataset doctor: one deliberately broken file per rule."""
import copy
import json

import numpy as np
import pytest
from PIL import Image

from mmase.datasets.doctor import (check_class_texts, check_coco_dict,
                                   check_split, diagnose)


@pytest.fixture
def coco_set(tmp_path):
    """A valid MMIO-layout set: 2 images of 20x10, 2 classes."""
    root = tmp_path / 'set'
    (root / 'images').mkdir(parents=True)
    (root / 'annotations').mkdir()
    for i in range(2):
        Image.new('RGB', (20, 10)).save(root / 'images' / f'{i}.png')
    coco = dict(
        images=[dict(id=i + 1, file_name=f'{i}.png', width=20, height=10)
                for i in range(2)],
        annotations=[
            dict(id=1, image_id=1, category_id=1, bbox=[1, 1, 5, 5],
                 area=25, iscrowd=0),
            dict(id=2, image_id=2, category_id=2, bbox=[2, 2, 4, 3],
                 area=12, iscrowd=0),
        ],
        categories=[dict(id=1, name='black spot', supercategory='metal'),
                    dict(id=2, name='white scratch', supercategory='metal')])
    write(root / 'annotations' / 'instances_all.json', coco)
    write(root / 'class_texts.json',
          [['black spot', 'a dark dot'], ['white scratch', 'a bright line']])
    write(root / 'split.json', dict(seen=['black spot'],
                                    unseen=['white scratch']))
    return root, coco


def write(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


def rules_of(coco, root, **kw):
    rep = check_coco_dict(coco, 'x.json', str(root / 'images'), **kw)
    return rep, rep.rules()


def test_valid_set_has_no_problem(coco_set):
    root, _ = coco_set
    assert diagnose(str(root)).problems == []
    assert diagnose(str(root / 'annotations' / 'instances_all.json')).ok


def test_schema(coco_set):
    root, coco = coco_set
    rep, rules = rules_of(dict(images=[], categories=[]), root)
    assert rules == {'schema'}
    assert str(rep.problems[0]) == 'x.json: top level: annotations: ' \
        'missing or not a list'
    bad = copy.deepcopy(coco)
    del bad['images'][1]['width']
    rep, rules = rules_of(bad, root)
    assert 'schema' in rules
    assert any(p.item == 'image id=2' and p.field == 'width'
               for p in rep.problems)
    path = root / 'broken.json'
    path.write_text('{"images": [')
    rep = diagnose(str(path))
    assert rep.rules() == {'schema'} and 'invalid JSON' in str(rep.problems[0])


def test_duplicate_ids(coco_set):
    root, coco = coco_set
    bad = copy.deepcopy(coco)
    bad['annotations'][1]['id'] = 1
    rep, rules = rules_of(bad, root)
    assert rules == {'duplicate_id'}
    assert rep.problems[0].item == 'annotation id=1'


def test_missing_and_corrupt_images(coco_set):
    root, coco = coco_set
    (root / 'images' / '1.png').unlink()
    rep, rules = rules_of(coco, root)
    assert rules == {'missing_image'}
    assert rep.problems[0].item == 'image id=2'
    assert rep.problems[0].field == 'file_name'
    (root / 'images' / '1.png').write_bytes(b'\x89PNG\r\n\x1a\nnot really')
    rep, rules = rules_of(coco, root)
    assert rules == {'corrupt_image'}
    # the cleaned copy drops the image and its annotation
    assert [im['id'] for im in rep.cleaned['images']] == [1]
    assert [a['id'] for a in rep.cleaned['annotations']] == [1]


def test_size_mismatch(coco_set):
    root, coco = coco_set
    Image.new('RGB', (30, 10)).save(root / 'images' / '0.png')
    rep, rules = rules_of(coco, root)
    assert rules == {'size_mismatch'}
    assert 'declared 20x10, file is 30x10' in str(rep.problems[0])
    assert rep.cleaned['images'][0]['width'] == 30


def test_boxes_outside_zero_area_nan(coco_set):
    root, coco = coco_set
    bad = copy.deepcopy(coco)
    bad['annotations'] += [
        dict(id=3, image_id=1, category_id=1, bbox=[15, 5, 10, 10],
             area=100, iscrowd=0),
        dict(id=4, image_id=1, category_id=1, bbox=[3, 3, 0, 4], area=0,
             iscrowd=0),
        dict(id=5, image_id=1, category_id=1, bbox=[3, float('nan'), 2, 2],
             area=4, iscrowd=0),
        dict(id=6, image_id=1, category_id=1, bbox=[50, 50, 5, 5],
             area=25, iscrowd=0),
    ]
    path = write(root / 'annotations' / 'instances_all.json', bad)
    rep = diagnose(path)
    by_id = {p.item: p.rule for p in rep.problems}
    assert by_id == {'annotation id=3': 'box_outside',
                     'annotation id=4': 'zero_area',
                     'annotation id=5': 'nan_box',
                     'annotation id=6': 'box_outside'}
    assert all(p.field == 'bbox' for p in rep.problems)
    cleaned = {a['id']: a['bbox'] for a in rep.cleaned['annotations']}
    # clipped to the 20x10 image; boxes with nothing inside dropped
    assert cleaned == {1: [1, 1, 5, 5], 2: [2, 2, 4, 3],
                       3: [15, 5, 5.0, 5.0]}


def test_unknown_category_and_image(coco_set):
    root, coco = coco_set
    bad = copy.deepcopy(coco)
    bad['annotations'][0]['category_id'] = 9
    bad['annotations'][1]['image_id'] = 7
    rep, rules = rules_of(bad, root)
    assert rules == {'unknown_category', 'unknown_image'}
    assert {(p.item, p.field) for p in rep.problems} == {
        ('annotation id=1', 'category_id'), ('annotation id=2', 'image_id')}
    assert rep.cleaned['annotations'] == []


def test_duplicate_names(coco_set):
    root, coco = coco_set
    bad = copy.deepcopy(coco)
    bad['categories'][1]['name'] = 'black spot'
    rep, rules = rules_of(bad, root)
    assert rules == {'duplicate_name'}
    assert rep.problems[0].item == 'category id=2'
    assert 'also category id=1' in rep.problems[0].message


def test_classes_without_text(coco_set, tmp_path):
    path = write(tmp_path / 'texts.json', [['black spot', 'a dark dot']])
    rep = check_class_texts(path, ['black spot', 'white scratch'])
    assert rep.rules() == {'class_without_text'}
    assert str(rep.problems[0]) == (f"{path}: class 'white scratch': texts: "
                                    f'class has no text entry')
    path = write(tmp_path / 'texts2.json', [['black spot'], ['hole'], []])
    rep = check_class_texts(path, ['black spot'])
    assert rep.rules() == {'unknown_text_class', 'schema'}
    path = write(tmp_path / 'texts3.json', [['black spot', 'x'],
                                            ['black spot', 'y']])
    rep = check_class_texts(path, ['black spot'])
    assert [(p.item, p.rule) for p in rep.problems] == [('[1]',
                                                         'duplicate_name')]


def test_split_overlap_and_unknown(tmp_path):
    path = write(tmp_path / 'split.json',
                 dict(seen=['a', 'b'], unseen=['b', 'zz']))
    rep = check_split(path, ['a', 'b'])
    assert rep.rules() == {'split_overlap', 'unknown_split_class'}
    items = {p.item: p.rule for p in rep.problems}
    assert items == {"class 'b'": 'split_overlap',
                     'unseen[1]': 'unknown_split_class'}


def test_mmio_root_finds_side_file_problems(coco_set):
    root, _ = coco_set
    write(root / 'split.json', dict(seen=['black spot', 'white scratch'],
                                    unseen=['black spot']))
    (root / 'class_texts.json').unlink()
    rep = diagnose(str(root))
    assert rep.rules() == {'split_overlap', 'missing_file'}


@pytest.fixture
def ase_set(tmp_path):
    root = tmp_path / 'ase'
    (root / 'images').mkdir(parents=True)
    (root / 'annotations').mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / 'images' /
                                                         'a.png')
    write(root / 'meta.json', dict(classes=['normal', 'shift'],
                                   numeric_fields=['dot_count', 'yield'],
                                   text_fields=['machine_id']))
    rows = [
        # line 1: numeric field "yield" missing
        dict(img_path='images/a.png', label='normal',
             record=dict(dot_count=3, machine_id='M1')),
        # line 2: non-numeric value
        dict(img_path='images/a.png', label='shift',
             record=dict(dot_count='many', machine_id='M1', **{'yield': 2})),
        # line 3: image file missing
        dict(img_path='images/b.png', label='normal',
             record=dict(dot_count=1, machine_id='M1', **{'yield': 2})),
        # line 4: label not in meta.json
        dict(img_path='images/a.png', label='scratch',
             record=dict(dot_count=1, machine_id='M1', **{'yield': 2})),
        # line 5: valid
        dict(img_path='images/a.png', label='normal',
             record=dict(dot_count=1, machine_id='M1', **{'yield': 2})),
    ]
    (root / 'annotations' / 'train.jsonl').write_text(
        ''.join(json.dumps(r) + '\n' for r in rows))
    return root


def test_ase_rules(ase_set):
    rep = diagnose(str(ase_set))
    got = {(p.item, p.field, p.rule) for p in rep.problems}
    assert got == {('line 1', 'record.yield', 'missing_field'),
                   ('line 2', 'record.dot_count', 'non_numeric'),
                   ('line 3', 'img_path', 'missing_image'),
                   ('line 4', 'label', 'unknown_category')}
    rep = diagnose(str(ase_set / 'annotations' / 'train.jsonl'))
    assert len(rep.cleaned) == 1 and rep.cleaned[0]['record']['yield'] == 2
