# Copyright (c) mmase contributors. All rights reserved.
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Run the model in the channels-last (NHWC) memory format.

    At the start of a run (training, validation or test) the model's 4-d
    weights are converted to ``torch.channels_last``, and a forward hook on
    the data preprocessor converts the preprocessed image batch, so every
    convolution sees NHWC tensors. The values are the same (only the memory
    layout changes; sums may be reordered in the last float bits).

    On CPU, oneDNN's convolutions run faster in NHWC, the depthwise ones of
    EfficientNet-Lite most of all. One 1-thread training step (forward,
    backward, AdamW) of the YOLO-World-N demo on a batch of 8 at 320 px,
    measured with ``tools/analysis/train_throughput.py``: see the figures
    written in configs/yolo_world/yolo-world_n-effnet_1xb8-4e_mmio-zs-demo.py.

    The hook runs before the others (priority ``VERY_HIGH``), so a model
    copy made by a later hook (EMA) is made from the converted model.
    """
    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._handle = None

    def before_run(self, runner) -> None:
        """Convert the model and hook its data preprocessor (once)."""
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        model.to(memory_format=torch.channels_last)
        if self._handle is None:
            self._handle = model.data_preprocessor.register_forward_hook(
                self._to_channels_last)

    @staticmethod
    def _to_channels_last(module, args, output):
        inputs = output.get('inputs') if isinstance(output, dict) else None
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
            output['inputs'] = inputs.contiguous(
                memory_format=torch.channels_last)
        return output
