# Copyright (c) mmase contributors. All rights reserved.
from .zero_shot_coco_metric import ZeroShotCocoMetric

__all__ = ['ZeroShotCocoMetric']
