# Copyright (c) mmase contributors. All rights reserved.
"""Cross-modal text-visual prompt interaction of RTVP (eq. 7)."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig


def max_sigmoid_attention(query: Tensor,
                          text: Tensor,
                          bias: Optional[Tensor] = None,
                          text_mask: Optional[Tensor] = None) -> Tensor:
    """Max-sigmoid attention weights.

    ``w[b, m, y, x] = sigmoid(max_n <q[b, m, :, y, x], t[b, n, m, :]> /
    sqrt(d) + bias[m])``: every pixel keeps its best-matching text, per
    head ``m``.

    Args:
        query (Tensor): (B, M, d, H, W) per-head pixel embeddings.
        text (Tensor): (B, N, M, d) per-head text embeddings.
        bias (Tensor, optional): (M,) per-head bias. Defaults to None.
        text_mask (Tensor, optional): (B, N) bool, False = padded text.
            Defaults to None.

    Returns:
        Tensor: Weights (B, M, H, W) in (0, 1).
    """
    d = query.shape[2]
    sim = torch.einsum('bmdhw,bnmd->bmhwn', query, text) / d**0.5
    if text_mask is not None:
        sim = sim.masked_fill(~text_mask[:, None, None, None, :].bool(),
                              float('-inf'))
    logit = sim.max(dim=-1).values
    if bias is not None:
        logit = logit + bias.view(1, -1, 1, 1)
    return torch.sigmoid(logit)


def resize_prompt(x: Tensor, size: Tuple[int, int]) -> Tensor:
    """Resize a sparse prompt map: max-pool down, bilinear up.

    Max pooling keeps the few selected pixels when going to a coarser grid
    (bilinear sampling would skip most of them).
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if x.shape[-2] >= size[0] and x.shape[-1] >= size[1]:
        return F.adaptive_max_pool2d(x, size)
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


@MODELS.register_module()
class TextVisualPromptInteraction(BaseModule):
    """Inject the refined visual prompt into multi-scale image features,
    guided by the text embeddings, with max-sigmoid attention (eq. 7).

    For image level ``i`` (feature ``X_i``):

    1. ``P_i``: the refined prompts of all scales are resized to level
       ``i`` (:func:`resize_prompt`), concatenated and fused by a 1x1
       ``ConvModule`` to ``embed_channels``.
    2. Query ``q = W_q P_i`` split into ``num_heads`` heads; text
       ``t = W_t T`` (linear on the text embeddings).
    3. ``w = sigmoid(max_n q . t_n / sqrt(d) + b)`` (:func:`max_sigmoid_attention`).
    4. ``X_i' = X_i + gamma_i * (W_v P_i) * w``: the value projection of the
       prompt, gated per head by its best text match, is added to the image
       feature; ``gamma_i`` is a learnable per-level scale (init
       ``init_scale``) so the injection starts small.

    Prompt pixels that match no text of the vocabulary are gated off, so the
    image features receive the prompt only where it is semantically
    relevant; with a new vocabulary at test time the gates change
    accordingly.

    Args:
        img_channels (Sequence[int]): Image feature channels per level.
        prompt_channels (Sequence[int]): Refined prompt channels per scale.
        text_channels (int): Text embedding width.
        embed_channels (int): Fused prompt / attention width.
            Defaults to 128.
        num_heads (int): Attention heads; must divide ``embed_channels`` and
            every ``img_channels``. Defaults to 4.
        init_scale (float): Initial ``gamma``. Defaults to 0.1.
        use_text (bool): Gate with the text (eq. 7). False replaces the
            gate by the learnable constant ``sigmoid(b)``: the prompt is
            injected without text guidance (Table 5, "-Text-Visual
            Interaction"). Defaults to True.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to SiLU.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 img_channels: Sequence[int],
                 prompt_channels: Sequence[int],
                 text_channels: int,
                 embed_channels: int = 128,
                 num_heads: int = 4,
                 init_scale: float = 0.1,
                 use_text: bool = True,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_channels % num_heads:
            raise ValueError('TextVisualPromptInteraction: num_heads must '
                             'divide embed_channels')
        for c in img_channels:
            if c % num_heads:
                raise ValueError('TextVisualPromptInteraction: num_heads '
                                 f'must divide every img_channels, got {c}')
        self.img_channels = list(img_channels)
        self.num_heads = num_heads
        self.embed_channels = embed_channels
        self.use_text = use_text
        total = sum(prompt_channels)
        self.fuse = nn.ModuleList([
            ConvModule(
                total, embed_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for _ in img_channels
        ])
        if use_text:
            self.query = nn.ModuleList([
                nn.Conv2d(embed_channels, embed_channels, 1)
                for _ in img_channels
            ])
            self.text_proj = nn.ModuleList([
                nn.Linear(text_channels, embed_channels) for _ in img_channels
            ])
        self.value = nn.ModuleList(
            [nn.Conv2d(embed_channels, c, 1) for c in img_channels])
        self.bias = nn.ParameterList(
            [nn.Parameter(torch.zeros(num_heads)) for _ in img_channels])
        self.scale = nn.ParameterList([
            nn.Parameter(torch.full((1, ), float(init_scale)))
            for _ in img_channels
        ])

    def forward(self,
                img_feats: Sequence[Tensor],
                prompts: Sequence[Tensor],
                txt_feats: Tensor,
                txt_masks: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        """Inject prompts.

        Args:
            img_feats (Sequence[Tensor]): Image features per level.
            prompts (Sequence[Tensor]): Refined prompts per scale.
            txt_feats (Tensor): Text embeddings (B, N, D).
            txt_masks (Tensor, optional): (B, N) bool, False = padding.
                Defaults to None.

        Returns:
            tuple[Tensor]: Updated image features.
        """
        if len(img_feats) != len(self.fuse):
            raise ValueError(
                f'TextVisualPromptInteraction: got {len(img_feats)} image '
                f'levels, configured for {len(self.fuse)}')
        b = img_feats[0].shape[0]
        if txt_feats.dim() == 2:
            txt_feats = txt_feats.unsqueeze(0).expand(b, -1, -1)
        m = self.num_heads
        d = self.embed_channels // m
        outs: List[Tensor] = []
        for i, x in enumerate(img_feats):
            size = x.shape[-2:]
            p = torch.cat([resize_prompt(pr, size) for pr in prompts], dim=1)
            p = self.fuse[i](p)
            if self.use_text:
                q = self.query[i](p).view(b, m, d, *size)
                t = self.text_proj[i](txt_feats).view(b, -1, m, d)
                w = max_sigmoid_attention(q, t, self.bias[i], txt_masks)
            else:
                w = torch.sigmoid(self.bias[i]).view(1, m, 1, 1).expand(
                    b, m, *size)
            v = self.value[i](p)
            c = v.shape[1]
            v = (v.view(b, m, c // m, *size) * w.unsqueeze(2)).view(
                b, c, *size)
            outs.append(x + self.scale[i] * v)
        return tuple(outs)
