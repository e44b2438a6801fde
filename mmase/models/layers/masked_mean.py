# Copyright (c) mmase contributors. All rights reserved.
import torch


def masked_mean(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``tokens`` (B, N, C) over the valid positions of ``mask``.

    Args:
        tokens (Tensor): (B, N, C).
        mask (Tensor): Bool (B, N), True for valid tokens.

    Returns:
        Tensor: (B, C); all-zero for a row without a valid token.
    """
    weight = mask.to(tokens.dtype).unsqueeze(-1)
    total = (tokens * weight).sum(dim=1)
    count = weight.sum(dim=1).clamp(min=1.)
    return total / count
