# Copyright (c) mmase contributors. All rights reserved.
"""The validation core: one wording for the doctor and the datasets."""
import copy
import json

import pytest
from PIL import Image

from mmase.datasets.doctor import diagnose
from mmase.datasets.validation import (DataError, Problem, Report,
                                       check_ase_meta, check_ase_row,
                                       check_coco, check_rel_path,
                                       jsonl_rows, read_image_size)
from tests.test_reliability.test_bad_inputs import (build_ase, build_mmio,
                                                    make_ase, make_mmio)


def test_problem_wording():
    assert str(Problem('a.json', 'image id=3', 'width', 'not a number')) \
        == 'a.json: image id=3: width: not a number'
    # a JSON-lines record is named file:line, as load_jsonl does
    assert str(Problem('t.jsonl', 'line 7', 'label', 'unknown')) == \
        't.jsonl:7: label: unknown'
    assert str(Problem('t.jsonl', 'line 7', '', 'invalid JSON (x)')) == \
        't.jsonl:7: invalid JSON (x)'
    assert str(Problem('m.json', '', '', 'invalid JSON (x)')) == \
        'm.json: invalid JSON (x)'


def test_report_collects_or_stops():
    rep = Report()
    rep.add('a.json', 'x', 'f', 'one', 'schema')
    rep.add('a.json', 'y', 'f', 'two', 'schema')
    assert [p.message for p in rep.problems] == ['one', 'two']
    stop = Report(stop_at_first=True, target='data/set')
    with pytest.raises(DataError) as err:
        stop.add('a.json', 'x', 'f', 'one', 'schema')
    assert isinstance(err.value, ValueError)
    assert str(err.value).startswith('a.json: x: f: one (first problem')
    assert 'check_dataset.py data/set' in str(err.value)
    assert err.value.problem == Problem('a.json', 'x', 'f', 'one', 'schema')
    with pytest.raises(FileNotFoundError, match='^b.json: file not found$'):
        stop.add('b.json', '', '', 'file not found', 'missing_file')


def test_types_are_not_coerced():
    coco = dict(
        images=[dict(id=1, file_name='a.png', width=8, height=8),
                dict(id=True, file_name='b.png', width=8, height=8),
                dict(id=3, file_name='c.png', width=True, height=8)],
        annotations=[dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 2, 2]),
                     dict(id=2, image_id=1, category_id=1.0,
                          bbox=[0, 0, 2, 2]),
                     dict(id=3, image_id=1, category_id=1,
                          bbox=[0, 0, True, 2]),
                     [1, 2]],
        categories=[dict(id=1, name='dent'), dict(id=2, name=None)])
    rep = Report()
    cleaned = check_coco(coco, 'x.json', rep)
    assert [str(p) for p in rep.problems] == [
        'x.json: category id=2: name: missing or empty: null',
        'x.json: images[1]: id: missing or not an integer: true',
        'x.json: image id=3: width: missing or not a positive number: true',
        'x.json: annotation id=2: category_id: expected an integer id, got '
        '1.0',
        'x.json: annotation id=3: bbox: expected 4 numbers, got [0, 0, '
        'true, 2]',
        'x.json: annotations[3]: type: expected an object, got array',
    ]
    assert [a['id'] for a in cleaned['annotations']] == [1]


@pytest.mark.parametrize('path,ok', [
    ('a.png', True), ('sub/../a.png', True), ('./a/b.png', True),
    ('../a.png', False), ('a/../../b.png', False), ('/abs/a.png', False),
    ('C:/x/a.png', False), ('..', False), ('', False), (None, False),
])
def test_rel_path(path, ok):
    rep = Report()
    assert check_rel_path(rep, 'f.json', 'image id=1', 'file_name', path,
                          'the image folder') is ok
    assert rep.ok is ok


@pytest.mark.parametrize('fmt', ['jpg', 'png', 'webp'])
@pytest.mark.parametrize('orientation,size', [(1, (40, 20)), (3, (40, 20)),
                                              (6, (20, 40)), (8, (20, 40))])
def test_image_size_in_loader_frame(fmt, orientation, size, tmp_path):
    """Width and height as OpenCV (mmcv's loader) returns the image."""
    cv2 = pytest.importorskip('cv2')
    path = str(tmp_path / f'a.{fmt}')
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.new('RGB', (40, 20), (50, 90, 10)).save(path, exif=exif.tobytes())
    assert read_image_size(path) == (size, orientation, '')
    assert read_image_size(path, decode=True) == (size, orientation, '')
    h, w = cv2.imread(path, cv2.IMREAD_COLOR).shape[:2]
    assert (w, h) == size


def test_image_size_header_only(tmp_path):
    path = str(tmp_path / 'cut.png')
    Image.effect_noise((64, 64), 50).convert('RGB').save(path)
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    # the header is intact: the size is known without decoding ...
    assert read_image_size(path) == ((64, 64), 1, '')
    # ... and decoding finds the truncation (the doctor's mode)
    size, _, why = read_image_size(path, decode=True)
    assert size is None and why.startswith('unreadable')
    assert read_image_size(str(tmp_path / 'no.png')) == (None, 1, 'missing')


def test_jsonl_rows_in_file_order(tmp_path):
    path = tmp_path / 'a.jsonl'
    path.write_text('{"a": 1}\n[1]\n\n{"a": 2\n{"a": 3}\n')
    rep = Report()
    rows = list(jsonl_rows(str(path), rep))
    assert [(item, row['a']) for item, row in rows] == [('line 1', 1),
                                                        ('line 5', 3)]
    assert len(rep.problems) == 2
    assert str(rep.problems[0]) == f'{path}:2: expected a JSON object, got ' \
        'list'
    assert str(rep.problems[1]).startswith(f'{path}:4: invalid JSON (')
    with pytest.raises(DataError, match=f'^{path}:2: expected a JSON'):
        list(jsonl_rows(str(path), Report(stop_at_first=True)))


BROKEN_MMIO = {
    'box': lambda c: c['annotations'][2].update(bbox=[1, 1, 0, 5]),
    'type': lambda c: c['annotations'][0].update(image_id='0'),
    'dup_id': lambda c: c['images'][2].update(id=1),
    'name': lambda c: c['categories'][1].update(name='bright square'),
    'size': lambda c: c['images'][0].update(height=65),
}


@pytest.mark.parametrize('case', list(BROKEN_MMIO))
def test_dataset_error_is_the_doctors_first_line(case, tmp_path):
    """Same rules, same wording: the dataset stops with the first problem
    the doctor lists."""
    root = make_mmio(tmp_path, BROKEN_MMIO[case])
    rep = diagnose(str(root / 'annotations.json'), img_dir=str(root))
    assert len(rep.problems) >= 1
    with pytest.raises(ValueError) as err:
        build_mmio(root)
    first = str(rep.problems[0])
    assert str(err.value).startswith(first + ' (first problem found; ')


BROKEN_ASE = {
    'label': lambda rows: rows[1].update(label='rust'),
    'record': lambda rows: rows[2].update(record=[1]),
    'text': lambda rows: rows[0]['record'].update(machine=None),
    'line': lambda rows: rows.insert(1, '{"img_path": '),
}


@pytest.mark.parametrize('case', list(BROKEN_ASE))
def test_ase_dataset_error_is_the_doctors_first_line(case, tmp_path):
    root = make_ase(tmp_path, BROKEN_ASE[case])
    rep = diagnose(str(root))
    with pytest.raises(ValueError) as err:
        build_ase(root)
    assert str(err.value).startswith(str(rep.problems[0]))
    assert len(rep.problems) == 1  # each case breaks one thing


def test_doctor_lists_all_dataset_stops_at_first(tmp_path):
    def many(coco):
        for a in coco['annotations']:
            a['category_id'] = 9

    root = make_mmio(tmp_path, many)
    rep = diagnose(str(root / 'annotations.json'), img_dir=str(root))
    assert [p.item for p in rep.problems] == [
        f'annotation id={i}' for i in range(4)]
    with pytest.raises(ValueError) as err:
        build_mmio(root)
    assert 'annotation id=0: category_id: unknown category id 9' in str(
        err.value)
    assert 'annotation id=1' not in str(err.value)


def test_valid_data_passes_both(tmp_path):
    root = make_mmio(tmp_path / 'mmio')
    assert diagnose(str(root / 'annotations.json'),
                    img_dir=str(root)).ok
    assert len(build_mmio(root)) == 4
    ase = make_ase(tmp_path / 'ase')
    assert diagnose(str(ase)).ok
    assert len(build_ase(ase)) == 3
    coco = json.loads((root / 'annotations.json').read_text())
    before = copy.deepcopy(coco)
    check_coco(coco, 'x', Report(stop_at_first=True))
    assert coco == before  # the rules never modify their input


WRONG_VALUES = [None, True, 1.5, -1, '', 'x', [], [1], {'a': 1},
                float('nan')]


def _field_paths(obj, prefix=()):
    """Every (nested) key/index path of a JSON value."""
    items = (obj.items() if isinstance(obj, dict) else
             enumerate(obj) if isinstance(obj, list) else ())
    for key, value in items:
        yield prefix + (key, )
        yield from _field_paths(value, prefix + (key, ))


def _replaced(obj, path, value):
    obj = copy.deepcopy(obj)
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


def test_any_wrong_type_is_a_report_never_a_crash():
    """Each field of a valid COCO file, meta.json and ASE line replaced by
    each JSON type: the rules report or accept it, in both modes, and never
    raise anything but the stopping report's DataError."""
    coco = dict(
        images=[dict(id=1, file_name='a.png', width=8, height=8)],
        annotations=[dict(id=1, image_id=1, category_id=1,
                          bbox=[0, 0, 2, 2], area=4)],
        categories=[dict(id=1, name='dent')])
    meta = dict(classes=['a', 'b'], numeric_fields=['n'], text_fields=['t'],
                numeric_mean=[0.0], numeric_std=[1.0])
    row = dict(img_path='i.png', label='a', record=dict(n=1.0, t='x'),
               description='d')

    def ase(m, r, rep):
        if check_ase_meta(m, 'meta.json', rep, need_stats=True):
            check_ase_row(r, 't.jsonl', 'line 1', rep, m['classes'], m)

    cases = [(lambda c, rep: check_coco(c, 'x.json', rep), coco),
             (lambda m, rep: ase(m, row, rep), meta),
             (lambda r, rep: ase(meta, r, rep), row)]
    reported = 0
    for run, valid in cases:
        run(valid, Report(stop_at_first=True))  # the valid one passes
        for path in _field_paths(valid):
            for value in WRONG_VALUES:
                bad = _replaced(valid, path, value)
                rep = Report()
                run(bad, rep)
                reported += not rep.ok
                try:
                    run(bad, Report(stop_at_first=True))
                except DataError as err:
                    assert str(err).startswith(str(rep.problems[0]))
                else:
                    assert rep.ok
    assert reported > 200  # most replacements are wrong somewhere
