# Copyright (c) mmase contributors. All rights reserved.
"""Every shared top-level ``rtvp_*`` / ``mmio_*`` key of the configs is read.

Such keys are building blocks (``rtvp_s_branch.py``,
``_base_/datasets/mmio_*.py``) that configs take with ``{{_base_.key}}`` or
``_base_.key``. Config files hold values, not references, so "read" is
checked by value: a key is used when, in at least one config that has it,
its value appears in a runnable field of the merged config (the model,
the data loaders, the evaluators, the hooks, ...: any top-level entry that
is not itself such a building block): whole; for a dict, as part of a
larger dict (a dataset given more fields); for a list, as a run of
consecutive items of a longer list (a pipeline extended with more steps,
meta keys with one more).
"""
import glob
import os.path as osp
from typing import Any, Dict, Optional, Set

import pytest
from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PREFIXES = ('rtvp_', 'mmio_')
CONFIGS = sorted(
    f for f in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in f.split(osp.sep))

#: Keys read by code rather than by a config field, with the reader.
ALLOWED: Dict[str, str] = {
    'mmio_demo_mosaic_train_transforms':
    'the mosaic recipe at demo size; tests/test_tools/test_recipe_configs.py '
    'runs it on small images (no demo config trains with mosaic)',
}


def _is_block(key: str) -> bool:
    return key.startswith(PREFIXES)


def _contains(haystack: Any, needle: Any) -> bool:
    if haystack == needle:
        return True
    if isinstance(haystack, (list, tuple)):
        if isinstance(needle, (list, tuple)) and 0 < len(needle) < len(
                haystack):
            n = len(needle)
            if any(
                    list(haystack[i:i + n]) == list(needle)
                    for i in range(len(haystack) - n + 1)):
                return True
        return any(_contains(item, needle) for item in haystack)
    if isinstance(haystack, dict):
        if isinstance(needle, dict) and needle and all(
                k in haystack and haystack[k] == v
                for k, v in needle.items()):
            return True
        return any(_contains(v, needle) for v in haystack.values())
    return False


def _keys_used_and_defined(path: str, cfg: Optional[dict] = None):
    cfg = cfg if cfg is not None else Config.fromfile(path).to_dict()
    runnable = {k: v for k, v in cfg.items() if not _is_block(k)}
    defined = {k for k in cfg if _is_block(k)}
    used = {k for k in defined if _contains(runnable, cfg[k])}
    return defined, used


@pytest.fixture(scope='module')
def merged_configs() -> Dict[str, dict]:
    return {path: Config.fromfile(path).to_dict() for path in CONFIGS}


@pytest.fixture(scope='module')
def key_usage(merged_configs):
    defined: Dict[str, Set[str]] = {}
    used: Set[str] = set()
    for path, cfg in merged_configs.items():
        keys, read = _keys_used_and_defined(path, cfg)
        for key in keys:
            defined.setdefault(key, set()).add(osp.relpath(path, REPO_ROOT))
        used |= read
    return defined, used


def test_every_shared_key_is_read_by_some_config(key_usage):
    defined, used = key_usage
    assert defined, 'no rtvp_*/mmio_* keys found: the test reads nothing'
    unused = {
        key: sorted(files)[0]
        for key, files in defined.items()
        if key not in used and key not in ALLOWED
    }
    assert not unused, (
        'top-level keys that no model / data loader / evaluator / hook '
        f'field of any config uses (key: a config that has it): {unused}')


def test_the_check_finds_an_unused_key(tmp_path):
    """The value check itself: a block read by the model passes, a block
    nobody reads and a scalar equal to nothing are reported."""
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        "rtvp_head = dict(type='Head', width=3)\n"
        "rtvp_keys = ('a', 'b')\n"
        "rtvp_orphan = dict(type='Orphan')\n"
        "mmio_path = 'data/nowhere/'\n"
        "mmio_set = dict(type='Set', root='r/')\n"
        "model = dict(type='M', head=rtvp_head)\n"
        "train_dataloader = dict(keys=rtvp_keys + ('c', ),\n"
        "                        dataset=dict(mmio_set, pipeline=[]))\n"
        "val_dataloader = dict(dataset=dict(type='Set', root='other/'))\n")
    defined, used = _keys_used_and_defined(str(cfg))
    assert defined == {'rtvp_head', 'rtvp_keys', 'rtvp_orphan', 'mmio_path',
                       'mmio_set'}
    assert used == {'rtvp_head', 'rtvp_keys', 'mmio_set'}


def test_a_stop_threshold_comes_with_its_hook(merged_configs):
    """The domain adapter's stop criterion is applied by
    DomainAdaptationStopHook: a config that sets a threshold has it."""
    with_threshold = 0
    for path, cfg in merged_configs.items():
        adapter = (cfg.get('model') or {}).get('domain_adapter') or {}
        if adapter.get('stop_threshold') is None:
            continue
        with_threshold += 1
        hooks = [h.get('type') for h in cfg.get('custom_hooks', [])]
        assert 'DomainAdaptationStopHook' in hooks, (
            f'{osp.relpath(path, REPO_ROOT)}: model.domain_adapter.'
            'stop_threshold is set but custom_hooks has no '
            'DomainAdaptationStopHook, so the criterion never fires')
    # rtvp_yolo-world-s_4xb8-200e_mmio-zs (and its ablations), coco, lvis
    assert with_threshold >= 4
