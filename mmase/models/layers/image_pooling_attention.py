# Copyright (c) mmase contributors. All rights reserved.
"""Image-pooling attention: update text embeddings from image features."""
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor


@MODELS.register_module()
class ImagePoolingAttention(BaseModule):
    """Refine text embeddings with pooled multi-scale image features.

    The cross-modal interaction of RTVP is two-way: besides text guiding
    the image features (Eq. 7), the text prompt is made image-aware. Each
    level is projected to ``embed_channels`` and max-pooled to a
    ``pool_size x pool_size`` grid; the ``num_levels * pool_size**2`` patch
    tokens are keys/values of a multi-head cross-attention whose queries
    are the texts. The result is added back to the text embeddings::

        t' = t + scale * proj(MHA(q=LN(t), k=LN(patches), v=patches))

    Args:
        image_channels (Sequence[int]): Channels of each input level.
        text_channels (int): Text embedding dimension.
        embed_channels (int): Attention width. Defaults to 256.
        num_heads (int): Attention heads. Defaults to 8.
        pool_size (int): Side of the pooled grid per level. Defaults to 3.
        with_scale (bool): Learnable residual scale initialised to 0, so
            the block starts as the identity. Defaults to False.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 image_channels: Sequence[int],
                 text_channels: int,
                 embed_channels: int = 256,
                 num_heads: int = 8,
                 pool_size: int = 3,
                 with_scale: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_channels % num_heads:
            raise ValueError('ImagePoolingAttention: embed_channels must be '
                             'divisible by num_heads')
        self.num_heads = num_heads
        self.pool_size = pool_size
        self.projections = nn.ModuleList(
            ConvModule(c, embed_channels, 1, norm_cfg=None, act_cfg=None)
            for c in image_channels)
        self.pool = nn.AdaptiveMaxPool2d(pool_size)
        self.query = nn.Sequential(
            nn.LayerNorm(text_channels), nn.Linear(text_channels,
                                                   embed_channels))
        self.key = nn.Sequential(
            nn.LayerNorm(embed_channels),
            nn.Linear(embed_channels, embed_channels))
        self.value = nn.Sequential(
            nn.LayerNorm(embed_channels),
            nn.Linear(embed_channels, embed_channels))
        self.proj = nn.Linear(embed_channels, text_channels)
        self.scale = nn.Parameter(torch.zeros(1)) if with_scale else 1.0

    def forward(self, text_feats: Tensor, image_feats: List[Tensor]) -> Tensor:
        """Forward function.

        Args:
            text_feats (Tensor): (B, N, text_channels).
            image_feats (list[Tensor]): Levels (B, C_l, H_l, W_l).

        Returns:
            Tensor: Updated text embeddings (B, N, text_channels).
        """
        B, N, _ = text_feats.shape
        patches = torch.cat([
            self.pool(proj(x)).flatten(2)
            for proj, x in zip(self.projections, image_feats)
        ], dim=2).transpose(1, 2)  # (B, L * p * p, E)
        q = self.query(text_feats)
        k = self.key(patches)
        v = self.value(patches)
        E = q.size(-1)
        h = self.num_heads

        def split(t):
            return t.reshape(B, -1, h, E // h).transpose(1, 2)

        out = F.scaled_dot_product_attention(split(q), split(k), split(v))
        out = self.proj(out.transpose(1, 2).reshape(B, N, E))
        return text_feats + self.scale * out
