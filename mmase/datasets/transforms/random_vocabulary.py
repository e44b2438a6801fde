# Copyright (c) mmase contributors. All rights reserved.
"""Training-time vocabulary sampling for open-vocabulary detection."""
import random
from typing import List, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS


def as_text_lists(texts: Sequence[Union[str, Sequence[str]]],
                  key: str = 'texts') -> List[List[str]]:
    """Normalise ``results['texts']`` to one ``[name, desc...]`` per class."""
    if texts is None:
        raise KeyError(f'results has no {key!r}; use a dataset that provides '
                       f'class texts (e.g. MMIODataset)')
    out = []
    for i, t in enumerate(texts):
        t = [t] if isinstance(t, str) else list(t)
        if not t or not all(isinstance(s, str) for s in t):
            raise ValueError(f'results[{key!r}][{i}] must be a string or a '
                             f'non-empty list of strings, got {t!r}')
        out.append(t)
    return out


@TRANSFORMS.register_module()
class RandomVocabulary(BaseTransform):
    """Sample the per-image training vocabulary.

    The RTVP paper trains on the seen classes with their text prompts
    (section "Problem Definition"); as in region-text contrastive training of
    open-vocabulary detectors, each image gets its own vocabulary: all
    classes present in the image (positives) plus random absent ones
    (negatives) until ``num_vocab`` classes are reached. The list is shuffled
    so that a class's position carries no information, and
    ``gt_bboxes_labels`` are remapped into it. When an image has more than
    ``num_vocab`` positive classes all of them are kept.

    Each class becomes one string: its name, or with probability
    ``use_descriptions_prob`` one of its descriptions chosen at random (the
    expert texts of MMIO), so the detector learns to match both.

    Required keys: ``texts`` (List[List[str]] per dataset class, from
    :class:`MMIODataset`); ``gt_bboxes_labels`` (optional).

    Modified keys: ``texts`` (List[str], the sampled vocabulary),
    ``gt_bboxes_labels``.

    Added keys: ``vocab_class_ids`` (np.ndarray: dataset label of each
    vocabulary entry).

    Args:
        num_vocab (int): Vocabulary size per image. Defaults to 80.
        use_descriptions_prob (float): Probability of using a description
            instead of the name, per class. Defaults to 0.0.
        shuffle (bool): Shuffle the vocabulary order. Defaults to True.
    """

    def __init__(self,
                 num_vocab: int = 80,
                 use_descriptions_prob: float = 0.0,
                 shuffle: bool = True) -> None:
        if num_vocab < 1:
            raise ValueError(f'num_vocab must be >= 1, got {num_vocab}')
        if not 0.0 <= use_descriptions_prob <= 1.0:
            raise ValueError('use_descriptions_prob must be in [0, 1], got '
                             f'{use_descriptions_prob}')
        self.num_vocab = num_vocab
        self.use_descriptions_prob = use_descriptions_prob
        self.shuffle = shuffle

    def _text(self, entry: List[str]) -> str:
        if len(entry) > 1 and random.random() < self.use_descriptions_prob:
            return entry[random.randint(1, len(entry) - 1)]
        return entry[0]

    def transform(self, results: dict) -> dict:
        texts = as_text_lists(results.get('texts'))
        num_classes = len(texts)
        labels = np.asarray(
            results.get('gt_bboxes_labels', np.zeros(0, np.int64)),
            dtype=np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f'gt_bboxes_labels {labels.tolist()} out of range for '
                f'{num_classes} class texts ({results.get("img_path")})')
        positives = sorted(set(labels.tolist()))
        pool = [c for c in range(num_classes) if c not in set(positives)]
        num_neg = min(len(pool), max(0, self.num_vocab - len(positives)))
        negatives = random.sample(pool, num_neg)
        chosen = positives + negatives
        if self.shuffle:
            random.shuffle(chosen)
        new_label = {old: new for new, old in enumerate(chosen)}
        results['gt_bboxes_labels'] = np.array(
            [new_label[c] for c in labels.tolist()], dtype=np.int64)
        results['texts'] = [self._text(texts[c]) for c in chosen]
        results['vocab_class_ids'] = np.array(chosen, dtype=np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_vocab={self.num_vocab}, '
                f'use_descriptions_prob={self.use_descriptions_prob}, '
                f'shuffle={self.shuffle})')
