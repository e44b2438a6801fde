# Copyright (c) mmase contributors. All rights reserved.
"""Task-specific data augmentation of the ASE paper (TDA).

The paper enlarges the training signal of the scarce (tail) classes with
augmentations that respect what an ASE sample is: an AOI map made of many
small pink dots (Fig. 1) plus a record of numeric and textual fields and a
VLM-LLM descriptor. The paper does not list the exact operations; the four
transforms below are our reading of "task specific":

- :class:`AOIDotJitter`: moves every dot by a few pixels and drops some
  dots (the dot pattern, not the exact dot positions, defines the class);
- :class:`AOIColorShift`: shifts the dot colour and the background tone
  (different AOI machines render slightly different pinks);
- :class:`RecordFieldDropout`: hides record fields (numeric -> NaN, text
  segments removed), so the model does not rely on a single field;
- :class:`DescriptionParaphrase`: rewrites the descriptor with templates
  and synonyms, so the model does not memorise the LLM's exact wording.

They operate on the keys of ``ASEDataset``: ``img`` (uint8 BGR, after
``LoadImageFromFile``), ``numeric``, ``record_text`` and ``description``.

"Task specific" also means *for the tail*: :class:`TailClassAugment` wraps
them and applies them to a sample with a probability that depends on its
class frequency (0 for the most frequent class, growing towards the rarest),
and none of them may turn one class into another: dot dropout never touches
``normal`` images (dropped dots are what ``faded dots`` looks like), the
jitter stays far below the smallest ``shifted pattern`` displacement, and
the paraphrase keeps field names, numbers and casing.
"""
import random
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmpretrain.registry import TRANSFORMS


def _background_color(img: np.ndarray) -> np.ndarray:
    """Median colour of the image border: the AOI background."""
    border = np.concatenate([
        img[0].reshape(-1, img.shape[-1]), img[-1].reshape(-1, img.shape[-1]),
        img[:, 0].reshape(-1, img.shape[-1]),
        img[:, -1].reshape(-1, img.shape[-1])
    ])
    return np.median(border, axis=0)


def _foreground_mask(img: np.ndarray, bg: np.ndarray,
                     threshold: float) -> np.ndarray:
    """Pixels that differ from the background colour (the dots)."""
    diff = np.abs(img.astype(np.int16) - bg.astype(np.int16)[None, None])
    return diff.max(axis=-1) > threshold


def _check_img(results: dict, name: str) -> np.ndarray:
    img = results.get('img', None)
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.dtype != \
            np.uint8:
        raise TypeError(
            f'{name}: results["img"] must be a uint8 HxWx3 array (after '
            f'LoadImageFromFile) for {results.get("img_path", "<unknown>")}'
            f', got {type(img).__name__}')
    return img


@TRANSFORMS.register_module()
class AOIDotJitter(BaseTransform):
    """Jitter and drop the dots of an AOI map.

    Dots are the connected components of the pixels that differ from the
    background (the median border colour) by more than ``threshold`` in any
    channel, grown by one pixel to take their anti-aliased rim along. Each
    dot is dropped with probability ``drop_prob`` (painted with
    the background colour) or shifted by an integer offset drawn uniformly
    in ``[-max_shift, max_shift]`` on both axes.

    Required keys: ``img``. Modified keys: ``img``.

    Keep ``max_shift`` well below the dot pitch: some classes differ from
    the normal grid by a fraction of a pitch. Dropped dots are what a
    "faded / missing dots" defect looks like, so no dot is dropped in a
    sample whose ``gt_label`` is in ``no_drop_labels`` (``normal``; a sample
    without ``gt_label`` is not dropped either).

    Required keys: ``img``; ``gt_label`` for the dropout. Modified keys:
    ``img``.

    Args:
        max_shift (int): Largest shift in pixels. Defaults to 1.
        drop_prob (float): Probability of dropping a dot. Defaults to 0.05.
        threshold (float): Foreground threshold (0-255). Defaults to 40.
        prob (float): Probability of applying the transform.
            Defaults to 1.0.
        no_drop_labels (Sequence[int]): Labels whose dots are never
            dropped. Defaults to ``(0, )`` (``normal`` in the ASE class
            order).
    """

    def __init__(self,
                 max_shift: int = 1,
                 drop_prob: float = 0.05,
                 threshold: float = 40.,
                 prob: float = 1.0,
                 no_drop_labels: Sequence[int] = (0, )) -> None:
        if max_shift < 0 or not 0 <= drop_prob <= 1 or not 0 <= prob <= 1:
            raise ValueError('AOIDotJitter: need max_shift >= 0 and '
                             'drop_prob, prob in [0, 1]')
        self.max_shift = int(max_shift)
        self.drop_prob = drop_prob
        self.threshold = threshold
        self.prob = prob
        self.no_drop_labels = {int(v) for v in no_drop_labels}

    def _may_drop(self, results: Dict) -> bool:
        label = results.get('gt_label', None)
        if label is None:
            return False
        return int(np.asarray(label).reshape(-1)[0]) not in \
            self.no_drop_labels

    def transform(self, results: Dict) -> Dict:
        img = _check_img(results, 'AOIDotJitter')
        if random.random() >= self.prob:
            return results
        bg = _background_color(img)
        fg = _foreground_mask(img, bg, self.threshold)
        num, labels = cv2.connectedComponents(fg.astype(np.uint8), 8)
        if num <= 1:
            return results
        rng = np.random.default_rng(random.getrandbits(32))
        shifts = rng.integers(
            -self.max_shift, self.max_shift + 1, size=(num, 2))
        drop_prob = self.drop_prob if self._may_drop(results) else 0.
        keep = rng.random(num) >= drop_prob
        # carry the anti-aliased rim along: grow every dot by one pixel
        # (dots are several pixels apart on an AOI grid)
        grown = cv2.dilate(labels.astype(np.float32),
                           np.ones((3, 3), np.uint8)).astype(np.int64)
        labels = np.where(labels > 0, labels, grown)
        fg = labels > 0
        out = img.copy()
        out[fg] = bg.astype(np.uint8)
        ys, xs = np.nonzero(fg)
        lab = labels[ys, xs]
        sel = keep[lab]
        ys, xs, lab = ys[sel], xs[sel], lab[sel]
        h, w = fg.shape
        ny = np.clip(ys + shifts[lab, 0], 0, h - 1)
        nx = np.clip(xs + shifts[lab, 1], 0, w - 1)
        out[ny, nx] = img[ys, xs]
        results['img'] = out
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_shift={self.max_shift}, '
                f'drop_prob={self.drop_prob}, threshold={self.threshold}, '
                f'prob={self.prob}, '
                f'no_drop_labels={sorted(self.no_drop_labels)})')


@TRANSFORMS.register_module()
class AOIColorShift(BaseTransform):
    """Shift the dot colour (HSV) and the background tone of an AOI map.

    Dot pixels (see :class:`AOIDotJitter`) get a hue offset in
    ``[-hue_shift, hue_shift]`` (OpenCV hue units, 0-180) and saturation /
    value factors from ``sat_range`` / ``val_range``; all other pixels get a
    per-channel offset in ``[-bg_shift, bg_shift]``.

    Required keys: ``img``. Modified keys: ``img``.

    Args:
        hue_shift (int): Largest hue offset. Defaults to 8.
        sat_range (tuple[float, float]): Saturation factor range.
            Defaults to (0.8, 1.2).
        val_range (tuple[float, float]): Value factor range.
            Defaults to (0.8, 1.2).
        bg_shift (int): Largest background offset. Defaults to 10.
        threshold (float): Foreground threshold (0-255). Defaults to 40.
        prob (float): Probability of applying the transform.
            Defaults to 1.0.
    """

    def __init__(self,
                 hue_shift: int = 8,
                 sat_range: Tuple[float, float] = (0.8, 1.2),
                 val_range: Tuple[float, float] = (0.8, 1.2),
                 bg_shift: int = 10,
                 threshold: float = 40.,
                 prob: float = 1.0) -> None:
        if sat_range[0] > sat_range[1] or val_range[0] > val_range[1]:
            raise ValueError('AOIColorShift: ranges must be (low, high)')
        self.hue_shift = int(hue_shift)
        self.sat_range = tuple(sat_range)
        self.val_range = tuple(val_range)
        self.bg_shift = int(bg_shift)
        self.threshold = threshold
        self.prob = prob

    def transform(self, results: Dict) -> Dict:
        img = _check_img(results, 'AOIColorShift')
        if random.random() >= self.prob:
            return results
        bg = _background_color(img)
        fg = _foreground_mask(img, bg, self.threshold)
        out = img.astype(np.int16)
        offset = np.array([
            random.randint(-self.bg_shift, self.bg_shift) for _ in range(3)
        ], dtype=np.int16)
        out[~fg] += offset
        if fg.any():
            hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.float32)
            dots = hsv[fg]
            dots[:, 0] = (dots[:, 0] + random.randint(
                -self.hue_shift, self.hue_shift)) % 180
            dots[:, 1] *= random.uniform(*self.sat_range)
            dots[:, 2] *= random.uniform(*self.val_range)
            hsv[fg] = np.clip(dots, 0, 255)
            shifted = cv2.cvtColor(
                hsv.astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.int16)
            out[fg] = shifted[fg]
        results['img'] = np.clip(out, 0, 255).astype(np.uint8)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(hue_shift={self.hue_shift}, '
                f'sat_range={self.sat_range}, val_range={self.val_range}, '
                f'bg_shift={self.bg_shift}, prob={self.prob})')


@TRANSFORMS.register_module()
class RecordFieldDropout(BaseTransform):
    """Hide random record fields.

    Each numeric field is replaced by ``NaN`` (read as "missing" by
    ``NumericRecordEncoder``) with probability ``numeric_prob``; each
    ``"field: value"`` segment of ``record_text`` (segments are separated by
    ``';'``) is removed with probability ``text_prob``. At least
    ``min_keep`` fields of each kind survive.

    Required keys: ``numeric`` and/or ``record_text`` (missing keys are
    skipped). Modified keys: the same.

    Args:
        numeric_prob (float): Drop probability per numeric field.
            Defaults to 0.2.
        text_prob (float): Drop probability per text segment.
            Defaults to 0.2.
        min_keep (int): Fields always kept per kind. Defaults to 1.
        prob (float): Probability of applying the transform.
            Defaults to 1.0.
    """

    def __init__(self,
                 numeric_prob: float = 0.2,
                 text_prob: float = 0.2,
                 min_keep: int = 1,
                 prob: float = 1.0) -> None:
        for name, p in (('numeric_prob', numeric_prob),
                        ('text_prob', text_prob), ('prob', prob)):
            if not 0 <= p <= 1:
                raise ValueError(f'RecordFieldDropout: {name} must be in '
                                 f'[0, 1], got {p}')
        self.numeric_prob = numeric_prob
        self.text_prob = text_prob
        self.min_keep = int(min_keep)
        self.prob = prob

    def _drop_mask(self, n: int, p: float) -> np.ndarray:
        drop = np.array([random.random() < p for _ in range(n)], dtype=bool)
        kept = np.flatnonzero(~drop)
        need = min(self.min_keep, n) - len(kept)
        if need > 0:
            revive = random.sample(list(np.flatnonzero(drop)), need)
            drop[revive] = False
        return drop

    def transform(self, results: Dict) -> Dict:
        if random.random() >= self.prob:
            return results
        numeric = results.get('numeric', None)
        if numeric is not None:
            values = np.array(numeric, dtype=np.float32, copy=True)
            present = np.flatnonzero(np.isfinite(values))
            drop = self._drop_mask(len(present), self.numeric_prob)
            values[present[drop]] = np.nan
            results['numeric'] = values
        text = results.get('record_text', None)
        if text:
            segments = [s.strip() for s in str(text).split(';') if s.strip()]
            drop = self._drop_mask(len(segments), self.text_prob)
            results['record_text'] = '; '.join(
                s for s, d in zip(segments, drop) if not d)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(numeric_prob='
                f'{self.numeric_prob}, text_prob={self.text_prob}, '
                f'min_keep={self.min_keep}, prob={self.prob})')


DEFAULT_TEMPLATES = (
    '{}',
    'The AOI map shows {}',
    'Inspection image: {}',
    'In this AOI image, {}',
    '{} (observed on the AOI map)',
)

DEFAULT_SYNONYMS = {
    'dots': ['points', 'spots', 'marks'],
    'dot': ['point', 'spot', 'mark'],
    'pattern': ['arrangement', 'layout', 'structure'],
    'cluster': ['group', 'clump'],
    'clustered': ['grouped', 'gathered'],
    'dense': ['crowded', 'packed'],
    'sparse': ['scattered', 'thin'],
    'line': ['stripe', 'row'],
    'ring': ['circle', 'loop'],
    'large': ['big', 'wide'],
    'small': ['tiny', 'little'],
    'image': ['map', 'picture'],
    'shows': ['contains', 'displays'],
}


@TRANSFORMS.register_module()
class DescriptionParaphrase(BaseTransform):
    """Paraphrase the descriptor with templates and synonyms.

    With probability ``prob`` the description is (1) optionally re-ordered
    sentence-wise, (2) has each word found in ``synonyms`` replaced by a
    random synonym with probability ``synonym_prob`` (case kept) and (3) is
    wrapped in a random template of ``templates`` (``'{}'`` marks the
    description). An empty description stays empty (no text is invented).

    Field names and values are kept: a token that contains ``_`` or a digit
    (``dot_count``, ``AOI-03``, ``L2305``) is never replaced, and the first
    letter is lower-cased for a template only when the first word is an
    ordinary capitalised word (``"AOI sample"`` stays as it is).

    Required keys: ``description``. Modified keys: ``description``.

    Args:
        templates (Sequence[str], optional): Templates with one ``{}``.
            Defaults to None (``DEFAULT_TEMPLATES``).
        synonyms (dict, optional): Word -> list of replacements.
            Defaults to None (``DEFAULT_SYNONYMS``).
        synonym_prob (float): Replacement probability per matching word.
            Defaults to 0.5.
        shuffle_sentences (bool): Shuffle the sentence order.
            Defaults to True.
        prob (float): Probability of applying the transform.
            Defaults to 0.5.
    """

    def __init__(self,
                 templates: Optional[Sequence[str]] = None,
                 synonyms: Optional[Dict[str, List[str]]] = None,
                 synonym_prob: float = 0.5,
                 shuffle_sentences: bool = True,
                 prob: float = 0.5) -> None:
        self.templates = tuple(templates or DEFAULT_TEMPLATES)
        for t in self.templates:
            if t.count('{}') != 1:
                raise ValueError('DescriptionParaphrase: every template needs '
                                 f'exactly one "{{}}", got {t!r}')
        self.synonyms = {
            k.lower(): list(v)
            for k, v in (synonyms or DEFAULT_SYNONYMS).items()
        }
        self.synonym_prob = synonym_prob
        self.shuffle_sentences = shuffle_sentences
        self.prob = prob
        # whole tokens, so that field names and ids are matched as one
        self._word = re.compile(r'[A-Za-z0-9_\-]+')

    def _swap(self, match: 're.Match') -> str:
        word = match.group(0)
        if not word.isalpha():  # field name, id, number: keep
            return word
        options = self.synonyms.get(word.lower())
        if not options or random.random() >= self.synonym_prob:
            return word
        new = random.choice(options)
        return new.capitalize() if word[0].isupper() else new

    def paraphrase(self, text: str) -> str:
        """Return one random paraphrase of ``text``."""
        text = text.strip()
        if not text:
            return text
        sentences = [s.strip() for s in re.split(r'(?<=[.!?])\s+', text)
                     if s.strip()]
        if self.shuffle_sentences and len(sentences) > 1:
            random.shuffle(sentences)
        text = ' '.join(sentences)
        text = self._word.sub(self._swap, text)
        template = random.choice(self.templates)
        first = text.split(' ', 1)[0]
        if template != '{}' and not template.startswith('{}') and \
                first[:1].isupper() and first[1:].islower():
            text = text[0].lower() + text[1:]
        return template.format(text)

    def transform(self, results: Dict) -> Dict:
        if random.random() >= self.prob:
            return results
        desc = results.get('description', '')
        if desc:
            results['description'] = self.paraphrase(str(desc))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_templates='
                f'{len(self.templates)}, synonym_prob={self.synonym_prob}, '
                f'shuffle_sentences={self.shuffle_sentences}, '
                f'prob={self.prob})')


@TRANSFORMS.register_module()
class TailClassAugment(BaseTransform):
    """Apply task-specific augmentations to the tail classes.

    The ASE paper's task-specific augmentation enlarges the training signal
    "of the tail classes". A sample of class ``c`` goes through
    ``transforms`` (in order, as one block) with probability

    .. math:: p_c = p_{max} \\cdot (1 - n_c / n_{max})^{power}

    where ``n_c`` is the number of training samples of class ``c``: 0 for
    the most frequent (head) class, which is never touched, and close to
    ``max_prob`` for the rarest. Otherwise the sample passes unchanged.
    Classes not in ``class_counts`` get probability 0.

    Required keys: ``gt_label``, plus those of ``transforms``.

    Args:
        transforms (list[dict]): The augmentations (their own ``prob`` is
            applied on top; 1 to leave the choice to this wrapper).
        class_counts (Sequence[int]): Training samples per class, in label
            order (``meta.json`` ``class_counts.train`` of the procedural
            set).
        max_prob (float): Probability of the rarest possible class.
            Defaults to 0.8.
        power (float): Shape of the curve. Defaults to 1.0.
    """

    def __init__(self,
                 transforms: List[Union[dict, callable]],
                 class_counts: Sequence[int],
                 max_prob: float = 0.8,
                 power: float = 1.0) -> None:
        counts = np.asarray(class_counts, dtype=np.float64)
        if counts.ndim != 1 or counts.size == 0 or (counts < 0).any() or \
                counts.max() <= 0:
            raise ValueError('TailClassAugment: class_counts must be a '
                             'non-empty list of counts >= 0, got '
                             f'{class_counts!r}')
        if not 0 <= max_prob <= 1 or power <= 0:
            raise ValueError('TailClassAugment: need max_prob in [0, 1] and '
                             'power > 0')
        # built in mmpretrain's registry (mmcv's Compose would look in the
        # root registry only)
        self.transforms = Compose([
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ])
        self.class_probs = max_prob * (1 - counts / counts.max())**power
        self.max_prob = max_prob
        self.power = power

    def class_prob(self, label: int) -> float:
        """Augmentation probability of class ``label``."""
        if 0 <= label < len(self.class_probs):
            return float(self.class_probs[label])
        return 0.

    def transform(self, results: Dict) -> Optional[Dict]:
        label = results.get('gt_label', None)
        if label is None:
            raise KeyError('TailClassAugment needs "gt_label" in the results '
                           f'of {results.get("img_path", "<unknown>")}')
        p = self.class_prob(int(np.asarray(label).reshape(-1)[0]))
        if p <= 0 or random.random() >= p:
            return results
        return self.transforms(results)

    def __repr__(self) -> str:
        probs = [round(float(p), 3) for p in self.class_probs]
        return (f'{self.__class__.__name__}(class_probs={probs}, '
                f'transforms={self.transforms})')
