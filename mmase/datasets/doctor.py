# Copyright (c) mmase contributors. All rights reserved.
"""Dataset doctor: find every problem of a COCO, MMIO or ASE set.

The rules are those of the datasets (:mod:`mmase.datasets.validation`); the
doctor runs them with a collecting :class:`Report` so that every problem is
listed, where a dataset stops at the first. Each problem names the file, the
item (image/annotation/category id, list index or line) and the field.
:func:`diagnose` dispatches on what the path is:

- a folder with ``meta.json``: an ASE set (``annotations/*.jsonl``);
- a folder with ``annotations/``: an MMIO set (every ``*.json`` in it plus
  ``class_texts.json`` and ``split.json``);
- a ``.json`` file: one COCO file (inside an MMIO layout its
  ``class_texts.json``/``split.json``/``images/`` are found by themselves);
- a ``.jsonl`` file: one ASE annotation file.

Unlike the datasets, the doctor decodes every image (missing, corrupt and
truncated files are problems) and builds a cleaned copy: boxes clipped to
the image, bad annotations/lines and unreadable images dropped, sizes
corrected. ``tools/data/check_dataset.py --fix-to`` writes it.
"""
import os
import os.path as osp
from typing import Callable, List, Optional

from .validation import (Problem, Report, check_ase_meta, check_ase_row,
                         check_class_texts as _check_class_texts, check_coco,
                         check_split as _check_split, jsonl_rows, read_json)

__all__ = [
    'Problem', 'Report', 'check_coco_dict', 'check_class_texts',
    'check_split', 'check_coco_file', 'check_mmio_root', 'check_ase_jsonl',
    'check_ase_root', 'diagnose'
]


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
    rep.cleaned = check_coco(coco, file, rep, img_dir,
                             'decode' if check_images else None, box_tol)
    return rep


def _check_file(path: str, what: str, check: Callable, *args) -> Report:
    """Read a JSON file and run ``check(data, path, rep, *args)``."""
    rep = Report()
    data = read_json(path, what, rep)
    if data is not None:
        rep.cleaned = check(data, path, rep, *args)
    return rep


def check_class_texts(path: str, class_names: List[str]) -> Report:
    """``class_texts.json`` against the category names of a file."""
    return _check_file(path, 'class text file', _check_class_texts,
                       class_names)


def check_split(path: str, class_names: List[str]) -> Report:
    """``split.json``: known names, each class either seen or unseen."""
    return _check_file(path, 'split file', _check_split, class_names)


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
    coco = read_json(ann_path, 'annotation file', rep)
    if coco is None:
        return rep
    root = _mmio_root_of(ann_path)
    side = dict(img_dir=(img_dir, 'images', osp.isdir),
                texts=(class_text_path, 'class_texts.json', osp.isfile),
                split=(split_path, 'split.json', osp.isfile))
    found = {}
    for key, (given, name, exists) in side.items():
        if given is None and root and exists(osp.join(root, name)):
            given = osp.join(root, name)
        found[key] = given
    sub = check_coco_dict(coco, ann_path, found['img_dir'], check_images)
    rep.extend(sub)
    rep.cleaned = sub.cleaned
    if sub.cleaned is not None:
        names = [c['name'] for c in sub.cleaned['categories']]
        if found['texts']:
            rep.extend(check_class_texts(found['texts'], names))
        if found['split']:
            rep.extend(check_split(found['split'], names))
    return rep


def check_mmio_root(root: str, check_images: bool = True) -> Report:
    """Every annotation file of an MMIO folder plus its side files."""
    rep = Report()
    ann_dir = osp.join(root, 'annotations')
    files = sorted(f for f in os.listdir(ann_dir) if f.endswith('.json'))
    if not files:
        rep.add(ann_dir, '', '', 'no *.json annotation files',
                'missing_file')
    img_dir = osp.join(root, 'images')
    names = None
    for f in files:
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
                rep.add(path, '', '', 'class text file not found',
                        'missing_file')
    return rep


def _check_ase_file(path: str, meta: dict, root: str, check_images: bool,
                    rep: Report) -> list:
    """Rows of one JSONL file (``meta`` already checked); the valid ones."""
    good = []
    for item, row in jsonl_rows(path, rep):
        if check_ase_row(row, path, item, rep, meta['classes'], meta, root,
                         'decode' if check_images else None):
            good.append({k: v for k, v in row.items() if k != '__line__'})
    return good


def check_ase_jsonl(path: str, meta: dict, root: str,
                    check_images: bool = True) -> Report:
    """One ASE JSONL file; ``cleaned`` is the list of valid rows.

    Args:
        path (str): The JSONL file.
        meta (dict): Its ``meta.json`` content; when its class or field
            lists are unusable, their problems are the report.
        root (str): Folder of the image paths.
        check_images (bool): Open every image. Defaults to True.
    """
    rep = Report()
    meta_rep = Report()
    if not check_ase_meta(meta, osp.join(root, 'meta.json'), meta_rep):
        rep.extend(meta_rep)
        return rep
    rep.cleaned = _check_ase_file(path, meta, root, check_images, rep)
    return rep


def check_ase_root(root: str, check_images: bool = True) -> Report:
    """``meta.json`` and every ``annotations/*.jsonl`` of an ASE folder."""
    rep = Report()
    meta_path = osp.join(root, 'meta.json')
    meta = read_json(meta_path, 'ASE meta file', rep)
    if meta is None or not check_ase_meta(meta, meta_path, rep):
        return rep
    ann_dir = osp.join(root, 'annotations')
    files = sorted(f for f in os.listdir(ann_dir)
                   if f.endswith('.jsonl')) if osp.isdir(ann_dir) else []
    if not files:
        rep.add(ann_dir, '', '', 'no *.jsonl annotation files',
                'missing_file')
    for f in files:
        _check_ase_file(osp.join(ann_dir, f), meta, root, check_images, rep)
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
        rep.add(path, '', '', 'neither an ASE set (meta.json) nor an MMIO '
                'set (annotations/)', 'schema')
        return rep
    if path.endswith('.jsonl'):
        root = osp.dirname(osp.dirname(osp.abspath(path)))
        rep = Report()
        meta_path = osp.join(root, 'meta.json')
        meta = read_json(meta_path, 'ASE meta file', rep)
        if meta is not None and check_ase_meta(meta, meta_path, rep):
            rep.cleaned = _check_ase_file(path, meta, root, check_images,
                                          rep)
        return rep
    return check_coco_file(path, img_dir, class_text_path, split_path,
                           check_images)
