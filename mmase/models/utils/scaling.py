# Copyright (c) mmase contributors. All rights reserved.
"""Width / depth scaling of the YOLOv8 family (backbone, neck, head)."""
import math


def make_divisible(x: float, widen_factor: float = 1.0,
                   divisor: int = 8) -> int:
    """Scale a channel number and round it up to a multiple of ``divisor``.

    Args:
        x (float): Channels of the full-width model.
        widen_factor (float): Width multiplier. Defaults to 1.0.
        divisor (int): The result is a multiple of it. Defaults to 8.

    Returns:
        int: The scaled channel number.
    """
    return int(math.ceil(x * widen_factor / divisor) * divisor)


def make_round(x: float, deepen_factor: float = 1.0) -> int:
    """Scale a block count, keeping at least one block.

    Args:
        x (float): Blocks of the full-depth model.
        deepen_factor (float): Depth multiplier. Defaults to 1.0.

    Returns:
        int: The scaled block count (``x`` itself when ``x <= 1``).
    """
    return max(round(x * deepen_factor), 1) if x > 1 else int(x)
