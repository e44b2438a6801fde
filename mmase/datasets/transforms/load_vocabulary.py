# Copyright (c) mmase contributors. All rights reserved.
"""Test-time vocabulary: one string per active dataset class."""
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from .random_vocabulary import as_text_lists

TEXT_MODES = ('name', 'description', 'name_and_description')


@TRANSFORMS.register_module()
class LoadVocabulary(BaseTransform):
    """Turn the dataset's class texts into the test vocabulary.

    Unlike :class:`RandomVocabulary` nothing is sampled: the vocabulary is
    every active class of the dataset in label order, so predicted labels
    index the dataset classes directly (what the zero-shot and COCO metrics
    expect).

    Required keys: ``texts`` (List[List[str]] from :class:`MMIODataset`).

    Modified keys: ``texts`` (List[str], one per class).

    Args:
        text_mode (str): ``'name'`` (the class name), ``'description'``
            (the first description, the name when there is none) or
            ``'name_and_description'`` (``"name: description"``).
            Defaults to 'name'.
    """

    def __init__(self, text_mode: str = 'name') -> None:
        if text_mode not in TEXT_MODES:
            raise ValueError(f'text_mode must be one of {TEXT_MODES}, got '
                             f'{text_mode!r}')
        self.text_mode = text_mode

    def _text(self, entry):
        if self.text_mode == 'name' or len(entry) == 1:
            return entry[0]
        if self.text_mode == 'description':
            return entry[1]
        return f'{entry[0]}: {entry[1]}'

    def transform(self, results: dict) -> dict:
        texts = as_text_lists(results.get('texts'))
        results['texts'] = [self._text(t) for t in texts]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(text_mode={self.text_mode!r})'
