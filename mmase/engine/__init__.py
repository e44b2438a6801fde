# Copyright (c) mmase contributors. All rights reserved.
from . import hooks, optimizers  # noqa: F401
