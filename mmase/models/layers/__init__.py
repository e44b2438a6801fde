# Copyright (c) mmase contributors. All rights reserved.
from .c2f import C2f, C2fBottleneck
from .image_pooling_attention import ImagePoolingAttention
from .max_sigmoid_attn_block import MaxSigmoidAttnBlock
from .max_sigmoid_csp_layer import MaxSigmoidCSPLayer
from .region_text_contrastive_head import RegionTextContrastiveHead

__all__ = [
    'C2f', 'C2fBottleneck', 'ImagePoolingAttention', 'MaxSigmoidAttnBlock',
    'MaxSigmoidCSPLayer', 'RegionTextContrastiveHead'
]
