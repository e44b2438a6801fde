# Copyright (c) mmase contributors. All rights reserved.
"""Mixed precision on CPUs: bfloat16 autocast around the forward pass."""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from mmdet.registry import OPTIM_WRAPPERS


def cpu_supports_bf16() -> bool:
    """Whether this CPU runs bfloat16 matmuls natively (oneDNN's check:
    AVX-512 BF16 / AMX on x86, BF16 extensions on Arm)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def amp_optim_wrapper_type(device: str) -> str:
    """The optimizer wrapper that ``--amp`` means on ``device``.

    ``'cuda'``: mmengine's ``AmpOptimWrapper`` (fp16 autocast; the caller
    sets dynamic loss scaling). ``'cpu'``: :class:`BF16AutocastOptimWrapper`
    where the CPU runs bfloat16 natively.

    Args:
        device (str): ``'cuda'`` or ``'cpu'`` (a ``'cuda:N'`` works too).

    Returns:
        str: The registered wrapper type.

    Raises:
        RuntimeError: On a CPU without native bfloat16, where emulated
            bfloat16 is slower than fp32.
    """
    if str(device).startswith('cuda'):
        return 'AmpOptimWrapper'
    if cpu_supports_bf16():
        return 'BF16AutocastOptimWrapper'
    raise RuntimeError('--amp needs a CUDA device or a CPU with native '
                       'bfloat16 (AVX-512 BF16 / AMX); this machine has '
                       'neither. Train without --amp.')


@OPTIM_WRAPPERS.register_module()
class BF16AutocastOptimWrapper(OptimWrapper):
    """Optimizer wrapper that runs the forward pass under CPU bfloat16
    autocast (what ``--amp`` means on a machine without CUDA).

    mmengine's ``AmpOptimWrapper`` only accepts CUDA/NPU/MLU devices. On a
    CPU, ``torch.autocast('cpu', dtype=torch.bfloat16)`` runs convolutions
    and matmuls in bfloat16 and keeps reductions and losses in fp32, as
    the autocast op lists say. bfloat16 has fp32's exponent range, so no
    loss scaling is needed; the weights and the optimizer state stay fp32.

    Args:
        **kwargs: :class:`mmengine.optim.OptimWrapper` arguments.
    """

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context of the parent, plus autocast."""
        with super().optim_context(model), torch.autocast(
                device_type='cpu', dtype=torch.bfloat16):
            yield
