# Copyright (c) mmase contributors. All rights reserved.
"""Learnable uncertainty scorer of RTVP (eq. 4-5)."""
from typing import Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig


@MODELS.register_module()
class UncertaintyScorer(BaseModule):
    """Spatial-channel activation giving a per-pixel uncertainty score.

    Eq. 5, channel activation: ``M_c = sigmoid(MLP(AvgPool_s(F)) +
    MLP(MaxPool_s(F)))`` with one MLP shared by the two pooled vectors
    (spatial average / maximum per channel). Spatial activation:
    ``M_s = sigmoid(conv([mean_c(F'), max_c(F')]))`` on the
    channel-activated map ``F' = M_c * F`` (channel-direction average and
    maximum, concatenated). Eq. 4: the uncertainty score is ``U = M_s``
    (B, 1, H, W) and the enhanced feature is ``U * F'``.

    Args:
        in_channels (int): Feature channels.
        reduction (int): MLP reduction ratio. Defaults to 16.
        min_hidden (int): Minimum MLP hidden width. Defaults to 8.
        kernel_size (int): Spatial activation kernel. Defaults to 7.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 reduction: int = 16,
                 min_hidden: int = 8,
                 kernel_size: int = 7,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        hidden = max(min_hidden, in_channels // reduction)
        self.mlp = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, in_channels, 1))
        self.spatial = nn.Conv2d(
            2, 1, kernel_size, padding=kernel_size // 2)

    def channel_activation(self, x: Tensor) -> Tensor:
        """``M_c`` (B, C, 1, 1) of eq. 5."""
        avg = x.mean(dim=(2, 3), keepdim=True)
        mx = x.amax(dim=(2, 3), keepdim=True)
        return torch.sigmoid(self.mlp(avg) + self.mlp(mx))

    def spatial_activation(self, x: Tensor) -> Tensor:
        """``M_s`` (B, 1, H, W) of eq. 5."""
        avg = x.mean(dim=1, keepdim=True)
        mx = x.amax(dim=1, keepdim=True)
        return torch.sigmoid(self.spatial(torch.cat([avg, mx], dim=1)))

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Score and enhance a coarse prompt.

        Args:
            x (Tensor): Coarse visual prompt (B, C, H, W).

        Returns:
            tuple[Tensor, Tensor]: Enhanced feature (B, C, H, W) and the
            uncertainty score U (B, 1, H, W) in (0, 1).
        """
        xc = x * self.channel_activation(x)
        score = self.spatial_activation(xc)
        return xc * score, score
