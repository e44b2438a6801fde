# Copyright (c) mmase contributors. All rights reserved.
"""Text-guided C2f block (T-CSP)."""
from typing import Optional

import torch
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from .c2f import C2f
from .max_sigmoid_attn_block import MaxSigmoidAttnBlock


@MODELS.register_module()
class MaxSigmoidCSPLayer(C2f):
    """C2f block with a max-sigmoid text attention branch (RTVP Eq. 7).

    As in :class:`C2f`, but the output of the last bottleneck also goes
    through :class:`MaxSigmoidAttnBlock` and that text-weighted map is
    concatenated too, so the final 1x1 conv sees ``(3 + num_blocks) * mid``
    channels. This is how the paper injects text into every fusion step of
    the multi-scale neck.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        guide_channels (int): Text embedding dimension.
        embed_channels (int): Channels of the attention's joint space.
        num_heads (int): Attention heads. Defaults to 1.
        num_blocks (int): Number of bottlenecks. Defaults to 1.
        expand_ratio (float): Hidden channels ratio. Defaults to 0.5.
        add_identity (bool): Residual connection in the bottlenecks.
            Defaults to True.
        with_scale (bool): Learnable scale in the attention.
            Defaults to False.
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Normalization config.
            Defaults to dict(type='BN', momentum=0.03, eps=0.001).
        act_cfg (dict): Activation config. Defaults to dict(type='SiLU').
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 guide_channels: int,
                 embed_channels: int,
                 num_heads: int = 1,
                 num_blocks: int = 1,
                 expand_ratio: float = 0.5,
                 add_identity: bool = True,
                 with_scale: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            in_channels,
            out_channels,
            num_blocks=num_blocks,
            expand_ratio=expand_ratio,
            add_identity=add_identity,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg)
        self.attn_block = MaxSigmoidAttnBlock(
            self.mid_channels,
            self.mid_channels,
            guide_channels=guide_channels,
            embed_channels=embed_channels,
            num_heads=num_heads,
            with_scale=with_scale,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg)

    @staticmethod
    def _num_concat(num_blocks: int) -> int:
        return 3 + num_blocks

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
            Tensor: (B, out_channels, H, W).
        """
        outs = self._run_blocks(x)
        outs.append(self.attn_block(outs[-1], guide, guide_mask))
        return self.final_conv(torch.cat(outs, dim=1))
