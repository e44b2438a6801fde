# Copyright (c) mmase contributors. All rights reserved.
"""C2f block of YOLOv8 (the CSP block with two convolutions)."""
from typing import List

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor


class C2fBottleneck(BaseModule):
    """Two 3x3 convolutions with an optional residual connection.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        expansion (float): Hidden channels ratio. Defaults to 1.0.
        add_identity (bool): Add the input to the output when the channel
            numbers agree. Defaults to True.
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
                 expansion: float = 1.0,
                 add_identity: bool = True,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        hidden = int(out_channels * expansion)
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(in_channels, hidden, 3, padding=1, **cfg)
        self.conv2 = ConvModule(hidden, out_channels, 3, padding=1, **cfg)
        self.add_identity = add_identity and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        """Forward function."""
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


@MODELS.register_module()
class C2f(BaseModule):
    """YOLOv8's C2f block.

    A 1x1 convolution produces ``2 * mid`` channels that are split in two
    halves; ``num_blocks`` bottlenecks are chained on the second half and
    every intermediate output is concatenated (``(2 + num_blocks) * mid``
    channels) before a final 1x1 convolution.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_blocks (int): Number of bottlenecks. Defaults to 1.
        expand_ratio (float): ``mid = int(out_channels * expand_ratio)``.
            Defaults to 0.5.
        add_identity (bool): Residual connection in the bottlenecks.
            Defaults to True.
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
                 num_blocks: int = 1,
                 expand_ratio: float = 0.5,
                 add_identity: bool = True,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.mid_channels = int(out_channels * expand_ratio)
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.main_conv = ConvModule(in_channels, 2 * self.mid_channels, 1,
                                    **cfg)
        self.blocks = nn.ModuleList(
            C2fBottleneck(self.mid_channels, self.mid_channels, 1.0,
                          add_identity, **cfg) for _ in range(num_blocks))
        self.final_conv = ConvModule(
            self._num_concat(num_blocks) * self.mid_channels, out_channels,
            1, **cfg)

    @staticmethod
    def _num_concat(num_blocks: int) -> int:
        """Number of ``mid_channels`` chunks fed to the final conv."""
        return 2 + num_blocks

    def _run_blocks(self, x: Tensor) -> List[Tensor]:
        outs = list(self.main_conv(x).chunk(2, dim=1))
        for block in self.blocks:
            outs.append(block(outs[-1]))
        return outs

    def forward(self, x: Tensor) -> Tensor:
        """Forward function."""
        return self.final_conv(torch.cat(self._run_blocks(x), dim=1))
