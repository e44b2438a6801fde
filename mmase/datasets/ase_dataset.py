# Copyright (c) mmase contributors. All rights reserved.
"""ASE dataset: AOI images with a numeric/text record per sample."""
import os.path as osp
from typing import List, Optional, Union

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .validation import (ASE_META_STATS, NamedSampleErrors, Report,
                         check_ase_meta, check_ase_row,
                         check_description_row, jsonl_rows, read_json)


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

    def _report(self) -> Report:
        """A stopping report whose hint names the data root."""
        return Report(stop_at_first=True,
                      target=self.data_root or osp.dirname(
                          osp.abspath(self._resolve(self.meta_file))))

    def _load_meta(self) -> dict:
        path = self._resolve(self.meta_file)
        rep = self._report()
        meta = read_json(path, 'ASE meta file', rep)
        check_ase_meta(meta, path, rep, need_stats=self.normalize_numeric)
        return meta

    def _load_descriptions(self) -> dict:
        if self.description_file is None:
            return {}
        path = self._resolve(self.description_file)
        rep = self._report()
        out = {}
        for item, row in jsonl_rows(path, rep):
            check_description_row(row, path, item, rep)
            out[row['img_path']] = row['description']
        return out

    def load_data_list(self) -> List[dict]:
        """Read the JSONL file; the first problem raises, naming the file,
        line and field (the rules of the dataset doctor,
        :func:`mmase.datasets.validation.check_ase_row`).

        Returns:
            List[dict]: Data infos.
        """
        meta = self._load_meta()
        classes = list(self._metainfo.get('classes') or meta['classes'])
        self._metainfo.update(
            classes=tuple(classes),
            numeric_fields=tuple(meta['numeric_fields']),
            text_fields=tuple(meta['text_fields']))
        for key in ASE_META_STATS:
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
        rep = self._report()
        data_list = []
        for item, row in jsonl_rows(self.ann_file, rep):
            check_ase_row(row, self.ann_file, item, rep, classes, meta)
            record, img = row['record'], row['img_path']
            numeric = np.asarray(
                [record[f] for f in meta['numeric_fields']], np.float32)
            if mean is not None:
                numeric = (numeric - mean) / std
            full = osp.join(img_root, img) if img_root else img
            desc = descriptions.get(
                img, descriptions.get(full, row.get('description', '')))
            data_list.append(
                dict(
                    img_path=full,
                    gt_label=int(cls2idx[row['label']]),
                    numeric=numeric,
                    record_text='; '.join(f'{f}: {record[f]}'
                                          for f in meta['text_fields']),
                    description=desc,
                    ann_line=row['__line__']))
        return data_list
