# Copyright (c) mmase contributors. All rights reserved.
"""The one checkpoint-aware model builder and the tools that use it."""
import argparse
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmase.apis import (CheckpointMismatchError, add_strict_argument,
                        init_model, load_model_checkpoint)
from tests.conftest import REPO_ROOT


def _tool(rel: str):
    name = 'mmase_builder_test_' + rel.replace('/', '_')[:-3]
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO_ROOT, 'tools', rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def tiny(tiny_det_config, tmp_path):
    """(config, matching checkpoint, model state dict, mismatching
    checkpoint, dropped key) of the tiny YOLOX."""
    from mmdet.registry import MODELS
    cfg = tiny_det_config(max_epochs=1)
    with DefaultScope.overwrite_default_scope('mmdet'):
        torch.manual_seed(1)
        model = MODELS.build(Config.fromfile(cfg).model)
    state = model.state_dict()
    good = str(tmp_path / 'good.pth')
    torch.save(dict(state_dict=state, meta=dict(
        dataset_meta=dict(classes=('a', 'b')))), good)
    bad_state = dict(state)
    dropped = 'bbox_head.multi_level_conv_obj.0.weight'
    del bad_state[dropped]
    bad_state['bbox_head.extra.weight'] = torch.zeros(1)
    resized = 'bbox_head.multi_level_conv_cls.0.bias'
    bad_state[resized] = torch.zeros(7)
    bad = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict=bad_state), bad)
    return cfg, good, state, bad, dropped, resized


def test_loads_matching_checkpoint_exactly(tiny):
    cfg, good, state, *_ = tiny
    model = init_model(cfg, good)
    assert not model.training
    assert model.dataset_meta == dict(classes=('a', 'b'))
    assert model.cfg.model.type == 'YOLOX'
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_mismatch_is_one_error_naming_file_and_keys(tiny):
    cfg, _, _, bad, dropped, resized = tiny
    with pytest.raises(CheckpointMismatchError) as err:
        init_model(cfg, bad)
    msg = str(err.value)
    assert msg.startswith(f'{bad}: the checkpoint does not match the model')
    assert f'missing keys in source state_dict: {dropped}' in msg
    assert 'unexpected key in source state_dict: bbox_head.extra.weight' \
        in msg
    assert f'size mismatch for {resized}' in msg
    assert '--no-strict' in msg
    assert err.value.missing == [dropped]
    assert err.value.unexpected == ['bbox_head.extra.weight']


def test_no_strict_loads_what_fits(tiny):
    cfg, _, state, bad, dropped, resized = tiny
    model = init_model(cfg, bad, strict=False)
    loaded = model.state_dict()
    for key in state:
        if key not in (dropped, resized):
            assert torch.equal(loaded[key], state[key]), key
    # the mismatched ones keep the model's own values
    assert loaded[resized].shape == state[resized].shape


def test_bare_state_dict_and_ddp_prefix(tiny, tmp_path):
    cfg, _, state, *_ = tiny
    path = str(tmp_path / 'ddp.pth')
    torch.save({'module.' + k: v for k, v in state.items()}, path)
    model = init_model(cfg, None, init_weights=False)
    ckpt = load_model_checkpoint(model, path)
    assert 'module.backbone.stem.conv.conv.weight' in ckpt
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_strict_argument_is_the_same_everywhere():
    parser = argparse.ArgumentParser()
    add_strict_argument(parser)
    assert parser.parse_args([]).strict is True
    assert parser.parse_args(['--no-strict']).strict is False
    for rel in ('train.py', 'test.py', 'analysis/benchmark.py',
                'deploy/export_onnx.py'):
        with open(osp.join(REPO_ROOT, 'tools', rel)) as f:
            source = f.read()
        assert 'add_strict_argument(parser)' in source, rel
        assert "'state_dict' not in str(err)" not in source, rel


@pytest.mark.parametrize('tool', ['benchmark', 'export_onnx'])
def test_tools_load_strictly(tool, tiny):
    """benchmark.py and export_onnx.py used to load leniently (a warning
    and random weights where keys differ)."""
    cfg, good, state, bad, *_ = tiny
    if tool == 'benchmark':
        build = _tool('analysis/benchmark.py').build_model
    else:
        build = _tool('deploy/export_onnx.py').build_detector
    with pytest.raises(CheckpointMismatchError, match=bad):
        build(cfg, bad)
    if tool == 'benchmark':
        model = build(cfg, good)
        key = 'backbone.stem.conv.conv.weight'
        assert torch.equal(model.state_dict()[key], state[key])
        build(cfg, bad, strict=False)  # --no-strict
