# Copyright (c) mmase contributors. All rights reserved.
"""Measure the pink dots of an AOI image (ASE paper, Fig. 1).

An ASE image is a lattice of pink dots on a light background; its record
holds measurements of those dots (count, spacing, offsets, size,
intensity). This module takes the measurements from the pixels, so that

- the procedural set (:mod:`mmase.datasets.synthetic.ase_generator`) writes
  records that are measurements of its own rendered images (plus sensor
  noise), and its tests can check them;
- the ``measure`` descriptor backend (:class:`MeasureDescriber` in
  :mod:`mmase.apis.ase_describe`) can say in words where the dots of an
  image are dense, pale or missing, or shifted, as a VLM looking at the
  image would.

Steps: the local background is the grey-level closing of the green
channel (pink dots are dark in green); the *pink depth* of a pixel is
background minus green (0 on the background, about 125 in a full dot);
dots are the 8-connected components of depth > ``threshold``; the lattice
pitch is the median nearest-neighbour distance of the dot centres, the
lattice phase the circular mean of the centres modulo the pitch, and the
residual of a dot its offset from the nearest lattice node.
"""
from dataclasses import dataclass
from typing import Dict, List, Tuple

import cv2
import numpy as np

#: Names of the 3 x 3 image regions, row by row (used in descriptions).
REGION_NAMES = ('upper left', 'top', 'upper right', 'left', 'centre', 'right',
                'lower left', 'bottom', 'lower right')


@dataclass
class DotMeasurements:
    """The dots found in one image (pixel units).

    Attributes:
        depth (np.ndarray): Pink depth map (H, W) float32.
        centers (np.ndarray): (N, 2) dot centres ``(x, y)``.
        areas (np.ndarray): (N, ) dot areas in pixels.
        peaks (np.ndarray): (N, ) peak pink depth of each dot.
        pitch (float): Lattice pitch (median nearest-neighbour distance);
            NaN with fewer than 2 dots.
        phase (np.ndarray): (2, ) lattice phase ``(x, y)`` in [0, pitch).
        residuals (np.ndarray): (N, 2) offset of each dot from its nearest
            lattice node, in [-pitch / 2, pitch / 2).
    """
    depth: np.ndarray
    centers: np.ndarray
    areas: np.ndarray
    peaks: np.ndarray
    pitch: float
    phase: np.ndarray
    residuals: np.ndarray

    @property
    def num(self) -> int:
        """Number of dots."""
        return len(self.areas)


def pink_depth(img: np.ndarray, background_size: int = 0) -> np.ndarray:
    """Local background minus the green channel, clipped at 0.

    Args:
        img (np.ndarray): uint8 RGB image (H, W, 3).
        background_size (int): Side of the closing window in pixels; larger
            than a dot. Defaults to 0 (``max(5, min(H, W) // 10) | 1``).

    Returns:
        np.ndarray: float32 (H, W).
    """
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'expected an RGB image (H, W, 3), got shape '
                         f'{img.shape}')
    green = img[..., 1].astype(np.float32)
    size = background_size or max(5, min(img.shape[:2]) // 10)
    size |= 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    background = cv2.morphologyEx(green, cv2.MORPH_CLOSE, kernel)
    background = cv2.blur(background, (size, size))
    return np.clip(background - green, 0, None)


def _lattice(centers: np.ndarray) -> Tuple[float, np.ndarray, np.ndarray]:
    """Pitch, phase and residuals of dot centres (see the module doc).

    The median nearest-neighbour distance is only a first guess (jitter
    biases it low); the pitch is the period in ``[0.85, 1.15]`` times that
    guess at which the centres line up best, i.e. that maximises the
    resultant length of ``exp(2 pi i c / p)`` summed over both axes (a
    periodogram of the centres): an error of 1 % would drift the phase by a
    fifth of a pitch across a 22-dot row. Pitch and phase are then refined
    by least squares on the dots within 0.2 pitch of their node.
    """
    n = len(centers)
    if n < 2:
        return float('nan'), np.zeros(2), np.zeros((n, 2))
    diff = centers[:, None] - centers[None]
    dist = np.sqrt((diff**2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    guess = float(np.median(dist.min(1)))
    cands = guess * np.linspace(0.85, 1.15, 301)
    ang = 2 * np.pi * centers[None] / cands[:, None, None]  # (P, N, 2)
    power = np.hypot(np.cos(ang).mean(1), np.sin(ang).mean(1)).sum(-1)
    pitch = float(cands[int(np.argmax(power))])
    ang = 2 * np.pi * centers / pitch
    phase = np.arctan2(np.sin(ang).mean(0), np.cos(ang).mean(0))
    phase = (phase % (2 * np.pi)) * pitch / (2 * np.pi)
    # refine on the dots that sit on the lattice (a displaced or denser
    # area would otherwise bend the fit): least squares of
    # x = phase_x + pitch * i, y = phase_y + pitch * j over the inliers
    for _ in range(3):
        index = np.round((centers - phase) / pitch)
        res = centers - phase - index * pitch
        inlier = (np.abs(res) < 0.2 * pitch).all(1)
        if inlier.sum() < 3:
            break
        i, c = index[inlier], centers[inlier]
        k = len(c)
        a = np.zeros((2 * k, 3))
        a[:k, 0], a[:k, 1] = i[:, 0], 1
        a[k:, 0], a[k:, 2] = i[:, 1], 1
        sol = np.linalg.lstsq(a, np.concatenate([c[:, 0], c[:, 1]]),
                              rcond=None)[0]
        pitch, phase = float(sol[0]), sol[1:] % sol[0]
    res = (centers - phase + pitch / 2) % pitch - pitch / 2
    return pitch, phase, res


def detect_dots(img: np.ndarray,
                threshold: float = 40.,
                min_area: int = 2) -> DotMeasurements:
    """Find the pink dots of an AOI image.

    Args:
        img (np.ndarray): uint8 RGB image (H, W, 3).
        threshold (float): Pink depth above which a pixel belongs to a dot
            (0-255 scale). Defaults to 40.
        min_area (int): Smallest dot in pixels. Defaults to 2.

    Returns:
        DotMeasurements: The dots.
    """
    depth = pink_depth(img)
    mask = (depth > threshold).astype(np.uint8)
    num, labels, stats, _ = cv2.connectedComponentsWithStats(mask, 8)
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    x0, y0 = stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP]
    x1 = x0 + stats[1:, cv2.CC_STAT_WIDTH]
    y1 = y0 + stats[1:, cv2.CC_STAT_HEIGHT]
    h, w = mask.shape
    # dots cut by the image border have a biased size and centre
    inner = (x0 > 0) & (y0 > 0) & (x1 < w) & (y1 < h)
    keep = np.flatnonzero((areas >= min_area) & inner) + 1
    flat = labels.ravel()
    weights = depth.ravel().astype(np.float64)
    ys, xs = np.divmod(np.arange(flat.size), labels.shape[1])
    wsum = np.bincount(flat, weights, minlength=num)
    wsum = np.maximum(wsum, 1e-9)
    cx = np.bincount(flat, weights * xs, minlength=num) / wsum
    cy = np.bincount(flat, weights * ys, minlength=num) / wsum
    peaks = np.zeros(num)
    np.maximum.at(peaks, flat, weights)
    centers = np.stack([cx[keep], cy[keep]], 1)
    pitch, phase, res = _lattice(centers)
    return DotMeasurements(depth, centers, areas[keep - 1], peaks[keep],
                           pitch, phase, res)


def record_measurements(dots: DotMeasurements,
                        um_per_px: float) -> Dict[str, float]:
    """The image-derived numeric fields of an ASE record.

    Args:
        dots (DotMeasurements): From :func:`detect_dots`.
        um_per_px (float): Physical pixel size in micrometres.

    Returns:
        dict: ``dot_count``, ``pitch_um`` (median nearest-neighbour
        spacing), ``x_offset_um`` / ``y_offset_um`` (lattice phase),
        ``offset_rms_um`` (RMS distance of the dots from their lattice
        nodes), ``dot_diameter_um`` (mean equivalent diameter) and
        ``mean_intensity`` (mean peak pink depth, 0-255).
    """
    if dots.num < 2:
        nan = float('nan')
        return dict(dot_count=dots.num, pitch_um=nan, x_offset_um=nan,
                    y_offset_um=nan, offset_rms_um=nan, dot_diameter_um=nan,
                    mean_intensity=nan)
    diam = 2 * np.sqrt(dots.areas / np.pi)
    return dict(
        dot_count=int(dots.num),
        pitch_um=dots.pitch * um_per_px,
        x_offset_um=float(dots.phase[0]) * um_per_px,
        y_offset_um=float(dots.phase[1]) * um_per_px,
        offset_rms_um=float(np.sqrt((dots.residuals**2).sum(1).mean())) *
        um_per_px,
        dot_diameter_um=float(diam.mean()) * um_per_px,
        mean_intensity=float(dots.peaks.mean()))


def region_stats(dots: DotMeasurements, grid: int = 3) -> List[dict]:
    """Per-region statistics of the dots (row-major ``grid x grid`` cells).

    Each cell gives ``pink`` (mean pink depth of its pixels: more or larger
    or darker dots raise it), ``shift`` (length of the median residual
    vector of its dots divided by the pitch: a coherent displacement of the
    lattice there) and ``count``.

    Args:
        dots (DotMeasurements): From :func:`detect_dots`.
        grid (int): Cells per side. Defaults to 3.

    Returns:
        list[dict]: One dict per cell.
    """
    h, w = dots.depth.shape
    out = []
    cell_x = np.minimum((dots.centers[:, 0] * grid / w).astype(int),
                        grid - 1) if dots.num else np.zeros(0, int)
    cell_y = np.minimum((dots.centers[:, 1] * grid / h).astype(int),
                        grid - 1) if dots.num else np.zeros(0, int)
    for gy in range(grid):
        for gx in range(grid):
            y0, y1 = gy * h // grid, (gy + 1) * h // grid
            x0, x1 = gx * w // grid, (gx + 1) * w // grid
            sel = (cell_x == gx) & (cell_y == gy)
            shift = 0.
            if sel.sum() >= 2 and np.isfinite(dots.pitch):
                shift = float(np.linalg.norm(
                    np.median(dots.residuals[sel], 0)) / dots.pitch)
            out.append(dict(
                pink=float(dots.depth[y0:y1, x0:x1].mean()),
                shift=shift,
                count=int(sel.sum())))
    return out
