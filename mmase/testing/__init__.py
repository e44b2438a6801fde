# Copyright (c) mmase contributors. All rights reserved.
"""Helpers for tests: tiny randomly initialised models built offline."""
from .det_batch import make_det_batch
from .tiny_open_vocab import tiny_model_cfg, write_tiny_model_config
from .tiny_text_models import make_tiny_bert, make_tiny_clip_text

__all__ = [
    'make_det_batch', 'make_tiny_bert', 'make_tiny_clip_text', 'tiny_model_cfg',
    'write_tiny_model_config'
]
