# Copyright (c) mmase contributors. All rights reserved.
"""Procedural ASE-style multimodal defect classification set.

The ASE paper (Hsu et al., "Progressive Alignment with VLM-LLM Feature to
Augment Defect Classification for the ASE Dataset") describes AOI images
made of a large number of pink dots whose dense arrangement forms a pattern
(Fig. 2) and a record of numeric and textual information "corresponding to
the pink dots" (Fig. 1). The set is not public; this module renders a
stand-in with the same structure:

- **images**: a lattice of pink dots on a light background, with per-image
  pitch, dot size, intensity, lattice phase, background tone, illumination
  falloff and sensor noise. A defect class changes the dots inside one
  region (a disc, or a band along one side, covering roughly 10-30 % of the
  image) with a per-sample strength: ``shifted pattern`` (the lattice there
  is displaced by a fraction of the pitch), ``faded dots`` (dots pale, the
  weakest ones gone), ``dense cluster`` (a finer lattice there) and
  ``enlarged dots`` (larger dots there). A person can name each pattern in
  one sentence ("the dots in the upper right are shifted").
- **records**: the image-derived numeric fields are *measured from the
  rendered image* (:func:`mmase.apis.ase_measure.record_measurements`:
  dot count, pitch, lattice offsets, offset RMS, dot diameter, intensity)
  plus Gaussian sensor noise of the standard deviation given in
  :data:`MEASUREMENT_NOISE`; a fraction of the records come from a faulty
  sensor (the measurement of another, defect-free board); two process
  fields are noise. The text fields have a weak class link: the machine id
  is mildly biased for two classes and the operator note names the right
  defect in about 20 % of the records (a wrong one in about 8 %).
- **which modality carries what**: the record measures the whole image, so
  a defect covering a small region moves it only a little next to the
  board-to-board variation, and a shift barely moves anything but the
  offset RMS; an image (or a description of it) shows *where* something is
  different, but telling "more dots" from "larger dots" at a glance needs
  the numbers. ``docs/data.md`` states the record-only, descriptor-only,
  image-only and oracle scores.

Ground truth that is not part of the records (defect region, strength,
which records are faulty, the noise levels) is written to
``generator.json``. Default size 455 images, 5 classes with a long tail
(200/100/75/50/30), stratified 60/20/20 into train/val/test; deterministic
per seed.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from mmase.apis.ase_measure import detect_dots, record_measurements
from mmase.utils.file_io import (atomic_output_dir, dump_json_atomic,
                                  dump_jsonl_atomic)

CLASSES = ('normal', 'shifted pattern', 'faded dots', 'dense cluster',
           'enlarged dots')
CLASS_SHARES = (0.44, 0.22, 0.165, 0.11, 0.065)
#: Record fields measured from the image.
MEASURED_FIELDS = ('dot_count', 'pitch_um', 'x_offset_um', 'y_offset_um',
                   'offset_rms_um', 'dot_diameter_um', 'mean_intensity')
NUMERIC_FIELDS = MEASURED_FIELDS + ('stage_temp_c', 'line_speed_mm_s')
TEXT_FIELDS = ('machine_id', 'lot', 'operator_note')

#: Standard deviation of the sensor noise added to each measured field.
MEASUREMENT_NOISE = {
    'dot_count': 4.0,
    'pitch_um': 0.3,
    'x_offset_um': 1.0,
    'y_offset_um': 1.0,
    'offset_rms_um': 0.8,
    'dot_diameter_um': 0.8,
    'mean_intensity': 3.0,
}
#: Decimals kept per field when writing a record.
_DECIMALS = {f: 2 for f in NUMERIC_FIELDS}
_DECIMALS['dot_count'] = 0
_PROCESS = {'stage_temp_c': (23.0, 0.6), 'line_speed_mm_s': (150.0, 4.0)}

#: Share of the faded / dense / enlarged samples whose change covers the
#: whole board (a process drift) instead of one region.
WHOLE_BOARD_RATIO = 0.35
#: Nominal lattice: this many dots across the image, 80 um apart.
GRID_DOTS = 22
NOMINAL_PITCH_UM = 80.0

_NOTES = {
    'shifted pattern': ['rows look misaligned', 'check stage alignment'],
    'faded dots': ['some dots pale', 'weak print suspected'],
    'dense cluster': ['dots crowded locally', 'pitch looks tight'],
    'enlarged dots': ['dots look bloated', 'ink spread suspected'],
}
_GENERIC_NOTES = ['routine inspection', 'no comment', 'rechecked', 'shift B',
                  'sampled for audit', 'ok after recheck', 'looks fine']
_MACHINES = ['AOI-01', 'AOI-02', 'AOI-03', 'AOI-04', 'AOI-05', 'AOI-06']
_MACHINE_BIAS = {'shifted pattern': (['AOI-03', 'AOI-05'], 0.3),
                 'enlarged dots': (['AOI-02'], 0.25)}
_NOTE_RIGHT, _NOTE_WRONG = 0.2, 0.08

PINK = np.array([228, 112, 168], np.float32)
BACKGROUND = np.array([246, 240, 243], np.float32)


def class_counts(num_images: int) -> List[int]:
    """Long-tail image count of each class for a set of ``num_images``."""
    if num_images < 3 * len(CLASSES):
        raise ValueError(f'num_images must be >= {3 * len(CLASSES)} (3 per '
                         f'class), got {num_images}')
    counts = [max(3, int(round(s * num_images))) for s in CLASS_SHARES]
    counts[0] += num_images - sum(counts)
    return counts


def um_per_px(img_size: int) -> float:
    """Physical pixel size: the nominal lattice spans the image."""
    return NOMINAL_PITCH_UM * GRID_DOTS / img_size


def _region(rng: np.random.Generator, size: int, label: str) -> dict:
    """A random defect region: the whole board (a process drift; not for a
    shift, which needs an unshifted rest to be seen), a disc, or a band
    along one side."""
    if label != 'shifted pattern' and rng.random() < WHOLE_BOARD_RATIO:
        return dict(kind='whole')
    if rng.random() < 0.5:
        return dict(kind='disc',
                    center=[float(v) for v in rng.uniform(0.25, 0.75, 2) *
                            size],
                    radius=float(rng.uniform(0.17, 0.27) * size))
    return dict(kind='band', side=str(rng.choice(['left', 'right', 'top',
                                                  'bottom'])),
                width=float(rng.uniform(0.2, 0.33) * size))


def _inside(region: Optional[dict], x: np.ndarray, y: np.ndarray,
            size: int) -> np.ndarray:
    if region is None:
        return np.zeros(np.broadcast(x, y).shape, bool)
    if region['kind'] == 'whole':
        return np.ones(np.broadcast(x, y).shape, bool)
    if region['kind'] == 'disc':
        cx, cy = region['center']
        return np.hypot(x - cx, y - cy) < region['radius']
    side, width = region['side'], region['width']
    return {'left': x < width, 'right': x > size - width,
            'top': y < width, 'bottom': y > size - width}[side] & \
        np.ones(np.broadcast(x, y).shape, bool)


def _apply_class_change(label: str, rng: np.random.Generator,
                        dots: Dict[str, np.ndarray], inside: np.ndarray,
                        region: Optional[dict], s: float, pitch: float,
                        radius: float, alpha: float, size: int) -> tuple:
    """The class's change of the dots inside its region.

    Args:
        label (str): Class name.
        rng (np.random.Generator): Random generator.
        dots (dict): Lattice dots: centres ``x``, ``y``, radii ``r`` and
            intensities ``a`` (pixels, arrays of equal length).
        inside (np.ndarray): Which dots lie in the region.
        region (dict, optional): The changed region.
        s (float): This sample's strength.
        pitch (float): Lattice pitch (pixels).
        radius (float): Nominal dot radius (pixels).
        alpha (float): Nominal dot intensity.
        size (int): Image size (pixels).

    Returns:
        tuple: The changed ``(x, y, r, a)`` arrays.
    """
    xs, ys, rs, alphas = dots['x'], dots['y'], dots['r'], dots['a']
    if label == 'shifted pattern':
        ang = rng.uniform(0, 2 * np.pi)
        shift = min(0.45, 0.4 * s) * pitch
        xs = np.where(inside, xs + shift * np.cos(ang), xs)
        ys = np.where(inside, ys + shift * np.sin(ang), ys)
    elif label == 'faded dots':
        fade = 1 - np.clip(0.8 * s * rng.uniform(0.6, 1.0, xs.size), 0, 1)
        alphas = np.where(inside, alphas * fade, alphas)
    elif label == 'enlarged dots':
        rs = np.where(inside, rs * (1 + 0.45 * s), rs)
    elif label == 'dense cluster':
        # a finer lattice (random phase) replaces the dots of the region
        fine = pitch * (1 - 0.3 * min(s, 1.2))
        fx, fy = np.meshgrid(
            np.arange(rng.uniform(0, fine) - fine, size + fine, fine),
            np.arange(rng.uniform(0, fine) - fine, size + fine, fine))
        fx, fy = fx.ravel(), fy.ravel()
        fin = _inside(region, fx, fy, size)
        keep = ~inside
        xs = np.concatenate([xs[keep], fx[fin]])
        ys = np.concatenate([ys[keep], fy[fin]])
        rs = np.concatenate([rs[keep], radius * rng.uniform(
            0.92, 1.08, int(fin.sum()))])
        alphas = np.concatenate([alphas[keep], alpha * rng.uniform(
            0.9, 1.0, int(fin.sum()))])
    return xs, ys, rs, alphas


def _paint_dots(xs: np.ndarray, ys: np.ndarray, rs: np.ndarray,
                alphas: np.ndarray, size: int,
                rng: np.random.Generator) -> np.ndarray:
    """Pink dots drawn 4x supersampled on the background, with
    illumination falloff and sensor noise as in AOI captures."""
    k = 4  # supersampling
    canvas = np.zeros((size * k, size * k), np.float32)
    for x, y, r, a in zip(xs, ys, rs, alphas):
        if a > 0:
            cv2.circle(canvas, (int(round(x * k)), int(round(y * k))),
                       max(1, int(round(r * k))), float(a), -1, cv2.LINE_AA)
    canvas = np.clip(cv2.resize(canvas, (size, size),
                                interpolation=cv2.INTER_AREA), 0, 1)
    bg = BACKGROUND + rng.uniform(-4, 4, 3)
    pink = PINK + rng.uniform(-8, 8, 3)
    img = bg * (1 - canvas[..., None]) + pink * canvas[..., None]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    vign = 1 - 0.06 * ((xx - 0.5)**2 + (yy - 0.5)**2) * rng.uniform(0.5, 2)
    img = img * vign[..., None] + rng.normal(0, 3.0, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def render_pattern(label: str,
                   rng: np.random.Generator,
                   img_size: int = 224,
                   strength: float = 1.0,
                   region: Optional[dict] = None) -> Tuple[np.ndarray, dict]:
    """Render one pink-dot AOI image.

    Args:
        label (str): Class name (one of :data:`CLASSES`).
        rng (np.random.Generator): Random generator.
        img_size (int): Square size in pixels. Defaults to 224.
        strength (float): Scale of the class-specific change.
            Defaults to 1.0.
        region (dict, optional): The changed region, ``{'kind': 'whole'}``,
            ``{'kind': 'disc', 'center': [x, y], 'radius': r}`` or
            ``{'kind': 'band', 'side': 'left', 'width': w}`` (pixels).
            Defaults to None (drawn at random; none for ``normal``).

    Returns:
        tuple[np.ndarray, dict]: uint8 RGB image and the pattern's ground
        truth (``region``, ``strength`` of this sample; None for normal).
    """
    if label not in CLASSES:
        raise ValueError(f'unknown ASE class {label!r}, expected one of '
                         f'{CLASSES}')
    size = img_size
    pitch = size / GRID_DOTS * rng.uniform(0.96, 1.04)
    radius = pitch * 0.25 * rng.uniform(0.9, 1.1)
    alpha = rng.uniform(0.82, 1.0)
    ox, oy = rng.uniform(0, pitch, 2)
    if label == 'normal':
        region = None
    elif region is None:
        region = _region(rng, size, label)
    s = float(strength * rng.uniform(0.4, 1.2)) if region else 0.

    gx, gy = np.meshgrid(np.arange(ox - pitch, size + pitch, pitch),
                         np.arange(oy - pitch, size + pitch, pitch))
    xs, ys = gx.ravel(), gy.ravel()
    inside = _inside(region, xs, ys, size)
    rs = radius * rng.uniform(0.92, 1.08, xs.size)
    alphas = alpha * rng.uniform(0.9, 1.0, xs.size)
    xs, ys, rs, alphas = _apply_class_change(
        label, rng, dict(x=xs, y=ys, r=rs, a=alphas), inside, region, s,
        pitch, radius, alpha, size)
    xs = xs + rng.normal(0, 0.04 * pitch, xs.size)
    ys = ys + rng.normal(0, 0.04 * pitch, ys.size)
    img = _paint_dots(xs, ys, rs, alphas, size, rng)
    return img, dict(region=region, strength=round(s, 4))


def measure_record_fields(img: np.ndarray) -> Dict[str, float]:
    """The measured record fields of a rendered image, without noise.

    Args:
        img (np.ndarray): uint8 RGB image.

    Returns:
        dict: :data:`MEASURED_FIELDS` -> value.
    """
    return record_measurements(detect_dots(img), um_per_px(img.shape[1]))


def make_record(label: str, measured: Dict[str, float],
                rng: np.random.Generator) -> Dict:
    """The record of one sample: noisy measurements plus process and text
    fields.

    Args:
        label (str): Class name.
        measured (dict): Output of :func:`measure_record_fields`.
        rng (np.random.Generator): Random generator.

    Returns:
        dict: Field name to value.
    """
    rec = {}
    for f in MEASURED_FIELDS:
        value = float(measured[f])
        if not np.isfinite(value):  # no lattice found: the sensor says 0
            value = 0.
        value += rng.normal(0, MEASUREMENT_NOISE[f])
        rec[f] = int(round(value)) if _DECIMALS[f] == 0 else round(
            value, _DECIMALS[f])
    for f, (mean, std) in _PROCESS.items():
        rec[f] = round(float(mean + std * rng.normal()), _DECIMALS[f])
    machines, p = _MACHINE_BIAS.get(label, ([], 0.0))
    if machines and rng.random() < p:
        rec['machine_id'] = machines[int(rng.integers(len(machines)))]
    else:
        rec['machine_id'] = _MACHINES[int(rng.integers(len(_MACHINES)))]
    week = int(rng.integers(2301, 2313))
    rec['lot'] = f'L{week}-{int(rng.integers(1, 40)):02d}'
    u = rng.random()
    defects = [c for c in CLASSES if c != 'normal']
    if u < _NOTE_RIGHT and label != 'normal':
        pool = _NOTES[label]
    elif u > 1 - _NOTE_WRONG:
        pool = _NOTES[str(rng.choice([c for c in defects if c != label]))]
    else:
        pool = _GENERIC_NOTES
    rec['operator_note'] = pool[int(rng.integers(len(pool)))]
    return rec


def _stratified(labels: List[int], ratios=(0.6, 0.2, 0.2),
                seed: int = 0) -> List[str]:
    rng = np.random.default_rng([seed, 7])
    names = ('train', 'val', 'test')
    out = [''] * len(labels)
    for c in sorted(set(labels)):
        idx = [i for i, lab in enumerate(labels) if lab == c]
        idx = [idx[j] for j in rng.permutation(len(idx))]
        n_val = max(1, int(round(ratios[1] * len(idx))))
        n_test = max(1, int(round(ratios[2] * len(idx))))
        for j, i in enumerate(idx):
            out[i] = (names[1] if j < n_val else
                      names[2] if j < n_val + n_test else names[0])
    return out


def _write_sample(root: str, fname: str, name: str,
                  rng: np.random.Generator, img_size: int, strength: float,
                  unreliable_ratio: float) -> Tuple[dict, bool, dict]:
    """Render one sample, write its image to ``root/fname``; its annotation
    row, whether its record is faulty, and its pattern's ground truth."""
    img, pattern = render_pattern(name, rng, img_size, strength)
    faulty = bool(rng.random() < unreliable_ratio)
    if faulty:  # the sensor measured another, defect-free board
        other, _ = render_pattern('normal', rng, img_size, strength)
        measured = measure_record_fields(other)
    else:
        measured = measure_record_fields(img)
    rec = make_record(name, measured, rng)
    if not cv2.imwrite(osp.join(root, fname),
                       cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
        raise IOError(f'could not write {fname}')
    return dict(img_path=fname, label=name, record=rec), faulty, pattern


def _meta(rows: Dict[str, List[dict]], seed: int, img_size: int) -> dict:
    """``meta.json``: classes, fields, the train split's numeric mean and
    std (what a dataset normalises with) and class counts per split."""
    train_num = np.array([[r['record'][f] for f in NUMERIC_FIELDS]
                          for r in rows['train']], np.float64)
    return dict(
        classes=list(CLASSES), numeric_fields=list(NUMERIC_FIELDS),
        text_fields=list(TEXT_FIELDS),
        numeric_mean=[round(float(v), 4) for v in train_num.mean(0)],
        numeric_std=[round(float(v), 4) for v in train_num.std(0) + 1e-6],
        seed=seed, img_size=img_size,
        class_counts={
            s: {c: sum(r['label'] == c for r in rs) for c in CLASSES}
            for s, rs in rows.items()
        })


def generate_ase(out_dir: str,
                 num_images: int = 455,
                 seed: int = 0,
                 img_size: int = 224,
                 strength: float = 1.0,
                 unreliable_ratio: float = 0.1,
                 verbose: bool = False) -> dict:
    """Write the set to ``out_dir`` (replaced atomically at the end).

    Layout: ``images/*.png``, ``annotations/{train,val,test}.jsonl``,
    ``meta.json`` (what a dataset reads) and ``generator.json`` (ground
    truth the model must not see: region and strength of every defect,
    the faulty records, the noise levels).

    Args:
        out_dir (str): Output root.
        num_images (int): Number of images. Defaults to 455.
        seed (int): Seed. Defaults to 0.
        img_size (int): Square image size. Defaults to 224.
        strength (float): Scale of the class patterns (the per-sample
            strength is drawn in ``[0.4, 1.2] * strength``).
            Defaults to 1.0.
        unreliable_ratio (float): Fraction of records from a faulty sensor
            (they measure another, defect-free board). Defaults to 0.1.
        verbose (bool): Print progress. Defaults to False.

    Returns:
        dict: Summary (class counts per split, paths).
    """
    if img_size < 64:
        raise ValueError(f'img_size must be >= 64 (dots of a few pixels), '
                         f'got {img_size}')
    counts = class_counts(num_images)
    labels = [c for c, n in enumerate(counts) for _ in range(n)]
    order = np.random.default_rng([seed, 1]).permutation(len(labels))
    labels = [labels[i] for i in order]
    splits = _stratified(labels, seed=seed)
    rows: Dict[str, List[dict]] = dict(train=[], val=[], test=[])
    truth = []
    with atomic_output_dir(out_dir) as tmp:
        os.makedirs(osp.join(tmp, 'images'))
        os.makedirs(osp.join(tmp, 'annotations'))
        for i, lab in enumerate(labels):
            name, fname = CLASSES[lab], f'images/{i:05d}.png'
            row, faulty, pattern = _write_sample(
                tmp, fname, name, np.random.default_rng([seed, 2, i]),
                img_size, strength, unreliable_ratio)
            rows[splits[i]].append(row)
            truth.append(dict(img_path=fname, label=name,
                              split=splits[i], faulty_record=faulty,
                              **pattern))
            if verbose and (i + 1) % 100 == 0:
                print(f'{i + 1}/{num_images} images')
        for split, rs in rows.items():
            dump_jsonl_atomic(rs, osp.join(tmp, 'annotations',
                                           f'{split}.jsonl'))
        meta = _meta(rows, seed, img_size)
        dump_json_atomic(meta, osp.join(tmp, 'meta.json'), indent=2)
        dump_json_atomic(
            dict(seed=seed, strength=strength, img_size=img_size,
                 um_per_px=um_per_px(img_size),
                 unreliable_ratio=unreliable_ratio,
                 measurement_noise=MEASUREMENT_NOISE, samples=truth),
            osp.join(tmp, 'generator.json'), indent=1)
    return dict(out_dir=out_dir, num_images=num_images,
                class_counts=meta['class_counts'])
