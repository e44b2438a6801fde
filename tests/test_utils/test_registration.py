# Copyright (c) mmase contributors. All rights reserved.
"""``import mmase`` registers its modules into mmdet's / mmpretrain's
registries, with no new scope."""
import importlib

import mmdet.registry as mmdet_registry
import mmpretrain.registry as mmpretrain_registry
from mmengine.registry import Registry

import mmase  # noqa: F401


def _mmase_entries():
    found = []
    for reg_module in (mmdet_registry, mmpretrain_registry):
        for name in dir(reg_module):
            reg = getattr(reg_module, name)
            if not isinstance(reg, Registry):
                continue
            for key, obj in reg.module_dict.items():
                if getattr(obj, '__module__', '').startswith('mmase.'):
                    found.append((reg.scope, name, key, obj))
    return found


def test_mmase_registers_into_existing_scopes():
    entries = _mmase_entries()
    assert entries, 'import mmase registered nothing'
    assert {scope for scope, *_ in entries} <= {'mmdet', 'mmpretrain'}


def test_every_registered_class_is_reachable_by_name():
    for scope, reg_name, key, obj in _mmase_entries():
        reg = getattr(
            mmdet_registry if scope == 'mmdet' else mmpretrain_registry,
            reg_name)
        assert reg.get(key) is obj, (scope, reg_name, key)


def test_stack_imports():
    # Both must import in the installed environment (issue: foundation).
    importlib.import_module('mmpretrain.models')
    importlib.import_module('mobile_sam')
    from mmcv.ops import nms  # noqa: F401
