# Copyright (c) mmase contributors. All rights reserved.
"""Procedural industrial surfaces for the embedded MMIO-style benchmark.

One texture per MMIO super-category (RTVP paper, section "Multi-Modal
Industrial-Open Dataset": metallurgy, automobile manufacturing, precision
electronics, textiles, daily necessities, wood processing). Every function
maps ``(height, width, rng)`` to a float32 RGB image in ``[0, 255]``. All
randomness comes from the ``numpy.random.Generator`` passed in.

The surfaces are kept mid-tone (luminance roughly 90-180) so that black,
white and saturated defects stay visible on all of them.
"""
from typing import Callable, Dict, Tuple

import cv2
import numpy as np

RGB = Tuple[float, float, float]


def smooth_noise(h: int, w: int, rng: np.random.Generator, cell: float,
                 cell_y: float = None) -> np.ndarray:
    """Value noise: random values on a coarse grid upsampled bicubically.

    Args:
        h (int): Output height.
        w (int): Output width.
        rng (np.random.Generator): Random generator.
        cell (float): Grid spacing along x in pixels.
        cell_y (float, optional): Grid spacing along y. Defaults to ``cell``.

    Returns:
        np.ndarray: ``(h, w)`` float32 noise with zero mean, unit-ish std.
    """
    cell_y = cell if cell_y is None else cell_y
    gh = max(2, int(np.ceil(h / cell_y)) + 1)
    gw = max(2, int(np.ceil(w / cell)) + 1)
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def _tint(gray: np.ndarray, color: RGB) -> np.ndarray:
    """Broadcast a ``(h, w)`` modulation around an RGB base colour."""
    return gray[..., None] + np.asarray(color, np.float32)[None, None]


def brushed_metal(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Grey steel with fine horizontal brushing streaks and a soft sheen."""
    base = rng.uniform(115, 160)
    streaks = smooth_noise(h, w, rng, cell=w / 2, cell_y=1.0) * 8
    fine = rng.standard_normal((h, w)).astype(np.float32)
    fine = cv2.blur(fine, (31, 1)) * 14
    yy = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    sheen = (np.cos(yy * rng.uniform(1, 2.5) + rng.uniform(0, 3)) * 12)
    gray = streaks + fine + sheen
    tone = rng.uniform(-6, 6)
    return _tint(gray, (base + tone, base, base - tone))


PAINT_COLORS = [(150, 152, 158), (70, 100, 140), (65, 110, 85),
                (175, 160, 128), (120, 120, 128)]


def painted_panel(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Car-body paint: flat colour, orange-peel ripple, diagonal reflection."""
    color = np.asarray(PAINT_COLORS[rng.integers(len(PAINT_COLORS))],
                       np.float32) + rng.uniform(-10, 10, 3)
    peel = smooth_noise(h, w, rng, cell=6) * 3
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    d = (xx * np.cos(angle) + yy * np.sin(angle)) / max(h, w)
    center = rng.uniform(0.2, 0.8)
    reflect = np.exp(-((d - center) / 0.18)**2) * rng.uniform(15, 30)
    return _tint(peel + reflect, tuple(color))


def pcb(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Green solder mask with lighter traces and grey rectangular pads."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = np.asarray((40, 115, 60), np.float32) + rng.uniform(-8, 8, 3)
    img += smooth_noise(h, w, rng, cell=20)[..., None] * 4
    trace = tuple(float(v) for v in (img[0, 0] + np.array((25, 45, 25))))
    width = max(1, int(round(min(h, w) / 80)))
    for _ in range(int(rng.integers(6, 12))):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        pts = [(x, y)]
        for _ in range(int(rng.integers(2, 5))):
            step = int(rng.integers(min(h, w) // 8, min(h, w) // 2))
            direction = rng.integers(0, 4)
            dx, dy = [(1, 0), (0, 1), (1, 1), (1, -1)][direction]
            x, y = x + dx * step, y + dy * step
            pts.append((x, y))
        cv2.polylines(img, [np.asarray(pts, np.int32)], False, trace,
                      thickness=width * 2, lineType=cv2.LINE_AA)
    pad = (175.0, 178.0, 170.0)
    s = max(3, min(h, w) // 40)
    for _ in range(int(rng.integers(3, 8))):
        x, y = int(rng.integers(0, w - 2 * s)), int(rng.integers(0, h - s))
        cv2.rectangle(img, (x, y), (x + 2 * s, y + s), pad, -1)
    return img


FABRIC_COLORS = [(185, 172, 140), (160, 160, 165), (120, 130, 95),
                 (95, 110, 145), (170, 140, 120)]


def woven_fabric(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Plain weave: two crossing sinusoidal thread families."""
    color = np.asarray(FABRIC_COLORS[rng.integers(len(FABRIC_COLORS))],
                       np.float32) + rng.uniform(-8, 8, 3)
    period = rng.uniform(3.5, 6.0) * max(h, w) / 320
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    warp = np.sin(2 * np.pi * xx / period)
    weft = np.sin(2 * np.pi * yy / period)
    checker = np.sign(
        np.sin(np.pi * xx / period) * np.sin(np.pi * yy / period))
    weave = (warp * (checker > 0) + weft * (checker <= 0)) * 10
    slub = smooth_noise(h, w, rng, cell=w / 2, cell_y=2) * 5
    return _tint(weave + slub, tuple(color))


def glass(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Glass container: blue-grey vertical gradient with bright bands."""
    xx = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    curve = 1 - 4 * (xx - 0.5)**2  # cylindrical shading
    base = 115 + 40 * curve + 12 * yy
    band_x = rng.uniform(0.15, 0.85)
    band = np.exp(-((xx - band_x) / rng.uniform(0.03, 0.07))**2) * 35
    gray = np.broadcast_to(base + band, (h, w)).astype(np.float32)
    gray = gray + smooth_noise(h, w, rng, cell=40) * 3
    tint = rng.uniform(-5, 5)
    return np.stack([gray - 12 + tint, gray - 2, gray + 10], -1)


def wood_grain(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Planed wood: warped growth rings along x, light brown."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    warp = smooth_noise(h, w, rng, cell=w / 2, cell_y=h / 4) * 8
    freq = rng.uniform(0.08, 0.16) * 320 / max(h, w)
    rings = np.sin((yy + warp + 0.05 * xx) * freq)
    rings = np.sign(rings) * np.abs(rings)**0.5 * 12
    fibre = cv2.blur(rng.standard_normal((h, w)).astype(np.float32),
                     (15, 1)) * 5
    base = np.asarray((188, 146, 100), np.float32) + rng.uniform(-12, 8)
    return _tint(rings + fibre, tuple(base))


SURFACES: Dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    'brushed_metal': brushed_metal,
    'painted_panel': painted_panel,
    'pcb': pcb,
    'woven_fabric': woven_fabric,
    'glass': glass,
    'wood_grain': wood_grain,
}
