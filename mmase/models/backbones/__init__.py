# Copyright (c) mmase contributors. All rights reserved.
from .yolov8_csp_darknet import YOLOv8CSPDarknet
from .mobile_sam_vit import MobileSAMViT
from .efficientnet_lite import EfficientNetLite

__all__ = ['YOLOv8CSPDarknet', 'MobileSAMViT', 'EfficientNetLite']
