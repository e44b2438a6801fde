# Copyright (c) mmase contributors. All rights reserved.
"""Procedural MMIO-style zero-shot defect detection benchmark.

The real MMIO-80K (RTVP paper, section "Multi-Modal Industrial-Open
Dataset") merges 18 industrial datasets into 100 attribute-named classes in 6
super-categories, mostly small defects, long-tail class frequencies, split
into seen/unseen classes for zero-shot detection and 80/20 by image for the
closed task. It cannot be shipped, so this module renders a small stand-in
with the same structure and the same on-disk layout:

- each super-category has its own procedural surface (:mod:`.textures`);
- each class is an attribute triple (colour, form, shape) rendered by
  :mod:`.defects`, with a long-tail ``frequency``;
- an image shows 1-6 defects of the classes allowed on its surface;
- a fraction ``unseen_image_ratio`` of the images contains at least one
  unseen defect (the zero-shot test images; the paper has 3,025 of 21,836
  images with unseen objects, about 14 %, we default to 25 % so that a small
  set still has enough test images).

Everything is deterministic per seed: image ``i`` draws from its own
``numpy.random.Generator`` seeded with ``(seed, i)``; no global RNG is used.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from ..converters.split_mmio import split_classes, write_mmio_splits
from mmase.utils.file_io import (atomic_output_dir, dump_json_atomic,
                                  load_json)
from .class_spec import load_class_spec, transfer_gaps
from .defects import COLORS, render_defect
from .textures import SURFACES

BASE_SIZE = 320  # the spec's pixel sizes refer to a 320-pixel image


def _luma(rgb) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _sample_classes(spec: dict, surface: str, unseen_image: bool, n: int,
                    rng: np.random.Generator) -> List[int]:
    classes = spec['classes']
    allowed = [i for i, c in enumerate(classes) if surface in c['surfaces']]
    if unseen_image:
        first_pool = [i for i in allowed if classes[i]['split'] == 'unseen']
        rest_pool = allowed
    else:
        first_pool = rest_pool = [
            i for i in allowed if classes[i]['split'] == 'seen'
        ]

    def draw(pool):
        w = np.array([classes[i]['frequency'] for i in pool])
        return pool[int(rng.choice(len(pool), p=w / w.sum()))]

    return [draw(first_pool)] + [draw(rest_pool) for _ in range(n - 1)]


def _draw_surface(spec: dict, rng: np.random.Generator,
                  unseen_ok: bool) -> Tuple[str, bool]:
    """Whether the image shows an unseen defect, and its supercategory (one
    that has a class of the wanted split, drawn by weight)."""
    classes = spec['classes']
    supers = list(spec['supercategories'])
    has_unseen = unseen_ok and any(c['split'] == 'unseen' for c in classes)
    unseen_image = has_unseen and rng.random() < spec['unseen_image_ratio']

    def candidates(unseen: bool) -> List[str]:
        wanted = 'unseen' if unseen else 'seen'
        return [s for s in supers if any(
            c['split'] == wanted and s in c['surfaces'] for c in classes)]

    cands = candidates(unseen_image)
    if not cands:  # e.g. a spec whose classes are all unseen
        unseen_image = not unseen_image
        cands = candidates(unseen_image)
    weights = np.array(
        [spec['supercategories'][s]['weight'] for s in cands], np.float64)
    surface = cands[int(rng.choice(len(cands), p=weights / weights.sum()))]
    return surface, unseen_image


def _free_spot(bw: int, bh: int, w: int, h: int, boxes: List[List[int]],
               rng: np.random.Generator) -> Optional[Tuple[int, int]]:
    """Top-left corner of a ``bw x bh`` box 2 px clear of ``boxes`` (50
    random tries; None when none fits)."""
    for _ in range(50):
        x = int(rng.integers(1, w - bw - 1))
        y = int(rng.integers(1, h - bh - 1))
        if all(x + bw + 2 <= b[0] or b[0] + b[2] + 2 <= x
               or y + bh + 2 <= b[1] or b[1] + b[3] + 2 <= y
               for b in boxes):
            return x, y
    return None


def _paste_defect(img: np.ndarray, alpha: np.ndarray, rim: np.ndarray,
                  px: int, py: int, color_name: str,
                  rng: np.random.Generator) -> None:
    """Blend a defect patch with its top-left corner at ``(px, py)`` in
    place: its colour (jittered) by ``alpha``, a rim darker on light
    colours and lighter on dark ones."""
    h, w = img.shape[:2]
    n = alpha.shape[0]
    sx0, sy0 = max(0, -px), max(0, -py)
    sx1, sy1 = min(n, w - px), min(n, h - py)
    region = img[py + sy0:py + sy1, px + sx0:px + sx1]
    a = alpha[sy0:sy1, sx0:sx1, None]
    r = rim[sy0:sy1, sx0:sx1, None]
    color = np.asarray(COLORS[color_name], np.float32)
    color = np.clip(color + rng.uniform(-12, 12, 3), 0, 255)
    sign = 1.0 if _luma(color) < 150 else -1.0
    region[:] = region * (1 - a) + color * a + sign * 70 * r


def render_image(spec: dict, index: int, seed: int, img_size: int = 320,
                 unseen_ok: bool = True) -> Dict:
    """Render image ``index`` of the benchmark.

    Args:
        spec (dict): Normalised class spec with explicit splits.
        index (int): Image index.
        seed (int): Dataset seed.
        img_size (int): Square image size. Defaults to 320.
        unseen_ok (bool): Whether unseen images may be drawn.
            Defaults to True.

    Returns:
        dict: ``img`` (uint8 RGB), ``surface`` (super-category name) and
        ``objects`` (list of ``(class_index, [x, y, w, h])``).
    """
    rng = np.random.default_rng([seed, index])
    classes = spec['classes']
    surface, unseen_image = _draw_surface(spec, rng, unseen_ok)

    lo, hi = spec['defects_per_image']
    ks = np.arange(lo, hi + 1)
    pk = 0.65**(ks - lo)
    n_obj = int(rng.choice(ks, p=pk / pk.sum()))
    cls_ids = _sample_classes(spec, surface, unseen_image, n_obj, rng)

    h = w = int(img_size)
    tex = SURFACES[spec['supercategories'][surface]['surface']]
    img = tex(h, w, rng)
    scale = img_size / BASE_SIZE
    boxes: List[List[int]] = []
    objects = []
    for ci in cls_ids:
        c = classes[ci]
        lo_s, hi_s = spec['sizes'][c['size']]
        size = max(4.0, rng.uniform(lo_s, hi_s) * scale)
        alpha, rim = render_defect(c['shape'], c['form'], size, rng)
        vis = np.maximum(alpha, rim) > 0.2
        ys, xs = np.nonzero(vis)
        if len(xs) == 0:
            continue
        bx0, by0, bx1, by1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        bw, bh = bx1 - bx0, by1 - by0
        if bw >= w - 2 or bh >= h - 2:
            continue
        placed = _free_spot(bw, bh, w, h, boxes, rng)
        if placed is None:
            continue
        x, y = placed
        # paste the patch so that its visible box lands at (x, y)
        _paste_defect(img, alpha, rim, x - bx0, y - by0, c['color'], rng)
        boxes.append([int(x), int(y), int(bw), int(bh)])
        objects.append((ci, boxes[-1]))

    img = img + rng.normal(0, 2.5, img.shape).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), 0.5)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return dict(img=img, surface=surface, objects=objects)


def build_categories(spec: dict) -> List[dict]:
    """COCO categories (ids from 1) of a normalised spec."""
    return [
        dict(id=i + 1, name=c['name'], supercategory=c['supercategory'],
             attributes=dict(color=c['color'], form=c['form'],
                             shape=c['shape'], size=c['size']))
        for i, c in enumerate(spec['classes'])
    ]


def resolve_split(spec: dict, seed: int = 0) -> Dict[str, List[str]]:
    """Seen/unseen names of a spec: its own ``split`` fields, else drawn."""
    names = [c['name'] for c in spec['classes']]
    if all(c['split'] for c in spec['classes']):
        return split_classes(
            names,
            unseen=[c['name'] for c in spec['classes']
                    if c['split'] == 'unseen'])
    return split_classes(
        names, unseen_ratio=spec.get('unseen_class_ratio', 0.35), seed=seed)


def _write_images(spec: dict, root: str, num_images: int, seed: int,
                  img_size: int, verbose: bool) -> Tuple[list, list]:
    """Render and write ``root/images/*.png``; their COCO image and
    annotation entries (ids from 1)."""
    images, annotations = [], []
    for i in range(num_images):
        out = render_image(spec, i, seed, img_size)
        fname = f'{i:06d}.png'
        ok = cv2.imwrite(
            osp.join(root, 'images', fname),
            cv2.cvtColor(out['img'], cv2.COLOR_RGB2BGR))
        if not ok:
            raise IOError(f'could not write {fname}')
        images.append(dict(id=i + 1, file_name=fname, width=img_size,
                           height=img_size, supercategory=out['surface']))
        for ci, box in out['objects']:
            annotations.append(
                dict(id=len(annotations) + 1, image_id=i + 1,
                     category_id=ci + 1, bbox=box,
                     area=float(box[2] * box[3]), iscrowd=0))
        if verbose and (i + 1) % 100 == 0:
            print(f'{i + 1}/{num_images} images')
    return images, annotations


def _split_sizes(paths: Dict[str, str]) -> Dict[str, dict]:
    """Image and annotation count of each written split file."""
    n_zs = {}
    for k in ('zs_train', 'zs_val', 'zs_test', 'train', 'val'):
        d = load_json(paths[k])
        n_zs[k] = dict(images=len(d['images']),
                       annotations=len(d['annotations']))
    return n_zs


def generate_mmio(out_dir: str,
                  num_images: int = 600,
                  seed: int = 0,
                  class_spec: Optional[str] = None,
                  img_size: int = 320,
                  val_ratio: float = 0.2,
                  verbose: bool = False) -> dict:
    """Write the benchmark to ``out_dir`` (replaced atomically at the end).

    Layout: ``images/*.png``, ``annotations/instances_{all,zs_train,zs_val,
    zs_test,train,val}.json``, ``class_texts.json``, ``split.json``,
    ``class_spec.json``.

    Args:
        out_dir (str): Output dataset root.
        num_images (int): Number of images. Defaults to 600.
        seed (int): Seed. Defaults to 0.
        class_spec (str, optional): Spec file. Defaults to the packaged one.
        img_size (int): Square image size in pixels. Defaults to 320.
        val_ratio (float): Closed-split validation fraction.
            Defaults to 0.2.
        verbose (bool): Print progress. Defaults to False.

    Returns:
        dict: Summary (counts per split, classes, paths).
    """
    if num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}')
    if img_size < 64:
        raise ValueError(f'img_size must be >= 64, got {img_size}')
    spec = load_class_spec(class_spec)
    split = resolve_split(spec, seed)
    unseen = set(split['unseen'])
    for c in spec['classes']:
        c['split'] = 'unseen' if c['name'] in unseen else 'seen'
    gaps = transfer_gaps(spec)
    if gaps and verbose:
        print(f'warning: unseen classes sharing no colour/shape with a seen '
              f'class: {gaps}')
    categories = build_categories(spec)

    with atomic_output_dir(out_dir) as tmp:
        os.makedirs(osp.join(tmp, 'images'))
        os.makedirs(osp.join(tmp, 'annotations'))
        images, annotations = _write_images(spec, tmp, num_images, seed,
                                            img_size, verbose)
        coco = dict(
            info=dict(description='mmase procedural MMIO-style benchmark',
                      seed=seed, img_size=img_size),
            licenses=[], images=images, annotations=annotations,
            categories=categories)
        dump_json_atomic(coco,
                         osp.join(tmp, 'annotations', 'instances_all.json'))
        dump_json_atomic([[c['name']] + list(c['descriptions'])
                          for c in spec['classes']],
                         osp.join(tmp, 'class_texts.json'), indent=2)
        dump_json_atomic(spec, osp.join(tmp, 'class_spec.json'), indent=2)
        paths = write_mmio_splits(coco, tmp, split, val_ratio, seed)
        n_zs = _split_sizes(paths)
    return dict(out_dir=out_dir, num_images=num_images,
                num_annotations=len(annotations),
                num_classes=len(categories), seen=split['seen'],
                unseen=split['unseen'], splits=n_zs, transfer_gaps=gaps)
