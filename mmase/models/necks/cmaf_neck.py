# Copyright (c) mmase contributors. All rights reserved.
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from mmase.models.layers.masked_mean import masked_mean


@MODELS.register_module()
class CMAFNeck(BaseModule):
    """Cross-Modality Attention Fusion (ASE paper, Sec. CMAF, Fig. 3).

    Two cross-attention blocks exchange information between the aligned
    image tokens and text tokens:

    - image -> text: image tokens query the text tokens, giving
      ``f_v = mean(FFN(LN(T_v + Attn(T_v, T_t, T_t))))``;
    - text -> image: text tokens query the image tokens, giving
      ``f_t = masked_mean(FFN(LN(T_t + Attn(T_t, T_v, T_v))))``.

    An adaptive gate, computed per sample from both modalities,
    ``g = sigmoid(MLP([f_v, f_t, f_v * f_t]))`` with ``g`` in (0, 1) per
    channel, fuses them: ``f = g * f_v + (1 - g) * f_t``.

    Missing text: a sample whose text mask has no valid token (empty
    description and record) gets no image -> text attention update, its
    gate is forced to 1, so its fused feature comes from the image tokens
    alone (no NaN from an all-masked softmax).

    The paper describes CMAF only in prose (attention both ways, adaptive
    fusion); the per-channel sigmoid gate and the post-LN transformer block
    are our choices.

    Args:
        embed_dims (int): Channels of both token sets. Defaults to 256.
        num_heads (int): Attention heads. Defaults to 4.
        feedforward_channels (int, optional): FFN hidden width. Defaults to
            None (``2 * embed_dims``).
        dropout (float): Attention / FFN dropout. Defaults to 0.
        gate_per_channel (bool): Gate per channel (True) or one scalar per
            sample (False). Defaults to True.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 4,
                 feedforward_channels: Optional[int] = None,
                 dropout: float = 0.,
                 gate_per_channel: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        ffn_channels = feedforward_channels or 2 * embed_dims
        self.embed_dims = embed_dims
        self.attn_i2t = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.attn_t2i = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.norm_img = nn.LayerNorm(embed_dims)
        self.norm_text = nn.LayerNorm(embed_dims)
        self.ffn_img = FFN(embed_dims, ffn_channels, ffn_drop=dropout)
        self.ffn_text = FFN(embed_dims, ffn_channels, ffn_drop=dropout)
        self.norm_img_out = nn.LayerNorm(embed_dims)
        self.norm_text_out = nn.LayerNorm(embed_dims)
        self.gate = nn.Sequential(
            nn.Linear(3 * embed_dims, embed_dims), nn.GELU(),
            nn.Linear(embed_dims, embed_dims if gate_per_channel else 1))

    def forward(self, img_tokens: torch.Tensor, text_tokens: torch.Tensor,
                text_mask: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Fuse the two token sets.

        Args:
            img_tokens (Tensor): (B, N_i, D).
            text_tokens (Tensor): (B, N_t, D).
            text_mask (Tensor, optional): Bool (B, N_t), True for valid text
                tokens. Defaults to None (all valid).

        Returns:
            tuple[Tensor, Tensor]: The fused feature (B, D) and the gate
            (B, D) or (B, 1), in (0, 1]; 1 for samples without text.
        """
        if img_tokens.size(-1) != self.embed_dims or \
                text_tokens.size(-1) != self.embed_dims:
            raise ValueError(
                f'CMAFNeck: both token sets need {self.embed_dims} channels, '
                f'got {tuple(img_tokens.shape)} / {tuple(text_tokens.shape)}')
        if text_mask is None:
            text_mask = text_tokens.new_ones(
                text_tokens.shape[:2], dtype=torch.bool)
        has_text = text_mask.any(dim=1)  # (B, )
        # an all-masked key set makes softmax NaN; give such rows one dummy
        # key and discard their update below.
        safe_mask = text_mask.clone()
        safe_mask[~has_text, 0] = True

        upd_img, _ = self.attn_i2t(
            img_tokens,
            text_tokens,
            text_tokens,
            key_padding_mask=~safe_mask,
            need_weights=False)
        upd_img = upd_img * has_text[:, None, None].to(upd_img.dtype)
        img = self.norm_img(img_tokens + upd_img)
        img = self.norm_img_out(self.ffn_img(img))

        upd_text, _ = self.attn_t2i(
            text_tokens, img_tokens, img_tokens, need_weights=False)
        text = self.norm_text(text_tokens + upd_text)
        text = self.norm_text_out(self.ffn_text(text))

        f_img = img.mean(dim=1)
        f_text = masked_mean(text, text_mask)
        gate = torch.sigmoid(
            self.gate(torch.cat([f_img, f_text, f_img * f_text], dim=-1)))
        gate = torch.where(has_text[:, None], gate, torch.ones_like(gate))
        fused = gate * f_img + (1. - gate) * f_text
        return fused, gate
