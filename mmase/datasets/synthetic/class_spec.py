# Copyright (c) mmase contributors. All rights reserved.
"""Class specification of the procedural MMIO-style benchmark.

A spec is a JSON file::

    {
      "supercategories": {
        "metallurgy": {"surface": "brushed_metal", "product": "steel strip",
                       "weight": 1.0},
        ...
      },
      "sizes": {"small": [8, 16], "medium": [16, 32], "large": [28, 48]},
      "defects_per_image": [1, 6],
      "unseen_image_ratio": 0.25,
      "classes": [
        {"shape": "spot", "form": "round", "color": "black",
         "size": "small", "supercategory": "metallurgy",
         "surfaces": ["metallurgy", "automobile"], "split": "seen",
         "frequency": 1.0},
        ...
      ]
    }

Only ``supercategories`` and ``classes`` are required. A class's name is
``"<color> <form> <shape>"`` unless ``name`` is given, and its descriptions
are derived from the attributes unless ``descriptions`` is given. ``split``
is optional: when no class has one, the seen/unseen split is drawn with
:func:`~mmase.datasets.converters.split_mmio.split_classes`. Sizes are in
pixels of a 320-pixel image and scale with the image size.
"""
import os.path as osp
from typing import Dict, List, Optional

from mmase.utils.file_io import load_json
from .defects import COLORS, FORMS, SHAPES
from .textures import SURFACES

DEFAULT_SPEC = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'resources', 'default_mmio_spec.json')

DEFAULT_SIZES = {'small': [8, 16], 'medium': [16, 32], 'large': [28, 48]}

_FORM_PHRASES = {
    'round': 'a round outline',
    'long': 'a long, elongated body',
    'thin': 'a thin, narrow body',
    'irregular': 'an irregular outline',
    'branching': 'a branching pattern',
    'clustered': 'a cluster of small marks',
}
_SHAPE_PHRASES = {
    'spot': 'a mark of foreign colour on the surface',
    'scratch': 'a linear abrasion of the surface',
    'hole': 'a puncture through the surface with a raised lip',
    'crack': 'a fracture line opening the surface',
    'bubble': 'a trapped air pocket with a bright highlight',
    'stain': 'a soft-edged discoloured patch',
}


def describe(cls: dict, spec: dict) -> List[str]:
    """Descriptions of a class, built from its attributes.

    Args:
        cls (dict): Normalised class entry.
        spec (dict): The whole normalised spec (for the product names).

    Returns:
        List[str]: Two sentences.
    """
    product = spec['supercategories'][cls['supercategory']].get(
        'product', cls['supercategory'])
    form = _FORM_PHRASES.get(cls['form'], cls['form'])
    shape = _SHAPE_PHRASES.get(cls['shape'], cls['shape'])
    return [
        f"{cls['name']} defect on {product}",
        f"a {cls['size']} {cls['color']} {cls['shape']} with {form}, "
        f'{shape}',
    ]


def load_class_spec(path: Optional[str] = None) -> dict:
    """Load and validate a class spec; fill defaults, names, descriptions.

    Args:
        path (str, optional): Spec file. Defaults to the packaged
            ``mmase/resources/default_mmio_spec.json``.

    Returns:
        dict: Normalised spec. Each class has ``name``, ``shape``, ``form``,
        ``color``, ``size``, ``supercategory``, ``surfaces``, ``split``
        (or None), ``frequency`` and ``descriptions``.
    """
    path = path or DEFAULT_SPEC
    raw = load_json(path, 'class spec')
    return normalize_class_spec(raw, source=path)


def _fail(source: str, where: str, msg: str):
    raise ValueError(f'{source}: {where}: {msg}')


def _normalize_supercategories(raw: dict, source: str) -> dict:
    """Check every supercategory's surface; fill ``product`` and ``weight``."""
    supers = raw.get('supercategories')
    if not isinstance(supers, dict) or not supers:
        _fail(source, 'supercategories', 'missing or empty object')
    out = {}
    for sname, sc in supers.items():
        sc = dict(sc or {})
        surface = sc.get('surface')
        if surface not in SURFACES:
            _fail(source, f'supercategories.{sname}.surface',
                  f'unknown surface {surface!r}; expected one of '
                  f'{sorted(SURFACES)}')
        sc.setdefault('product', sname)
        sc.setdefault('weight', 1.0)
        out[sname] = sc
    return out


def _normalize_sizes(raw: dict, source: str) -> dict:
    """The default size buckets updated by the spec's, each ``[min, max]``."""
    sizes = dict(DEFAULT_SIZES)
    sizes.update(raw.get('sizes', {}))
    for k, v in sizes.items():
        if (not isinstance(v, (list, tuple)) or len(v) != 2
                or not 0 < v[0] <= v[1]):
            _fail(source, f'sizes.{k}', f'expected [min, max] > 0, got {v}')
    return sizes


def _check_class_attributes(c: dict, where: str, spec: dict,
                            source: str) -> None:
    """Shape, form, colour, size, supercategory and surfaces of one class
    (``size`` and ``surfaces`` defaulted in place)."""
    for key, allowed in (('shape', SHAPES), ('form', FORMS),
                         ('color', tuple(COLORS))):
        if c.get(key) not in allowed:
            _fail(source, f'{where}.{key}',
                  f'{c.get(key)!r} is not one of {list(allowed)}')
    c.setdefault('size', 'small')
    if c['size'] not in spec['sizes']:
        _fail(source, f'{where}.size',
              f'{c["size"]!r} is not one of {list(spec["sizes"])}')
    if c.get('supercategory') not in spec['supercategories']:
        _fail(source, f'{where}.supercategory',
              f'{c.get("supercategory")!r} is not one of '
              f'{list(spec["supercategories"])}')
    c.setdefault('surfaces', [c['supercategory']])
    for s in c['surfaces']:
        if s not in spec['supercategories']:
            _fail(source, f'{where}.surfaces',
                  f'{s!r} is not a supercategory')


def _normalize_class(c, i: int, spec: dict, names: Dict[str, int],
                     source: str) -> dict:
    """Check ``classes[i]`` and fill its defaults (not its descriptions).

    ``names`` maps the names seen so far to their index; this class's name
    is added.
    """
    where = f'classes[{i}]'
    if not isinstance(c, dict):
        _fail(source, where, 'expected an object')
    c = dict(c)
    if 'colour' in c and 'color' not in c:
        c['color'] = c.pop('colour')
    _check_class_attributes(c, where, spec, source)
    c.setdefault('name', f"{c['color']} {c['form']} {c['shape']}")
    if c['name'] in names:
        _fail(source, f'{where}.name',
              f'duplicate class name {c["name"]!r} (also '
              f'classes[{names[c["name"]]}])')
    names[c['name']] = i
    c.setdefault('split', None)
    if c['split'] not in (None, 'seen', 'unseen'):
        _fail(source, f'{where}.split',
              f"{c['split']!r} is not 'seen' or 'unseen'")
    c['frequency'] = float(c.get('frequency', 1.0))
    if c['frequency'] <= 0:
        _fail(source, f'{where}.frequency', 'must be > 0')
    return c


def normalize_class_spec(raw: dict, source: str = '<spec>') -> dict:
    """Validate a spec dict (see module docstring) and fill its defaults.

    Args:
        raw (dict): Decoded spec.
        source (str): Name used in error messages. Defaults to '<spec>'.

    Returns:
        dict: Normalised spec.
    """
    if not isinstance(raw, dict):
        _fail(source, 'top level', 'expected a JSON object')
    spec = dict(raw)
    spec['supercategories'] = _normalize_supercategories(raw, source)
    spec['sizes'] = _normalize_sizes(raw, source)
    dpi = raw.get('defects_per_image', [1, 6])
    if len(dpi) != 2 or not 1 <= dpi[0] <= dpi[1]:
        _fail(source, 'defects_per_image', f'expected [min, max], got {dpi}')
    spec['defects_per_image'] = list(dpi)
    spec['unseen_image_ratio'] = float(raw.get('unseen_image_ratio', 0.25))

    classes = raw.get('classes')
    if not isinstance(classes, list) or not classes:
        _fail(source, 'classes', 'missing or empty list')
    names: Dict[str, int] = {}
    out: List[dict] = [
        _normalize_class(c, i, spec, names, source)
        for i, c in enumerate(classes)
    ]
    for c in out:
        if not c.get('descriptions'):
            c['descriptions'] = describe(c, spec)
    spec['classes'] = out
    if any(c['split'] for c in out) and not all(c['split'] for c in out):
        missing = [c['name'] for c in out if not c['split']]
        _fail(source, 'classes[].split',
              f'some classes have a split and these do not: {missing}')
    return spec


def transfer_gaps(spec: dict) -> List[str]:
    """Unseen classes that share too little with the seen ones.

    An unseen class is transferable when its colour appears in a seen class
    and its (form, shape) pair, or at least its shape, appears in a seen
    class of another colour.

    Args:
        spec (dict): Normalised spec with explicit splits.

    Returns:
        List[str]: Names of the unseen classes without such seen relatives.
    """
    seen = [c for c in spec['classes'] if c['split'] == 'seen']
    gaps = []
    for c in spec['classes']:
        if c['split'] != 'unseen':
            continue
        color_ok = any(s['color'] == c['color'] for s in seen)
        shape_ok = any(s['shape'] == c['shape'] for s in seen)
        if not (color_ok and shape_ok):
            gaps.append(c['name'])
    return gaps
