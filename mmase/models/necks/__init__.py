# Copyright (c) mmase contributors. All rights reserved.
from .yolo_world_pafpn import YOLOWorldPAFPN
from .cmaf_neck import CMAFNeck  # noqa: E402
from .pfa_neck import PFANeck  # noqa: E402

__all__ = ['YOLOWorldPAFPN']
__all__ += ['CMAFNeck', 'PFANeck']
from .yolov8_pafpn import YOLOv8PAFPN  # noqa: E402

__all__ += ['YOLOv8PAFPN']
