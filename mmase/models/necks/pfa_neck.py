# Copyright (c) mmase contributors. All rights reserved.
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from mmase.models.layers.masked_mean import masked_mean


@MODELS.register_module()
class PFANeck(BaseModule):
    """Projection part of Progressive Feature Alignment (ASE paper, Fig. 3).

    Image tokens (backbone feature-map cells) and text tokens (frozen text
    encoder tokens, plus the numeric-record token) are mapped into one joint
    space of ``embed_dims`` channels by a two-layer MLP per modality followed
    by LayerNorm. The pooled vectors (mean over image cells, masked mean over
    valid text tokens) are the image-text pair that :class:`PFALoss` aligns;
    the projected tokens are what :class:`CMAFNeck` fuses, so fusion works
    in the aligned space.

    The paper gives no layer sizes; an MLP projection as in CLIP-like
    alignment heads is our choice.

    With ``img_channels=None`` there is no image branch (a text-only model,
    e.g. the "descriptor only" baseline).

    Args:
        img_channels (int, optional): Channels of the image tokens; None
            for a text-only model.
        text_channels (int): Channels of the text tokens.
        embed_dims (int): Channels of the joint space. Defaults to 256.
        hidden_dims (int, optional): Hidden width of the MLPs. Defaults to
            None (``embed_dims``).
        dropout (float): Dropout after the hidden layer. Defaults to 0.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to ``dict(type='Xavier', layer='Linear')``.
    """

    def __init__(self,
                 img_channels: Optional[int],
                 text_channels: int,
                 embed_dims: int = 256,
                 hidden_dims: Optional[int] = None,
                 dropout: float = 0.,
                 init_cfg: Optional[dict] = dict(
                     type='Xavier', layer='Linear')) -> None:
        super().__init__(init_cfg=init_cfg)
        hidden_dims = hidden_dims or embed_dims
        self.img_channels = img_channels
        self.text_channels = text_channels
        self.embed_dims = embed_dims

        def mlp(in_channels: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Linear(in_channels, hidden_dims), nn.GELU(),
                nn.Dropout(dropout), nn.Linear(hidden_dims, embed_dims),
                nn.LayerNorm(embed_dims))

        self.img_proj = mlp(img_channels) if img_channels else None
        self.text_proj = mlp(text_channels)

    def forward(self,
                img_tokens: Optional[torch.Tensor],
                text_tokens: Optional[torch.Tensor] = None,
                text_mask: Optional[torch.Tensor] = None
                ) -> Dict[str, Optional[torch.Tensor]]:
        """Project both modalities.

        Args:
            img_tokens (Tensor, optional): (B, N_i, C_i); None for a
                text-only model (then no image entries are returned).
            text_tokens (Tensor, optional): (B, N_t, C_t). Defaults to None.
            text_mask (Tensor, optional): Bool (B, N_t), True for valid
                tokens. Defaults to None (all valid).

        Returns:
            dict: ``img_tokens`` (B, N_i, D) and ``img_feat`` (B, D) when
            image tokens are given; ``text_tokens`` (B, N_t, D),
            ``text_mask``, ``text_feat`` (B, D; zeros for a sample without
            valid token) and ``text_valid`` (B, ) bool when text is given.
        """
        if img_tokens is None and text_tokens is None:
            raise ValueError('PFANeck: neither image nor text tokens given')
        out = {}
        if img_tokens is not None:
            if img_tokens.dim() != 3 or \
                    img_tokens.size(-1) != self.img_channels:
                raise ValueError('PFANeck: img_tokens must be (B, N, '
                                 f'{self.img_channels}), got '
                                 f'{tuple(img_tokens.shape)}')
            if self.img_proj is None:
                raise ValueError('PFANeck: built without an image branch '
                                 '(img_channels=None)')
            img = self.img_proj(img_tokens)
            out.update(img_tokens=img, img_feat=img.mean(dim=1))
        if text_tokens is None:
            return out
        if text_tokens.size(-1) != self.text_channels:
            raise ValueError('PFANeck: text_tokens must have '
                             f'{self.text_channels} channels, got '
                             f'{tuple(text_tokens.shape)}')
        if text_mask is None:
            text_mask = text_tokens.new_ones(
                text_tokens.shape[:2], dtype=torch.bool)
        text = self.text_proj(text_tokens)
        out.update(
            text_tokens=text,
            text_mask=text_mask,
            text_feat=masked_mean(text, text_mask),
            text_valid=text_mask.any(dim=1))
        return out
