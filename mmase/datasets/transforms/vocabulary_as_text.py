# Copyright (c) mmase contributors. All rights reserved.
"""Expose an MMIO vocabulary as the ``text`` input of mmdet's grounding
detectors (GLIP, Grounding DINO)."""
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from .load_vocabulary import split_class_names


@TRANSFORMS.register_module()
class VocabularyAsText(BaseTransform):
    """Write ``results['texts']`` into ``results['text']`` for GLIP/GDINO.

    mmdet's ``GLIP`` and ``GroundingDINO`` read their prompt from
    ``data_sample.text``: a tuple of class names becomes the caption
    ``"name_0. name_1. ..."`` and, with ``custom_entities=True``, each name
    is one entity whose index is the predicted label. Placed after
    :class:`RandomVocabulary` (training) or :class:`LoadVocabulary` (test),
    this keeps gt labels and predicted labels indexing the same list the
    RTVP/YOLO-World pipelines use, so the baselines see exactly the same
    vocabularies. The tuple type matters: the detectors compare the prompts
    of a batch with ``set()``.

    Without ``texts`` (no vocabulary transform before it), a ``text`` that
    mmdet's ``DetInferencer`` put into the results (``inferencer(img,
    texts='crack . dent')``) is read the same way, one entity per name (see
    :func:`split_class_names`), so GLIP/Grounding DINO configs of mmase give
    the same labels for the same prompt as the YOLO-World/RTVP ones.

    Required keys: ``texts`` (list of str) or ``text`` (str or sequence of
    str). Added or modified keys: ``text`` (tuple of str),
    ``custom_entities`` (bool).

    Args:
        custom_entities (bool): Value of ``results['custom_entities']``.
            Defaults to True (one entity per class name; no noun-phrase
            parsing).
        strip_period (bool): Replace ``'.'`` inside a prompt by ``','`` so a
            description cannot split one class into two entities of the
            caption. Defaults to True.
    """

    def __init__(self,
                 custom_entities: bool = True,
                 strip_period: bool = True) -> None:
        self.custom_entities = custom_entities
        self.strip_period = strip_period

    def transform(self, results: dict) -> dict:
        """Add ``text`` and ``custom_entities``."""
        texts = results.get('texts', None)
        if texts is None and results.get('text') is not None:
            texts = split_class_names(
                results['text'],
                field=f'text of {results.get("img_path", "<image>")}')
        if texts is None:
            raise KeyError(
                f'VocabularyAsText: neither `texts` nor `text` in the '
                f'results of {results.get("img_path", "<unknown image>")}; '
                'put RandomVocabulary or LoadVocabulary before it, or give '
                'the class names (DetInferencer: texts=...)')
        prompts = []
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(
                    f'VocabularyAsText: texts[{i}] of '
                    f'{results.get("img_path", "<unknown image>")} must be a '
                    f'str, got {type(t).__name__}')
            t = t.strip()
            if self.strip_period:
                t = t.replace('.', ',').strip(' ,')
            prompts.append(t)
        results['text'] = tuple(prompts)
        results['custom_entities'] = self.custom_entities
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(custom_entities='
                f'{self.custom_entities}, strip_period={self.strip_period})')
