# Copyright (c) mmase contributors. All rights reserved.
"""mim packaging: model-index.yml + a metafile per config folder, copied
into mmase/.mim by setup.py; ``mim search mmase``, ``mim train mmase
CONFIG`` and ``mim run mmase TOOL`` through the mim command line."""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MIM_BIN = osp.join(osp.dirname(sys.executable), 'mim')

pytest.importorskip('mim')


def _metafile_models():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    models = {}
    for rel in index['Import']:
        with open(osp.join(REPO, rel)) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name'] for c in meta.get('Collections', [])}
        for m in meta['Models']:
            assert m['In Collection'] in collections, (rel, m['Name'])
            assert m['Name'] == osp.splitext(osp.basename(m['Config']))[0]
            assert osp.dirname(m['Config']) == osp.dirname(rel), m['Name']
            assert 'Weights' in m and m['Weights'] is None  # none published
            models[m['Name']] = m
    return index, models


def test_every_runnable_config_is_indexed():
    """Each metafile model is a config that loads (epochs as written);
    each runnable config (a model and a training loader) has an entry."""
    from mmengine.config import Config

    import mmase  # noqa: F401
    index, models = _metafile_models()
    folders = sorted(
        d for d in os.listdir(osp.join(REPO, 'configs'))
        if d != '_base_' and osp.isdir(osp.join(REPO, 'configs', d)))
    assert sorted(osp.basename(osp.dirname(p))
                  for p in index['Import']) == folders
    for m in models.values():
        cfg = Config.fromfile(osp.join(REPO, m['Config']))
        epochs = m.get('Metadata', {}).get('Epochs')
        if epochs is not None:
            assert cfg.train_cfg.max_epochs == epochs, m['Name']
    for path in glob.glob(osp.join(REPO, 'configs', '*', '*.py')):
        if '_base_' in path:
            continue
        cfg = Config.fromfile(path)
        runnable = 'model' in cfg and 'train_dataloader' in cfg
        name = osp.splitext(osp.basename(path))[0]
        assert (name in models) == runnable, (name, runnable)


def _mim(args, cwd, env=None, module=False):
    cmd = ([sys.executable, '-m', 'mim'] if module else [MIM_BIN]) + args
    env = dict(os.environ if env is None else env, HF_HUB_OFFLINE='1',
               TRANSFORMERS_OFFLINE='1', OMP_NUM_THREADS='1')
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def _config_ids(out: str):
    match = re.search(r'valid config ids:\s*\n(\[.*\])', out)
    assert match, out[-2000:]
    return set(eval(match.group(1)))  # noqa: S307  (mim prints a list)


def test_search_from_the_editable_checkout():
    """With tools/install.sh's editable install, mim finds mmase through
    the checkout when run from the repository root (python -m mim)."""
    assert osp.islink(osp.join(REPO, 'mmase', '.mim', 'configs')) or \
        osp.isdir(osp.join(REPO, 'mmase', '.mim', 'configs'))
    res = _mim(['search', 'mmase', '--valid-config'], REPO, module=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert _config_ids(res.stdout) == set(_metafile_models()[1])


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """mmase built as a wheel (setup.py copies configs, tools and the model
    index into mmase/.mim) and installed into its own folder."""
    root = tmp_path_factory.mktemp('mim')
    src = root / 'src'
    files = subprocess.run(
        ['git', 'ls-files', '-co', '--exclude-standard'], cwd=REPO,
        capture_output=True, text=True, check=True).stdout.splitlines()
    for rel in files:
        if osp.isfile(osp.join(REPO, rel)) and not rel.startswith('tests/'):
            os.makedirs(src / osp.dirname(rel), exist_ok=True)
            shutil.copy2(osp.join(REPO, rel), src / rel)
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check']
    subprocess.run(pip + ['wheel', '--no-deps', '--no-build-isolation', '-q',
                          '-w', str(root / 'wheel'), str(src)], check=True)
    wheel = glob.glob(str(root / 'wheel' / 'mmase-*.whl'))[0]
    subprocess.run(pip + ['install', '--no-deps', '-q', '--target',
                          str(root / 'site'), wheel], check=True)
    env = dict(os.environ, PYTHONPATH=str(root / 'site'))
    work = root / 'work'
    work.mkdir()
    return dict(root=root, site=root / 'site', env=env, work=work,
                wheel=wheel)


def test_wheel_carries_the_mim_files(installed):
    mim_dir = installed['site'] / 'mmase' / '.mim'
    for rel in (
            'model-index.yml', 'configs/rtvp/metafile.yml',
            'configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py',
            'tools/train.py', 'tools/analysis/browse_dataset.py'):
        assert (mim_dir / rel).is_file(), rel
    import zipfile
    names = zipfile.ZipFile(installed['wheel']).namelist()
    assert 'mmase/.mim/model-index.yml' in names
    assert not [n for n in names if '__pycache__' in n or 'metafile' in n
                and not n.startswith('mmase/.mim/configs/')]


def test_mim_search(installed):
    res = _mim(['search', 'mmase', '--valid-config'], installed['work'],
               installed['env'])
    assert res.returncode == 0, res.stderr[-3000:]
    assert _config_ids(res.stdout) == set(_metafile_models()[1])
    res = _mim(['search', 'mmase', '--config',
                'rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo'],
               installed['work'], installed['env'])
    assert res.returncode == 0, res.stderr[-3000:]
    assert ('config id: rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo'
            in res.stdout)
    ap50 = _metafile_models()[1][
        'rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo']['Results'][0][
            'Metrics']['unseen box AP@0.5']
    row = re.search(r'unseen_box_ap@0\.5\s+(\S+)', res.stdout)
    assert row and float(row.group(1)) == ap50, res.stdout


def test_mim_train_and_test_a_demo_config(installed):
    """``mim train mmase yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py``: the
    config found in the package, tools/train.py of the package, one iteration
    on a tiny data set where the config expects data/mmio_synth; then
    ``mim test``."""
    from mmase.datasets.synthetic.mmio_generator import generate_mmio
    work = installed['work']
    generate_mmio(str(work / 'data' / 'mmio_synth'), num_images=12, seed=0,
                  img_size=64)
    res = _mim([
        'train', 'mmase', 'yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py',
        '--work-dir', 'wd',
        '--cfg-options', 'train_dataloader.dataset.indices=2',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=10'
    ], work, installed['env'])
    assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-3000:])
    out = res.stdout + res.stderr
    site = str(installed['site'])
    assert f'{site}/mmase/.mim/tools/train.py' in out
    assert f'{site}/mmase/.mim/configs/yolo_world/' in out
    assert (work / 'wd' / 'epoch_1.pth').is_file()
    log = glob.glob(str(work / 'wd' / '*' / 'vis_data' / 'scalars.json'))
    lines = [line for line in open(log[0]) if '"loss"' in line]
    assert len(lines) == 1 and '"iter": 1' in lines[0]

    # mim test with that checkpoint: tools/test.py of the package
    res = _mim([
        'test', 'mmase', 'yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py',
        '--checkpoint',
        str(work / 'wd' / 'epoch_1.pth'), '--work-dir', 'wd_test',
        '--cfg-options', 'test_dataloader.num_workers=0'
    ], work, installed['env'])
    assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-3000:])
    assert (work / 'wd_test' / 'metrics.json').is_file()


def test_mim_run_a_tool(installed):
    cfg = installed['site'] / 'mmase' / '.mim' / 'configs' / 'rtvp' / \
        'rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py'
    res = _mim(['run', 'mmase', 'print_config', str(cfg), '--cfg-options',
                'train_cfg.max_epochs=5'], installed['work'],
               installed['env'])
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'max_epochs=5' in res.stdout


def test_wheel_ase_prompts_load(installed):
    """The ASE descriptor prompts are package data: the installed wheel
    reads them through importlib.resources, with no repository around."""
    code = ('import mmase, mmase.apis.ase_describe as d; '
            'print(mmase.__file__); print(d.packaged_prompts()); '
            'print(d.load_template("vlm_describe.txt"))')
    res = subprocess.run([sys.executable, '-c', code], cwd=installed['work'],
                         env=installed['env'], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith(str(installed['site']))
    assert lines[1] == str(['class_prior.txt', 'llm_combine.txt',
                            'record_descriptor.txt', 'vlm_describe.txt'])
    assert 'pink dots' in lines[2]
