# Copyright (c) mmase contributors. All rights reserved.
"""tools/train.py, tools/test.py and tools/dist_train.sh through their real
entry points, on a tiny mmdet detector and data set."""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from mmase.utils.compat import load_checkpoint_file
from mmase.utils.setup_env import resolve_resume
from tests.conftest import REPO_ROOT

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
TEST = osp.join(REPO_ROOT, 'tools', 'test.py')


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env['OMP_NUM_THREADS'] = '1'
    return env


def _run(args, **kwargs):
    return subprocess.run([sys.executable] + args, env=_env(), cwd=REPO_ROOT,
                          capture_output=True, text=True, **kwargs)


def test_build_config_applies_command_line(tiny_det_config, tmp_path):
    sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
    import train as train_tool
    cfg_path = tiny_det_config()
    args = train_tool.parse_args([
        cfg_path, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
        'train_cfg.max_epochs=7'
    ])
    cfg = train_tool.build_config(args)
    assert cfg.work_dir == str(tmp_path / 'wd')
    assert not cfg.get('resume') and cfg.load_from is None
    assert cfg.train_cfg.max_epochs == 7
    assert cfg.custom_imports['imports'] == ['mmase']
    # every checkpoint hook writes atomically
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    # --resume in a work dir without checkpoints is an error
    with pytest.raises(FileNotFoundError, match='nothing to resume in'):
        train_tool.build_config(train_tool.parse_args(
            [cfg_path, '--work-dir', str(tmp_path / 'wd'), '--resume']))

    with pytest.raises(FileNotFoundError, match='missing.py'):
        train_tool.build_config(train_tool.parse_args(['missing.py']))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        train_tool.build_config(
            train_tool.parse_args([cfg_path, '--resume', 'nope.pth']))
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='--amp'):
            train_tool.build_config(
                train_tool.parse_args([cfg_path, '--amp']))


def test_dist_train_on_two_cpu_processes(tiny_det_config, tmp_path):
    cfg_path = tiny_det_config(max_epochs=1)
    wd = str(tmp_path / 'wd')
    env = _env()
    env['PYTHON'] = sys.executable
    env['PORT'] = str(29500 + os.getpid() % 1000)
    res = subprocess.run(
        ['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), cfg_path, '2',
         '--work-dir', wd],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stderr[-3000:]
    assert osp.isfile(osp.join(wd, 'epoch_1.pth'))
    log = open(glob.glob(osp.join(wd, '*', '*.log'))[0]).read()
    assert 'world_size: 2' in log or 'Distributed launcher: pytorch' in log
    # 6 images, batch 2 per process, 2 processes: 2 iterations per epoch.
    assert 'Epoch(train) [1][2/2]' in log


def _test_metrics(cfg_path, ckpt, wd, out_pkl):
    res = _run([TEST, cfg_path, ckpt, '--work-dir', wd, '--out', out_pkl],
               timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert osp.getsize(out_pkl) > 0
    line = [ln for ln in (res.stdout + res.stderr).splitlines()
            if 'coco/bbox_mAP:' in ln][-1]
    metrics = line[line.index('coco/bbox_mAP:'):].split('data_time')[0]
    assert metrics.count('coco/') >= 6, metrics
    return metrics


def test_resume_after_sigkill_matches_uninterrupted_run(
        tiny_det_config, tmp_path):
    """A run killed mid-training resumes from its last checkpoint, finishes
    the schedule and ends with the same weights and test metrics as an
    uninterrupted run with the same seed."""
    cfg_path = tiny_det_config(max_epochs=3)

    ref_wd = str(tmp_path / 'reference')
    res = _run([TRAIN, cfg_path, '--work-dir', ref_wd], timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]

    wd = str(tmp_path / 'killed')
    proc = subprocess.Popen([sys.executable, TRAIN, cfg_path, '--work-dir',
                             wd], env=_env(), cwd=REPO_ROOT,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    first = osp.join(wd, 'epoch_1.pth')
    while not osp.isfile(first) and time.time() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    assert proc.poll() is None, 'training ended before it could be killed'
    proc.send_signal(signal.SIGKILL)  # during epoch 2
    proc.wait()
    assert not osp.isfile(osp.join(wd, 'epoch_3.pth'))

    res = _run([TRAIN, cfg_path, '--work-dir', wd, '--resume'], timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'resumed epoch: ' in res.stdout + res.stderr
    last = osp.join(wd, 'epoch_3.pth')
    ckpt = load_checkpoint_file(last)
    ref = load_checkpoint_file(osp.join(ref_wd, 'epoch_3.pth'))
    assert ckpt['meta']['epoch'] == 3
    assert ckpt['meta']['iter'] == 9  # 3 iterations x 3 epochs
    for key, value in ref['state_dict'].items():
        assert torch.allclose(value.float(),
                              ckpt['state_dict'][key].float(), atol=1e-5), key

    assert _test_metrics(cfg_path, last, wd, str(tmp_path / 'a.pkl')) == \
        _test_metrics(cfg_path, osp.join(ref_wd, 'epoch_3.pth'), ref_wd,
                      str(tmp_path / 'b.pkl'))


def test_resume_refuses_checkpoint_of_another_model(tiny_det_config,
                                                    tmp_path):
    """``--resume`` loads the weights strictly: a checkpoint whose keys do
    not fit is refused with the file and the keys named, before anything is
    written; ``--no-strict`` resumes anyway (mmengine's lenient loading)."""
    cfg_path = tiny_det_config(max_epochs=1)
    wd = str(tmp_path / 'wd')
    res = _run([TRAIN, cfg_path, '--work-dir', wd], timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    state = load_checkpoint_file(osp.join(wd, 'epoch_1.pth'))
    dropped = 'bbox_head.multi_level_conv_cls.0.weight'
    del state['state_dict'][dropped]
    state['state_dict']['bbox_head.extra.weight'] = torch.zeros(1)
    bad = str(tmp_path / 'other_model.pth')
    torch.save(state, bad)

    wd2 = str(tmp_path / 'wd2')
    args = [TRAIN, cfg_path, '--work-dir', wd2, '--resume', bad,
            '--cfg-options', 'train_cfg.max_epochs=2']
    res = _run(args, timeout=300)
    assert res.returncode != 0
    err = res.stderr
    assert f'{bad}: the checkpoint does not match the model' in err
    assert dropped in err and 'bbox_head.extra.weight' in err
    assert '--no-strict' in err
    assert not glob.glob(osp.join(wd2, '*.pth'))

    res = _run(args + ['--no-strict'], timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'resumed epoch: 1' in res.stdout + res.stderr
    assert load_checkpoint_file(osp.join(wd2, 'epoch_2.pth'))['meta'][
        'epoch'] == 2


#: Runs tools/train.py with mmengine's local file writes made slow for one
#: checkpoint: half of its bytes are written, a marker file is created and
#: the process sleeps inside the write until it is killed.
SLOW_SAVE = """
import os, runpy, sys, time
from mmengine.fileio.backends import LocalBackend
marker, target = sys.argv[1], sys.argv[2]
put = LocalBackend.put
def slow_put(self, obj, filepath):
    if target in os.path.basename(str(filepath)):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            f.flush()
            open(marker, 'w').close()
            time.sleep(600)
    return put(self, obj, filepath)
LocalBackend.put = slow_put
sys.argv = sys.argv[3:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


def test_sigkill_during_checkpoint_write_then_resume(tiny_det_config,
                                                     tmp_path):
    """SIGKILL while ``epoch_2.pth`` is being written, with
    ``max_keep_ckpts=1``: ``epoch_1.pth`` and ``last_checkpoint`` survive
    and ``--resume`` finishes the schedule. (mmengine's CheckpointHook
    deleted epoch_1.pth before writing, so nothing was left to resume.)"""
    cfg_path = tiny_det_config(max_epochs=3)
    wd = str(tmp_path / 'wd')
    marker = str(tmp_path / 'writing')
    script = tmp_path / 'slow_save.py'
    script.write_text(SLOW_SAVE)
    keep_one = ['--cfg-options', 'default_hooks.checkpoint.max_keep_ckpts=1']
    proc = subprocess.Popen(
        [sys.executable, str(script), marker, 'epoch_2', TRAIN, cfg_path,
         '--work-dir', wd] + keep_one,
        env=_env(), cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not osp.exists(marker) and time.time() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    assert proc.poll() is None, 'training ended before the write'
    assert osp.exists(marker), 'the checkpoint write never started'
    proc.send_signal(signal.SIGKILL)  # inside the write of epoch 2
    proc.wait()

    files = sorted(os.listdir(wd))
    assert 'epoch_1.pth' in files and 'epoch_2.pth' not in files, files
    assert any(f.startswith('.epoch_2.pth.') for f in files), files
    with open(osp.join(wd, 'last_checkpoint')) as f:
        assert f.read() == osp.join(wd, 'epoch_1.pth')
    assert load_checkpoint_file(osp.join(wd, 'epoch_1.pth'))['meta'][
        'epoch'] == 1

    res = _run([TRAIN, cfg_path, '--work-dir', wd, '--resume'] + keep_one,
               timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'resumed epoch: 1' in res.stdout + res.stderr
    files = sorted(os.listdir(wd))
    assert [f for f in files if f.endswith('.pth')] == ['epoch_3.pth']
    assert not [f for f in files if f.endswith('.tmp')], files
    ckpt = load_checkpoint_file(osp.join(wd, 'epoch_3.pth'))
    assert ckpt['meta']['epoch'] == 3 and ckpt['meta']['iter'] == 9


def test_resume_skips_broken_checkpoints_with_a_warning(tiny_det_config,
                                                        tmp_path):
    """A truncated newest checkpoint (left by an interrupted write of an
    older mmengine run) is skipped with a WARNING naming it; the run
    resumes from the newest complete one. An empty ``last_checkpoint`` is
    treated the same way."""
    sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
    import train as train_tool
    cfg_path = tiny_det_config(max_epochs=2)
    wd = str(tmp_path / 'wd')
    res = _run([TRAIN, cfg_path, '--work-dir', wd], timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    last = osp.join(wd, 'epoch_2.pth')
    with open(last, 'rb') as f:
        data = f.read()
    with open(last, 'wb') as f:
        f.write(data[:len(data) // 2])

    # an empty last_checkpoint: the newest complete file, with a warning
    with open(osp.join(wd, 'last_checkpoint'), 'w'):
        pass
    args = train_tool.parse_args([cfg_path, '--work-dir', wd, '--resume'])
    cfg = train_tool.build_config(args)
    assert cfg.load_from == osp.join(wd, 'epoch_1.pth')
    path, warnings = resolve_resume(cfg)
    assert path == cfg.load_from
    assert len(warnings) == 2, warnings
    assert 'last_checkpoint: empty file' in warnings[0]
    assert f'{last}: ' in warnings[1]

    with open(osp.join(wd, 'last_checkpoint'), 'w') as f:
        f.write(last)
    res = _run([TRAIN, cfg_path, '--work-dir', wd, '--resume',
                '--cfg-options', 'train_cfg.max_epochs=3'], timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    warning = [ln for ln in out.splitlines() if 'WARNING' in ln and
               f'cannot resume from {last}' in ln]
    assert warning, out[-3000:]
    assert f'resuming from {osp.join(wd, "epoch_1.pth")} instead' in \
        warning[0]
    assert 'resumed epoch: 1' in out
    for epoch in (2, 3):  # epoch 2 trained again, written completely
        ckpt = load_checkpoint_file(osp.join(wd, f'epoch_{epoch}.pth'))
        assert ckpt['meta']['epoch'] == epoch
