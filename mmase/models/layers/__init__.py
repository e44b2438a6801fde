# Copyright (c) mmase contributors. All rights reserved.
from .c2f import C2f, C2fBottleneck
from .contrastive_head import ContrastiveHead
from .image_pooling_attention import ImagePoolingAttention
from .max_sigmoid_attn_block import MaxSigmoidAttnBlock
from .max_sigmoid_csp_layer import MaxSigmoidCSPLayer

__all__ = [
    'C2f', 'C2fBottleneck', 'ContrastiveHead', 'ImagePoolingAttention',
    'MaxSigmoidAttnBlock', 'MaxSigmoidCSPLayer'
]
