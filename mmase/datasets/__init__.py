# Copyright (c) mmase contributors. All rights reserved.
from . import transforms  # noqa: F401
