# Copyright (c) mmase contributors. All rights reserved.
"""Use a dataset's class names as the detector's vocabulary."""
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet.registry import HOOKS


def _dataset_classes(dataset) -> Sequence[str]:
    """Class names of a (possibly wrapped) dataset."""
    seen = 0
    while not hasattr(dataset, 'metainfo') and hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
        seen += 1
        if seen > 8:
            break
    meta = getattr(dataset, 'metainfo', None) or {}
    classes = meta.get('classes')
    if not classes:
        raise ValueError('DatasetVocabularyHook: the dataset '
                         f'{type(dataset).__name__} has no metainfo classes')
    return list(classes)


@HOOKS.register_module()
class DatasetVocabularyHook(Hook):
    """Set the open-vocabulary detector's fallback vocabulary to the class
    names of the current dataset before training, validation and testing.

    For closed datasets without per-image ``texts`` (COCO, LVIS): predicted
    labels then index the dataset classes, as mmdet's metrics expect. Texts
    carried by the samples (MMIO pipelines) still win. The detector needs a
    ``set_vocabulary(texts)`` method.

    Args:
        prompt_template (str, optional): Format string applied to every
            class name, e.g. ``'a photo of a {}'``. Defaults to None (the
            name with ``_`` replaced by spaces).
    """

    priority = 'NORMAL'

    def __init__(self, prompt_template: Optional[str] = None) -> None:
        self.prompt_template = prompt_template

    def _set(self, runner, loader) -> None:
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
        model.set_vocabulary(names)

    def before_train(self, runner) -> None:
        """Vocabulary of the training set."""
        self._set(runner, runner.train_dataloader)

    def before_val(self, runner) -> None:
        """Vocabulary of the validation set."""
        self._set(runner, runner.val_dataloader)

    def after_val(self, runner) -> None:
        """Back to the training vocabulary when training goes on."""
        loop = getattr(runner, '_train_loop', None)
        if loop is not None and not isinstance(loop, dict):
            self._set(runner, runner.train_dataloader)

    def before_test(self, runner) -> None:
        """Vocabulary of the test set."""
        self._set(runner, runner.test_dataloader)
