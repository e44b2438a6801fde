# Copyright (c) mmase contributors. All rights reserved.
from .yolo_world_head import YOLOWorldHead
from .rtvp_aux_head import RTVPAuxHead

__all__ = ['YOLOWorldHead', 'RTVPAuxHead']
