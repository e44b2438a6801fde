# Copyright (c) mmase contributors. All rights reserved.
"""Max-sigmoid text-to-image attention (RTVP Eq. 7, YOLO-World's T-CSP)."""
import math
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor


@MODELS.register_module()
class MaxSigmoidAttnBlock(BaseModule):
    """Text-guided re-weighting of image features by max-sigmoid attention.

    RTVP (Eq. 7) aggregates the text embeddings into the multi-scale image
    features "using the maximum Sigmoid attention". For a pixel with
    embedded feature ``e`` (``embed_conv(x)``, split into ``num_heads``
    groups of ``d`` channels) and projected texts ``t_n`` (``guide_fc``)::

        w = sigmoid(max_n <e, t_n> / sqrt(d) + bias)       (per head)
        out = project_conv(x) * w

    Padded texts (``guide_mask`` False) are excluded from the max. An image
    whose vocabulary is empty gets logit 0 (``w = sigmoid(bias)``), i.e. no
    text preference, rather than suppressing its features.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        guide_channels (int): Text embedding dimension.
        embed_channels (int): Channels of the image/text joint space.
        num_heads (int): Attention heads; ``embed_channels`` and
            ``out_channels`` must be divisible by it. Defaults to 1.
        kernel_size (int): Kernel of ``project_conv``. Defaults to 3.
        with_scale (bool): Learnable per-head scale on the weights
            (initialised to 1). Defaults to False.
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Normalization config.
            Defaults to dict(type='BN', momentum=0.03, eps=0.001).
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 guide_channels: int,
                 embed_channels: int,
                 num_heads: int = 1,
                 kernel_size: int = 3,
                 with_scale: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_channels % num_heads or out_channels % num_heads:
            raise ValueError(
                'MaxSigmoidAttnBlock: embed_channels and out_channels must '
                f'be divisible by num_heads, got {embed_channels}, '
                f'{out_channels}, {num_heads}')
        self.num_heads = num_heads
        self.head_channels = embed_channels // num_heads
        self.embed_conv = ConvModule(
            in_channels, embed_channels, 1, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None) if in_channels != embed_channels else None
        self.guide_fc = nn.Linear(guide_channels, embed_channels)
        self.bias = nn.Parameter(torch.zeros(num_heads))
        self.scale = nn.Parameter(torch.ones(
            1, num_heads, 1, 1)) if with_scale else None
        self.project_conv = ConvModule(
            in_channels, out_channels, kernel_size,
            padding=kernel_size // 2, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=None)

    def attention(self,
                  x: Tensor,
                  guide: Tensor,
                  guide_mask: Optional[Tensor] = None) -> Tensor:
        """Per-head attention weights.

        Args:
            x (Tensor): Image features (B, C, H, W).
            guide (Tensor): Text embeddings (B, N, guide_channels).
            guide_mask (Tensor, optional): (B, N) bool, True for real texts.
                Defaults to None (all real).

        Returns:
            Tensor: Weights in (0, 1) of shape (B, num_heads, H, W).
        """
        B, _, H, W = x.shape
        embed = self.embed_conv(x) if self.embed_conv is not None else x
        embed = embed.reshape(B, self.num_heads, self.head_channels, H, W)
        guide = self.guide_fc(guide).reshape(B, -1, self.num_heads,
                                             self.head_channels)
        # (B, heads, H, W, N)
        logits = torch.einsum('bmchw,bnmc->bmhwn', embed, guide)
        if guide.size(1) == 0:
            max_logits = logits.new_zeros((B, self.num_heads, H, W))
        else:
            if guide_mask is not None:
                mask = guide_mask.bool()[:, None, None, None, :]
                logits = logits.masked_fill(~mask, float('-inf'))
            max_logits = logits.max(dim=-1).values
            # images without any real text: neutral logit 0
            max_logits = max_logits.masked_fill(
                torch.isneginf(max_logits), 0.0)
        weights = (max_logits / math.sqrt(self.head_channels) +
                   self.bias[None, :, None, None]).sigmoid()
        if self.scale is not None:
            weights = weights * self.scale
        return weights

    def forward(self,
                x: Tensor,
                guide: Tensor,
                guide_mask: Optional[Tensor] = None) -> Tensor:
        """Forward function.

        Args:
            x (Tensor): Image features (B, C, H, W).
            guide (Tensor): Text embeddings (B, N, guide_channels).
            guide_mask (Tensor, optional): (B, N) bool, True for real texts.
                Defaults to None.

        Returns:
            Tensor: Re-weighted features (B, out_channels, H, W).
        """
        weights = self.attention(x, guide, guide_mask)
        out = self.project_conv(x)
        B, C, H, W = out.shape
        out = out.reshape(B, self.num_heads, C // self.num_heads, H, W)
        return (out * weights.unsqueeze(2)).reshape(B, C, H, W)
