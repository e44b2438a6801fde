# Copyright (c) mmase contributors. All rights reserved.
"""The documented one-liners that log to TensorBoard, WandB or MLflow
(mmengine's vis_backends) through tools/train.py --cfg-options."""
import glob
import importlib.util
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# docs/usage.md, "Logging backends": the same arguments
ONE_LINERS = {
    'TensorboardVisBackend':
    ['visualizer.vis_backends.0.type=TensorboardVisBackend'],
    'WandbVisBackend': [
        'visualizer.vis_backends.0.type=WandbVisBackend',
        'visualizer.vis_backends.0.init_kwargs.project=mmase'
    ],
    'MLflowVisBackend': [
        'visualizer.vis_backends.0.type=MLflowVisBackend',
        'visualizer.vis_backends.0.exp_name=mmase'
    ],
}


def _train_tool():
    path = osp.join(REPO, 'tools', 'train.py')
    spec = importlib.util.spec_from_file_location('train_tool', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_one_liners_are_documented():
    text = open(osp.join(REPO, 'docs', 'usage.md')).read()
    for args in ONE_LINERS.values():
        assert ' '.join(args) in text


PACKAGES = dict(TensorboardVisBackend='tensorboard', WandbVisBackend='wandb',
                MLflowVisBackend='mlflow', LocalVisBackend=None)


def _fresh_visualizers():
    """Runners build their visualizer with ``get_instance(name)``: drop the
    ones earlier tests made under mmdet's name 'visualizer'."""
    from mmdet.visualization import DetLocalVisualizer
    from mmengine.visualization import Visualizer
    Visualizer._instance_dict.clear()
    DetLocalVisualizer._instance_dict.clear()


def _config(backend, tiny_det_config, tmp_path):
    tool = _train_tool()
    line = ONE_LINERS.get(backend,
                          [f'visualizer.vis_backends.0.type={backend}'])
    args = tool.parse_args([tiny_det_config(max_epochs=1), '--work-dir',
                            str(tmp_path / 'wd'), '--cfg-options'] + line)
    return tool.build_config(args)


@pytest.mark.parametrize('backend', sorted(ONE_LINERS))
def test_one_liner_merges_into_the_config(backend, tiny_det_config,
                                          tmp_path):
    cfg = _config(backend, tiny_det_config, tmp_path)
    vis = cfg.visualizer.vis_backends
    assert len(vis) == 1 and vis[0].type == backend
    assert cfg.visualizer.type == 'DetLocalVisualizer'  # the rest kept
    if backend == 'WandbVisBackend':
        assert vis[0].init_kwargs == dict(project='mmase')
    if backend == 'MLflowVisBackend':
        assert vis[0].exp_name == 'mmase'


@pytest.mark.parametrize('backend', sorted(PACKAGES))
def test_one_liner_gives_the_runner_that_backend(backend, tiny_det_config,
                                                 tmp_path):
    """The built runner's visualizer logs to that backend, under the work
    dir (the backends import their package when the runner hands them the
    config; LocalVisBackend, which needs none, checks the test itself)."""
    if PACKAGES[backend] is not None:
        pytest.importorskip(PACKAGES[backend],
                            reason=f'{PACKAGES[backend]} not installed')
    from mmase.utils.setup_env import build_runner
    cfg = _config(backend, tiny_det_config, tmp_path)
    _fresh_visualizers()
    runner = build_runner(cfg)
    backends = runner.visualizer._vis_backends
    assert list(backends) == [backend]
    assert backends[backend]._save_dir.startswith(str(tmp_path / 'wd'))


def test_tensorboard_writes_event_files(tiny_det_config, tmp_path):
    pytest.importorskip('tensorboard', reason='tensorboard not installed')
    pytest.importorskip('torch.utils.tensorboard')
    _fresh_visualizers()
    wd = tmp_path / 'wd'
    _train_tool().main([tiny_det_config(max_epochs=1), '--work-dir',
                        str(wd), '--cfg-options'] +
                       ONE_LINERS['TensorboardVisBackend'])
    events = glob.glob(str(wd / '*' / 'vis_data' / 'events.out.tfevents.*'))
    assert events and osp.getsize(events[0]) > 0
