# Copyright (c) mmase contributors. All rights reserved.
"""``import mmase`` registers its modules into mmdet's / mmpretrain's
registries, with no new scope."""
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


# (registry module, registry, name) of what the configs ask for by name
CONFIG_NAMES = [
    (mmdet_registry, 'MODELS', 'YOLOWorldDetector'),
    (mmdet_registry, 'MODELS', 'RTVP'),
    (mmdet_registry, 'MODELS', 'MobileSAMViT'),
    (mmdet_registry, 'MODELS', 'YOLOv8Head'),
    (mmdet_registry, 'DATASETS', 'MMIODataset'),
    (mmdet_registry, 'METRICS', 'ZeroShotCocoMetric'),
    (mmdet_registry, 'HOOKS', 'DomainAdaptationStopHook'),
    (mmpretrain_registry, 'MODELS', 'ASEMultimodalClassifier'),
    (mmpretrain_registry, 'DATASETS', 'ASEDataset'),
]


def test_config_names_resolve_to_mmase_classes():
    """The names the configs use find mmase's classes in the scope they
    are built in (no other package's class of the same name)."""
    for reg_module, reg_name, key in CONFIG_NAMES:
        obj = getattr(reg_module, reg_name).get(key)
        assert obj is not None, (reg_name, key)
        assert obj.__module__.startswith('mmase.'), (reg_name, key, obj)
        assert obj.__name__ == key
