# Copyright (c) mmase contributors. All rights reserved.
from .yolov8_csp_darknet import YOLOv8CSPDarknet

__all__ = ['YOLOv8CSPDarknet']
