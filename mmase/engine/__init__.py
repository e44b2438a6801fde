# Copyright (c) mmase contributors. All rights reserved.
from . import hooks  # noqa: F401
