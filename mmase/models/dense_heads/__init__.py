# Copyright (c) mmase contributors. All rights reserved.
from .yolo_world_head import YOLOWorldHead

__all__ = ['YOLOWorldHead']
