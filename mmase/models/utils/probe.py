# Copyright (c) mmase contributors. All rights reserved.
"""Read a module's output shapes with one dummy forward pass."""
from typing import List

import torch
from torch import nn


def _module_device(module: nn.Module) -> torch.device:
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device('cpu')


@torch.no_grad()
def probe_outputs(module: nn.Module, *inputs, img_size: int = 64
                  ) -> List[torch.Tensor]:
    """Run ``module`` once in eval mode, without gradients, and return its
    outputs, e.g. to read the channels of a backbone's levels when building
    the modules after it.

    The module's train / eval mode is restored afterwards, also when the
    forward pass raises.

    Args:
        module (nn.Module): The module to probe.
        *inputs: Its positional inputs. None given: one zero image
            ``(1, 3, img_size, img_size)`` on the device of the module's
            weights (CPU for a module without any).
        img_size (int): Side of the dummy image. Defaults to 64.

    Returns:
        list[Tensor]: The outputs (a single tensor output as a list of one).
    """
    if not inputs:
        inputs = (torch.zeros(1, 3, img_size, img_size,
                              device=_module_device(module)), )
    was_training = module.training
    module.eval()
    try:
        outs = module(*inputs)
    finally:
        module.train(was_training)
    return list(outs) if isinstance(outs, (list, tuple)) else [outs]
