# Copyright (c) mmase contributors. All rights reserved.
import copy
import importlib.util
import json
import os.path as osp

import pytest

from mmase.datasets.converters.lvis_base import lvis_base_split

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    spec = importlib.util.spec_from_file_location(
        'lvis_base_split_tool',
        osp.join(ROOT, 'tools', 'data', 'lvis_base_split.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _lvis():
    cats = [
        dict(id=1, name='zebra_rare', frequency='r', synset='a.n.01'),
        dict(id=5, name='cup_common', frequency='c', synset='b.n.01'),
        dict(id=9, name='car_frequent', frequency='f', synset='c.n.01'),
    ]
    images = [
        dict(id=i, file_name=f'{i:012d}.jpg', width=64, height=48,
             coco_url=f'http://images.cocodataset.org/train2017/{i:012d}.jpg',
             neg_category_ids=[], not_exhaustive_category_ids=[])
        for i in (1, 2, 3)
    ]

    def ann(aid, img, cat):
        return dict(id=aid, image_id=img, category_id=cat,
                    bbox=[4, 4, 10, 8], area=80.0,
                    segmentation=[[4, 4, 14, 4, 14, 12, 4, 12]])

    anns = [ann(1, 1, 1), ann(2, 1, 5), ann(3, 2, 1), ann(4, 3, 9),
            ann(5, 3, 1)]
    return dict(info=dict(year=2020), images=images, annotations=anns,
                categories=cats)


def test_rare_annotations_removed_categories_kept():
    src = _lvis()
    before = copy.deepcopy(src)
    out = lvis_base_split(src)
    assert src == before  # input untouched
    assert [a['id'] for a in out['annotations']] == [2, 4]
    assert out['categories'] == src['categories']
    assert out['images'] == src['images']
    assert out['info']['year'] == 2020
    assert out['info']['base_split'] == dict(
        dropped_frequencies=['r'], dropped_categories=1,
        dropped_annotations=3)
    both = lvis_base_split(src, drop_frequencies=('c', 'r'))
    assert [a['id'] for a in both['annotations']] == [4]


def test_tool_output_loads_in_mmdet_with_unchanged_labels(tmp_path):
    import mmase  # noqa: F401  (lvis numpy compat)
    from mmdet.datasets import LVISV1Dataset
    src = tmp_path / 'lvis_v1_train.json'
    src.write_text(json.dumps(_lvis()))
    out = tmp_path / 'lvis_v1_train_base.json'
    assert _tool().main([str(src), str(out)]) == 0
    names = tuple(c['name'] for c in _lvis()['categories'])
    ds = LVISV1Dataset(
        data_root=str(tmp_path), ann_file=out.name,
        data_prefix=dict(img=''), metainfo=dict(classes=names),
        filter_cfg=dict(filter_empty_gt=True, min_size=0), pipeline=[],
        test_mode=False)
    # image 2 held only a rare object and is filtered out as empty
    assert [d['img_id'] for d in ds] == [1, 3]
    labels = {d['img_id']: [i['bbox_label'] for i in d['instances']]
              for d in ds}
    # cup (id 5) stays label 1 and car (id 9) label 2, as in the full file
    assert labels == {1: [1], 3: [2]}


def test_bad_category_record_names_file_and_field(tmp_path):
    bad = _lvis()
    del bad['categories'][1]['frequency']
    src = tmp_path / 'train.json'
    src.write_text(json.dumps(bad))
    out = tmp_path / 'base.json'
    with pytest.raises(ValueError) as e:
        _tool().main([str(src), str(out)])
    msg = str(e.value)
    assert 'train.json' in msg and 'categories[1]' in msg
    assert '"frequency"' in msg
    assert not out.exists()

    unknown = _lvis()
    unknown['annotations'][2]['category_id'] = 77
    with pytest.raises(ValueError, match=r'annotations\[2\].*"category_id" '
                       r'77'):
        lvis_base_split(unknown, source='x.json')
    with pytest.raises(ValueError, match='missing or non-list field '
                       '"annotations"'):
        lvis_base_split(dict(images=[], categories=[]))
    with pytest.raises(ValueError, match='drop_frequencies'):
        lvis_base_split(_lvis(), drop_frequencies=('rare', ))
