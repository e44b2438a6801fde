# Copyright (c) mmase contributors. All rights reserved.
"""The data rules of mmase, written once.

Every rule for COCO/MMIO and ASE data lives here and reports what is wrong
to a :class:`Report`. Two callers run the same functions:

* the dataset doctor (:mod:`mmase.datasets.doctor`,
  ``tools/data/check_dataset.py``) collects *every* problem
  (``Report()``) and builds a cleaned copy;
* the datasets and the data tools stop at the *first* problem
  (``Report(stop_at_first=True)``): the report raises a :class:`DataError`
  (a ``ValueError``; a ``FileNotFoundError`` for a missing file) whose
  message is the doctor's line for that problem.

So a rule has one wording, ``<file>: <item>: <field>: <message>``; the item
of a JSON-lines record is its line and reads ``<file>:<line>``, as the
messages of :func:`mmase.utils.file_io.load_jsonl` do.

Types are checked, never coerced: ids and class indexes are integers (JSON
``true`` and ``1.0`` are refused), numbers are finite and not booleans,
names and text fields are strings (``null`` is refused).

Geometry: sizes and boxes are in the frame the image loader returns. The
OpenCV decoder behind mmcv's ``LoadImageFromFile`` (default
``color_type='color'``) applies the EXIF orientation of JPEG, PNG and WebP
files, so :func:`read_image_size` swaps width and height for the
orientations that rotate by 90 degrees (5-8). It reads the file header
only unless asked to decode.

Paths written in annotation files (COCO ``file_name``, ASE ``img_path``)
are relative and stay inside their folder: absolute paths and ``..`` that
leave it are refused.
"""
import copy
import json
import math
import os.path as osp
import posixpath
import re
from dataclasses import dataclass
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple)

from PIL import Image

from mmase.utils.file_io import load_json, load_jsonl

#: How many problems :func:`raise_for_problems` lists before "... and N".
MAX_LISTED = 5

#: EXIF orientations that rotate the image by 90 or 270 degrees.
EXIF_SWAPS_SIZE = (5, 6, 7, 8)

#: Image formats whose EXIF orientation the loader (OpenCV) applies.
EXIF_APPLIED_FORMATS = ('JPEG', 'MPO', 'PNG', 'WEBP')

#: The lists of class/field names an ASE ``meta.json`` must have.
ASE_META_LISTS = ('classes', 'numeric_fields', 'text_fields')

#: Optional per-numeric-field statistics of an ASE ``meta.json``.
ASE_META_STATS = ('numeric_mean', 'numeric_std')

_LINE_ITEM = re.compile(r'line (\d+)')


# ----------------------------------------------------------------- reports
@dataclass
class Problem:
    """One problem: the file, the item in it, the field and what is wrong.

    ``rule`` is a short machine name (``'schema'``, ``'box_outside'``, ...)
    the doctor counts. An item ``'line N'`` prints as ``file:N``; an empty
    or ``'-'`` item/field is left out.
    """
    file: str
    item: str
    field: str
    message: str
    rule: str = ''

    def __str__(self) -> str:
        line = _LINE_ITEM.fullmatch(self.item)
        parts = [f'{self.file}:{line.group(1)}' if line else self.file]
        if self.item and not line:
            parts.append(self.item)
        if self.field and self.field != '-':
            parts.append(self.field)
        return ': '.join(parts + [self.message])


class DataError(ValueError):
    """The first problem found by a ``Report(stop_at_first=True)``.

    Args:
        message (str): The message.
        problem (Problem, optional): The problem. Defaults to None.
    """

    def __init__(self, message: str, problem: Optional[Problem] = None):
        super().__init__(message)
        self.problem = problem

    @classmethod
    def first(cls, problem: Problem,
              target: Optional[str] = None) -> 'DataError':
        """The error for ``problem``, pointing to the doctor for the rest.

        Args:
            problem (Problem): The first problem.
            target (str, optional): What to give the doctor.
                Defaults to None (the problem's file).
        """
        return cls(
            f'{problem} (first problem found; `python tools/data/'
            f'check_dataset.py {target or problem.file}` lists them all)',
            problem)


class Report:
    """Where the rules put their problems.

    Args:
        stop_at_first (bool): Raise on the first problem instead of
            collecting: :class:`FileNotFoundError` for a missing file,
            :class:`DataError` otherwise. Defaults to False.
        target (str, optional): Path named in the :class:`DataError` hint.
            Defaults to None (the file of the problem).
    """

    def __init__(self, stop_at_first: bool = False,
                 target: Optional[str] = None) -> None:
        self.stop_at_first = stop_at_first
        self.target = target
        self.problems: List[Problem] = []
        #: The repaired data (doctor), set by the caller.
        self.cleaned: Any = None

    def add(self, file: str, item: str, field: str, message: str,
            rule: str = '') -> None:
        """Record one problem (or raise it, see ``stop_at_first``)."""
        problem = Problem(file, item, field, message, rule)
        self.problems.append(problem)
        if self.stop_at_first:
            if rule == 'missing_file':
                raise FileNotFoundError(str(problem))
            raise DataError.first(problem, self.target)

    def extend(self, other: 'Report') -> None:
        self.problems.extend(other.problems)

    @property
    def ok(self) -> bool:
        return not self.problems

    def rules(self) -> set:
        return {p.rule for p in self.problems}


def raise_for_problems(problems: Sequence,
                       what: str,
                       hint: Optional[str] = None) -> None:
    """Raise one :class:`ValueError` listing the first problems, if any.

    Args:
        problems (Sequence): :class:`Problem` objects (or anything whose
            ``str`` reads ``file: item: field: message``).
        what (str): What was being read, e.g. the annotation file name.
        hint (str, optional): Appended to the message. Defaults to None,
            which points to ``tools/data/check_dataset.py``.

    Raises:
        ValueError: When ``problems`` is not empty.
    """
    problems = list(problems)
    if not problems:
        return
    lines = [f'  {p}' for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f'  ... and {len(problems) - MAX_LISTED} more')
    if hint is None:
        hint = (f'Run `python tools/data/check_dataset.py {what}` for the '
                f'full list; `--fix-to` writes a cleaned copy.')
    raise ValueError(f'{what}: {len(problems)} problem(s) in the data:\n' +
                     '\n'.join(lines) + '\n' + hint)


# ------------------------------------------------------------ value types
def is_int(value: Any) -> bool:
    """An integer, not a boolean (JSON ``true`` is not the id 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite int or float, not a boolean."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def is_name(value: Any) -> bool:
    """A string with something else than whitespace in it."""
    return isinstance(value, str) and bool(value.strip())


def show(value: Any, limit: int = 60) -> str:
    """``value`` as it is written in JSON (``null``, ``true``, ``[1]``),
    cut to ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def json_type(value: Any) -> str:
    """The JSON name of the type of ``value`` (``'array'``, ``'null'``)."""
    for types, name in ((bool, 'boolean'), (dict, 'object'),
                        ((list, tuple), 'array'), (str, 'string'),
                        ((int, float), 'number')):
        if isinstance(value, types):
            return name
    return 'null' if value is None else type(value).__name__


def check_rel_path(rep: Report, file: str, item: str, field: str,
                   path: Any, folder: str) -> bool:
    """A path written in a data file: a relative path inside ``folder``.

    Args:
        rep (Report): Where problems go.
        file (str): The data file.
        item (str): The record.
        field (str): The field holding the path.
        path (Any): The value.
        folder (str): What the path is relative to, for the message
            (e.g. ``'the image folder'``).

    Returns:
        bool: Whether the path is usable.
    """
    if not isinstance(path, str) or not path.strip():
        rep.add(file, item, field, f'missing or not a path: {show(path)}',
                'schema')
        return False
    norm = posixpath.normpath(path.replace('\\', '/'))
    if (osp.isabs(path) or posixpath.isabs(norm)
            or re.match(r'[A-Za-z]:/', norm)):
        rep.add(file, item, field, f'{path!r} is absolute; give a path '
                f'relative to {folder}', 'unsafe_path')
        return False
    if norm == '..' or norm.startswith('../'):
        rep.add(file, item, field, f'{path!r} leaves {folder}',
                'unsafe_path')
        return False
    return True


def check_unique(rep: Report, file: str, names: Sequence,
                 item_of: Callable[[int], str], field: str = 'name') -> None:
    """Report every name that appeared before, naming the first one."""
    first: Dict[Any, int] = {}
    for i, name in enumerate(names):
        if name in first:
            rep.add(file, item_of(i), field, f'duplicate name {name!r} '
                    f'(also {item_of(first[name])})', 'duplicate_name')
        first.setdefault(name, i)


# -------------------------------------------------------------- reading
def read_json(path: str, what: str, rep: Report,
              name: Optional[str] = None) -> Any:
    """Load a JSON file; a missing or invalid file is a problem.

    Args:
        path (str): The local file.
        what (str): What it is, e.g. ``'annotation file'``.
        rep (Report): Where problems go.
        name (str, optional): Name in the messages. Defaults to ``path``.

    Returns:
        Any: The decoded JSON, or None after a problem.
    """
    name = name or path
    try:
        return load_json(path, what)
    except FileNotFoundError:
        rep.add(name, '', '', f'{what} not found', 'missing_file')
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        cause = err.__cause__ or err
        rep.add(name, '', '', f'invalid JSON ({cause})', 'schema')
    return None


def jsonl_rows(path: str, rep: Report) -> Iterator[Tuple[str, dict]]:
    """``(item, row)`` of each JSON object line of ``path``, in file order.

    Lines that are not a JSON object are problems at their place in the
    file (so a stopping report names the first bad line). ``item`` is
    ``'line N'``; ``row['__line__']`` is ``N``.
    """
    if not osp.isfile(path):
        rep.add(path, '', '', 'annotation file not found', 'missing_file')
        return
    errors: List[Tuple[int, str]] = []
    rows = load_jsonl(path, errors=errors)
    events = sorted([(r['__line__'], r) for r in rows] + errors,
                    key=lambda e: e[0])
    for lineno, row in events:
        if isinstance(row, str):
            rep.add(path, f'line {lineno}', '', row, 'schema')
        else:
            yield f'line {lineno}', row


def read_image_size(path: str, decode: bool = False
                    ) -> Tuple[Optional[Tuple[int, int]], int, str]:
    """Size of an image file in the frame the image loader returns.

    Args:
        path (str): Image file.
        decode (bool): Decode the pixels too (finds truncated files).
            Defaults to False (header only).

    Returns:
        tuple: ``((width, height), orientation, '')``, or
        ``(None, 1, reason)`` with reason ``'missing'`` or
        ``'unreadable (...)'``. ``orientation`` is the EXIF orientation the
        loader applies (1 when none); 5-8 swap the header's width and
        height.
    """
    if not osp.isfile(path):
        return None, 1, 'missing'
    try:
        with Image.open(path) as im:
            if decode:
                im.load()
            w, h = im.size
            # only formats whose EXIF block is read with the header; PNG's
            # getexif would decode the image to look after the pixels
            exif = (im.getexif() if im.format in EXIF_APPLIED_FORMATS
                    and 'exif' in im.info else {})
    except Exception as e:  # noqa: BLE001  (any decoder error)
        return None, 1, f'unreadable ({type(e).__name__}: {e})'
    orient = exif.get(0x0112, 1)
    orient = orient if orient in range(1, 9) else 1
    return ((h, w) if orient in EXIF_SWAPS_SIZE else (w, h)), orient, ''


def check_box_xyxy(box: Iterable[float],
                   width: float,
                   height: float,
                   where: str,
                   tol: float = 1.0) -> None:
    """Check one ``[x0, y0, x1, y1]`` pixel box of a converter's source.

    A box may exceed the image by ``tol`` pixels (rounding of the source
    format); beyond that it is an error, not a silent clip, because a box
    far outside usually means wrong units (pixels given where normalised
    coordinates are expected, or the reverse).

    Args:
        box (Iterable[float]): ``x0, y0, x1, y1``.
        width (float): Image width.
        height (float): Image height.
        where (str): File and item for the message, e.g. ``"a.txt:3"``.
        tol (float): Pixels a box may exceed the image. Defaults to 1.0.

    Raises:
        ValueError: NaN/infinite coordinates, zero or negative area, or a
            box outside the image.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise ValueError(f'{where}: field "bbox": NaN or infinite '
                         f'coordinate in {[x0, y0, x1, y1]}')
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f'{where}: field "bbox": zero or negative area '
                         f'{[x0, y0, x1, y1]}')
    if x0 < -tol or y0 < -tol or x1 > width + tol or y1 > height + tol:
        raise ValueError(f'{where}: field "bbox": {[x0, y0, x1, y1]} is '
                         f'outside the {width}x{height} image')


# ------------------------------------------------------------ COCO / MMIO
def _records(rep: Report, file: str, records: list, section: str,
             label: str, ids: set) -> Iterator[Tuple[str, dict]]:
    """``(item, record)`` of the objects of a COCO list with a new integer
    id; every integer id met goes into ``ids``."""
    for i, rec in enumerate(records):
        item = f'{section}[{i}]'
        if not isinstance(rec, dict):
            rep.add(file, item, 'type', f'expected an object, got '
                    f'{json_type(rec)}', 'schema')
            continue
        rid = rec.get('id')
        if not is_int(rid):
            rep.add(file, item, 'id', f'missing or not an integer: '
                    f'{show(rid)}', 'schema')
            continue
        item = f'{label} id={rid}'
        if rid in ids:
            rep.add(file, item, 'id', 'duplicate id', 'duplicate_id')
            continue
        ids.add(rid)
        yield item, rec


def _check_categories(coco: dict, file: str,
                      rep: Report) -> Tuple[Dict[int, dict], set]:
    cats: Dict[int, dict] = {}
    ids: set = set()
    names: List[str] = []
    items: List[str] = []
    for item, cat in _records(rep, file, coco['categories'], 'categories',
                              'category', ids):
        if not is_name(cat.get('name')):
            rep.add(file, item, 'name', f'missing or empty: '
                    f'{show(cat.get("name"))}', 'schema')
            continue
        names.append(cat['name'])
        items.append(item)
        cats[cat['id']] = cat
    check_unique(rep, file, names, items.__getitem__)
    return cats, ids


def _check_image(im: dict, item: str, file: str, rep: Report,
                 img_dir: Optional[str],
                 image_check: Optional[str]) -> Optional[dict]:
    """One image record; the (size-corrected) record or None."""
    ok = check_rel_path(rep, file, item, 'file_name', im.get('file_name'),
                        'the image folder')
    for key in ('width', 'height'):
        if not is_number(im.get(key)) or im[key] <= 0:
            rep.add(file, item, key, f'missing or not a positive number: '
                    f'{show(im.get(key))}', 'schema')
            ok = False
    if not ok or img_dir is None or not image_check:
        return im if ok else None
    path = osp.join(img_dir, im['file_name'])
    size, orient, why = read_image_size(path, decode=image_check == 'decode')
    if size is None:
        if image_check == 'header':
            return im  # left to the loading pipeline, which names the record
        rep.add(file, item, 'file_name', f'image {why}: {path}',
                'missing_image' if why == 'missing' else 'corrupt_image')
        return None
    if tuple(size) != (im['width'], im['height']):
        exif = (f' (EXIF orientation {orient}, applied by the image loader)'
                if orient != 1 else '')
        rep.add(file, item, 'width/height', f'declared {im["width"]}x'
                f'{im["height"]}, file is {size[0]}x{size[1]}{exif}: {path}',
                'size_mismatch')
        im = dict(im, width=size[0], height=size[1])
    return im


def _check_bbox(ann: dict, item: str, file: str, rep: Report, im: dict,
                tol: float) -> Optional[dict]:
    """Box and area of one annotation; the (clipped) annotation or None."""
    box = ann.get('bbox')
    if (not isinstance(box, list) or len(box) != 4 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool)
            for v in box)):
        rep.add(file, item, 'bbox', f'expected 4 numbers, got {show(box)}',
                'schema')
        return None
    if not all(math.isfinite(v) for v in box):
        rep.add(file, item, 'bbox', f'NaN or infinite value: {box}',
                'nan_box')
        return None
    x, y, w, h = box
    if w <= 0 or h <= 0:
        rep.add(file, item, 'bbox', f'zero or negative area: {box}',
                'zero_area')
        return None
    W, H = im['width'], im['height']
    if x < -tol or y < -tol or x + w > W + tol or y + h > H + tol:
        rep.add(file, item, 'bbox',
                f'outside image id={im["id"]} ({W}x{H}): {box}',
                'box_outside')
        x0, y0 = max(0.0, x), max(0.0, y)
        x1, y1 = min(float(W), x + w), min(float(H), y + h)
        if x1 - x0 < 1 or y1 - y0 < 1:
            return None  # nothing left inside: dropped by the fix
        ann = dict(ann, bbox=[x0, y0, x1 - x0, y1 - y0],
                   area=(x1 - x0) * (y1 - y0))
    area = ann.get('area')
    if area is not None and (not is_number(area) or area <= 0):
        rep.add(file, item, 'area', f'not a positive number: {show(area)}',
                'zero_area')
        ann = dict(ann, area=ann['bbox'][2] * ann['bbox'][3])
    return ann


def _check_annotation(ann: dict, item: str, file: str, rep: Report,
                      cats: Tuple[dict, set], images: Tuple[dict, set],
                      tol: float) -> Optional[dict]:
    """Ids, box and area of one annotation; the (clipped) one or None.

    ``cats``/``images``: the valid records by id and every id met (an
    annotation of an image dropped for its own problem is not reported
    again).
    """
    for key, (valid, met), what in (('category_id', cats, 'category'),
                                    ('image_id', images, 'image')):
        ref = ann.get(key)
        if not is_int(ref):
            rep.add(file, item, key, f'expected an integer id, got '
                    f'{show(ref)}', 'schema')
            return None
        if ref not in valid:
            if ref not in met:
                rep.add(file, item, key, f'unknown {what} id {ref}',
                        f'unknown_{what}')
            return None
    return _check_bbox(ann, item, file, rep, images[0][ann['image_id']],
                       tol)


def check_coco(coco: Any, file: str, rep: Report,
               img_dir: Optional[str] = None,
               image_check: Optional[str] = 'decode',
               box_tol: float = 1.0) -> Optional[dict]:
    """The COCO rules; returns the cleaned copy the doctor writes.

    Rules: JSON types of images/annotations/categories, integer and unique
    ids, category names present and unique, ``file_name`` relative and
    inside the image folder, positive sizes that match the image file,
    annotations of known categories and images, boxes of 4 finite numbers
    with a positive area inside the image (``box_tol`` pixels of slack),
    positive areas.

    Args:
        coco (Any): The decoded JSON.
        file (str): Name used in the messages.
        rep (Report): Where problems go.
        img_dir (str, optional): Folder the ``file_name`` paths are relative
            to. Defaults to None (image files not opened).
        image_check (str, optional): ``'decode'``: open and decode every
            image, missing/corrupt ones are problems (doctor);
            ``'header'``: read sizes from the headers, leave missing or
            unreadable files to the loading pipeline (datasets); None: do
            not open images. Defaults to 'decode'.
        box_tol (float): Pixels a box may exceed the image. Defaults to 1.0.

    Returns:
        dict or None: Boxes clipped, bad annotations and unreadable images
        dropped, sizes corrected; None when the top level is not COCO.
    """
    if not isinstance(coco, dict):
        rep.add(file, 'top level', 'type', f'expected a JSON object, got '
                f'{json_type(coco)}', 'schema')
        return None
    n0 = len(rep.problems)
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(coco.get(key), list):
            rep.add(file, 'top level', key, 'missing or not a list',
                    'schema')
    if len(rep.problems) > n0:
        return None
    cats = _check_categories(coco, file, rep)
    images: Dict[int, dict] = {}
    img_ids: set = set()
    for item, im in _records(rep, file, coco['images'], 'images', 'image',
                             img_ids):
        im = _check_image(im, item, file, rep, img_dir, image_check)
        if im is not None:
            images[im['id']] = im
    anns = []
    for item, ann in _records(rep, file, coco['annotations'], 'annotations',
                              'annotation', set()):
        ann = _check_annotation(ann, item, file, rep, cats,
                                (images, img_ids), box_tol)
        if ann is not None:
            anns.append(ann)
    cleaned = {k: copy.deepcopy(v) for k, v in coco.items()
               if k not in ('images', 'annotations', 'categories')}
    cleaned.update(images=list(images.values()), annotations=anns,
                   categories=list(cats[0].values()))
    return cleaned


def check_class_texts(data: Any, file: str, rep: Report,
                      class_names: Optional[Sequence[str]] = None
                      ) -> Optional[Dict[str, List[str]]]:
    """``class_texts.json``: ``[["name", "description", ...], ...]``.

    Args:
        data (Any): The decoded JSON.
        file (str): Name used in the messages.
        rep (Report): Where problems go.
        class_names (Sequence[str], optional): The categories: each needs
            an entry and each entry must be one. Defaults to None (not
            compared).

    Returns:
        dict or None: Class name to ``[name, descriptions...]``.
    """
    if not isinstance(data, list):
        rep.add(file, 'top level', 'type', f'expected a list of [name, '
                f'description, ...] lists, got {json_type(data)}', 'schema')
        return None
    texts: Dict[str, List[str]] = {}
    where: Dict[str, str] = {}
    for i, entry in enumerate(data):
        if isinstance(entry, str):
            entry = [entry]
        if (not isinstance(entry, list) or not entry
                or not all(is_name(t) for t in entry)):
            rep.add(file, f'[{i}]', 'texts', f'must be a non-empty list of '
                    f'non-empty strings, got {show(entry)}', 'schema')
            continue
        if entry[0] in texts:
            rep.add(file, f'[{i}]', 'name', f'duplicate name {entry[0]!r} '
                    f'(also {where[entry[0]]})', 'duplicate_name')
            continue
        texts[entry[0]] = list(entry)
        where[entry[0]] = f'[{i}]'
    if class_names is not None:
        for name in class_names:
            if name not in texts:
                rep.add(file, f'class {name!r}', 'texts',
                        'class has no text entry', 'class_without_text')
        known = set(class_names)
        for name, item in where.items():
            if name not in known:
                rep.add(file, item, 'name', f'{name!r} is not a category of '
                        f'the annotations', 'unknown_text_class')
    return texts


def check_split(data: Any, file: str, rep: Report,
                class_names: Sequence[str]) -> Optional[Dict[str, List[str]]]:
    """``split.json``: every category is either seen or unseen.

    Args:
        data (Any): The decoded JSON ``{"seen": [...], "unseen": [...]}``.
        file (str): Name used in the messages.
        rep (Report): Where problems go.
        class_names (Sequence[str]): The categories.

    Returns:
        dict or None: ``{'seen': [...], 'unseen': [...]}`` (known names).
    """
    if not isinstance(data, dict):
        rep.add(file, 'top level', 'type', 'expected {"seen": [...], '
                '"unseen": [...]}, got ' + json_type(data), 'schema')
        return None
    known, out = set(class_names), {}
    for key in ('seen', 'unseen'):
        names = data.get(key)
        if not isinstance(names, list):
            rep.add(file, 'top level', key, 'missing or not a list',
                    'schema')
            continue
        out[key] = []
        for i, name in enumerate(names):
            if not isinstance(name, str):
                rep.add(file, f'{key}[{i}]', key, f'expected a class name, '
                        f'got {show(name)}', 'schema')
            elif name not in known:
                rep.add(file, f'{key}[{i}]', key, f'{name!r} is not a '
                        f'category of the annotations', 'unknown_split_class')
            else:
                out[key].append(name)
    if len(out) < 2:
        return None
    for name in sorted(set(out['seen']) & set(out['unseen'])):
        rep.add(file, f'class {name!r}', 'seen/unseen',
                'class is both seen and unseen', 'split_overlap')
    for name in class_names:
        if name not in out['seen'] and name not in out['unseen']:
            rep.add(file, f'class {name!r}', 'seen/unseen', 'class is '
                    'neither seen nor unseen (its boxes would be dropped '
                    'from both vocabularies)', 'split_missing_class')
    return out


# -------------------------------------------------------------------- ASE
def check_ase_meta(meta: Any, file: str, rep: Report,
                   need_stats: bool = False) -> bool:
    """ASE ``meta.json``: class and field name lists, optional statistics.

    The record rules follow the field lists of the file (whatever fields
    a generator or a real set has); nothing here names a field.

    Args:
        meta (Any): The decoded JSON.
        file (str): Name used in the messages.
        rep (Report): Where problems go.
        need_stats (bool): ``numeric_mean``/``numeric_std`` are required
            (``normalize_numeric``). Defaults to False.

    Returns:
        bool: Whether the name lists are usable (the record rules need
        them).
    """
    if not isinstance(meta, dict):
        rep.add(file, 'top level', 'type', f'expected a JSON object, got '
                f'{json_type(meta)}', 'schema')
        return False
    ok = True
    for key in ASE_META_LISTS:
        val = meta.get(key)
        if not isinstance(val, list) or not all(is_name(v) for v in val):
            rep.add(file, 'top level', key, f'missing or not a list of '
                    f'names: {show(val)}', 'schema')
            ok = False
    if not ok:
        return False
    if not meta['classes']:
        rep.add(file, 'top level', 'classes', 'empty', 'schema')
    check_unique(rep, file, meta['classes'], lambda i: f'classes[{i}]')
    fields = meta['numeric_fields'] + meta['text_fields']
    n_num = len(meta['numeric_fields'])
    check_unique(
        rep, file, fields, lambda i: f'numeric_fields[{i}]'
        if i < n_num else f'text_fields[{i - n_num}]')
    for key in ASE_META_STATS:
        val = meta.get(key)
        if val is None and not need_stats:
            continue
        if (not isinstance(val, list) or len(val) != n_num
                or not all(is_number(v) for v in val)):
            rep.add(file, 'top level', key, f'expected {n_num} finite '
                    f'number(s), one per numeric field, got {show(val)}',
                    'schema')
    return True


def check_ase_row(row: dict, file: str, item: str, rep: Report,
                  classes: Sequence[str], meta: dict,
                  img_root: Optional[str] = None,
                  image_check: Optional[str] = None) -> bool:
    """One ASE annotation line.

    Rules: ``img_path`` relative inside the data root (and, with
    ``image_check``, a readable image), ``label`` one of ``classes``,
    ``record`` an object with every ``meta['numeric_fields']`` a finite
    number and every ``meta['text_fields']`` a string, an optional
    ``description`` a string.

    Args:
        row (dict): The decoded line.
        file (str): Name used in the messages.
        item (str): ``'line N'``.
        rep (Report): Where problems go.
        classes (Sequence[str]): The class names.
        meta (dict): A ``meta.json`` that passed :func:`check_ase_meta`.
        img_root (str, optional): Folder of the image paths.
            Defaults to None.
        image_check (str, optional): ``'decode'`` or ``'header'`` to open
            the image. Defaults to None.

    Returns:
        bool: Whether the line has no problem.
    """
    n0 = len(rep.problems)
    img = row.get('img_path')
    if (check_rel_path(rep, file, item, 'img_path', img, 'the data root')
            and img_root is not None and image_check):
        path = osp.join(img_root, img)
        size, _, why = read_image_size(path, image_check == 'decode')
        if size is None:
            rep.add(file, item, 'img_path', f'image {why}: {path}',
                    'missing_image' if why == 'missing' else 'corrupt_image')
    label = row.get('label')
    if not isinstance(label, str):
        rep.add(file, item, 'label', f'expected a class name, got '
                f'{show(label)}', 'schema')
    elif label not in classes:
        rep.add(file, item, 'label', f'{label!r} is not one of the classes '
                f'{show(list(classes))}', 'unknown_category')
    rec = row.get('record')
    if not isinstance(rec, dict):
        rep.add(file, item, 'record', f'missing or not an object: '
                f'{show(rec)}', 'schema')
    else:
        for kind, fields in (('number', meta['numeric_fields']),
                             ('text', meta['text_fields'])):
            for fld in fields:
                _check_record_field(rec, fld, kind, file, item, rep)
    if 'description' in row and not isinstance(row['description'], str):
        rep.add(file, item, 'description', f'not a string: '
                f'{show(row["description"])}', 'schema')
    return len(rep.problems) == n0


def _check_record_field(rec: dict, fld: str, kind: str, file: str,
                        item: str, rep: Report) -> None:
    if fld not in rec:
        rep.add(file, item, f'record.{fld}', 'missing', 'missing_field')
    elif kind == 'number' and not is_number(rec[fld]):
        rep.add(file, item, f'record.{fld}', f'not a finite number: '
                f'{show(rec[fld])}', 'non_numeric')
    elif kind == 'text' and not isinstance(rec[fld], str):
        rep.add(file, item, f'record.{fld}', f'not a string: '
                f'{show(rec[fld])}', 'non_text')


def check_description_row(row: dict, file: str, item: str,
                          rep: Report) -> bool:
    """One line of a description cache: ``img_path`` and ``description``
    strings."""
    n0 = len(rep.problems)
    for key in ('img_path', 'description'):
        if not isinstance(row.get(key), str):
            rep.add(file, item, key, f'missing or not a string: '
                    f'{show(row.get(key))}', 'schema')
    return len(rep.problems) == n0


# ------------------------------------------------------- dataset support
def sample_error(err: Exception, where: str) -> Exception:
    """The exception ``err`` of loading one sample, with ``where`` first.

    Image loading and the other transforms know the image path at most; the
    datasets put the annotation file and the item in front so the error
    names the record to fix. The exception type is kept when it can be
    built from one message (``FileNotFoundError``, ``ValueError``, ...), so
    callers catching it still do; otherwise a ``RuntimeError`` is returned.

    Args:
        err (Exception): The error raised while loading the sample.
        where (str): Annotation file and item, e.g.
            ``'ann.json: image id=3 (images/3.png)'``.

    Returns:
        Exception: The error to raise (``raise sample_error(e, w) from e``).
    """
    msg = f'{where}: {err}'
    if isinstance(err, OSError) and err.filename is not None:
        # OSError(errno, strerror, filename) formats itself; keep the path
        msg = f'{where}: {err.strerror or err}: {err.filename}'
    try:
        return type(err)(msg)
    except Exception:
        return RuntimeError(f'{where}: {type(err).__name__}: {err}')


class NamedSampleErrors:
    """Dataset mixin: an error raised while loading a sample is re-raised
    with its annotation record in front (see :func:`sample_error`).

    Put it before the dataset base class; the dataset implements
    :meth:`_sample_where`.
    """

    def _sample_where(self, info: dict) -> str:
        """Annotation file and item of the data info ``info``."""
        raise NotImplementedError

    def prepare_data(self, idx: int):
        """Run the pipeline on sample ``idx``; errors name its record."""
        try:
            return super().prepare_data(idx)
        except Exception as err:
            where = self._sample_where(self.get_data_info(idx))
            raise sample_error(err, where) from err
