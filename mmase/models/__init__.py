# Copyright (c) mmase contributors. All rights reserved.
from . import (backbones, dense_heads, detectors, layers, losses,  # noqa: F401
               multimodal, necks, text_encoders)
from . import task_modules, utils  # noqa: F401,E402
