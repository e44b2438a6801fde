# Copyright (c) mmase contributors. All rights reserved.
from .bf16_autocast_optim_wrapper import (BF16AutocastOptimWrapper,
                                          cpu_supports_bf16)

__all__ = ['BF16AutocastOptimWrapper', 'cpu_supports_bf16']
