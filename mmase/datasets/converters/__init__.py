# Copyright (c) mmase contributors. All rights reserved.
"""Converters from common detection formats to the MMIO layout."""
from .lvis_base import lvis_base_split
from .merge_coco import (merge_coco, minilm_encoder, unify_class_names,
                         write_merged)
from .split_mmio import (closed_split, split_classes, write_mmio_splits,
                         zero_shot_split, zero_shot_val_split)
from .voc2coco import parse_voc_xml, voc_to_coco
from .yolo2coco import read_class_names, yolo_to_coco

__all__ = [
    'split_classes', 'zero_shot_split', 'zero_shot_val_split', 'closed_split',
    'write_mmio_splits',
    'yolo_to_coco', 'read_class_names', 'voc_to_coco', 'parse_voc_xml',
    'merge_coco', 'unify_class_names', 'minilm_encoder', 'write_merged',
    'lvis_base_split'
]
