# Copyright (c) mmase contributors. All rights reserved.
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class NumericRecordEncoder(BaseModule):
    """Small MLP over the numeric fields of an ASE record.

    Each AOI image comes with recorded numbers (ASE paper, Fig. 1). They are
    standardised with running per-field statistics (mean / variance over the
    training samples seen so far, updated in train mode like BatchNorm but
    without affine parameters and robust to missing values), a missing value
    (``NaN``, e.g. from ``RecordFieldDropout``) becomes 0 after
    standardisation, and a "missing" indicator per field is appended, so the
    MLP input is ``[z, m]`` of size ``2 * num_fields``.

    Args:
        num_fields (int): Number of numeric fields.
        out_channels (int): Output channels (the text-token width, because
            the result is appended to the text tokens). Defaults to 384.
        hidden_channels (int): Hidden width. Defaults to 64.
        momentum (float, optional): Running-statistics momentum; None uses a
            cumulative average. Defaults to None.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 num_fields: int,
                 out_channels: int = 384,
                 hidden_channels: int = 64,
                 momentum: Optional[float] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_fields <= 0:
            raise ValueError(f'num_fields must be > 0, got {num_fields}')
        self.num_fields = num_fields
        self.out_channels = out_channels
        self.momentum = momentum
        self.register_buffer('running_mean', torch.zeros(num_fields))
        self.register_buffer('running_var', torch.ones(num_fields))
        self.register_buffer('num_seen', torch.zeros(num_fields))
        self.mlp = nn.Sequential(
            nn.Linear(2 * num_fields, hidden_channels), nn.GELU(),
            nn.Linear(hidden_channels, out_channels),
            nn.LayerNorm(out_channels))

    @torch.no_grad()
    def _update_stats(self, values: torch.Tensor,
                      present: torch.Tensor) -> None:
        count = present.sum(0).to(values.dtype)
        has = count > 0
        if not has.any():
            return
        filled = torch.where(present, values, torch.zeros_like(values))
        mean = filled.sum(0) / count.clamp(min=1)
        var = (torch.where(present, values - mean, torch.zeros_like(values))
               ** 2).sum(0) / count.clamp(min=1)
        if self.momentum is None:
            total = self.num_seen + count
            w = torch.where(has, count / total.clamp(min=1),
                            torch.zeros_like(count))
            delta = mean - self.running_mean
            new_mean = self.running_mean + w * delta
            # parallel (Chan et al.) combination of two variances
            new_var = ((1 - w) * self.running_var + w * var +
                       w * (1 - w) * delta**2)
            first = self.num_seen == 0
            new_var = torch.where(first, var, new_var)
            new_mean = torch.where(first & has, mean, new_mean)
            self.num_seen.copy_(total)
        else:
            m = self.momentum
            new_mean = (1 - m) * self.running_mean + m * mean
            new_var = (1 - m) * self.running_var + m * var
            self.num_seen.add_(count)
        self.running_mean.copy_(torch.where(has, new_mean, self.running_mean))
        self.running_var.copy_(torch.where(has, new_var, self.running_var))

    def normalize(self, values: torch.Tensor
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Standardise values; return ``(z, present)``."""
        present = torch.isfinite(values)
        if self.training:
            self._update_stats(values, present)
        z = (values - self.running_mean) / (self.running_var + 1e-5).sqrt()
        z = torch.where(present, z, torch.zeros_like(z)).clamp(-10, 10)
        return z, present

    def forward(self, values: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode a batch of records.

        Args:
            values (Tensor): (B, num_fields) float; NaN marks a missing
                value.

        Returns:
            tuple[Tensor, Tensor]: Features (B, out_channels) and a bool
            (B, ) that is True when at least one field is present.
        """
        if values.dim() != 2 or values.size(1) != self.num_fields:
            raise ValueError(
                f'NumericRecordEncoder: expected (B, {self.num_fields}) '
                f'numeric values, got {tuple(values.shape)}; check '
                '`num_fields` against meta.json "numeric_fields"')
        z, present = self.normalize(values.float())
        feats = self.mlp(torch.cat([z, (~present).to(z.dtype)], dim=1))
        return feats, present.any(dim=1)
