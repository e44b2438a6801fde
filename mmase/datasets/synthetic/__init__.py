# Copyright (c) mmase contributors. All rights reserved.
"""Procedural stand-ins for the MMIO and ASE datasets (see docs/data.md)."""
from .ase_generator import generate_ase
from .class_spec import DEFAULT_SPEC, load_class_spec, normalize_class_spec
from .mmio_generator import generate_mmio, render_image

__all__ = [
    'generate_mmio', 'generate_ase', 'render_image', 'load_class_spec',
    'normalize_class_spec', 'DEFAULT_SPEC'
]
