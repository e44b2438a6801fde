# Copyright (c) mmase contributors. All rights reserved.
"""Pascal VOC XML annotations to COCO.

VOC boxes are 1-based inclusive pixel indices; the COCO box of
``xmin, ymin, xmax, ymax`` is ``[xmin - 1, ymin - 1, xmax - xmin + 1,
ymax - ymin + 1]`` (the convention of mmdet's VOC loader). Objects marked
``difficult`` are kept with ``"difficult": 1`` unless ``skip_difficult``.
"""
import math
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Optional, Sequence

from ..validation import Report, check_box_xyxy, check_rel_path


def _text(node, tag: str, where: str) -> str:
    child = node.find(tag)
    if child is None or child.text is None:
        raise ValueError(f'{where}: missing <{tag}>')
    return child.text.strip()


def _num(node, tag: str, where: str) -> float:
    raw = _text(node, tag, where)
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f'{where}: <{tag}> is not a number: {raw!r}')


def _size(node, tag: str, where: str) -> int:
    """An image side: a positive whole number (``nan``/``inf`` refused)."""
    value = _num(node, tag, where)
    if not math.isfinite(value) or value <= 0 or value != int(value):
        raise ValueError(f'{where}: <{tag}> must be a positive whole number '
                         f'of pixels, got {_text(node, tag, where)!r}')
    return int(value)


def parse_voc_xml(path: str) -> dict:
    """Parse one VOC file.

    Args:
        path (str): XML file.

    Returns:
        dict: ``filename``, ``width``, ``height``, ``objects`` (``name``,
        ``box`` as 1-based ``[xmin, ymin, xmax, ymax]``, ``difficult``).
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ValueError(f'{path}: invalid XML ({e})') from e
    size = root.find('size')
    if size is None:
        raise ValueError(f'{path}: missing <size>')
    out = dict(
        filename=_text(root, 'filename', path),
        width=_size(size, 'width', f'{path} <size>'),
        height=_size(size, 'height', f'{path} <size>'),
        objects=[])
    rep = Report()  # a converter's message, no doctor hint
    if not check_rel_path(rep, path, '<filename>', '', out['filename'],
                          'the image folder'):
        raise ValueError(str(rep.problems[0]))
    for k, obj in enumerate(root.findall('object')):
        where = f'{path} <object> #{k}'
        bnd = obj.find('bndbox')
        if bnd is None:
            raise ValueError(f'{where}: missing <bndbox>')
        diff = obj.find('difficult')
        out['objects'].append(
            dict(name=_text(obj, 'name', where),
                 box=[_num(bnd, t, where)
                      for t in ('xmin', 'ymin', 'xmax', 'ymax')],
                 difficult=int(diff is not None and diff.text is not None
                               and diff.text.strip() == '1')))
    return out


def voc_to_coco(ann_dir: str,
                class_names: Optional[Sequence[str]] = None,
                supercategory: str = 'defect',
                skip_difficult: bool = False,
                file_prefix: str = '') -> dict:
    """Convert a folder of VOC XML files.

    Args:
        ann_dir (str): Folder with ``*.xml``.
        class_names (Sequence[str], optional): Category order; names not in
            it raise. Defaults to None (sorted names found).
        supercategory (str): Supercategory of every category.
            Defaults to 'defect'.
        skip_difficult (bool): Drop difficult objects. Defaults to False.
        file_prefix (str): Prepended to each ``file_name``. Defaults to ''.

    Returns:
        dict: COCO dict.
    """
    if not osp.isdir(ann_dir):
        raise FileNotFoundError(f'annotation directory not found: {ann_dir}')
    files = sorted(f for f in os.listdir(ann_dir) if f.endswith('.xml'))
    parsed = [(f, parse_voc_xml(osp.join(ann_dir, f))) for f in files]
    if class_names is None:
        class_names = sorted(
            {o['name'] for _, p in parsed for o in p['objects']})
    name2id = {n: i + 1 for i, n in enumerate(class_names)}
    images, anns = [], []
    for f, p in parsed:
        img_id = len(images) + 1
        images.append(dict(id=img_id, file_name=file_prefix + p['filename'],
                           width=p['width'], height=p['height']))
        for k, o in enumerate(p['objects']):
            if o['name'] not in name2id:
                raise ValueError(f'{osp.join(ann_dir, f)} <object> #{k}: '
                                 f'class {o["name"]!r} not in {class_names}')
            if o['difficult'] and skip_difficult:
                continue
            x0, y0, x1, y1 = o['box']
            box = [x0 - 1, y0 - 1, x1 - x0 + 1, y1 - y0 + 1]
            # NaN, empty or outside the <size> of the file: one error
            check_box_xyxy((box[0], box[1], box[0] + box[2],
                            box[1] + box[3]), p['width'], p['height'],
                           f'{osp.join(ann_dir, f)} <object> #{k}')
            ann = dict(id=len(anns) + 1, image_id=img_id,
                       category_id=name2id[o['name']], bbox=box,
                       area=box[2] * box[3], iscrowd=0)
            if o['difficult']:
                ann['difficult'] = 1
            anns.append(ann)
    cats = [dict(id=i, name=n, supercategory=supercategory)
            for n, i in name2id.items()]
    return dict(images=images, annotations=anns, categories=cats)


def coco_to_voc_boxes(coco: dict, image_id: int) -> List[list]:
    """``[name, xmin, ymin, xmax, ymax]`` (VOC convention) of one image."""
    names = {c['id']: c['name'] for c in coco['categories']}
    out = []
    for a in coco['annotations']:
        if a['image_id'] == image_id:
            x, y, w, h = a['bbox']
            out.append([names[a['category_id']], x + 1, y + 1, x + w, y + h])
    return out
