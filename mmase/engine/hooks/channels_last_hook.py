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
    EfficientNet-Lite most of all: one thread, training steps (forward,
    backward, AdamW) on batches of 8 at 320 px, measured with
    ``tools/analysis/train_throughput.py --no-bf16``, 3.8 -> 4.5 img/s for
    the YOLO-World-N demo and 2.3 -> 2.6 img/s for the RTVP-N demo
    (docs/benchmark.md).

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
