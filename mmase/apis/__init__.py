# Copyright (c) mmase contributors. All rights reserved.
"""High-level helpers (not imported by ``import mmase``)."""
from .model_builder import (CheckpointMismatchError, add_strict_argument,
                            init_model, load_model_checkpoint)

__all__ = [
    'CheckpointMismatchError', 'add_strict_argument', 'init_model',
    'load_model_checkpoint'
]
from .ase_inferencer import (ASE_TASK, ASEInferencer,  # noqa: E402
                             encode_record, register_mmase_models)

__all__ += [
    'ASE_TASK', 'ASEInferencer', 'encode_record', 'register_mmase_models'
]
