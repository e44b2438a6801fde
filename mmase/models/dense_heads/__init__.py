# Copyright (c) mmase contributors. All rights reserved.
from .yolo_world_head import YOLOWorldHead
from .rtvp_aux_head import RTVPAuxHead

__all__ = ['YOLOWorldHead', 'RTVPAuxHead']
from .flexible_atss_vl_fusion_head import FlexibleATSSVLFusionHead  # noqa: E402

__all__ += ['FlexibleATSSVLFusionHead']
from .yolov8_head import YOLOv8Head  # noqa: E402

__all__ += ['YOLOv8Head']
