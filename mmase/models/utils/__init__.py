# Copyright (c) mmase contributors. All rights reserved.
"""Helpers shared by the model families."""
from .probe import probe_outputs
from .scaling import make_divisible, make_round
from .text_embedding_cache import TextEmbeddingCache, text_encoder_frozen

__all__ = [
    'probe_outputs', 'make_divisible', 'make_round', 'TextEmbeddingCache',
    'text_encoder_frozen'
]
