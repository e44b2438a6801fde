# Copyright (c) mmase contributors. All rights reserved.
"""High-level helpers (not imported by ``import mmase``)."""
