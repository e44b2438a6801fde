# Copyright (c) mmase contributors. All rights reserved.
"""Region-text classifier with batch-normalised region embeddings."""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor


@MODELS.register_module()
class BNContrastiveHead(BaseModule):
    """Open-vocabulary classification with a BatchNorm on the regions.

    The classifier of YOLO-World v2 (``BNContrastiveHead`` of the reference
    implementation): the region embeddings are normalised by a BatchNorm
    over channels instead of an L2 norm, the texts stay L2-normalised::

        logit[b, n, h, w] = exp(s) * <BN(x)[b, :, h, w], t_[b, n]> + bias

    with ``t_ = t / ||t||``, ``s = logit_scale``. Unlike the L2 head
    (:class:`RegionTextContrastiveHead`), the region norm is not fixed to 1,
    so the logit range is learnt through the BatchNorm's affine weights as
    well as ``exp(s)``. ``logit_scale`` starts at -1 as in the reference
    (it notes this is more stable than CLIP's ``log(1 / 0.07)``) and the
    bias at 0; :class:`YOLOWorldHead` then sets the bias to its per-level
    prior (``prior_cfg``). Both are learnable.

    The parameter names (``norm``, ``logit_scale``, ``bias``) are those of
    the reference, so official checkpoints map one to one (the scalars are
    stored with shape ``(1, )`` here, as in :class:`RegionTextContrastiveHead`;
    ``tools/model_converters/yolo_world_to_mmase.py`` reshapes them).

    Args:
        embed_dims (int): Channels of the region (and text) embeddings.
        norm_cfg (dict): Config of the region normalisation. Defaults to
            dict(type='BN', momentum=0.03, eps=0.001), the YOLOv8 BN.
        init_logit_scale (float): Initial ``exp(logit_scale)``.
            Defaults to ``exp(-1)``.
        init_bias (float): Initial bias. Defaults to 0.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 init_logit_scale: float = math.exp(-1.0),
                 init_bias: float = 0.0,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if init_logit_scale <= 0:
            raise ValueError('BNContrastiveHead: init_logit_scale must be '
                             f'positive, got {init_logit_scale}')
        self.embed_dims = embed_dims
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.logit_scale = nn.Parameter(
            torch.tensor([math.log(init_logit_scale)]))
        self.bias = nn.Parameter(torch.tensor([float(init_bias)]))

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
        x = self.norm(x)
        w = F.normalize(text_feats, dim=-1, p=2)
        logits = torch.einsum('bchw,bnc->bnhw', x, w)
        logits = logits * self.logit_scale.exp() + self.bias
        if text_mask is not None:
            logits = logits.masked_fill(~text_mask.bool()[:, :, None, None],
                                        -1e4)
        return logits
