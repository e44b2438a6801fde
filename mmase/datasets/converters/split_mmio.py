# Copyright (c) mmase contributors. All rights reserved.
"""Zero-shot (seen/unseen classes) and closed (80/20 by image) splits.

The RTVP paper splits MMIO two ways (section "Dataset processing" and
"Dataset and Evaluation Metrics"):

- zero-shot: the classes are divided into seen (65) and unseen (35) ones; the
  training set holds the images whose objects are all seen, the test set the
  images that contain an unseen object;
- closed: all classes, images split 80 % train / 20 % test.

Choices where the paper is silent: images without any annotation go to the
zero-shot training set (they are valid negatives and contain no unseen
object); the zero-shot test set keeps all annotations of its images (seen
ones too) and the dataset class decides which vocabulary is active; every
output file keeps the full category list so category ids never change.
"""
import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmase.utils.file_io import dump_json_atomic


def split_classes(class_names: Sequence[str],
                  unseen: Optional[Sequence[str]] = None,
                  unseen_ratio: Optional[float] = None,
                  seed: int = 0) -> Dict[str, List[str]]:
    """Divide classes into seen and unseen ones.

    Args:
        class_names (Sequence[str]): All class names, in category order.
        unseen (Sequence[str], optional): Explicit unseen class names.
        unseen_ratio (float, optional): Fraction of classes drawn at random
            as unseen when ``unseen`` is not given. Defaults to None (0.35,
            the paper's 35 of 100, when ``unseen`` is None too).
        seed (int): Seed of the random draw. Defaults to 0.

    Returns:
        Dict[str, List[str]]: ``{'seen': [...], 'unseen': [...]}``, both in
        the order of ``class_names``.
    """
    names = list(class_names)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f'duplicate class names: {dup}')
    if unseen is not None and unseen_ratio is not None:
        raise ValueError('give either unseen class names or unseen_ratio, '
                         'not both')
    if unseen is not None:
        unknown = [n for n in unseen if n not in names]
        if unknown:
            raise ValueError(f'unseen classes not in the category list: '
                             f'{unknown}')
        unseen_set = set(unseen)
    else:
        ratio = 0.35 if unseen_ratio is None else float(unseen_ratio)
        if not 0 < ratio < 1:
            raise ValueError(f'unseen_ratio must be in (0, 1), got {ratio}')
        n_unseen = int(round(ratio * len(names)))
        n_unseen = min(max(n_unseen, 1), len(names) - 1)
        if len(names) < 2:
            raise ValueError('need at least 2 classes to split seen/unseen')
        rng = np.random.default_rng(seed)
        picked = rng.permutation(len(names))[:n_unseen]
        unseen_set = {names[i] for i in picked}
    return dict(
        seen=[n for n in names if n not in unseen_set],
        unseen=[n for n in names if n in unseen_set])


def _subset(coco: dict, img_ids: Sequence[int],
            keep_cat_ids: Optional[set] = None, tag: str = '') -> dict:
    """Copy of ``coco`` restricted to ``img_ids`` (and some categories)."""
    ids = set(img_ids)
    out = {k: copy.deepcopy(v) for k, v in coco.items()
           if k not in ('images', 'annotations')}
    out['images'] = [copy.deepcopy(im) for im in coco['images']
                     if im['id'] in ids]
    out['annotations'] = [
        copy.deepcopy(a) for a in coco.get('annotations', [])
        if a['image_id'] in ids and (keep_cat_ids is None
                                     or a['category_id'] in keep_cat_ids)
    ]
    if tag:
        info = dict(out.get('info') or {})
        info['split'] = tag
        out['info'] = info
    return out


def zero_shot_split(coco: dict, seen: Sequence[str],
                    unseen: Sequence[str]) -> Tuple[dict, dict]:
    """Build the zero-shot training and test sets.

    Args:
        coco (dict): COCO dict with all classes.
        seen (Sequence[str]): Seen class names.
        unseen (Sequence[str]): Unseen class names.

    Returns:
        Tuple[dict, dict]: ``(zs_train, zs_test)``: images with seen objects
        only (seen annotations only) and images containing an unseen object
        (all their annotations).
    """
    name2id = {c['name']: c['id'] for c in coco['categories']}
    overlap = sorted(set(seen) & set(unseen))
    if overlap:
        raise ValueError(f'classes both seen and unseen: {overlap}')
    missing = [n for n in list(seen) + list(unseen) if n not in name2id]
    if missing:
        raise ValueError(f'split names not in the categories: {missing}')
    unseen_ids = {name2id[n] for n in unseen}
    seen_ids = {name2id[n] for n in seen}
    with_unseen = {a['image_id'] for a in coco.get('annotations', [])
                   if a['category_id'] in unseen_ids}
    all_ids = [im['id'] for im in coco['images']]
    train_ids = [i for i in all_ids if i not in with_unseen]
    test_ids = [i for i in all_ids if i in with_unseen]
    return (_subset(coco, train_ids, seen_ids, 'zs_train'),
            _subset(coco, test_ids, None, 'zs_test'))


def zero_shot_val_split(zs_train: dict, val_ratio: float = 0.15,
                        seed: int = 0) -> Tuple[dict, dict]:
    """Hold out part of the zero-shot training images for validation.

    Checkpoints, thresholds and hyper-parameters are chosen on this split,
    never on ``zs_test``. Its images hold seen objects only (they come from
    ``zs_train``), so it measures the seen-class detection that training
    optimises; the unseen classes stay untouched until the test.

    Args:
        zs_train (dict): The zero-shot training set of
            :func:`zero_shot_split`.
        val_ratio (float): Fraction of its images held out.
            Defaults to 0.15.
        seed (int): Seed of the shuffle. Defaults to 0.

    Returns:
        Tuple[dict, dict]: ``(zs_train, zs_val)``, disjoint by image.
    """
    train, val = closed_split(zs_train, val_ratio, seed)
    for part, tag in ((train, 'zs_train'), (val, 'zs_val')):
        part['info'] = dict(part.get('info') or {}, split=tag)
    return train, val


def closed_split(coco: dict, val_ratio: float = 0.2,
                 seed: int = 0) -> Tuple[dict, dict]:
    """Random split by image into training and validation sets.

    Args:
        coco (dict): COCO dict.
        val_ratio (float): Fraction of images in the validation set.
            Defaults to 0.2 (the paper's 80/20).
        seed (int): Seed of the shuffle. Defaults to 0.

    Returns:
        Tuple[dict, dict]: ``(train, val)``.
    """
    if not 0 < val_ratio < 1:
        raise ValueError(f'val_ratio must be in (0, 1), got {val_ratio}')
    ids = [im['id'] for im in coco['images']]
    n_val = int(round(val_ratio * len(ids)))
    if len(ids) >= 2:
        n_val = min(max(n_val, 1), len(ids) - 1)
    order = np.random.default_rng(seed).permutation(len(ids))
    val = {ids[i] for i in order[:n_val]}
    return (_subset(coco, [i for i in ids if i not in val], None, 'train'),
            _subset(coco, [i for i in ids if i in val], None, 'val'))


def write_mmio_splits(coco: dict, root: str, split: Dict[str, List[str]],
                      val_ratio: float = 0.2, seed: int = 0,
                      ann_dir: str = 'annotations',
                      zs_val_ratio: float = 0.15) -> Dict[str, str]:
    """Write the zero-shot and closed files and ``split.json`` under ``root``.

    Args:
        coco (dict): COCO dict with all classes (``instances_all.json``).
        root (str): Dataset root.
        split (dict): ``{'seen': [...], 'unseen': [...]}``.
        val_ratio (float): Closed validation fraction. Defaults to 0.2.
        seed (int): Seed of the closed split. Defaults to 0.
        ann_dir (str): Annotation folder inside ``root``.
            Defaults to 'annotations'.
        zs_val_ratio (float): Fraction of the zero-shot training images
            held out as ``instances_zs_val.json`` (model selection).
            Defaults to 0.15.

    Returns:
        Dict[str, str]: Paths written, by role.
    """
    zs_train, zs_test = zero_shot_split(coco, split['seen'], split['unseen'])
    zs_train, zs_val = zero_shot_val_split(zs_train, zs_val_ratio, seed)
    train, val = closed_split(coco, val_ratio, seed)
    out = {
        'zs_train': osp.join(root, ann_dir, 'instances_zs_train.json'),
        'zs_val': osp.join(root, ann_dir, 'instances_zs_val.json'),
        'zs_test': osp.join(root, ann_dir, 'instances_zs_test.json'),
        'train': osp.join(root, ann_dir, 'instances_train.json'),
        'val': osp.join(root, ann_dir, 'instances_val.json'),
        'split': osp.join(root, 'split.json'),
    }
    dump_json_atomic(zs_train, out['zs_train'])
    dump_json_atomic(zs_val, out['zs_val'])
    dump_json_atomic(zs_test, out['zs_test'])
    dump_json_atomic(train, out['train'])
    dump_json_atomic(val, out['val'])
    dump_json_atomic(
        dict(seen=list(split['seen']), unseen=list(split['unseen'])),
        out['split'], indent=2)
    return out
