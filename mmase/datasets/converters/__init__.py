# Copyright (c) mmase contributors. All rights reserved.
"""Converters from common detection formats to the MMIO layout."""
from .split_mmio import (closed_split, split_classes, write_mmio_splits,
                         zero_shot_split)

__all__ = [
    'split_classes', 'zero_shot_split', 'closed_split', 'write_mmio_splits'
]
