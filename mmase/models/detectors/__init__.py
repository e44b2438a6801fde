# Copyright (c) mmase contributors. All rights reserved.
from .yolo_world_detector import YOLOWorldDetector
from .rtvp import RTVP

__all__ = ['YOLOWorldDetector', 'RTVP']
