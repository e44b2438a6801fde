# Copyright (c) mmase contributors. All rights reserved.
"""Use a dataset's class names as the detector's vocabulary."""
import json
from typing import List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet.registry import HOOKS


def _unwrap(dataset, attr: str):
    """The innermost dataset of wrappers (ClassBalancedDataset ...) that
    has ``attr``; at most 8 levels deep."""
    for _ in range(8):
        if hasattr(dataset, attr) or not hasattr(dataset, 'dataset'):
            break
        dataset = dataset.dataset
    return dataset


def _dataset_classes(dataset) -> Sequence[str]:
    """Class names of a (possibly wrapped) dataset."""
    dataset = _unwrap(dataset, 'metainfo')
    meta = getattr(dataset, 'metainfo', None) or {}
    classes = meta.get('classes')
    if not classes:
        raise ValueError('DatasetVocabularyHook: the dataset '
                         f'{type(dataset).__name__} has no metainfo classes')
    return list(classes)


def _category_frequencies(dataset, num_classes: int) -> List[str]:
    """LVIS ``frequency`` of every category of a (possibly wrapped)
    dataset's annotation file, in file order (= mmdet's label order)."""
    path = getattr(_unwrap(dataset, 'ann_file'), 'ann_file', None)
    if not path:
        raise ValueError('DatasetVocabularyHook: train_exclude_frequencies '
                         'needs a dataset with an `ann_file`')
    with open(path, encoding='utf-8') as f:
        cats = json.load(f).get('categories')
    if not isinstance(cats, list) or len(cats) != num_classes:
        raise ValueError(
            f'{path}: categories: expected {num_classes} categories (one '
            f'per dataset class), got '
            f'{len(cats) if isinstance(cats, list) else type(cats).__name__}')
    freqs = []
    for i, cat in enumerate(cats):
        freq = cat.get('frequency') if isinstance(cat, dict) else None
        if freq not in ('r', 'c', 'f'):
            raise ValueError(f'{path}: categories[{i}]: frequency: expected '
                             f"'r', 'c' or 'f', got {freq!r}")
        freqs.append(freq)
    return freqs


@HOOKS.register_module()
class DatasetVocabularyHook(Hook):
    """Set the open-vocabulary detector's fallback vocabulary to the class
    names of the current dataset before training, validation and testing.

    For closed datasets without per-image ``texts`` (COCO, LVIS): predicted
    labels then index the dataset classes, as mmdet's metrics expect. Texts
    carried by the samples (MMIO pipelines) still win. The detector needs a
    ``set_vocabulary(texts)`` method.

    Zero-shot training on LVIS (the base/rare protocol of ViLD and
    YOLO-World): with ``train_exclude_frequencies=('r', )`` the training
    vocabulary holds the base (common + frequent) names only, so the rare
    names are never trained on, not even as negatives; labels are mapped
    into it (:meth:`YOLOWorldDetector.set_vocabulary` ``label_map``). The
    frequencies are read from the ``categories`` of the training annotation
    file, whose order is the label order of mmdet's LVIS datasets.
    Validation and testing use every class.

    Args:
        prompt_template (str, optional): Format string applied to every
            class name, e.g. ``'a photo of a {}'``. Defaults to None (the
            name with ``_`` replaced by spaces).
        train_exclude_frequencies (Sequence[str], optional): LVIS frequency
            groups ('r', 'c', 'f') left out of the training vocabulary.
            Defaults to None (every class).
    """

    priority = 'NORMAL'

    def __init__(self,
                 prompt_template: Optional[str] = None,
                 train_exclude_frequencies: Optional[Sequence[str]] = None
                 ) -> None:
        self.prompt_template = prompt_template
        self.train_exclude_frequencies = tuple(
            train_exclude_frequencies or ())
        bad = set(self.train_exclude_frequencies) - {'r', 'c', 'f'}
        if bad:
            raise ValueError('DatasetVocabularyHook: train_exclude_'
                             f'frequencies must be r/c/f, got {sorted(bad)}')

    def _set(self, runner, loader, training: bool = False) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        if not hasattr(model, 'set_vocabulary'):
            raise TypeError('DatasetVocabularyHook: the model '
                            f'{type(model).__name__} has no set_vocabulary')
        names = [str(c).replace('_', ' ') for c in
                 _dataset_classes(loader.dataset)]
        if self.prompt_template is not None:
            names = [self.prompt_template.format(n) for n in names]
        if not (training and self.train_exclude_frequencies):
            model.set_vocabulary(names)
            return
        freqs = _category_frequencies(loader.dataset, len(names))
        keep = [i for i, f in enumerate(freqs)
                if f not in self.train_exclude_frequencies]
        label_map = [-1] * len(names)
        for j, i in enumerate(keep):
            label_map[i] = j
        model.set_vocabulary([names[i] for i in keep], label_map=label_map)

    def before_train(self, runner) -> None:
        """Vocabulary of the training set."""
        self._set(runner, runner.train_dataloader, training=True)

    def before_val(self, runner) -> None:
        """Vocabulary of the validation set."""
        self._set(runner, runner.val_dataloader)

    def after_val(self, runner) -> None:
        """Back to the training vocabulary when training goes on."""
        loop = getattr(runner, '_train_loop', None)
        if loop is not None and not isinstance(loop, dict):
            self._set(runner, runner.train_dataloader, training=True)

    def before_test(self, runner) -> None:
        """Vocabulary of the test set."""
        self._set(runner, runner.test_dataloader)
