# Copyright (c) mmase contributors. All rights reserved.
"""Text-guided PAFPN of YOLO-World / RTVP."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from ..utils import make_divisible
from .yolov8_pafpn import YOLOv8PAFPN


@MODELS.register_module()
class YOLOWorldPAFPN(YOLOv8PAFPN):
    """YOLOv8 PAFPN whose fusion blocks are text-guided (T-CSP).

    RTVP "aggregates the text features into the image features using the
    maximum Sigmoid attention" at every scale (Eq. 7, Fig. 3-c). Following
    YOLO-World, every fusion block of the YOLOv8 PAFPN (no lateral 1x1
    convs; top-down: upsample + concat + block; bottom-up: 3x3/2 conv +
    concat + block) is a :class:`MaxSigmoidCSPLayer` guided by the
    vocabulary embeddings; the layers (and their state-dict keys) are those
    of :class:`YOLOv8PAFPN`.

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
        if not (len(out_channels) == len(embed_channels) == len(num_heads)
                == len(in_channels)):
            raise ValueError('YOLOWorldPAFPN: in_channels, out_channels, '
                             'embed_channels and num_heads need one entry '
                             'per level')
        # read by _block_kwargs while the base class builds the blocks
        self.guide_channels = guide_channels
        self.embed_channels = [
            make_divisible(c, widen_factor) for c in embed_channels
        ]
        self.num_heads = [max(1, int(h * widen_factor)) for h in num_heads]
        super().__init__(
            in_channels=in_channels,
            out_channels=out_channels,
            deepen_factor=deepen_factor,
            widen_factor=widen_factor,
            num_csp_blocks=num_csp_blocks,
            block_cfg=block_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg)
        self.freeze_all = freeze_all
        if text_enhancer is not None:
            enhancer = dict(text_enhancer)
            enhancer.setdefault('image_channels',
                                self.out_channels[:-1] + self.in_channels[-1:])
            enhancer.setdefault('text_channels', guide_channels)
            self.text_enhancer = MODELS.build(enhancer)
        else:
            self.text_enhancer = None
        if freeze_all:
            self._freeze_all()

    def _block_kwargs(self, level: int) -> dict:
        return dict(
            guide_channels=self.guide_channels,
            embed_channels=self.embed_channels[level],
            num_heads=self.num_heads[level])

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
                txt_masks: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        """Forward function.

        Args:
            img_feats (Sequence[Tensor]): Backbone levels, finest first.
            txt_feats (Tensor): Vocabulary embeddings (B, N, D).
            txt_masks (Tensor, optional): (B, N) bool, True for real texts.
                Defaults to None.

        Returns:
            tuple[Tensor]: Output levels, finest first.
        """
        self._check_levels(img_feats)
        inner = self._top_down(img_feats, txt_feats, txt_masks)
        if self.text_enhancer is not None:
            txt_feats = self.text_enhancer(txt_feats, inner)
        return self._bottom_up(inner, txt_feats, txt_masks)
