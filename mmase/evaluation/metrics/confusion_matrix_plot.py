# Copyright (c) mmase contributors. All rights reserved.
import os
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.logging import MessageHub, MMLogger
from mmengine.visualization import Visualizer
from mmpretrain.evaluation.metrics import ConfusionMatrix
from mmpretrain.registry import METRICS

from mmase.utils.file_io import atomic_file


@METRICS.register_module()
class ConfusionMatrixPlot(ConfusionMatrix):
    """mmpretrain's ``ConfusionMatrix`` that also saves the matrix as a PNG.

    The matrix is computed by the parent class and drawn with its
    ``ConfusionMatrix.plot`` (class names from ``dataset_meta``, values
    written in the cells). The figure goes to:

    - ``out_dir/<prefix>_<n>.png`` when ``out_dir`` is given (``n`` counts
      the evaluations of this metric); otherwise
    - the runner's visualizer (``Visualizer.get_current_instance()``), whose
      ``LocalVisBackend`` writes ``<work_dir>/<timestamp>/vis_data/
      vis_image/confusion_matrix_<stage>_<epoch>.png`` (stage ``val`` or
      ``test``).

    The returned metric dict keeps the raw matrix under ``result`` (as the
    parent) and the PNG path under ``png`` when written to ``out_dir``.

    Args:
        num_classes (int, optional): Number of classes. Defaults to None.
        out_dir (str, optional): Directory for the PNGs. Defaults to None.
        normalize (bool): Plot row-normalised rates (recall per true class)
            instead of counts. Defaults to False.
        collect_device (str): Defaults to 'cpu'.
        prefix (str, optional): Defaults to None (``'confusion_matrix'``).
    """

    def __init__(self,
                 num_classes: Optional[int] = None,
                 out_dir: Optional[str] = None,
                 normalize: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            num_classes=num_classes,
            collect_device=collect_device,
            prefix=prefix)
        self.out_dir = out_dir
        self.normalize = normalize
        self._count = 0

    def compute_metrics(self, results: List) -> dict:
        metrics = super().compute_metrics(results)
        matrix = metrics['result']
        classes = None
        if self.dataset_meta and 'classes' in self.dataset_meta:
            classes = list(self.dataset_meta['classes'])
        try:
            png = self.save_png(matrix, classes)
        except Exception as e:  # plotting must never kill an evaluation
            MMLogger.get_current_instance().warning(
                f'ConfusionMatrixPlot: could not write the PNG: {e}')
            png = None
        if png is not None:
            metrics['png'] = png
        self._count += 1
        return metrics

    def save_png(self, matrix, classes: Optional[List[str]] = None
                 ) -> Optional[str]:
        """Draw ``matrix`` and write it; return the PNG path if known."""
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt

        values = matrix.float()
        if self.normalize:
            values = values / values.sum(1, keepdim=True).clamp(min=1)
        fig = ConfusionMatrix.plot(
            values if self.normalize else matrix,
            include_values=True,
            classes=classes,
            show=False)
        name = f'{self.prefix}_{self._count}'
        try:
            if self.out_dir is not None:
                os.makedirs(self.out_dir, exist_ok=True)
                path = osp.join(self.out_dir, name + '.png')
                with atomic_file(path, suffix='.png') as tmp:
                    fig.savefig(tmp, dpi=80, bbox_inches='tight')
                return path
            try:
                visualizer = Visualizer.get_current_instance()
            except RuntimeError:  # no runner, no visualizer
                return None
            hub = MessageHub.get_current_instance()
            stage = hub.get_info('loop_stage') or 'eval'
            step = hub.get_info('epoch')  # 0-based index of the last
            step = None if step is None else step + 1  # train epoch
            fig.canvas.draw()
            rgba = np.asarray(fig.canvas.buffer_rgba())
            # LocalVisBackend writes <name>_<step>.png
            visualizer.add_image(
                f'{self.prefix}_{stage}',
                np.ascontiguousarray(rgba[..., :3]),
                step=self._count if step is None else step)
            return None
        finally:
            plt.close(fig)
