# Copyright (c) mmase contributors. All rights reserved.
from mmase.models.utils import make_divisible, make_round


def test_make_divisible_and_make_round():
    assert make_divisible(64, 0.125) == 8
    assert make_divisible(1024, 0.5) == 512
    assert make_divisible(100, 0.33) == 40  # 33 rounded up to 40
    assert make_divisible(30, 1.0, divisor=16) == 32
    assert make_round(3, 0.33) == 1
    assert make_round(6, 0.67) == 4
    assert make_round(9, 0.01) == 1  # at least one block
    assert make_round(1, 0.33) == 1
