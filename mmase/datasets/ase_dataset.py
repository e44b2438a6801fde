# Copyright (c) mmase contributors. All rights reserved.
"""ASE dataset: AOI images with a numeric/text record per sample."""
import math
import os.path as osp
from typing import List, Optional, Union

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from mmase.utils.file_io import load_json, load_jsonl
from .validation import NamedSampleErrors


@DATASETS.register_module()
class ASEDataset(NamedSampleErrors, BaseDataset):
    """Multimodal defect classification set of the ASE paper.

    Each sample is an AOI image plus a record of numeric and textual fields
    (paper, Figure 1) and, optionally, a description of the image produced
    by a VLM-LLM prompt (paper, "prompting VLM-LLM"; cached by
    ``tools/ase/describe.py``).

    Annotation file: JSON lines ``{"img_path": "images/x.png", "label":
    "class name", "record": {"<field>": value, ...}, "description":
    "optional"}``. ``meta.json`` lists ``classes``, ``numeric_fields`` and
    ``text_fields`` (and optionally ``numeric_mean``/``numeric_std``).

    Data info keys: ``img_path``, ``gt_label`` (int), ``numeric``
    (np.float32 array in ``metainfo['numeric_fields']`` order),
    ``record_text`` (``"field: value; ..."`` over the text fields),
    ``description`` (str, '' when none), ``ann_line`` (line of the record
    in ``ann_file``). A sample that fails to load raises with
    ``<ann_file>:<line>: img_path <path>`` in front of the loader's message.

    Args:
        ann_file (str): JSONL annotation file.
        meta_file (str): ``meta.json``, relative to ``data_root`` unless
            absolute. Defaults to 'meta.json'.
        description_file (str, optional): JSONL cache ``{"img_path": ...,
            "description": ...}`` merged by ``img_path`` (as written in the
            annotation file, or joined with the image root; it overrides the
            annotation's description). Relative to ``data_root`` unless
            absolute. Defaults to None.
        normalize_numeric (bool): Standardise ``numeric`` with
            ``numeric_mean``/``numeric_std`` of ``meta.json``.
            Defaults to False.
        data_root (str): Root of images and files. Defaults to ''.
        **kwargs: See :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 ann_file: str,
                 meta_file: str = 'meta.json',
                 description_file: Optional[str] = None,
                 normalize_numeric: bool = False,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 **kwargs) -> None:
        self.meta_file = meta_file
        self.description_file = description_file
        self.normalize_numeric = normalize_numeric
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def _sample_where(self, info: dict) -> str:
        return (f'{self.ann_file}:{info.get("ann_line")}: img_path '
                f'{info.get("img_path")}')

    def _resolve(self, path: str) -> str:
        if path is None or osp.isabs(path) or not self.data_root:
            return path
        return osp.join(self.data_root, path)

    def _load_meta(self) -> dict:
        path = self._resolve(self.meta_file)
        meta = load_json(path, 'ASE meta file')
        for key in ('classes', 'numeric_fields', 'text_fields'):
            val = meta.get(key)
            if not isinstance(val, list) or not all(
                    isinstance(v, str) for v in val):
                raise ValueError(f'{path}: field "{key}" must be a list of '
                                 f'strings, got {val!r}')
        if not meta['classes']:
            raise ValueError(f'{path}: field "classes" is empty')
        dup = sorted({c for c in meta['classes']
                      if meta['classes'].count(c) > 1})
        if dup:  # labels would silently map to the last duplicate
            raise ValueError(f'{path}: field "classes": duplicate class '
                             f'names {dup}')
        if self.normalize_numeric:
            n = len(meta['numeric_fields'])
            for key in ('numeric_mean', 'numeric_std'):
                val = meta.get(key)
                if not isinstance(val, list) or len(val) != n:
                    raise ValueError(
                        f'{path}: normalize_numeric needs field "{key}" '
                        f'with {n} numbers, got {val!r}')
        return meta

    def _load_descriptions(self) -> dict:
        if self.description_file is None:
            return {}
        path = self._resolve(self.description_file)
        out = {}
        for row in load_jsonl(path):
            line = row['__line__']
            if not isinstance(row.get('img_path'), str):
                raise ValueError(f'{path}:{line}: field "img_path" missing '
                                 f'or not a string')
            desc = row.get('description')
            if not isinstance(desc, str):
                raise ValueError(f'{path}:{line}: field "description" '
                                 f'missing or not a string')
            out[row['img_path']] = desc
        return out

    def load_data_list(self) -> List[dict]:
        """Read the JSONL file; errors name the file, line and field.

        Returns:
            List[dict]: Data infos.
        """
        meta = self._load_meta()
        classes = list(self._metainfo.get('classes') or meta['classes'])
        self._metainfo.update(
            classes=tuple(classes),
            numeric_fields=tuple(meta['numeric_fields']),
            text_fields=tuple(meta['text_fields']))
        for key in ('numeric_mean', 'numeric_std'):
            if key in meta:
                self._metainfo[key] = tuple(meta[key])
        mean = std = None
        if self.normalize_numeric:
            mean = np.asarray(meta['numeric_mean'], np.float32)
            std = np.asarray(meta['numeric_std'], np.float32)
            std[std == 0] = 1.0
        descriptions = self._load_descriptions()
        cls2idx = {c: i for i, c in enumerate(classes)}
        img_root = self.data_prefix.get('img_path') or self.data_root

        data_list = []
        for row in load_jsonl(self.ann_file):
            where = f'{self.ann_file}:{row["__line__"]}'
            img = row.get('img_path')
            if not isinstance(img, str) or not img:
                raise ValueError(f'{where}: field "img_path" missing or not '
                                 f'a string')
            label = row.get('label')
            if label not in cls2idx:
                raise ValueError(f'{where}: field "label" = {label!r} is not '
                                 f'one of {classes}')
            record = row.get('record')
            if not isinstance(record, dict):
                raise ValueError(f'{where}: field "record" missing or not an '
                                 f'object')
            numeric = []
            for f in meta['numeric_fields']:
                if f not in record:
                    raise ValueError(f'{where}: field "record.{f}" missing')
                v = record[f]
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ValueError(f'{where}: field "record.{f}" must be a '
                                     f'number, got {v!r}')
                if not math.isfinite(v):
                    raise ValueError(f'{where}: field "record.{f}" is not '
                                     f'finite ({v!r})')
                numeric.append(float(v))
            parts = []
            for f in meta['text_fields']:
                if f not in record:
                    raise ValueError(f'{where}: field "record.{f}" missing')
                parts.append(f'{f}: {record[f]}')
            numeric = np.asarray(numeric, np.float32)
            if mean is not None:
                numeric = (numeric - mean) / std
            full = osp.join(img_root, img) if img_root else img
            desc = descriptions.get(
                img, descriptions.get(full, row.get('description') or ''))
            if not isinstance(desc, str):
                raise ValueError(f'{where}: field "description" must be a '
                                 f'string, got {desc!r}')
            data_list.append(
                dict(
                    img_path=full,
                    gt_label=int(cls2idx[label]),
                    numeric=numeric,
                    record_text='; '.join(parts),
                    description=desc,
                    ann_line=row['__line__']))
        return data_list
