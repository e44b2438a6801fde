# Copyright (c) mmase contributors. All rights reserved.
"""Dataset doctor: find every problem of a COCO, MMIO or ASE set.

Each problem names the file, the item (image/annotation/category id, list
index or line number) and the field. :func:`diagnose` dispatches on what the
path is:

- a folder with ``meta.json``: an ASE set (``annotations/*.jsonl``);
- a folder with ``annotations/``: an MMIO set (every ``*.json`` in it plus
  ``class_texts.json`` and ``split.json``);
- a ``.json`` file: one COCO file (inside an MMIO layout its
  ``class_texts.json``/``split.json``/``images/`` are found by themselves);
- a ``.jsonl`` file: one ASE annotation file.

COCO rules: JSON schema of images/annotations/categories, duplicate ids,
missing/corrupt/unreadable image files, declared size differing from the
file, boxes that are not 4 finite numbers, zero or negative area, boxes
outside the image, annotations of unknown categories or images, duplicate
category names. MMIO rules add classes without text, texts of unknown
classes, split names that are not categories and classes both seen and
unseen. ASE rules: line JSON, label, image, record fields (missing or
non-numeric numeric fields).

:func:`clean_coco` returns the fixable part repaired (boxes clipped to the
image, bad annotations and unreadable images dropped, sizes corrected) and is
what ``tools/data/check_dataset.py --fix-to`` writes.
"""
import copy
import json
import math
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from PIL import Image


@dataclass
class Problem:
    """One problem: where it is and what is wrong."""
    file: str
    item: str
    field: str
    message: str
    rule: str = ''

    def __str__(self) -> str:
        return f'{self.file}: {self.item}: {self.field}: {self.message}'


@dataclass
class Report:
    """Problems of one check and, for COCO files, the cleaned copy."""
    problems: List[Problem] = field(default_factory=list)
    cleaned: Optional[dict] = None

    def add(self, *args, **kwargs) -> None:
        self.problems.append(Problem(*args, **kwargs))

    def extend(self, other: 'Report') -> None:
        self.problems.extend(other.problems)

    @property
    def ok(self) -> bool:
        return not self.problems

    def rules(self) -> set:
        return {p.rule for p in self.problems}


def _read_image(path: str) -> Tuple[Optional[Tuple[int, int]], str]:
    """``((w, h), '')`` or ``(None, reason)``."""
    if not osp.isfile(path):
        return None, 'missing'
    try:
        with Image.open(path) as im:
            im.load()
            return im.size, ''
    except Exception as e:  # noqa: BLE001  (any decoder error)
        return None, f'unreadable ({type(e).__name__}: {e})'


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_coco_dict(coco, file: str, img_dir: Optional[str] = None,
                    check_images: bool = True,
                    box_tol: float = 1.0) -> Report:
    """Check a decoded COCO dict and build its cleaned copy.

    Args:
        coco: The decoded JSON.
        file (str): Name used in the messages.
        img_dir (str, optional): Folder the ``file_name`` paths are relative
            to. Defaults to None (image files not checked).
        check_images (bool): Open every image. Defaults to True.
        box_tol (float): Pixels a box may exceed the image before it counts
            as outside. Defaults to 1.0.

    Returns:
        Report: Problems and ``cleaned`` (None when the top level is not a
        COCO object).
    """
    rep = Report()
    if not isinstance(coco, dict):
        rep.add(file, 'top level', 'type', 'expected a JSON object',
                'schema')
        return rep
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(coco.get(key), list):
            rep.add(file, 'top level', key, 'missing or not a list',
                    'schema')
    if rep.problems:
        return rep

    # categories
    cats: Dict[int, dict] = {}
    names: Dict[str, int] = {}
    for i, c in enumerate(coco['categories']):
        item = f'categories[{i}]'
        if not isinstance(c, dict):
            rep.add(file, item, 'type', 'expected an object', 'schema')
            continue
        if not isinstance(c.get('id'), int) or isinstance(c.get('id'), bool):
            rep.add(file, item, 'id', f'missing or not an int: '
                    f'{c.get("id")!r}', 'schema')
            continue
        if not isinstance(c.get('name'), str) or not c['name'].strip():
            rep.add(file, f'category id={c["id"]}', 'name',
                    f'missing or empty: {c.get("name")!r}', 'schema')
            continue
        if c['id'] in cats:
            rep.add(file, f'category id={c["id"]}', 'id', 'duplicate id',
                    'duplicate_id')
            continue
        if c['name'] in names:
            rep.add(file, f'category id={c["id"]}', 'name',
                    f'duplicate name {c["name"]!r} (also category id='
                    f'{names[c["name"]]})', 'duplicate_name')
        names.setdefault(c['name'], c['id'])
        cats[c['id']] = c

    # images
    images: Dict[int, dict] = {}
    for i, im in enumerate(coco['images']):
        item = f'images[{i}]'
        if not isinstance(im, dict):
            rep.add(file, item, 'type', 'expected an object', 'schema')
            continue
        if not isinstance(im.get('id'), int) or isinstance(im.get('id'),
                                                           bool):
            rep.add(file, item, 'id', f'missing or not an int: '
                    f'{im.get("id")!r}', 'schema')
            continue
        item = f'image id={im["id"]}'
        if im['id'] in images:
            rep.add(file, item, 'id', 'duplicate id', 'duplicate_id')
            continue
        bad = False
        if not isinstance(im.get('file_name'), str) or not im['file_name']:
            rep.add(file, item, 'file_name',
                    f'missing or empty: {im.get("file_name")!r}', 'schema')
            bad = True
        for key in ('width', 'height'):
            v = im.get(key)
            if not _is_num(v) or not math.isfinite(v) or v <= 0:
                rep.add(file, item, key, f'missing or not a positive '
                        f'number: {v!r}', 'schema')
                bad = True
        if bad:
            continue
        im = dict(im)
        if img_dir is not None and check_images:
            path = osp.join(img_dir, im['file_name'])
            size, why = _read_image(path)
            if size is None:
                rep.add(file, item, 'file_name',
                        f'image {why}: {path}',
                        'missing_image' if why == 'missing' else
                        'corrupt_image')
                continue
            if tuple(size) != (im['width'], im['height']):
                rep.add(file, item, 'width/height',
                        f'declared {im["width"]}x{im["height"]}, file is '
                        f'{size[0]}x{size[1]}: {path}', 'size_mismatch')
                im['width'], im['height'] = size
        images[im['id']] = im

    # annotations
    anns = []
    seen_ann: set = set()
    all_img_ids = {im.get('id') for im in coco['images']
                   if isinstance(im, dict)}
    for i, a in enumerate(coco['annotations']):
        item = f'annotations[{i}]'
        if not isinstance(a, dict):
            rep.add(file, item, 'type', 'expected an object', 'schema')
            continue
        if not isinstance(a.get('id'), int) or isinstance(a.get('id'), bool):
            rep.add(file, item, 'id', f'missing or not an int: '
                    f'{a.get("id")!r}', 'schema')
            continue
        item = f'annotation id={a["id"]}'
        if a['id'] in seen_ann:
            rep.add(file, item, 'id', 'duplicate id', 'duplicate_id')
            continue
        seen_ann.add(a['id'])
        if a.get('category_id') not in cats:
            rep.add(file, item, 'category_id',
                    f'unknown category id {a.get("category_id")!r}',
                    'unknown_category')
            continue
        if a.get('image_id') not in images:
            if a.get('image_id') not in all_img_ids:
                rep.add(file, item, 'image_id',
                        f'unknown image id {a.get("image_id")!r}',
                        'unknown_image')
            continue  # image dropped above: its problem is reported
        box = a.get('bbox')
        if (not isinstance(box, list) or len(box) != 4
                or not all(_is_num(v) for v in box)):
            rep.add(file, item, 'bbox', f'expected 4 numbers, got {box!r}',
                    'schema')
            continue
        if not all(math.isfinite(v) for v in box):
            rep.add(file, item, 'bbox', f'NaN or infinite value: {box}',
                    'nan_box')
            continue
        x, y, w, h = box
        if w <= 0 or h <= 0:
            rep.add(file, item, 'bbox', f'zero or negative area: {box}',
                    'zero_area')
            continue
        im = images[a['image_id']]
        W, H = im['width'], im['height']
        if (x < -box_tol or y < -box_tol or x + w > W + box_tol
                or y + h > H + box_tol):
            rep.add(file, item, 'bbox',
                    f'outside image id={im["id"]} ({W}x{H}): {box}',
                    'box_outside')
            x0, y0 = max(0.0, x), max(0.0, y)
            x1, y1 = min(float(W), x + w), min(float(H), y + h)
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue  # nothing left inside: dropped by the fix
            a = dict(a, bbox=[x0, y0, x1 - x0, y1 - y0],
                     area=(x1 - x0) * (y1 - y0))
        area = a.get('area')
        if area is not None and (not _is_num(area)
                                 or not math.isfinite(area) or area <= 0):
            rep.add(file, item, 'area', f'not a positive number: {area!r}',
                    'zero_area')
            a = dict(a, area=a['bbox'][2] * a['bbox'][3])
        anns.append(a)

    cleaned = {k: copy.deepcopy(v) for k, v in coco.items()
               if k not in ('images', 'annotations', 'categories')}
    cleaned['images'] = list(images.values())
    cleaned['annotations'] = anns
    cleaned['categories'] = list(cats.values())
    rep.cleaned = cleaned
    return rep


def load_json_report(path: str, rep: Report):
    """Load JSON, recording unreadable/invalid files as problems."""
    if not osp.isfile(path):
        rep.add(path, 'file', '-', 'not found', 'missing_file')
        return None
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        rep.add(path, 'file', '-', f'invalid JSON ({e})', 'schema')
        return None


def check_class_texts(path: str, class_names: List[str]) -> Report:
    """``class_texts.json`` against the category names of a file."""
    rep = Report()
    data = load_json_report(path, rep)
    if data is None:
        return rep
    if not isinstance(data, list):
        rep.add(path, 'top level', 'type', 'expected a list of [name, '
                'description, ...] lists', 'schema')
        return rep
    texts: Dict[str, int] = {}
    for i, item in enumerate(data):
        if isinstance(item, str):
            item = [item]
        if (not isinstance(item, list) or not item
                or not all(isinstance(t, str) and t.strip() for t in item)):
            rep.add(path, f'[{i}]', 'texts', f'must be a non-empty list of '
                    f'non-empty strings, got {item!r}', 'schema')
            continue
        if item[0] in texts:
            rep.add(path, f'[{i}]', 'name', f'duplicate class {item[0]!r} '
                    f'(also [{texts[item[0]]}])', 'duplicate_name')
        texts.setdefault(item[0], i)
    for n in class_names:
        if n not in texts:
            rep.add(path, f'class {n!r}', 'texts', 'class has no text entry',
                    'class_without_text')
    for n, i in texts.items():
        if n not in class_names:
            rep.add(path, f'[{i}]', 'name', f'{n!r} is not a category of the '
                    f'annotations', 'unknown_text_class')
    return rep


def check_split(path: str, class_names: List[str]) -> Report:
    """``split.json``: known names, no class both seen and unseen."""
    rep = Report()
    data = load_json_report(path, rep)
    if data is None:
        return rep
    if not isinstance(data, dict):
        rep.add(path, 'top level', 'type', 'expected {"seen": [...], '
                '"unseen": [...]}', 'schema')
        return rep
    known = set(class_names)
    for key in ('seen', 'unseen'):
        names = data.get(key)
        if not isinstance(names, list):
            rep.add(path, 'top level', key, 'missing or not a list',
                    'schema')
            continue
        for i, n in enumerate(names):
            if n not in known:
                rep.add(path, f'{key}[{i}]', key, f'{n!r} is not a category '
                        f'of the annotations', 'unknown_split_class')
    if isinstance(data.get('seen'), list) and isinstance(
            data.get('unseen'), list):
        for n in sorted(set(data['seen']) & set(data['unseen'])):
            rep.add(path, f'class {n!r}', 'seen/unseen',
                    'class is both seen and unseen', 'split_overlap')
    return rep


def _mmio_root_of(ann_path: str) -> Optional[str]:
    d = osp.dirname(osp.abspath(ann_path))
    if osp.basename(d) == 'annotations':
        return osp.dirname(d)
    return None


def check_coco_file(ann_path: str, img_dir: Optional[str] = None,
                    class_text_path: Optional[str] = None,
                    split_path: Optional[str] = None,
                    check_images: bool = True) -> Report:
    """One COCO file, with the MMIO side files when found or given."""
    rep = Report()
    coco = load_json_report(ann_path, rep)
    if coco is None:
        return rep
    root = _mmio_root_of(ann_path)
    if img_dir is None and root and osp.isdir(osp.join(root, 'images')):
        img_dir = osp.join(root, 'images')
    if class_text_path is None and root and osp.isfile(
            osp.join(root, 'class_texts.json')):
        class_text_path = osp.join(root, 'class_texts.json')
    if split_path is None and root and osp.isfile(
            osp.join(root, 'split.json')):
        split_path = osp.join(root, 'split.json')
    sub = check_coco_dict(coco, ann_path, img_dir, check_images)
    rep.extend(sub)
    rep.cleaned = sub.cleaned
    if sub.cleaned is not None:
        names = [c['name'] for c in sub.cleaned['categories']]
        if class_text_path:
            rep.extend(check_class_texts(class_text_path, names))
        if split_path:
            rep.extend(check_split(split_path, names))
    return rep


def check_mmio_root(root: str, check_images: bool = True) -> Report:
    """Every annotation file of an MMIO folder plus its side files."""
    rep = Report()
    ann_dir = osp.join(root, 'annotations')
    files = sorted(f for f in os.listdir(ann_dir) if f.endswith('.json'))
    if not files:
        rep.add(ann_dir, 'folder', '-', 'no *.json annotation files',
                'missing_file')
    img_dir = osp.join(root, 'images')
    names = None
    for k, f in enumerate(files):
        sub = check_coco_file(osp.join(ann_dir, f), img_dir, '', '',
                              check_images)
        rep.extend(sub)
        if sub.cleaned is not None and (names is None
                                        or f == 'instances_all.json'):
            names = [c['name'] for c in sub.cleaned['categories']]
    if names is not None:
        for side, fn in (('class_texts.json', check_class_texts),
                         ('split.json', check_split)):
            path = osp.join(root, side)
            if osp.isfile(path):
                rep.extend(fn(path, names))
            elif side == 'class_texts.json':
                rep.add(path, 'file', '-', 'not found', 'missing_file')
    return rep


def check_ase_jsonl(path: str, meta: dict, root: str,
                    check_images: bool = True) -> Report:
    """One ASE JSONL file; ``cleaned`` is the list of valid rows."""
    rep = Report()
    classes = set(meta.get('classes', []))
    good = []
    if not osp.isfile(path):
        rep.add(path, 'file', '-', 'not found', 'missing_file')
        return rep
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item = f'line {lineno}'
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            rep.add(path, item, '-', f'invalid JSON ({e})', 'schema')
            continue
        if not isinstance(row, dict):
            rep.add(path, item, '-', 'expected an object', 'schema')
            continue
        n0 = len(rep.problems)
        img = row.get('img_path')
        if not isinstance(img, str) or not img:
            rep.add(path, item, 'img_path', 'missing or not a string',
                    'schema')
        elif check_images:
            size, why = _read_image(osp.join(root, img))
            if size is None:
                rep.add(path, item, 'img_path', f'image {why}: '
                        f'{osp.join(root, img)}',
                        'missing_image' if why == 'missing' else
                        'corrupt_image')
        if row.get('label') not in classes:
            rep.add(path, item, 'label', f'{row.get("label")!r} is not one '
                    f'of meta.json classes', 'unknown_category')
        rec = row.get('record')
        if not isinstance(rec, dict):
            rep.add(path, item, 'record', 'missing or not an object',
                    'schema')
        else:
            for fld in meta.get('numeric_fields', []):
                v = rec.get(fld)
                if fld not in rec:
                    rep.add(path, item, f'record.{fld}', 'missing',
                            'missing_field')
                elif not _is_num(v) or not math.isfinite(v):
                    rep.add(path, item, f'record.{fld}',
                            f'not a finite number: {v!r}', 'non_numeric')
            for fld in meta.get('text_fields', []):
                if fld not in rec:
                    rep.add(path, item, f'record.{fld}', 'missing',
                            'missing_field')
        if len(rep.problems) == n0:
            good.append(row)
    rep.cleaned = good
    return rep


def check_ase_root(root: str, check_images: bool = True) -> Report:
    """``meta.json`` and every ``annotations/*.jsonl`` of an ASE folder."""
    rep = Report()
    meta_path = osp.join(root, 'meta.json')
    meta = load_json_report(meta_path, rep)
    if meta is None:
        return rep
    for key in ('classes', 'numeric_fields', 'text_fields'):
        if not isinstance(meta.get(key), list):
            rep.add(meta_path, 'top level', key, 'missing or not a list',
                    'schema')
    if rep.problems:
        return rep
    dup = sorted({c for c in meta['classes'] if meta['classes'].count(c) > 1})
    for c in dup:
        rep.add(meta_path, f'class {c!r}', 'classes', 'duplicate name',
                'duplicate_name')
    ann_dir = osp.join(root, 'annotations')
    files = sorted(f for f in os.listdir(ann_dir)
                   if f.endswith('.jsonl')) if osp.isdir(ann_dir) else []
    if not files:
        rep.add(ann_dir, 'folder', '-', 'no *.jsonl annotation files',
                'missing_file')
    for f in files:
        rep.extend(check_ase_jsonl(osp.join(ann_dir, f), meta, root,
                                   check_images))
    return rep


def diagnose(path: str, img_dir: Optional[str] = None,
             class_text_path: Optional[str] = None,
             split_path: Optional[str] = None,
             check_images: bool = True) -> Report:
    """Check whatever ``path`` is (see the module docstring).

    Args:
        path (str): Dataset folder, COCO ``.json`` or ASE ``.jsonl``.
        img_dir (str, optional): Image folder of a lone COCO file.
        class_text_path (str, optional): ``class_texts.json`` of a COCO file.
        split_path (str, optional): ``split.json`` of a COCO file.
        check_images (bool): Open every image. Defaults to True.

    Returns:
        Report: All problems; ``cleaned`` for a single file.
    """
    if osp.isdir(path):
        if osp.isfile(osp.join(path, 'meta.json')):
            return check_ase_root(path, check_images)
        if osp.isdir(osp.join(path, 'annotations')):
            return check_mmio_root(path, check_images)
        rep = Report()
        rep.add(path, 'folder', '-', 'neither an ASE set (meta.json) nor an '
                'MMIO set (annotations/)', 'schema')
        return rep
    if path.endswith('.jsonl'):
        root = osp.dirname(osp.dirname(osp.abspath(path)))
        rep = Report()
        meta = load_json_report(osp.join(root, 'meta.json'), rep)
        if meta is None:
            return rep
        return check_ase_jsonl(path, meta, root, check_images)
    return check_coco_file(path, img_dir, class_text_path, split_path,
                           check_images)
