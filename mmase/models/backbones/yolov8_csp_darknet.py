# Copyright (c) mmase contributors. All rights reserved.
"""YOLOv8 CSP-Darknet backbone (C2f stages + SPPF)."""
import math
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers import C2f
from ..utils import make_divisible, make_round


class SPPF(BaseModule):
    """Spatial pyramid pooling - fast: three chained k x k max-pools.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Max-pool kernel. Defaults to 5.
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Normalization config.
        act_cfg (dict): Activation config.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 5,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        mid = in_channels // 2
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(in_channels, mid, 1, **cfg)
        self.pool = nn.MaxPool2d(kernel_size, 1, kernel_size // 2)
        self.conv2 = ConvModule(4 * mid, out_channels, 1, **cfg)

    def forward(self, x: Tensor) -> Tensor:
        """Forward function."""
        outs = [self.conv1(x)]
        for _ in range(3):
            outs.append(self.pool(outs[-1]))
        return self.conv2(torch.cat(outs, dim=1))


@MODELS.register_module()
class YOLOv8CSPDarknet(BaseModule):
    """YOLOv8's CSP-Darknet (the image backbone of YOLO-World and RTVP).

    A 3x3/2 stem, then four stages of ``3x3/2 conv + C2f``; the last stage
    ends with SPPF. Channels and depths of the P5 architecture
    (``[64, 128, 256, 512, last_stage_out_channels]``, blocks
    ``[3, 6, 6, 3]``) are scaled by ``widen_factor``/``deepen_factor``;
    the S model uses 0.50/0.33 (channels 32..512 with the default
    ``last_stage_out_channels=1024``).

    Args:
        deepen_factor (float): Depth multiplier. Defaults to 0.33.
        widen_factor (float): Width multiplier. Defaults to 0.5.
        last_stage_out_channels (int): Unscaled channels of the last stage.
            Defaults to 1024.
        in_channels (int): Image channels. Defaults to 3.
        out_indices (Sequence[int]): Outputs; 0 is the stem, 1..4 the
            stages (strides 4, 8, 16, 32 for 1..4). Defaults to (2, 3, 4).
        frozen_stages (int): Stages (stem included, counted from 0) to
            freeze; -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep BN layers in eval mode while training.
            Defaults to False.
        conv_cfg (dict, optional): Convolution config. Defaults to None.
        norm_cfg (dict): Normalization config.
            Defaults to dict(type='BN', momentum=0.03, eps=0.001).
        act_cfg (dict): Activation config. Defaults to dict(type='SiLU').
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to Kaiming-uniform convs, as in PyTorch.
    """
    # in, out, num_blocks, add_identity, use_sppf
    arch_settings = [[64, 128, 3, True, False], [128, 256, 6, True, False],
                     [256, 512, 6, True, False], [512, None, 3, True, True]]

    def __init__(self,
                 deepen_factor: float = 0.33,
                 widen_factor: float = 0.5,
                 last_stage_out_channels: int = 1024,
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (2, 3, 4),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = dict(
                     type='Kaiming',
                     layer='Conv2d',
                     a=math.sqrt(5),
                     distribution='uniform',
                     mode='fan_in',
                     nonlinearity='leaky_relu')) -> None:
        super().__init__(init_cfg=init_cfg)
        if not set(out_indices).issubset(range(5)):
            raise ValueError('YOLOv8CSPDarknet: out_indices must be in '
                             f'0..4, got {out_indices}')
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

        stem_channels = make_divisible(64, widen_factor)
        self.stem = ConvModule(
            in_channels, stem_channels, 3, stride=2, padding=1, **cfg)
        self.layers = ['stem']
        self.out_channels = [stem_channels]
        for i, (c_in, c_out, n, add_id, use_sppf) in enumerate(
                self.arch_settings):
            c_out = last_stage_out_channels if c_out is None else c_out
            c_in = make_divisible(c_in, widen_factor)
            c_out = make_divisible(c_out, widen_factor)
            stage = [
                ConvModule(c_in, c_out, 3, stride=2, padding=1, **cfg),
                C2f(c_out,
                    c_out,
                    num_blocks=make_round(n, deepen_factor),
                    add_identity=add_id,
                    **cfg)
            ]
            if use_sppf:
                stage.append(SPPF(c_out, c_out, 5, **cfg))
            self.add_module(f'stage{i + 1}', nn.Sequential(*stage))
            self.layers.append(f'stage{i + 1}')
            self.out_channels.append(c_out)

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages + 1):
            m = getattr(self, self.layers[i])
            m.eval()
            for param in m.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'YOLOv8CSPDarknet':
        """Set train mode, keeping frozen stages and (optionally) BN in
        eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Forward function.

        Args:
            x (Tensor): Images (B, C, H, W).

        Returns:
            tuple[Tensor]: Features of ``out_indices``.
        """
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
