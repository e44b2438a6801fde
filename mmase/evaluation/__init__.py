# Copyright (c) mmase contributors. All rights reserved.
from . import metrics  # noqa: F401
