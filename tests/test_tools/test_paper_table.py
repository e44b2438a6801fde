# Copyright (c) mmase contributors. All rights reserved.
"""paper_table: reading metric files and formatting the paper's tables."""
import csv
import importlib.util
import json
import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'paper_table', osp.join(REPO, 'tools', 'analysis', 'paper_table.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


pt = _load_tool()


def _write(path, obj_or_lines):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        if isinstance(obj_or_lines, list):
            f.write('\n'.join(json.dumps(r) for r in obj_or_lines) + '\n')
        else:
            json.dump(obj_or_lines, f)
    return path


def test_table_2b_from_flat_json_and_work_dir(tmp_path, capsys):
    # ZeroShotCocoMetric keys (unseen subset preferred over coco/*)
    rtvp = _write(str(tmp_path / 'rtvp.json'), {
        'zs/unseen_bbox_mAP': 0.247, 'zs/unseen_bbox_mAP_50': 0.357,
        'zs/unseen_bbox_mAP_75': 0.273, 'coco/bbox_mAP': 0.9,
        'params': 131_000_000})
    # a work dir with an mmengine test log <stamp>/<stamp>.json
    wd = tmp_path / 'yw'
    _write(str(wd / '20260101_000000' / '20260101_000000.json'), {
        'coco/bbox_mAP': 0.212, 'coco/bbox_mAP_50': 0.321,
        'coco/bbox_mAP_75': -1.0, 'params': 77_000_000})
    out = str(tmp_path / 'sub' / 'table.csv')
    assert pt.main(['--table', '2b', '--runs', f'RTVP={rtvp}',
                    f'YOLO-W-S={wd}', '--out', out]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == '| Method | Params | AP | AP50 | AP75 |'
    assert text[2] == '| RTVP | 131M | 24.7 | 35.7 | 27.3 |'
    # COCO's -1 (no objects of that kind) prints as '-'
    assert text[3] == '| YOLO-W-S | 77.0M | 21.2 | 32.1 | - |'
    with open(out) as f:
        rows = list(csv.reader(f))
    assert rows == [['Method', 'Params', 'AP', 'AP50', 'AP75'],
                    ['RTVP', '131M', '24.7', '35.7', '27.3'],
                    ['YOLO-W-S', '77.0M', '21.2', '32.1', '-']]
    assert not [p for p in os.listdir(tmp_path / 'sub')
                if p.startswith('.tmp_')]


def test_scalars_jsonl_uses_last_validation():
    lines = [
        {'loss': 2.0, 'lr': 0.01, 'step': 10},
        {'coco/bbox_mAP': 0.10, 'coco/bbox_mAP_s': 0.01,
         'coco/bbox_mAP_m': 0.2, 'coco/bbox_mAP_l': 0.3, 'step': 1},
        {'loss': 1.0, 'step': 20},
        {'coco/bbox_mAP': 0.449, 'coco/bbox_mAP_s': 0.25,
         'coco/bbox_mAP_m': 0.4964, 'coco/bbox_mAP_l': 0.6, 'step': 2},
    ]
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        p = _write(osp.join(d, 'run', '20260101_000000', 'vis_data',
                            'scalars.json'), lines)
        m = pt.read_metrics_file(p)
        assert m['coco/bbox_mAP'] == 0.449
        header, rows = pt.build_rows('3', [('YOLOv8-S', m)])
        assert header == ['Method', 'AP', 'APs', 'APm', 'APl']
        # 49.64 rounds to 49.6, 0.25 -> 25.0
        assert rows == [['YOLOv8-S', '44.9', '25.0', '49.6', '60.0']]
        # the work dir resolves to the same file
        assert pt.read_work_dir(osp.join(d, 'run')) == m


def test_table_2a_4_and_ase_columns():
    closed = {'zs/all_bbox_mAP': 0.424, 'zs/all_bbox_mAP_50': 0.761,
              'zs/all_precision': 0.748, 'zs/all_recall': 0.726}
    _, rows = pt.build_rows('2a', [('RTVP', closed)])
    assert rows == [['RTVP', '42.4', '76.1', '74.8', '72.6']]
    # plain CocoMetric has no precision/recall
    _, rows = pt.build_rows('2a', [('YOLO', {'coco/bbox_mAP': 0.399,
                                             'coco/bbox_mAP_50': 0.645})])
    assert rows == [['YOLO', '39.9', '64.5', '-', '-']]
    lvis = {'lvis/bbox_AP': 0.241, 'lvis/bbox_APr': 0.173,
            'lvis/bbox_APc': 0.224, 'lvis/bbox_APf': 0.279}
    header, rows = pt.build_rows('4', [('RTVP', lvis)], {'RTVP': 'O365'})
    assert header[1] == 'Pre-trained Data'
    assert rows == [['RTVP', 'O365', '24.1', '17.3', '22.4', '27.9']]
    # mmpretrain metrics are already percentages: not scaled
    ase = {'accuracy/top1': 60.4, 'single-label/precision': 55.93,
           'single-label/recall': 58.7, 'single-label/f1-score': 57.04}
    _, rows = pt.build_rows('ase', [('PFA-CMAF', ase)])
    assert rows == [['PFA-CMAF', '60.4', '55.9', '58.7', '57.0']]
    header, _ = pt.build_rows('6', [('32', closed)])
    assert header[0] == 'Patches Size'


def test_bad_inputs_name_the_file(tmp_path):
    bad = _write(str(tmp_path / 'bad.json'), {'loss': 1.0})
    with pytest.raises(ValueError, match='bad.json'):
        pt.read_metrics_file(bad)
    broken = tmp_path / 'broken.json'
    broken.write_text('{"coco/bbox_mAP": 0.1}\nnot json\n')
    with pytest.raises(ValueError, match='broken.json: line 2'):
        pt.read_metrics_file(str(broken))
    with pytest.raises(ValueError, match='NAME=SOURCE'):
        pt.parse_run('no-equals-sign')
    with pytest.raises(FileNotFoundError, match='missing_dir'):
        pt.load_run('x', str(tmp_path / 'missing_dir'), str(tmp_path))
    out = tmp_path / 'keep.csv'
    out.write_text('old')
    with pytest.raises(ValueError):
        pt.main(['--table', '2b', '--runs', f'A={bad}', '--out', str(out)])
    assert out.read_text() == 'old'  # never half-written / clobbered


def test_seed_rows_mean_std_and_marks():
    from tools.analysis.paper_table import build_rows

    def m(ap50):
        return {'zs/unseen_bbox_mAP': 0.1, 'zs/unseen_bbox_mAP_50': ap50,
                'zs/unseen_bbox_mAP_75': 0.05}

    runs = [('A', [m(0.40), m(0.42), m(0.44)]),   # 42.0 +- 2.0
            ('B', [m(0.30), m(0.31), m(0.32)]),   # 31.0 +- 1.0: > 3 apart
            ('C', [m(0.39), m(0.41), m(0.37)]),   # 39.0 +- 2.0: within 4
            ('D', m(0.10))]                       # one seed: no mark
    header, rows = build_rows('2b', runs)
    col = header.index('AP50')
    assert rows[0][col] == '42.0 ± 2.0'
    assert rows[1][col] == '31.0 ± 1.0 *'
    assert rows[2][col] == '39.0 ± 2.0'
    assert rows[3][col] == '10.0'
    # equal values in every seed: spread 0, no mark against itself
    assert rows[0][header.index('AP')] == '10.0 ± 0.0'
    assert rows[1][header.index('AP')] == '10.0 ± 0.0'
