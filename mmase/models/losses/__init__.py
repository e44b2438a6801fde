# Copyright (c) mmase contributors. All rights reserved.
from .pfa_loss import PFALoss  # noqa: E402

__all__ = ['PFALoss']
