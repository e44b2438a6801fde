# Copyright (c) mmase contributors. All rights reserved.
"""YOLO txt labels to COCO.

YOLO keeps one ``<stem>.txt`` per image with one object per line:
``class cx cy w h`` normalised to ``[0, 1]`` (polygon lines
``class x1 y1 x2 y2 ...`` of YOLO segmentation sets are turned into their
bounding box). Images without a label file are kept without annotations.

Normalised coordinates are scaled by the image size in the frame the image
loader returns: an EXIF orientation that rotates the image (5-8) swaps the
header's width and height, as OpenCV's decoder in mmcv's
``LoadImageFromFile`` does (and as YOLO tools label such images).
"""
import math
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from ..validation import check_box_xyxy, is_int, read_image_size, show

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def _check_names(names: list, path: str, txt: bool) -> List[str]:
    """Class names by index: non-empty, unique strings (a blank or a
    duplicate would shift or merge every later class)."""

    def ref(i: int) -> str:
        return f'line {i + 1}' if txt else f'names[{i}]'

    seen = {}
    for i, name in enumerate(names):
        where = f'{path}:{i + 1}' if txt else f'{path}: {ref(i)}'
        if not isinstance(name, str):
            raise ValueError(f'{where}: the name of class {i} must be a '
                             f'string, got {show(name)}')
        if not name.strip():
            raise ValueError(f'{where}: class {i} has no name (blank); '
                             f'every class index needs one')
        name = name.strip()
        if name in seen:
            raise ValueError(f'{where}: duplicate class name {name!r} '
                             f'(also {ref(seen[name])})')
        seen[name] = i
    return [n.strip() for n in names]


def _yaml_names(path: str) -> List[str]:
    import yaml
    with open(path, encoding='utf-8') as f:
        try:
            data = yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise ValueError(f'{path}: invalid YAML ({e})') from e
    names = data.get('names') if isinstance(data, dict) else None
    if isinstance(names, dict):
        keys = list(names)
        if not all(is_int(k) for k in keys):
            raise ValueError(f'{path}: field "names": keys must be class '
                             f'indexes (integers), got {keys}')
        missing = sorted(set(range(len(keys))) - set(keys))
        if missing:
            raise ValueError(f'{path}: field "names": keys must be 0..'
                             f'{len(keys) - 1}; missing {missing}, found '
                             f'{sorted(keys)}')
        names = [names[k] for k in range(len(keys))]
    if not isinstance(names, list) or not names:
        raise ValueError(f'{path}: field "names" missing or empty')
    return _check_names(names, path, txt=False)


def read_class_names(path: str) -> List[str]:
    """Class names from a ``names.txt`` (one per line) or a YOLO data yaml.

    The position of a name is its class index, so a blank line (before the
    last name), a gap in the index keys of a YAML ``names`` map or a name
    given twice is refused instead of shifting or merging classes.

    Args:
        path (str): ``.txt`` or ``.yaml``/``.yml`` file.

    Returns:
        List[str]: Names in class-index order.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'class name file not found: {path}')
    if path.endswith(('.yaml', '.yml')):
        return _yaml_names(path)
    with open(path, encoding='utf-8') as f:
        names = f.read().splitlines()
    while names and not names[-1].strip():
        names.pop()  # trailing empty lines name no class
    if not names:
        raise ValueError(f'{path}: no class names')
    return _check_names(names, path, txt=True)


def list_images(img_dir: str) -> List[str]:
    """Image files under ``img_dir`` (recursive), relative, sorted."""
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image directory not found: {img_dir}')
    out = []
    for root, _, files in os.walk(img_dir):
        for f in files:
            if f.lower().endswith(IMG_EXTS):
                out.append(osp.relpath(osp.join(root, f), img_dir))
    return sorted(out)


def image_size(path: str) -> Tuple[int, int]:
    """``(width, height)`` read from the image header, in the frame the
    image loader returns (EXIF orientation applied)."""
    size, _, why = read_image_size(path)
    if size is None:
        raise ValueError(f'{path}: cannot read image ({why})')
    return size


def parse_class_index(raw: str, num_classes: int, where: str) -> int:
    """The class index of a label line: a whole number in range.

    ``1.0`` is read as 1; ``1.7``, ``-0.5``, ``nan`` or ``inf`` are
    refused (truncating them would relabel the object).
    """
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f'{where}: class index {raw!r} is not a number')
    if not math.isfinite(value) or value != int(value):
        raise ValueError(f'{where}: class index {raw!r} is not a whole '
                         f'number')
    cls = int(value)
    if not 0 <= cls < num_classes:
        raise ValueError(f'{where}: class index {cls} out of range '
                         f'(0..{num_classes - 1})')
    return cls


def yolo_to_coco(img_dir: str,
                 label_dir: str,
                 class_names: Sequence[str],
                 supercategory: str = 'defect',
                 file_prefix: str = '') -> dict:
    """Convert a YOLO detection set.

    Args:
        img_dir (str): Image folder.
        label_dir (str): Folder with ``<stem>.txt`` files (same relative
            sub-folders as the images).
        class_names (Sequence[str]): Names by class index.
        supercategory (str): Supercategory of every category.
            Defaults to 'defect'.
        file_prefix (str): Prepended to each image's relative path in
            ``file_name``. Defaults to ''.

    Returns:
        dict: COCO dict (category ids start at 1, boxes clipped to the
        image).

    Raises:
        ValueError: A label line with NaN/infinite values, zero area or a
            box more than a pixel outside the image (``file:line`` named).
    """
    cats = [dict(id=i + 1, name=n, supercategory=supercategory)
            for i, n in enumerate(class_names)]
    images, anns = [], []
    for rel in list_images(img_dir):
        w, h = image_size(osp.join(img_dir, rel))
        img_id = len(images) + 1
        images.append(dict(id=img_id, file_name=file_prefix + rel.replace(
            os.sep, '/'), width=w, height=h))
        txt = osp.join(label_dir, osp.splitext(rel)[0] + '.txt')
        if not osp.isfile(txt):
            continue
        with open(txt, encoding='utf-8') as f:
            lines = f.read().splitlines()
        for lineno, line in enumerate(lines, 1):
            parts = line.split()
            if not parts:
                continue
            cls = parse_class_index(parts[0], len(class_names),
                                    f'{txt}:{lineno}')
            try:
                vals = [float(v) for v in parts[1:]]
            except ValueError:
                raise ValueError(f'{txt}:{lineno}: not numbers: {line!r}')
            if len(vals) == 4:
                cx, cy, bw, bh = vals
                x0, y0 = (cx - bw / 2) * w, (cy - bh / 2) * h
                x1, y1 = (cx + bw / 2) * w, (cy + bh / 2) * h
            elif len(vals) >= 6 and len(vals) % 2 == 0:
                xs, ys = vals[0::2], vals[1::2]
                x0, x1 = min(xs) * w, max(xs) * w
                y0, y1 = min(ys) * h, max(ys) * h
            else:
                raise ValueError(f'{txt}:{lineno}: expected "class cx cy w h"'
                                 f' or a polygon, got {line!r}')
            # NaN, empty or outside boxes are errors; rounding overshoot
            # within a pixel is clipped
            check_box_xyxy((x0, y0, x1, y1), w, h, f'{txt}:{lineno}')
            x0, y0 = max(0.0, x0), max(0.0, y0)
            x1, y1 = min(float(w), x1), min(float(h), y1)
            if x1 - x0 < 1e-6 or y1 - y0 < 1e-6:
                continue
            box = [round(x0, 2), round(y0, 2), round(x1 - x0, 2),
                   round(y1 - y0, 2)]
            anns.append(dict(id=len(anns) + 1, image_id=img_id,
                             category_id=cls + 1, bbox=box,
                             area=round(box[2] * box[3], 2), iscrowd=0))
    return dict(images=images, annotations=anns, categories=cats)


def coco_to_yolo_lines(coco: dict, image_id: int) -> List[str]:
    """YOLO label lines of one image of a COCO dict (inverse conversion).

    Args:
        coco (dict): COCO dict with category ids ``1..N``.
        image_id (int): Image id.

    Returns:
        List[str]: ``"class cx cy w h"`` lines (6 decimals).
    """
    im = next(i for i in coco['images'] if i['id'] == image_id)
    order = {c['id']: k for k, c in enumerate(coco['categories'])}
    out = []
    for a in coco['annotations']:
        if a['image_id'] != image_id:
            continue
        x, y, w, h = a['bbox']
        out.append(f"{order[a['category_id']]} {(x + w / 2) / im['width']:.6f}"
                   f" {(y + h / 2) / im['height']:.6f} {w / im['width']:.6f}"
                   f" {h / im['height']:.6f}")
    return out


def convert(img_dir: str, label_dir: Optional[str], classes: str, out: str,
            supercategory: str = 'defect') -> dict:
    """CLI helper: convert and write ``out`` atomically."""
    from mmase.utils.file_io import dump_json_atomic
    if label_dir is None:
        # YOLO convention: .../images/... next to .../labels/...
        label_dir = img_dir.replace('images', 'labels')
    coco = yolo_to_coco(img_dir, label_dir, read_class_names(classes),
                        supercategory)
    dump_json_atomic(coco, out)
    return coco
