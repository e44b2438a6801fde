# Copyright (c) mmase contributors. All rights reserved.
"""Plain (image-only) YOLOv8 PAFPN."""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from ..utils import make_divisible, make_round


@MODELS.register_module()
class YOLOv8PAFPN(BaseModule):
    """YOLOv8's PAFPN: the neck of the closed-set YOLOv8 detector.

    The same topology as :class:`YOLOWorldPAFPN` without the text guidance:
    no lateral 1x1 convs; top-down, each level concatenates the upsampled
    coarser level with its backbone input and fuses them with a C2f block;
    bottom-up, a 3x3/2 conv of the finer output is concatenated with the
    top-down feature and fused by another C2f block (``add_identity``
    off, as in YOLOv8). :class:`YOLOWorldPAFPN` extends it with
    vocabulary-guided fusion blocks.

    Args:
        in_channels (Sequence[int]): Unscaled input channels per level.
        out_channels (Sequence[int]): Unscaled output channels per level.
        deepen_factor (float): Depth multiplier. Defaults to 0.33.
        widen_factor (float): Width multiplier. Defaults to 0.5.
        num_csp_blocks (int): Unscaled bottlenecks per block.
            Defaults to 3.
        block_cfg (dict): Fusion block config, called as ``block(x)``;
            ``in_channels``, ``out_channels``, ``num_blocks``,
            ``add_identity`` (off) and the norm/act configs are filled in.
            Defaults to dict(type='C2f').
        norm_cfg (dict): Normalization config.
            Defaults to dict(type='BN', momentum=0.03, eps=0.001).
        act_cfg (dict): Activation config. Defaults to dict(type='SiLU').
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: Sequence[int],
                 deepen_factor: float = 0.33,
                 widen_factor: float = 0.5,
                 num_csp_blocks: int = 3,
                 block_cfg: ConfigType = dict(type='C2f'),
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        n = len(in_channels)
        if len(out_channels) != n or n < 2:
            raise ValueError(f'{type(self).__name__}: in_channels and '
                             'out_channels need one entry per level (at '
                             f'least 2), got {list(in_channels)} and '
                             f'{list(out_channels)}')
        self.num_levels = n
        ins = [make_divisible(c, widen_factor) for c in in_channels]
        outs = [make_divisible(c, widen_factor) for c in out_channels]
        self.in_channels = ins
        self.out_channels = outs
        self.block_cfg = dict(
            block_cfg,
            num_blocks=make_round(num_csp_blocks, deepen_factor),
            add_identity=False,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

        self.upsample = nn.Upsample(scale_factor=2, mode='nearest')
        # top-down: level idx - 1 fuses the upsampled level idx with its
        # backbone input (the top level enters unchanged)
        self.top_down_layers = nn.ModuleList()
        for idx in range(n - 1, 0, -1):
            upper = ins[n - 1] if idx == n - 1 else outs[idx]
            self.top_down_layers.append(
                self._build_block(upper + ins[idx - 1], idx - 1))
        self.downsample_layers = nn.ModuleList()
        self.bottom_up_layers = nn.ModuleList()
        for idx in range(n - 1):
            self.downsample_layers.append(
                ConvModule(
                    outs[idx],
                    outs[idx],
                    3,
                    stride=2,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))
            upper = ins[n - 1] if idx + 1 == n - 1 else outs[idx + 1]
            self.bottom_up_layers.append(
                self._build_block(outs[idx] + upper, idx + 1))

    def _block_kwargs(self, level: int) -> dict:
        """Extra arguments of the fusion block that outputs ``level``; none
        here, the vocabulary guidance in :class:`YOLOWorldPAFPN`."""
        return {}

    def _build_block(self, in_channels: int, level: int) -> nn.Module:
        """The fusion block from ``in_channels`` to output ``level``."""
        return MODELS.build(
            dict(
                self.block_cfg,
                in_channels=in_channels,
                out_channels=self.out_channels[level],
                **self._block_kwargs(level)))

    def _check_levels(self, img_feats: Sequence[Tensor]) -> None:
        if len(img_feats) != self.num_levels:
            raise ValueError(f'{type(self).__name__}: expected '
                             f'{self.num_levels} levels, got '
                             f'{len(img_feats)}')

    def _top_down(self, img_feats: Sequence[Tensor], *guide) -> List[Tensor]:
        """Top-down path; ``guide`` is passed on to every fusion block."""
        n = self.num_levels
        inner = [None] * n
        inner[n - 1] = img_feats[n - 1]
        for i, idx in enumerate(range(n - 1, 0, -1)):
            x = torch.cat([self.upsample(inner[idx]), img_feats[idx - 1]], 1)
            inner[idx - 1] = self.top_down_layers[i](x, *guide)
        return inner

    def _bottom_up(self, inner: List[Tensor], *guide) -> Tuple[Tensor, ...]:
        """Bottom-up path over the top-down outputs ``inner``."""
        outs = [inner[0]]
        for idx in range(self.num_levels - 1):
            x = torch.cat(
                [self.downsample_layers[idx](outs[-1]), inner[idx + 1]], 1)
            outs.append(self.bottom_up_layers[idx](x, *guide))
        return tuple(outs)

    def forward(self, img_feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Forward function.

        Args:
            img_feats (Sequence[Tensor]): Backbone levels, finest first.

        Returns:
            tuple[Tensor]: Output levels, finest first.
        """
        self._check_levels(img_feats)
        return self._bottom_up(self._top_down(img_feats))
