# Copyright (c) mmase contributors. All rights reserved.
from .hf_text_encoder import HFTextEncoder, default_text_model_path

__all__ = ['HFTextEncoder', 'default_text_model_path']
