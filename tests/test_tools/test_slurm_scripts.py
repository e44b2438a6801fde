# Copyright (c) mmase contributors. All rights reserved.
"""tools/slurm_train.sh and tools/slurm_test.sh hand srun the job as mmdet's
scripts do (checked with a stand-in ``srun`` on PATH that records its
arguments)."""
import os
import os.path as osp
import stat
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture
def fake_srun(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    log = tmp_path / 'srun_args'
    srun = bin_dir / 'srun'
    srun.write_text('#!/usr/bin/env bash\n'
                    f'printf "%s\\n" "$@" > {log}\n'
                    f'echo "$PYTHONPATH" > {log}.pythonpath\n')
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}',
               GPUS='16', GPUS_PER_NODE='8', CPUS_PER_TASK='4',
               SRUN_ARGS='--qos=high --time=10', PYTHON='py')
    return env, log


def _run(script, args, env):
    return subprocess.run(['bash', osp.join(REPO, 'tools', script)] + args,
                          env=env, capture_output=True, text=True)


def test_slurm_train(fake_srun):
    env, log = fake_srun
    res = _run('slurm_train.sh', ['gpu', 'rtvp', 'configs/x.py', 'wd',
                                  '--amp', '--cfg-options', 'a=1'], env)
    assert res.returncode == 0, res.stderr
    assert log.read_text().splitlines() == [
        '-p', 'gpu', '--job-name=rtvp', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=4', '--kill-on-bad-exit=1',
        '--qos=high', '--time=10', 'py', '-u',
        osp.join(REPO, 'tools', 'train.py'), 'configs/x.py',
        '--work-dir=wd', '--launcher=slurm', '--amp', '--cfg-options', 'a=1'
    ]
    assert open(f'{log}.pythonpath').read().strip().split(':')[0] == REPO


def test_slurm_test(fake_srun):
    env, log = fake_srun
    res = _run('slurm_test.sh', ['gpu', 'ev', 'configs/x.py', 'e.pth',
                                 '--out', 'p.pkl'], env)
    assert res.returncode == 0, res.stderr
    args = log.read_text().splitlines()
    assert args[-6:] == [osp.join(REPO, 'tools', 'test.py'), 'configs/x.py',
                         'e.pth', '--launcher=slurm', '--out', 'p.pkl']
    assert '--ntasks=16' in args and '--job-name=ev' in args


@pytest.mark.parametrize('script', ['slurm_train.sh', 'slurm_test.sh'])
def test_usage_error(fake_srun, script):
    env, log = fake_srun
    res = _run(script, ['gpu', 'job'], env)
    assert res.returncode == 2 and 'usage:' in res.stderr
    assert not log.exists()
