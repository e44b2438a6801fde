# Copyright (c) mmase contributors. All rights reserved.
"""Region-text contrastive classifier."""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor


@MODELS.register_module()
class RegionTextContrastiveHead(BaseModule):
    """Open-vocabulary classification by image-text similarity.

    ``logit[b, n, h, w] = exp(s) * <x_[b, :, h, w], t_[b, n]> + bias``
    (``s`` = ``logit_scale``), where ``x_`` and ``t_`` are L2-normalised
    over channels, so the logit is a scaled cosine similarity. The scale
    starts at ``1 / 0.07`` (CLIP's temperature) and the bias at the
    focal-loss prior ``-log((1 - p) / p)``, so every class starts with
    probability ~p.

    Args:
        init_logit_scale (float): Initial ``exp(logit_scale)``.
            Defaults to 1 / 0.07.
        prior_prob (float): Initial sigmoid probability of the bias.
            Defaults to 0.01.
        learnable (bool): Learn the scale and the bias. Defaults to True.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 init_logit_scale: float = 1 / 0.07,
                 prior_prob: float = 0.01,
                 learnable: bool = True,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        scale = torch.tensor([math.log(init_logit_scale)])
        bias = torch.tensor([-math.log((1 - prior_prob) / prior_prob)])
        if learnable:
            self.logit_scale = nn.Parameter(scale)
            self.bias = nn.Parameter(bias)
        else:
            self.register_buffer('logit_scale', scale)
            self.register_buffer('bias', bias)

    def forward(self,
                x: Tensor,
                text_feats: Tensor,
                text_mask: Optional[Tensor] = None) -> Tensor:
        """Forward function.

        Args:
            x (Tensor): Region embeddings (B, C, H, W).
            text_feats (Tensor): Text embeddings (B, N, C).
            text_mask (Tensor, optional): (B, N) bool, True for real texts.
                Padded texts get the logit -1e4 (probability 0, yet finite
                so losses stay finite). Defaults to None.

        Returns:
            Tensor: Logits (B, N, H, W).
        """
        x = F.normalize(x, dim=1, p=2)
        w = F.normalize(text_feats, dim=-1, p=2)
        logits = torch.einsum('bchw,bnc->bnhw', x, w)
        logits = logits * self.logit_scale.exp() + self.bias
        if text_mask is not None:
            logits = logits.masked_fill(~text_mask.bool()[:, :, None, None],
                                        -1e4)
        return logits
