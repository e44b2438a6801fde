# Copyright (c) mmase contributors. All rights reserved.
"""mmase: industrial defect recognition with vision-language models.

Importing this package applies the stack's compatibility fixes and registers
every mmase module into mmdet's and mmpretrain's registries, so a config only
needs ``custom_imports = dict(imports=['mmase'], allow_failed_imports=False)``.
"""
from .utils import compat  # noqa: F401  (must run before anything loads mm*)
from .version import __version__, version_info
from . import datasets, evaluation, models, utils  # noqa: F401,E402
from . import engine  # noqa: F401,E402

__all__ = ['__version__', 'version_info']
