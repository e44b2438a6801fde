# Copyright (c) mmase contributors. All rights reserved.
"""LVIS base-class training annotations for the zero-shot LVIS protocol.

The RTVP paper (Table 4) fine-tunes on "LVIS base" and reports APr on the
rare classes as the zero-shot figure. The usual protocol (ViLD, YOLO-World)
trains on the common and frequent classes only: every annotation of a rare
class is removed from ``lvis_v1_train.json``.

The categories themselves stay in the file, all 1203 of them and in the same
order: mmdet's ``LVISV1Dataset`` numbers the labels by the order of the
category ids in the annotation file, so removing the rare categories would
shift every later label away from its class name (and so from its text
embedding). Images left without annotations stay too; the training
pipeline's ``filter_empty_gt`` drops them.
"""
import copy
from typing import Dict, Sequence

from ..validation import is_int, show

_FREQUENCIES = ('r', 'c', 'f')


def lvis_base_split(lvis: Dict,
                    drop_frequencies: Sequence[str] = ('r', ),
                    source: str = 'annotation file') -> Dict:
    """Remove the annotations of the classes of some frequency groups.

    Args:
        lvis (dict): LVIS-format annotations (``images``, ``annotations``,
            ``categories`` with a ``frequency`` of 'r', 'c' or 'f').
        drop_frequencies (Sequence[str]): Frequency groups whose annotations
            are removed. Defaults to ('r', ), the rare classes.
        source (str): Name of the file, for error messages.
            Defaults to 'annotation file'.

    Returns:
        dict: A copy of ``lvis`` with the annotations of the dropped classes
        removed and ``info['base_split']`` describing what was done.

    Raises:
        ValueError: A required key or a category's ``frequency`` is missing
            or invalid, or an annotation names an unknown category.
    """
    bad = [f for f in drop_frequencies if f not in _FREQUENCIES]
    if bad:
        raise ValueError(f'drop_frequencies must be among {_FREQUENCIES}, '
                         f'got {bad}')
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(lvis.get(key), list):
            raise ValueError(f'{source}: missing or non-list field "{key}"')
    freq = {}
    for i, cat in enumerate(lvis['categories']):
        if not isinstance(cat, dict) or not is_int(cat.get('id')):
            raise ValueError(f'{source}: categories[{i}]: expected an object '
                             f'with an integer "id", got {show(cat)}')
        f = cat.get('frequency')
        if f not in _FREQUENCIES:
            raise ValueError(
                f'{source}: categories[{i}] (id {cat["id"]}, '
                f'{cat.get("name", "?")!r}) has "frequency" {f!r}; expected '
                f'one of {_FREQUENCIES} (LVIS v1 category records)')
        freq[cat['id']] = f
    dropped_ids = {cid for cid, f in freq.items() if f in drop_frequencies}
    kept = []
    for i, ann in enumerate(lvis['annotations']):
        cid = ann.get('category_id') if isinstance(ann, dict) else None
        if not is_int(cid) or cid not in freq:
            aid = ann.get('id') if isinstance(ann, dict) else None
            raise ValueError(f'{source}: annotations[{i}] (id {show(aid)}) '
                             f'has "category_id" {show(cid)}, not an id of '
                             f'"categories"')
        if cid not in dropped_ids:
            kept.append(ann)
    out = {k: v for k, v in lvis.items() if k != 'annotations'}
    out = copy.deepcopy(out)
    out['annotations'] = copy.deepcopy(kept)
    info = dict(out.get('info') or {})
    info['base_split'] = dict(
        dropped_frequencies=sorted(drop_frequencies),
        dropped_categories=len(dropped_ids),
        dropped_annotations=len(lvis['annotations']) - len(kept))
    out['info'] = info
    return out
