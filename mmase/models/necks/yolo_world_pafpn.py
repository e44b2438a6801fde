# Copyright (c) mmase contributors. All rights reserved.
"""Text-guided PAFPN of YOLO-World / RTVP."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from ..utils import make_divisible, make_round


@MODELS.register_module()
class YOLOWorldPAFPN(BaseModule):
    """YOLOv8 PAFPN whose fusion blocks are text-guided (T-CSP).

    RTVP "aggregates the text features into the image features using the
    maximum Sigmoid attention" at every scale (Eq. 7, Fig. 3-c). Following
    YOLO-World, every fusion block of the YOLOv8 PAFPN (no lateral 1x1
    convs; top-down: upsample + concat + block; bottom-up: 3x3/2 conv +
    concat + block) is a :class:`MaxSigmoidCSPLayer` guided by the
    vocabulary embeddings.

    With ``text_enhancer`` (e.g. :class:`ImagePoolingAttention`), the text
    embeddings are refined from the top-down outputs before the bottom-up
    path uses them (the image-to-text direction of the interaction). The
    refined texts stay inside the neck; the head uses the encoder's
    embeddings, as YOLO-World does.

    Args:
        in_channels (Sequence[int]): Unscaled input channels per level.
        out_channels (Sequence[int]): Unscaled output channels per level.
        guide_channels (int): Text embedding dimension.
        embed_channels (Sequence[int]): Unscaled attention channels per
            output level.
        num_heads (Sequence[int]): Unscaled attention heads per level.
        deepen_factor (float): Depth multiplier. Defaults to 0.33.
        widen_factor (float): Width multiplier. Defaults to 0.5.
        num_csp_blocks (int): Unscaled bottlenecks per block.
            Defaults to 3.
        block_cfg (dict): Fusion block config; must accept
            ``(x, guide, guide_mask)``.
            Defaults to dict(type='MaxSigmoidCSPLayer').
        text_enhancer (dict, optional): Config of a text update module
            called as ``text_enhancer(txt_feats, feats)``; its
            ``image_channels``/``text_channels`` are filled in when
            missing. Defaults to None.
        freeze_all (bool): Freeze the whole neck. Defaults to False.
        norm_cfg (dict): Normalization config.
            Defaults to dict(type='BN', momentum=0.03, eps=0.001).
        act_cfg (dict): Activation config. Defaults to dict(type='SiLU').
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: Sequence[int],
                 guide_channels: int,
                 embed_channels: Sequence[int],
                 num_heads: Sequence[int],
                 deepen_factor: float = 0.33,
                 widen_factor: float = 0.5,
                 num_csp_blocks: int = 3,
                 block_cfg: ConfigType = dict(type='MaxSigmoidCSPLayer'),
                 text_enhancer: OptConfigType = None,
                 freeze_all: bool = False,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        n = len(in_channels)
        if not (len(out_channels) == len(embed_channels) == len(num_heads)
                == n):
            raise ValueError('YOLOWorldPAFPN: in_channels, out_channels, '
                             'embed_channels and num_heads need one entry '
                             'per level')
        self.num_levels = n
        self.freeze_all = freeze_all
        ins = [make_divisible(c, widen_factor) for c in in_channels]
        outs = [make_divisible(c, widen_factor) for c in out_channels]
        embeds = [make_divisible(c, widen_factor) for c in embed_channels]
        heads = [max(1, int(h * widen_factor)) for h in num_heads]
        blocks = make_round(num_csp_blocks, deepen_factor)
        self.in_channels = ins
        self.out_channels = outs
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)

        def build_block(c_in: int, idx: int) -> nn.Module:
            block = dict(block_cfg)
            block.update(
                in_channels=c_in,
                out_channels=outs[idx],
                guide_channels=guide_channels,
                embed_channels=embeds[idx],
                num_heads=heads[idx],
                num_blocks=blocks,
                add_identity=False,
                **cfg)
            return MODELS.build(block)

        self.upsample = nn.Upsample(scale_factor=2, mode='nearest')
        # top-down: level idx fuses upsampled (idx + 1) with input idx
        self.top_down_layers = nn.ModuleList()
        for idx in range(n - 1, 0, -1):
            upper = ins[n - 1] if idx == n - 1 else outs[idx]
            self.top_down_layers.append(
                build_block(upper + ins[idx - 1], idx - 1))
        self.downsample_layers = nn.ModuleList()
        self.bottom_up_layers = nn.ModuleList()
        for idx in range(n - 1):
            self.downsample_layers.append(
                ConvModule(outs[idx], outs[idx], 3, stride=2, padding=1,
                           **cfg))
            upper = ins[n - 1] if idx + 1 == n - 1 else outs[idx + 1]
            self.bottom_up_layers.append(
                build_block(outs[idx] + upper, idx + 1))

        if text_enhancer is not None:
            enhancer = dict(text_enhancer)
            enhancer.setdefault('image_channels', outs[:-1] + ins[-1:])
            enhancer.setdefault('text_channels', guide_channels)
            self.text_enhancer = MODELS.build(enhancer)
        else:
            self.text_enhancer = None
        if freeze_all:
            self._freeze_all()

    def _freeze_all(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
        for param in self.parameters():
            param.requires_grad = False

    def train(self, mode: bool = True) -> 'YOLOWorldPAFPN':
        """Set train mode; a frozen neck stays in eval mode."""
        super().train(mode)
        if self.freeze_all:
            self._freeze_all()
        return self

    def forward(self,
                img_feats: Sequence[Tensor],
                txt_feats: Tensor,
                txt_masks: Optional[Tensor] = None
                ) -> Union[Tuple[Tensor, ...], List[Tensor]]:
        """Forward function.

        Args:
            img_feats (Sequence[Tensor]): Backbone levels, finest first.
            txt_feats (Tensor): Vocabulary embeddings (B, N, D).
            txt_masks (Tensor, optional): (B, N) bool, True for real texts.
                Defaults to None.

        Returns:
            tuple[Tensor]: Output levels, finest first.
        """
        if len(img_feats) != self.num_levels:
            raise ValueError(f'YOLOWorldPAFPN: expected {self.num_levels} '
                             f'levels, got {len(img_feats)}')
        n = self.num_levels
        inner = [None] * n
        inner[n - 1] = img_feats[n - 1]
        for i, idx in enumerate(range(n - 1, 0, -1)):
            x = torch.cat([self.upsample(inner[idx]), img_feats[idx - 1]], 1)
            inner[idx - 1] = self.top_down_layers[i](x, txt_feats, txt_masks)
        if self.text_enhancer is not None:
            txt_feats = self.text_enhancer(txt_feats, inner)
        outs = [inner[0]]
        for idx in range(n - 1):
            x = torch.cat(
                [self.downsample_layers[idx](outs[-1]), inner[idx + 1]], 1)
            outs.append(self.bottom_up_layers[idx](x, txt_feats, txt_masks))
        return tuple(outs)
