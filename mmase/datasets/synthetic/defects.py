# Copyright (c) mmase contributors. All rights reserved.
"""Procedural defect masks for the embedded MMIO-style benchmark.

A defect is described by three attributes that also make its class name
(``"<colour> <form> <shape>"``, e.g. ``"white round spot"``):

- ``shape``: what it is (spot, scratch, hole, crack, bubble, stain);
- ``form``: how it is drawn (round, long, thin, irregular, branching,
  clustered);
- ``colour``: the paint used for its body (see :data:`COLORS`).

Because the renderer of a shape is shared by every colour and the colour is
shared by every shape, an unseen combination such as ``"white round spot"``
looks like the seen ``"black round spot"`` painted with the colour of the
seen ``"white long scratch"``. That is what lets a text-conditioned detector
transfer to unseen classes on this benchmark.

Masks are drawn 4x supersampled with OpenCV and reduced with area
interpolation, so edges are anti-aliased and the tight box of the visible
pixels is the annotation box.
"""
from typing import Dict, Tuple

import cv2
import numpy as np

#: RGB paint of each colour attribute.
COLORS: Dict[str, Tuple[int, int, int]] = {
    'black': (22, 22, 24),
    'white': (248, 248, 246),
    'red': (205, 28, 30),
    'yellow': (240, 210, 35),
    'blue': (35, 70, 215),
    'brown': (105, 55, 22),
    'green': (30, 190, 60),
}

SHAPES = ('spot', 'scratch', 'hole', 'crack', 'bubble', 'stain')
FORMS = ('round', 'long', 'thin', 'irregular', 'branching', 'clustered')

_K = 4  # supersampling factor


def _pt(x: float, y: float) -> Tuple[int, int]:
    return int(round(x)), int(round(y))


def _polygon(c: np.ndarray, r: float, rng: np.random.Generator,
             n: int = 12, jitter: float = 0.45) -> np.ndarray:
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = r * (1 - jitter * rng.random(n))
    pts = np.stack([c[0] + radii * np.cos(angles),
                    c[1] + radii * np.sin(angles)], 1)
    return np.round(pts).astype(np.int32)


def _blobs(c: np.ndarray, s: float, form: str, rng: np.random.Generator,
           base_r: float) -> list:
    """Centres/radii of the sub-blobs of a (possibly clustered) defect."""
    if form == 'clustered':
        n = int(rng.integers(4, 9))
        out = []
        for _ in range(n):
            ang, rad = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.38 * s)
            out.append((c + rad * np.array([np.cos(ang), np.sin(ang)]),
                        s * rng.uniform(0.08, 0.14)))
        return out
    return [(c, base_r)]


def _draw_spot(main, rim, c, s, form, rng):
    angle = rng.uniform(0, 180)
    if form in ('long', 'thin'):
        minor = s / 6 if form == 'long' else s / 10
        cv2.ellipse(main, _pt(*c), _pt(s / 2, max(minor, _K)), angle, 0, 360,
                    1.0, -1, cv2.LINE_AA)
    elif form in ('irregular', 'branching'):
        cv2.fillPoly(main, [_polygon(c, s / 2, rng)], 1.0, cv2.LINE_AA)
    else:
        for cc, r in _blobs(c, s, form, rng, s / 2):
            cv2.circle(main, _pt(*cc), int(round(max(r, _K))), 1.0, -1,
                       cv2.LINE_AA)


def _curve(c, length, bend, angle):
    t = np.linspace(-0.5, 0.5, 24)
    d = np.array([np.cos(angle), np.sin(angle)])
    n = np.array([-d[1], d[0]])
    pts = (c[None] + t[:, None] * length * d[None] +
           (bend * length * (0.25 - t**2))[:, None] * n[None])
    return np.round(pts).astype(np.int32)


def _draw_scratch(main, rim, c, s, form, rng):
    width = _K if form == 'thin' else max(_K * 1.5, s * 0.06)
    angle = rng.uniform(0, np.pi)
    bend = {'round': 1.2, 'irregular': 0.0}.get(form, rng.uniform(-0.3, 0.3))
    lines = []
    if form == 'clustered':
        n = np.array([-np.sin(angle), np.cos(angle)])
        for k in range(int(rng.integers(2, 5))):
            off = (k - 1) * s * 0.12
            lines.append(_curve(c + off * n, s * rng.uniform(0.6, 1.0),
                                bend, angle))
    else:
        pts = _curve(c, s, bend, angle)
        if form == 'irregular':
            pts = pts + np.round(rng.normal(0, s * 0.03, pts.shape)).astype(
                np.int32)
        lines.append(pts)
        if form == 'branching':
            for _ in range(int(rng.integers(1, 3))):
                start = pts[int(rng.integers(4, 20))].astype(np.float64)
                a2 = angle + rng.choice([-1, 1]) * rng.uniform(0.5, 1.0)
                lines.append(_curve(start + 0.15 * s * np.array(
                    [np.cos(a2), np.sin(a2)]), 0.3 * s, 0.0, a2))
    cv2.polylines(main, lines, False, 1.0, int(round(width)), cv2.LINE_AA)


def _random_walk(start, heading, length, n_seg, jitter, rng):
    pts = [np.asarray(start, np.float64)]
    for _ in range(n_seg):
        heading += rng.uniform(-jitter, jitter)
        pts.append(pts[-1] + length / n_seg *
                   np.array([np.cos(heading), np.sin(heading)]))
    return np.asarray(pts)


def _draw_crack(main, rim, c, s, form, rng):
    width = _K * 1.2 if form == 'thin' else max(_K * 1.8, s * 0.05)
    jitter = 0.25 if form == 'long' else 0.7
    heading = rng.uniform(0, 2 * np.pi)
    d = np.array([np.cos(heading), np.sin(heading)])
    pts = _random_walk(c - d * s / 2, heading, s, int(rng.integers(6, 11)),
                       jitter, rng)
    pts = pts - (pts.mean(0) - c)
    lines = [np.round(pts).astype(np.int32)]
    if form == 'branching':
        for _ in range(int(rng.integers(2, 4))):
            i = int(rng.integers(1, len(pts) - 1))
            h2 = heading + rng.choice([-1, 1]) * rng.uniform(0.5, 1.2)
            br = _random_walk(pts[i], h2, s * rng.uniform(0.25, 0.45), 4,
                              0.6, rng)
            lines.append(np.round(br).astype(np.int32))
    cv2.polylines(main, lines, False, 1.0, int(round(width)), cv2.LINE_AA)
    # a crack opens the surface: a faint light lip next to the dark line
    cv2.polylines(rim, [ln + _K for ln in lines], False, 0.5,
                  int(round(width)), cv2.LINE_AA)


def _draw_hole(main, rim, c, s, form, rng):
    lip = max(_K * 1.5, s * 0.09)
    for cc, r in _blobs(c, s, form, rng, s / 2 - lip):
        r = max(r, _K * 1.5)
        if form == 'irregular':
            poly = _polygon(cc, r, rng, jitter=0.35)
            cv2.polylines(rim, [poly], True, 1.0, int(round(lip * 2)),
                          cv2.LINE_AA)
            cv2.fillPoly(main, [poly], 1.0, cv2.LINE_AA)
        elif form in ('long', 'thin'):
            ang = rng.uniform(0, 180)
            axes = _pt(r, max(r / 3, _K * 1.5))
            cv2.ellipse(rim, _pt(*cc), axes, ang, 0, 360, 1.0,
                        int(round(lip * 2)), cv2.LINE_AA)
            cv2.ellipse(main, _pt(*cc), axes, ang, 0, 360, 1.0, -1,
                        cv2.LINE_AA)
        else:
            cv2.circle(rim, _pt(*cc), int(round(r)), 1.0,
                       int(round(lip * 2)), cv2.LINE_AA)
            cv2.circle(main, _pt(*cc), int(round(r)), 1.0, -1, cv2.LINE_AA)


def _draw_bubble(main, rim, c, s, form, rng):
    for cc, r in _blobs(c, s, form, rng, s / 2):
        r = max(r, _K * 2)
        thick = max(_K * 1.2, r * 0.22)
        if form in ('long', 'thin'):
            ang = rng.uniform(0, 180)
            axes = _pt(r, r / 2.5)
            cv2.ellipse(main, _pt(*cc), axes, ang, 0, 360, 0.3, -1,
                        cv2.LINE_AA)
            cv2.ellipse(main, _pt(*cc), axes, ang, 0, 360, 1.0,
                        int(round(thick)), cv2.LINE_AA)
        else:
            cv2.circle(main, _pt(*cc), int(round(r)), 0.3, -1, cv2.LINE_AA)
            cv2.circle(main, _pt(*cc), int(round(r - thick / 2)), 1.0,
                       int(round(thick)), cv2.LINE_AA)
        # specular highlight inside the bubble
        cv2.circle(rim, _pt(cc[0] - r * 0.35, cc[1] - r * 0.35),
                   int(round(max(r * 0.2, _K))), 1.0, -1, cv2.LINE_AA)


def _draw_stain(main, rim, c, s, form, rng):
    layer = np.zeros_like(main)
    if form in ('long', 'thin'):
        cv2.ellipse(layer, _pt(*c), _pt(s * 0.45, s * 0.12),
                    rng.uniform(0, 180), 0, 360, 1.0, -1, cv2.LINE_AA)
    elif form == 'round':
        cv2.circle(layer, _pt(*c), int(round(s * 0.42)), 1.0, -1,
                   cv2.LINE_AA)
    else:
        for _ in range(int(rng.integers(3, 6))):
            ang, rad = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.22 * s)
            cc = c + rad * np.array([np.cos(ang), np.sin(ang)])
            r = int(round(s * rng.uniform(0.12, 0.25)))
            cv2.circle(layer, _pt(*cc), r, 1.0, -1, cv2.LINE_AA)
    sigma = max(1.0, s * 0.05)
    layer = cv2.GaussianBlur(layer, (0, 0), sigma)
    np.maximum(main, np.clip(layer * 1.6, 0, 1) * 0.8, out=main)


_DRAWERS = {
    'spot': _draw_spot,
    'scratch': _draw_scratch,
    'hole': _draw_hole,
    'crack': _draw_crack,
    'bubble': _draw_bubble,
    'stain': _draw_stain,
}


def render_defect(shape: str, form: str, size: float,
                  rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one defect in a square patch.

    Args:
        shape (str): One of :data:`SHAPES`.
        form (str): One of :data:`FORMS` (unknown forms draw as 'round').
        size (float): Largest extent of the defect in output pixels.
        rng (np.random.Generator): Random generator.

    Returns:
        Tuple[np.ndarray, np.ndarray]: ``alpha`` (opacity of the defect
        colour) and ``rim`` (in ``[0, 1]``; where the surface is lit the
        opposite way to the defect colour: a hole's lip, a bubble's
        highlight). Both ``(n, n)`` float32 with ``n = 2 * size + 8``.
    """
    if shape not in _DRAWERS:
        raise KeyError(f'unknown defect shape {shape!r}; expected one of '
                       f'{SHAPES}')
    n = int(np.ceil(2 * size)) + 8
    main = np.zeros((n * _K, n * _K), np.float32)
    rim = np.zeros_like(main)
    c = np.array([n * _K / 2, n * _K / 2])
    _DRAWERS[shape](main, rim, c, size * _K, form, rng)
    main = cv2.resize(main, (n, n), interpolation=cv2.INTER_AREA)
    rim = cv2.resize(rim, (n, n), interpolation=cv2.INTER_AREA)
    rim = np.clip(rim, 0, 1) * (1 - np.clip(main, 0, 1))
    return np.clip(main, 0, 1), rim
