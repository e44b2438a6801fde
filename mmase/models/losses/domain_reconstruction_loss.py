# Copyright (c) mmase contributors. All rights reserved.
"""Expert-feature reconstruction loss of RTVP (eq. 3)."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmdet.registry import MODELS


@MODELS.register_module()
class DomainReconstructionLoss(nn.Module):
    """MSE between reconstructed SAM features and expert CNN features.

    One scale of the multi-scale domain optimisation function of RTVP
    (eq. 3): the decoder's reconstruction ``R_l`` of the masked, sampled
    Mobile-SAM feature is compared with the expert CNN feature ``E_l``;
    :class:`ExpertDomainAdapter` sums it over stem, stage 1 and stage 2.

    Choices (the paper gives no formula body):

    - ``normalize='channel'``: both maps are normalised per pixel over the
      channels (zero mean, unit variance, no affine), as in MAE's normalised
      targets and feature distillation. The expert's feature magnitude then
      does not set the loss scale, and the adapter learns the expert's
      feature *pattern*. ``'none'`` compares raw values.
    - The target is resized (bilinear) to the prediction when the two differ
      by rounding at odd input sizes.
    - ``detach_target=True`` by default: the expert is the teacher. With a
      trainable target and no other loss on the expert, both sides drift
      toward whatever is easiest to match (a collapse: the loss falls to
      ~0 and any pre-training of the expert is erased), so the loss never
      sends gradients into the target.

    Args:
        normalize (str): ``'channel'`` or ``'none'``. Defaults to 'channel'.
        detach_target (bool): Stop the gradient into the target.
            Defaults to True.
        eps (float): Normalisation epsilon. Defaults to 1e-6.
        loss_weight (float): Loss weight. Defaults to 1.0.
    """

    def __init__(self,
                 normalize: str = 'channel',
                 detach_target: bool = True,
                 eps: float = 1e-6,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if normalize not in ('channel', 'none'):
            raise ValueError('DomainReconstructionLoss: normalize must be '
                             f'"channel" or "none", got "{normalize}"')
        self.normalize = normalize
        self.detach_target = detach_target
        self.eps = eps
        self.loss_weight = loss_weight

    def _norm(self, x: Tensor) -> Tensor:
        if self.normalize == 'none':
            return x
        mean = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True, unbiased=False)
        return (x - mean) / (var + self.eps).sqrt()

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Reconstruction (B, C, H, W).
            target (Tensor): Expert feature (B, C, H', W').
            weight (Tensor, optional): Per-pixel weight (B, 1, H, W); the
                loss is the weighted mean. Defaults to None.

        Returns:
            Tensor: Scalar loss.
        """
        if pred.dim() != 4 or target.dim() != 4:
            raise ValueError('DomainReconstructionLoss: pred and target must '
                             'be (B, C, H, W)')
        if pred.shape[:2] != target.shape[:2]:
            raise ValueError(
                'DomainReconstructionLoss: pred and target differ in batch '
                f'or channels: {tuple(pred.shape)} vs {tuple(target.shape)}')
        if self.detach_target:
            target = target.detach()
        if target.shape[-2:] != pred.shape[-2:]:
            target = F.interpolate(
                target, size=pred.shape[-2:], mode='bilinear',
                align_corners=False)
        diff = (self._norm(pred) - self._norm(target)).pow(2).mean(
            dim=1, keepdim=True)
        if weight is None:
            loss = diff.mean()
        else:
            loss = (diff * weight).sum() / weight.sum().clamp(min=1e-6)
        return self.loss_weight * loss
