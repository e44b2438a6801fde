# Copyright (c) mmase contributors. All rights reserved.
from .yolo_world_pafpn import YOLOWorldPAFPN

__all__ = ['YOLOWorldPAFPN']
