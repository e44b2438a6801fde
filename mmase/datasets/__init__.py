# Copyright (c) mmase contributors. All rights reserved.
from . import transforms  # noqa: F401
from .ase_dataset import ASEDataset  # noqa: E402
from .mmio_dataset import MMIODataset  # noqa: E402

__all__ = ['ASEDataset', 'MMIODataset']
from . import samplers  # noqa: F401,E402
