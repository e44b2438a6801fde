# Copyright (c) mmase contributors. All rights reserved.
"""High-level helpers (not imported by ``import mmase``)."""
from .model_builder import (CheckpointMismatchError, add_strict_argument,
                            init_model, load_model_checkpoint)

__all__ = [
    'CheckpointMismatchError', 'add_strict_argument', 'init_model',
    'load_model_checkpoint'
]
