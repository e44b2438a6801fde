# Copyright (c) mmase contributors. All rights reserved.
from .zero_shot_coco_metric import ZeroShotCocoMetric
from .confusion_matrix_plot import ConfusionMatrixPlot  # noqa: E402

__all__ = ['ZeroShotCocoMetric']
__all__ += ['ConfusionMatrixPlot']
