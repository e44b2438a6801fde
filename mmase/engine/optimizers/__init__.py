# Copyright (c) mmase contributors. All rights reserved.
from .bf16_autocast_optim_wrapper import (BF16AutocastOptimWrapper,
                                          amp_optim_wrapper_type,
                                          cpu_supports_bf16)

__all__ = [
    'BF16AutocastOptimWrapper', 'amp_optim_wrapper_type', 'cpu_supports_bf16'
]
