# Copyright (c) mmase contributors. All rights reserved.
"""Sparse-modelling sample selection of RTVP (eq. 6)."""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig


@MODELS.register_module()
class SparseSelection(BaseModule):
    """Per-patch top-k selection of above-mean pixels (eq. 6).

    The score map is cut into non-overlapping patches of ``patch_size``
    input pixels (``max(1, patch_size // stride)`` feature pixels; Table 6
    compares 32, 64 and 128). Inside each patch the mean score ``mu`` is
    computed; pixels with ``score > mu`` are candidates and the ``k``
    highest candidates are selected. A patch whose scores are all equal
    selects nothing. Border patches that stick out of the map only count
    their valid pixels.

    ``k``: the paper does not give it. ``topk`` fixes it per patch;
    otherwise ``k = max(1, round(topk_ratio * p * p))`` for a ``p x p``
    feature patch, so the selected density is the same on every scale
    (default: a quarter of the patch, at most the above-mean half).

    Args:
        patch_size (int): Patch size in input pixels. Defaults to 32.
        topk (int, optional): Pixels kept per patch. Defaults to None.
        topk_ratio (float): Fraction of the patch kept when ``topk`` is
            None. Defaults to 0.25.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 patch_size: int = 32,
                 topk: Optional[int] = None,
                 topk_ratio: float = 0.25,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if patch_size < 1:
            raise ValueError(f'SparseSelection: patch_size must be >= 1, '
                             f'got {patch_size}')
        if topk is not None and topk < 1:
            raise ValueError(f'SparseSelection: topk must be >= 1, got {topk}')
        if not 0.0 < topk_ratio <= 1.0:
            raise ValueError('SparseSelection: topk_ratio must be in (0, 1], '
                             f'got {topk_ratio}')
        self.patch_size = patch_size
        self.topk = topk
        self.topk_ratio = topk_ratio

    def feature_patch(self, stride: int) -> int:
        """Patch side in feature pixels for a given stride."""
        return max(1, self.patch_size // stride)

    def num_keep(self, p: int) -> int:
        """Pixels kept in a ``p x p`` patch."""
        if self.topk is not None:
            return min(self.topk, p * p)
        return min(p * p, max(1, int(round(self.topk_ratio * p * p))))

    @torch.no_grad()
    def forward(self, score: Tensor, stride: int = 1) -> Tensor:
        """Select sparse samples.

        Args:
            score (Tensor): Uncertainty score (B, 1, H, W).
            stride (int): Stride of the map in input pixels. Defaults to 1.

        Returns:
            Tensor: Float selection mask (B, 1, H, W), 1 = selected.
        """
        if score.dim() != 4 or score.shape[1] != 1:
            raise ValueError('SparseSelection: score must be (B, 1, H, W), '
                             f'got {tuple(score.shape)}')
        b, _, h, w = score.shape
        p = self.feature_patch(stride)
        k = self.num_keep(p)
        nh, nw = math.ceil(h / p), math.ceil(w / p)
        pad = (0, nw * p - w, 0, nh * p - h)
        s = F.pad(score.float(), pad)
        valid = F.pad(torch.ones_like(score, dtype=torch.float32), pad)

        def to_patches(x: Tensor) -> Tensor:
            # (B, 1, nh*p, nw*p) -> (B, nh*nw, p*p)
            x = x.view(b, nh, p, nw, p).permute(0, 1, 3, 2, 4)
            return x.reshape(b, nh * nw, p * p)

        sp, vp = to_patches(s), to_patches(valid)
        mean = (sp * vp).sum(-1, keepdim=True) / vp.sum(
            -1, keepdim=True).clamp(min=1)
        cand = (sp > mean) & (vp > 0)
        ranked = sp.masked_fill(~cand, float('-inf'))
        idx = ranked.topk(k, dim=-1).indices
        sel = torch.zeros_like(sp).scatter_(-1, idx, 1.0)
        sel = sel * cand.float()
        sel = sel.view(b, nh, nw, p, p).permute(0, 1, 3, 2, 4)
        sel = sel.reshape(b, 1, nh * p, nw * p)[..., :h, :w]
        return sel.to(score.dtype).contiguous()
