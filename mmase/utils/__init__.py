# Copyright (c) mmase contributors. All rights reserved.
from . import compat  # noqa: F401
