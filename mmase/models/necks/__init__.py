# Copyright (c) mmase contributors. All rights reserved.
from .cmaf_neck import CMAFNeck
from .pfa_neck import PFANeck
from .yolo_world_pafpn import YOLOWorldPAFPN
from .yolov8_pafpn import YOLOv8PAFPN

__all__ = ['CMAFNeck', 'PFANeck', 'YOLOWorldPAFPN', 'YOLOv8PAFPN']
