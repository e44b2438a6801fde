# Copyright (c) mmase contributors. All rights reserved.
from .domain_reconstruction_loss import DomainReconstructionLoss
from .pfa_loss import PFALoss  # noqa: E402

__all__ = ['DomainReconstructionLoss', 'PFALoss']
