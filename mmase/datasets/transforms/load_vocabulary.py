# Copyright (c) mmase contributors. All rights reserved.
"""Test-time vocabulary: one string per active dataset class, or the class
names a caller gives (mmdet's ``text`` key)."""
import re
from typing import List, Sequence, Union

from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from .random_vocabulary import as_text_lists

TEXT_MODES = ('name', 'description', 'name_and_description')

# A period with white space on at least one side separates two names
# ('crack . dent', 'crack. dent.'); a period inside a word ('0.5 mm') does
# not.
_PERIOD_SEP = re.compile(r'\s+\.\s*|\s*\.\s+')


def split_class_names(text: Union[str, Sequence[str]],
                      field: str = 'text') -> List[str]:
    """Class names of a prompt given as one string or a list of strings.

    A string is split the way mmdet's grounding detectors read a caption
    with ``custom_entities=True``: at ``' . '`` (``'crack . dent .'``,
    ``'crack. dent.'``); a string without such a period is split at commas
    (``'crack,dent'``, the YOLO-World demo style). A list or tuple is taken
    as one name per item.

    Args:
        text (str | Sequence[str]): The prompt.
        field (str): Name of the field in error messages.
            Defaults to 'text'.

    Returns:
        list[str]: The names, stripped, in order.

    Raises:
        ValueError: no name, an empty or non-string item, or a name given
            twice (labels would be ambiguous).
    """
    if isinstance(text, str):
        body = text.strip().rstrip('.').strip()
        parts = (_PERIOD_SEP.split(body) if _PERIOD_SEP.search(body) else
                 body.split(','))
        names = [p.strip() for p in parts if p.strip()]
    elif isinstance(text, (list, tuple)):
        names = []
        for i, item in enumerate(text):
            if not isinstance(item, str) or not item.strip():
                raise ValueError(f'{field}[{i}] must be a non-empty string, '
                                 f'got {item!r}')
            names.append(item.strip())
    else:
        raise ValueError(f'{field} must be a string or a list of strings, '
                         f'got {type(text).__name__}')
    if not names:
        raise ValueError(f'{field}: no class name in {text!r}')
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'{field}: duplicate class names {dup} in {names}')
    return names


@TRANSFORMS.register_module()
class LoadVocabulary(BaseTransform):
    """Turn the dataset's class texts, or a caller's prompt, into the test
    vocabulary.

    Three sources, in this order:

    1. ``text`` (+ ``custom_entities``), what mmdet's ``DetInferencer``
       puts into the results for ``inferencer(img, texts='crack . dent')``:
       the names of :func:`split_class_names`, used as they are
       (``text_mode`` does not apply to them). Every name is one class for
       YOLO-World/RTVP, so ``custom_entities`` changes nothing and is left
       in the results for the grounding detectors.
    2. ``texts`` of :class:`MMIODataset` (one ``[name, description...]``
       per class): every active class in label order, so predicted labels
       index the dataset classes directly (what the zero-shot and COCO
       metrics expect). Unlike :class:`RandomVocabulary` nothing is sampled.
    3. Neither: the results are left without ``texts`` and the detector
       uses its own vocabulary (``YOLOWorldDetector.vocabulary``, set by
       ``model.vocabulary`` in the config or ``set_vocabulary``, else the
       classes of its ``dataset_meta``).

    Required keys: ``text`` or ``texts`` (optional, see above).

    Modified keys: ``texts`` (List[str], one per class).

    Args:
        text_mode (str): ``'name'`` (the class name), ``'description'``
            (the first description, the name when there is none) or
            ``'name_and_description'`` (``"name: description"``); applies to
            dataset ``texts``. Defaults to 'name'.
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
        if results.get('text') is not None:
            where = results.get('img_path', '<image>')
            results['texts'] = split_class_names(
                results['text'], field=f'text of {where}')
        elif results.get('texts') is not None:
            texts = as_text_lists(results['texts'])
            results['texts'] = [self._text(t) for t in texts]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(text_mode={self.text_mode!r})'
