# Copyright (c) mmase contributors. All rights reserved.
"""Zero-shot model selection never touches the test split: configs validate
on `zs_val`, and a training run works with the test file absent."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmase.datasets.synthetic import generate_mmio

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ZS_TEST = 'instances_zs_test.json'


def _zero_shot_configs():
    out = []
    for path in sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                 recursive=True)):
        if '_base_' in path or path.endswith('rtvp_s_branch.py'):
            continue
        if 'mmio' not in osp.basename(path) or 'closed' in path:
            continue
        out.append(osp.relpath(path, REPO))
    return out


def _ann_files(obj):
    """Every `ann_file` string in a (nested) config value."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == 'ann_file' and isinstance(v, str):
                yield v
            else:
                yield from _ann_files(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _ann_files(v)


@pytest.mark.parametrize('path', _zero_shot_configs())
def test_selection_on_zs_val_test_only_for_test(path):
    cfg = Config.fromfile(osp.join(REPO, path))
    test_files = list(_ann_files(cfg.test_dataloader)) + list(
        _ann_files(cfg.test_evaluator))
    if path.endswith('-seen.py'):
        # a first stage on the seen classes never reads the test split
        assert test_files and not any(ZS_TEST in f for f in test_files)
    else:
        assert test_files and all(f.endswith(ZS_TEST) for f in test_files)
    for key in ('train_dataloader', 'val_dataloader', 'val_evaluator'):
        files = list(_ann_files(cfg[key]))
        assert files, (path, key)
        assert not any(ZS_TEST in f for f in files), (path, key, files)
    assert all(f.endswith('instances_zs_val.json')
               for f in _ann_files(cfg.val_evaluator))
    best = cfg.default_hooks.checkpoint.get('save_best')
    assert best in (None, 'zs/seen_bbox_mAP'), (path, best)


def test_training_runs_without_the_test_file(tmp_path):
    """The YOLO-World-N demo trains and validates with instances_zs_test.json
    deleted: nothing but tools/test.py reads it."""
    data = tmp_path / 'data' / 'mmio_synth'
    generate_mmio(str(data), num_images=24, seed=3, img_size=128)
    os.remove(data / 'annotations' / ZS_TEST)
    assert (data / 'annotations' / 'instances_zs_val.json').is_file()
    env = dict(os.environ, OMP_NUM_THREADS='1')
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'),
        osp.join(REPO, 'configs', 'yolo_world',
                 'yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py'),
        '--work-dir', str(tmp_path / 'work'), '--cfg-options',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'train_dataloader.batch_size=4', 'custom_hooks=[]',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0'
    ]
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'zs/seen_bbox_mAP' in proc.stdout + proc.stderr
