# Copyright (c) mmase contributors. All rights reserved.
"""tools/data/*.py and tools/analysis/dataset_stats.py entry points."""
import hashlib
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from PIL import Image

from tests.conftest import REPO_ROOT


def _tool(*parts):
    path = osp.join(REPO_ROOT, 'tools', *parts)
    name = 'tool_' + '_'.join(parts).replace('.py', '')
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _md5(path):
    with open(path, 'rb') as f:
        return hashlib.md5(f.read()).hexdigest()


@pytest.fixture(scope='module')
def mmio_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('tools') / 'mmio')
    assert _tool('data', 'make_synthetic.py').main(
        ['mmio', '--out', root, '--num-images', '8', '--img-size', '128',
         '--seed', '2']) == 0
    return root


def test_make_synthetic_script(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    out = tmp_path / 'ase'
    proc = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'data',
                                  'make_synthetic.py'), 'ase', '--out',
         str(out), '--num-images', '20', '--img-size', '64'],
        env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout[proc.stdout.index('{'):])
    assert summary['num_images'] == 20
    assert sorted(os.listdir(out / 'annotations')) == [
        'test.jsonl', 'train.jsonl', 'val.jsonl'
    ]
    assert osp.isfile(out / 'meta.json')


def test_check_dataset(mmio_root, tmp_path, capsys):
    check = _tool('data', 'check_dataset.py')
    assert check.main([mmio_root]) == 0
    assert '0 problem(s)' in capsys.readouterr().out
    with open(osp.join(mmio_root, 'annotations', 'instances_all.json')) as f:
        coco = json.load(f)
    coco['annotations'][0]['bbox'][2] = 0
    coco['annotations'][1]['category_id'] = 999
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(coco))
    before = _md5(bad)
    fixed = tmp_path / 'fixed.json'
    code = check.main([str(bad), '--img-dir',
                       osp.join(mmio_root, 'images'), '--fix-to',
                       str(fixed)])
    out = capsys.readouterr().out
    assert code == 1
    a0, a1 = coco['annotations'][0]['id'], coco['annotations'][1]['id']
    assert f'{bad}: annotation id={a0}: bbox: zero or negative area' in out
    assert f'{bad}: annotation id={a1}: category_id: unknown category ' \
        f'id 999' in out
    assert '2 problem(s)' in out
    assert _md5(bad) == before  # input untouched
    assert check.main([str(fixed), '--img-dir',
                       osp.join(mmio_root, 'images')]) == 0
    with open(fixed) as f:
        cleaned = json.load(f)
    assert len(cleaned['annotations']) == len(coco['annotations']) - 2
    with pytest.raises(SystemExit):
        check.main([str(bad), '--fix-to', str(bad)])


def test_dataset_stats(mmio_root, tmp_path):
    stats_tool = _tool('analysis', 'dataset_stats.py')
    out = tmp_path / 'stats'
    assert stats_tool.main([mmio_root, '--out-dir', str(out)]) == 0
    # samples are drawn by browse_dataset.py (after the pipeline)
    assert sorted(os.listdir(out)) == ['box_size_hist.png',
                                       'class_hist.png', 'stats.json']
    for name in ('class_hist.png', 'box_size_hist.png'):
        with Image.open(out / name) as im:
            assert im.size[0] > 100 and im.size[1] > 100
    with open(out / 'stats.json') as f:
        stats = json.load(f)
    with open(osp.join(mmio_root, 'annotations', 'instances_all.json')) as f:
        coco = json.load(f)
    assert sum(stats['class_counts'].values()) == len(coco['annotations'])
    assert stats['num_classes'] == len(coco['categories'])
    assert abs(stats['small'] + stats['medium'] + stats['large'] - 1) < 1e-6
    assert len(stats['unseen']) > 0


def test_split_yolo_merge_tools(tmp_path, mmio_root, capsys):
    # YOLO -> COCO
    (tmp_path / 'y' / 'images').mkdir(parents=True)
    (tmp_path / 'y' / 'labels').mkdir()
    for i in range(4):
        Image.new('RGB', (16, 16)).save(tmp_path / 'y' / 'images' /
                                        f'{i}.png')
        (tmp_path / 'y' / 'labels' / f'{i}.txt').write_text(
            f'{i % 2} 0.5 0.5 0.25 0.25\n')
    (tmp_path / 'y' / 'names.txt').write_text('dent\nrust spot\n')
    yolo_json = tmp_path / 'y' / 'coco.json'
    assert _tool('data', 'yolo2coco.py').main([
        '--img-dir', str(tmp_path / 'y' / 'images'), '--classes',
        str(tmp_path / 'y' / 'names.txt'), '--out', str(yolo_json)
    ]) == 0
    with open(yolo_json) as f:
        assert len(json.load(f)['annotations']) == 4
    # merge (identical-name merging only: no encoder needed) + split
    merged = tmp_path / 'merged'
    assert _tool('data', 'merge_coco.py').main([
        '--src', f'y:{yolo_json}:{tmp_path / "y" / "images"}:metallurgy',
        '--src', f'y2:{yolo_json}:{tmp_path / "y" / "images"}',
        '--out', str(merged), '--threshold', '2', '--unseen', 'rust spot'
    ]) == 0
    with open(merged / 'annotations' / 'instances_all.json') as f:
        coco = json.load(f)
    assert [c['name'] for c in coco['categories']] == ['dent', 'rust spot']
    assert len(coco['images']) == 8
    with open(merged / 'split.json') as f:
        assert json.load(f) == dict(seen=['dent'], unseen=['rust spot'])
    with open(merged / 'annotations' / 'instances_zs_test.json') as f:
        assert len(json.load(f)['images']) == 4
    assert _tool('data', 'check_dataset.py').main([str(merged)]) == 0
    assert _tool('data', 'split_mmio.py').main(
        [str(merged), '--unseen-ratio', '0.5', '--seed', '3']) == 0
    with open(merged / 'split.json') as f:
        split = json.load(f)
    assert len(split['seen']) == 1 and len(split['unseen']) == 1
