# Copyright (c) mmase contributors. All rights reserved.
import json
import os

import pytest

from mmase.utils.file_io import (atomic_file, atomic_output_dir,
                                 dump_json_atomic, dump_jsonl_atomic,
                                 dump_text_atomic, load_json, load_jsonl)


def _listing(d):
    return sorted(os.listdir(d))


def test_atomic_file_replaces_on_success(tmp_path):
    path = tmp_path / 'out.png'
    path.write_text('old')
    with atomic_file(str(path), suffix='.png') as tmp:
        assert tmp.endswith('.png')
        assert os.path.dirname(tmp) == str(tmp_path)
        assert path.read_text() == 'old'  # not touched before the end
        with open(tmp, 'w') as f:
            f.write('new')
    assert path.read_text() == 'new'
    assert _listing(tmp_path) == ['out.png']


def test_atomic_file_keeps_old_content_on_error(tmp_path):
    path = tmp_path / 'table.csv'
    path.write_text('old')
    with pytest.raises(RuntimeError, match='boom'):
        with atomic_file(str(path)) as tmp:
            with open(tmp, 'w') as f:
                f.write('half')
            raise RuntimeError('boom')
    assert path.read_text() == 'old'
    assert _listing(tmp_path) == ['table.csv']

    missing = tmp_path / 'sub' / 'new.csv'
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(str(missing)):
            raise KeyboardInterrupt
    assert not missing.exists()
    assert _listing(tmp_path / 'sub') == []


def test_dump_text_atomic_writes_bytes_as_given(tmp_path):
    path = tmp_path / 'a' / 't.csv'
    dump_text_atomic('x,y\r\n1,2\n', str(path))
    assert path.read_bytes() == b'x,y\r\n1,2\n'
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_json_and_jsonl_round_trip(tmp_path):
    obj = {'name': 'kratzer \u00fc', 'ids': [1, 2]}
    dump_json_atomic(obj, str(tmp_path / 'o.json'), indent=2)
    assert load_json(str(tmp_path / 'o.json')) == obj
    rows = [{'a': 1}, {'a': 2}]
    dump_jsonl_atomic(iter(rows), str(tmp_path / 'r.jsonl'))
    loaded = load_jsonl(str(tmp_path / 'r.jsonl'))
    assert [r['a'] for r in loaded] == [1, 2]
    assert [r['__line__'] for r in loaded] == [1, 2]


def test_load_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(FileNotFoundError, match='annotation file not found'):
        load_json(str(tmp_path / 'nope.json'), what='annotation file')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"a": ')
    with pytest.raises(ValueError, match='bad.json: invalid JSON'):
        load_json(str(bad))
    lines = tmp_path / 'bad.jsonl'
    lines.write_text(json.dumps({'a': 1}) + '\n\n[1, 2]\n')
    with pytest.raises(ValueError, match=r'bad.jsonl:3: expected a JSON '
                       r'object, got list'):
        load_jsonl(str(lines))


def test_atomic_output_dir_swaps_and_rolls_back(tmp_path):
    out = tmp_path / 'data'
    out.mkdir()
    (out / 'old.txt').write_text('old')
    with pytest.raises(ValueError):
        with atomic_output_dir(str(out)) as tmp:
            with open(os.path.join(tmp, 'new.txt'), 'w') as f:
                f.write('new')
            raise ValueError
    assert _listing(out) == ['old.txt']
    assert _listing(tmp_path) == ['data']

    with atomic_output_dir(str(out)) as tmp:
        with open(os.path.join(tmp, 'new.txt'), 'w') as f:
            f.write('new')
    assert _listing(out) == ['new.txt']
    assert _listing(tmp_path) == ['data']
    with pytest.raises(FileExistsError, match='output directory exists'):
        with atomic_output_dir(str(out), overwrite=False):
            pass


def test_load_jsonl_check_reports_first_bad_line(tmp_path):
    path = tmp_path / 'rows.jsonl'
    path.write_text('{"a": 1}\n{"b": 2}\nnot json\n')
    seen = []

    def check(row, where):
        seen.append(where)
        if 'a' not in row:
            raise ValueError(f'{where}: missing field "a"')

    # line 2 fails the check before line 3 fails to parse
    with pytest.raises(ValueError, match=r'rows\.jsonl:2: missing field "a"'):
        load_jsonl(str(path), check=check)
    assert seen == [f'{path}:1', f'{path}:2']
