# Copyright (c) mmase contributors. All rights reserved.
"""MMIO dataset: COCO detection with class texts and a seen/unseen split."""
import colorsys
import copy
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.fileio import get_local_path

from .validation import (NamedSampleErrors, Report, check_class_texts,
                         check_coco, check_split, read_json)

VOCABULARIES = ('all', 'seen', 'unseen')


def load_class_texts(path: str,
                     class_names: Optional[Sequence[str]] = None
                     ) -> Dict[str, List[str]]:
    """Read ``class_texts.json``: ``[["name", "description", ...], ...]``.

    Args:
        path (str): The file.
        class_names (Sequence[str], optional): The categories; each needs
            an entry and each entry must be one. Defaults to None.

    Returns:
        Dict[str, List[str]]: Class name to ``[name, descriptions...]``.

    Raises:
        DataError: The first problem (the rules of
            :func:`mmase.datasets.validation.check_class_texts`).
    """
    return _load_checked(path, 'class text file', check_class_texts,
                         class_names)


def load_split(path: str, class_names: Sequence[str]) -> Dict[str, list]:
    """Read and check ``split.json``: ``{"seen": [...], "unseen": [...]}``.

    Args:
        path (str): The file.
        class_names (Sequence[str]): The categories of the annotation file;
            each is either seen or unseen.

    Returns:
        Dict[str, list]: The two name lists.

    Raises:
        DataError: The first problem (the rules of
            :func:`mmase.datasets.validation.check_split`).
    """
    return _load_checked(path, 'split file', check_split, class_names)


def _load_checked(path: str, what: str, check: Callable, *args):
    """Read a JSON file and run ``check(data, path, rep, *args)``,
    stopping at the first problem."""
    rep = Report(stop_at_first=True)
    return check(read_json(path, what, rep), path, rep, *args)


def make_palette(n: int) -> List[tuple]:
    """``n`` well separated RGB colours (golden-ratio hue steps)."""
    out = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.75, 0.95)
        out.append((int(r * 255), int(g * 255), int(b * 255)))
    return out


@DATASETS.register_module()
class MMIODataset(NamedSampleErrors, CocoDataset):
    """Multi-Modal Industrial-Open dataset (RTVP paper, "Multi-Modal
    Industrial-Open Dataset").

    A COCO detection set whose classes carry texts (a name and expert
    descriptions, ``class_texts.json``) and a seen/unseen division
    (``split.json``) for zero-shot detection. The *active vocabulary* is
    chosen by ``vocabulary``: ``'all'`` classes of the annotation file,
    ``'seen'`` or ``'unseen'`` ones. It becomes ``metainfo['classes']`` (in
    the category order of the annotation file), gt labels index into it and
    annotations of other classes are dropped. Every data info carries
    ``texts``: one ``[name, description, ...]`` list per active class, which
    :class:`RandomVocabulary` (training) or :class:`LoadVocabulary` (testing)
    turn into the strings the detector sees.

    Classes are found from the annotation file, not from ``METAINFO``;
    ``metainfo=dict(classes=[...])`` restricts them to the given names (in
    the given order) and then ``vocabulary`` must be ``'all'``.

    The files are checked by the rules of the dataset doctor
    (:mod:`mmase.datasets.validation`) and the first problem raises a
    ``ValueError`` naming the file, the record and the field; among them,
    the declared image sizes are compared with the image headers (EXIF
    orientation applied, as the loader does), so boxes are checked against
    the real images. A sample that fails to load (missing or corrupt image,
    ...) raises with the annotation file, image id and path in front of the
    loader's message.

    Args:
        class_text_path (str): ``class_texts.json``, relative to
            ``data_root`` unless absolute. Defaults to 'class_texts.json'.
        split_path (str, optional): ``split.json``, relative to
            ``data_root`` unless absolute. Required when ``vocabulary`` is
            not 'all'. Defaults to None.
        vocabulary (str): 'all', 'seen' or 'unseen'. Defaults to 'all'.
        check_image_size (bool): Read every image header when the data list
            is loaded and refuse sizes that differ from the annotation file.
            Missing or unreadable files are left to the loading pipeline.
            Defaults to True.
        *args, **kwargs: See :class:`mmdet.datasets.CocoDataset`.
    """

    # 'random' (mmdet's seeded palette of any length) until the classes are
    # known: mmdet's DetInferencer takes the palette of the unloaded test
    # dataset, and an open vocabulary may have any number of classes.
    METAINFO = {'classes': (), 'palette': 'random'}

    def __init__(self,
                 *args,
                 class_text_path: str = 'class_texts.json',
                 split_path: Optional[str] = None,
                 vocabulary: str = 'all',
                 check_image_size: bool = True,
                 **kwargs) -> None:
        if vocabulary not in VOCABULARIES:
            raise ValueError(f'vocabulary must be one of {VOCABULARIES}, '
                             f'got {vocabulary!r}')
        if vocabulary != 'all' and split_path is None:
            raise ValueError(f"vocabulary={vocabulary!r} needs split_path "
                             f"(a split.json with 'seen'/'unseen' lists)")
        self.class_text_path = class_text_path
        self.split_path = split_path
        self.vocabulary = vocabulary
        self.check_image_size = check_image_size
        super().__init__(*args, **kwargs)

    def _sample_where(self, info: dict) -> str:
        return (f'{self.ann_file}: image id={info.get("img_id")} '
                f'({info.get("img_path")})')

    def _resolve(self, path: str) -> str:
        if path is None or osp.isabs(path) or not self.data_root:
            return path
        return osp.join(self.data_root, path)

    def _active_classes(self, names: List[str]) -> List[str]:
        """Pick the active vocabulary from the file's category names."""
        requested = self._metainfo.get('classes') or ()
        if requested:
            if self.vocabulary != 'all':
                raise ValueError(
                    'give either metainfo classes or vocabulary='
                    f'{self.vocabulary!r}, not both')
            unknown = [n for n in requested if n not in names]
            if unknown:
                raise ValueError(f'metainfo classes not in the categories of '
                                 f'{self.ann_file}: {unknown}')
            return list(requested)
        if self.vocabulary == 'all':
            return names
        split = load_split(self._resolve(self.split_path), names)
        wanted = set(split[self.vocabulary])
        active = [n for n in names if n in wanted]
        if not active:
            raise ValueError(f'{self._resolve(self.split_path)}: field '
                             f'"{self.vocabulary}" is empty')
        return active

    def _load_checked_coco(self) -> dict:
        """The annotation file, after the rules of the doctor."""
        rep = Report(stop_at_first=True)
        with get_local_path(
                self.ann_file, backend_args=self.backend_args) as local_path:
            dataset = read_json(local_path, 'annotation file', rep,
                                self.ann_file)
        # unknown category/image ids, wrong types, NaN/empty/outside boxes,
        # sizes that differ from the image: one error instead of
        # annotations silently dropped or kept
        check_coco(dataset, self.ann_file, rep,
                   img_dir=self.data_prefix.get('img', ''),
                   image_check='header' if self.check_image_size else None)
        return dataset

    def load_data_list(self) -> List[dict]:
        """Load the annotation file, choose the vocabulary, attach texts.

        Returns:
            List[dict]: Data infos as :class:`CocoDataset`'s plus ``texts``.
        """
        dataset = self._load_checked_coco()
        self.coco = self.COCOAPI()
        self.coco.dataset = dataset
        self.coco.createIndex()
        self.coco.img_ann_map = self.coco.imgToAnns
        self.coco.cat_img_map = self.coco.catToImgs
        categories = self.coco.load_cats(self.coco.get_cat_ids())
        names = [c['name'] for c in categories]
        active = self._active_classes(names)
        all_texts = load_class_texts(self._resolve(self.class_text_path),
                                     names)
        texts = [all_texts[n] for n in active]

        name2id = {c['name']: c['id'] for c in categories}
        self._metainfo['classes'] = tuple(active)
        if len(self._metainfo.get('palette') or []) != len(active):
            self._metainfo['palette'] = make_palette(len(active))
        self._metainfo['texts'] = copy.deepcopy(texts)
        self._metainfo['vocabulary'] = self.vocabulary
        self.cat_ids = [name2id[n] for n in active]
        self.cat2label = {cid: i for i, cid in enumerate(self.cat_ids)}
        self.cat_img_map = copy.deepcopy(self.coco.cat_img_map)

        data_list = []
        for img_id in self.coco.get_img_ids():
            raw_img_info = self.coco.load_imgs([img_id])[0]
            raw_img_info['img_id'] = img_id
            ann_ids = self.coco.get_ann_ids(img_ids=[img_id])
            data_info = self.parse_data_info(
                dict(raw_ann_info=self.coco.load_anns(ann_ids),
                     raw_img_info=raw_img_info))
            data_info['texts'] = copy.deepcopy(texts)
            data_list.append(data_info)
        del self.coco
        return data_list
