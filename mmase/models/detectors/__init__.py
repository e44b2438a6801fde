# Copyright (c) mmase contributors. All rights reserved.
from .yolo_world_detector import YOLOWorldDetector

__all__ = ['YOLOWorldDetector']
