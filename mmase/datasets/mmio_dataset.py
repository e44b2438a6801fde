# Copyright (c) mmase contributors. All rights reserved.
"""MMIO dataset: COCO detection with class texts and a seen/unseen split."""
import colorsys
import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.fileio import get_local_path

from .doctor import check_coco_dict
from mmase.utils.file_io import load_json
from .validation import NamedSampleErrors, raise_for_problems

VOCABULARIES = ('all', 'seen', 'unseen')


def load_class_texts(path: str) -> Dict[str, List[str]]:
    """Read ``class_texts.json``: ``[["name", "description", ...], ...]``.

    Args:
        path (str): The file.

    Returns:
        Dict[str, List[str]]: Class name to ``[name, descriptions...]``.
    """
    data = load_json(path, 'class text file')
    if not isinstance(data, list):
        raise ValueError(f'{path}: expected a list of [name, description, '
                         f'...] lists, got {type(data).__name__}')
    texts: Dict[str, List[str]] = {}
    for i, item in enumerate(data):
        if isinstance(item, str):
            item = [item]
        if (not isinstance(item, list) or not item
                or not all(isinstance(t, str) and t.strip() for t in item)):
            raise ValueError(f'{path}: item [{i}] must be a non-empty list '
                             f'of non-empty strings, got {item!r}')
        if item[0] in texts:
            raise ValueError(f'{path}: item [{i}]: duplicate class name '
                             f'{item[0]!r}')
        texts[item[0]] = list(item)
    return texts


def load_split(path: str, class_names: Sequence[str]) -> Dict[str, list]:
    """Read and check ``split.json``: ``{"seen": [...], "unseen": [...]}``.

    Args:
        path (str): The file.
        class_names (Sequence[str]): The categories of the annotation file;
            every split name must be one of them.

    Returns:
        Dict[str, list]: The two name lists.
    """
    data = load_json(path, 'split file')
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected an object with "seen" and '
                         f'"unseen" lists')
    known = set(class_names)
    for key in ('seen', 'unseen'):
        names = data.get(key)
        if not isinstance(names, list):
            raise ValueError(f'{path}: field "{key}" must be a list of class '
                             f'names, got {names!r}')
        for i, n in enumerate(names):
            if n not in known:
                raise ValueError(
                    f'{path}: {key}[{i}] = {n!r} is not a category of the '
                    f'annotation file')
    overlap = sorted(set(data['seen']) & set(data['unseen']))
    if overlap:
        raise ValueError(f'{path}: classes both in "seen" and "unseen": '
                         f'{overlap}')
    return dict(seen=list(data['seen']), unseen=list(data['unseen']))


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

    A sample that fails to load (missing or corrupt image, ...) raises with
    the annotation file, image id and path in front of the loader's message.

    Args:
        class_text_path (str): ``class_texts.json``, relative to
            ``data_root`` unless absolute. Defaults to 'class_texts.json'.
        split_path (str, optional): ``split.json``, relative to
            ``data_root`` unless absolute. Required when ``vocabulary`` is
            not 'all'. Defaults to None.
        vocabulary (str): 'all', 'seen' or 'unseen'. Defaults to 'all'.
        *args, **kwargs: See :class:`mmdet.datasets.CocoDataset`.
    """

    METAINFO = {'classes': (), 'palette': []}

    def __init__(self,
                 *args,
                 class_text_path: str = 'class_texts.json',
                 split_path: Optional[str] = None,
                 vocabulary: str = 'all',
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
        super().__init__(*args, **kwargs)

    def _sample_where(self, info: dict) -> str:
        return (f'{self.ann_file}: image id={info.get("img_id")} '
                f'({info.get("img_path")})')

    def _resolve(self, path: str) -> str:
        if path is None or osp.isabs(path) or not self.data_root:
            return path
        return osp.join(self.data_root, path)

    def _active_classes(self, categories: List[dict]) -> List[str]:
        """Pick the active vocabulary from the file's categories."""
        names = [c['name'] for c in categories]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f'{self.ann_file}: duplicate category names '
                             f'{dup}')
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

    def load_data_list(self) -> List[dict]:
        """Load the annotation file, choose the vocabulary, attach texts.

        Returns:
            List[dict]: Data infos as :class:`CocoDataset`'s plus ``texts``.
        """
        with get_local_path(
                self.ann_file, backend_args=self.backend_args) as local_path:
            # parsed here so that bad JSON names the file
            dataset = load_json(local_path, 'annotation file')
        # unknown category/image ids, NaN/empty/outside boxes, duplicate
        # ids: one error instead of annotations silently dropped or kept
        problems = check_coco_dict(
            dataset, self.ann_file, check_images=False).problems
        raise_for_problems(problems, self.ann_file)
        self.coco = self.COCOAPI()
        self.coco.dataset = dataset
        self.coco.createIndex()
        self.coco.img_ann_map = self.coco.imgToAnns
        self.coco.cat_img_map = self.coco.catToImgs
        categories = self.coco.load_cats(self.coco.get_cat_ids())
        active = self._active_classes(categories)

        text_path = self._resolve(self.class_text_path)
        all_texts = load_class_texts(text_path)
        missing = [n for n in active if n not in all_texts]
        if missing:
            raise ValueError(f'{text_path}: no entry for class(es) {missing} '
                             f'of {self.ann_file}')
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
        total_ann_ids = []
        for img_id in self.coco.get_img_ids():
            raw_img_info = self.coco.load_imgs([img_id])[0]
            raw_img_info['img_id'] = img_id
            ann_ids = self.coco.get_ann_ids(img_ids=[img_id])
            total_ann_ids.extend(ann_ids)
            data_info = self.parse_data_info(
                dict(raw_ann_info=self.coco.load_anns(ann_ids),
                     raw_img_info=raw_img_info))
            data_info['texts'] = copy.deepcopy(texts)
            data_list.append(data_info)
        if self.ANN_ID_UNIQUE and len(set(total_ann_ids)) != len(
                total_ann_ids):
            raise ValueError(f'{self.ann_file}: annotation ids are not '
                             f'unique')
        del self.coco
        return data_list
