# Copyright (c) mmase contributors. All rights reserved.
"""Inference of the ASE multimodal classifier: image + record (+ optional
description) -> class and scores, the mmpretrain way."""
import math
import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.image import imread
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmpretrain.apis import BaseInferencer
from mmpretrain.apis.model import ModelHub, get_model, list_models
from mmpretrain.registry import TRANSFORMS
from mmpretrain.structures import DataSample

#: Task name of the multimodal ASE models in mmase's model index. It is not
#: ``Image Classification`` on purpose: mmpretrain's ``inference_model``
#: would pick ``ImageClassificationInferencer``, which drops the record.
ASE_TASK = 'Multimodal Defect Classification'

InputType = Union[dict, str, np.ndarray]

_REGISTERED = False


def mmase_model_index() -> Tuple[str, str]:
    """``(model-index.yml, config prefix)`` of mmase: the repository's, or
    the installed package's ``mmase/.mim`` copy.

    Raises:
        FileNotFoundError: neither exists.
    """
    pkg = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for root in (osp.dirname(pkg), osp.join(pkg, '.mim')):
        path = osp.join(root, 'model-index.yml')
        if osp.isfile(path):
            return path, root
    raise FileNotFoundError(
        f'mmase model index not found in {osp.dirname(pkg)} or '
        f'{osp.join(pkg, ".mim")} (install mmase from its repository)')


def register_mmase_models() -> None:
    """Register mmase's mmpretrain models (``configs/ase/metafile.yml``) in
    mmpretrain's ``ModelHub`` (once), so ``mmpretrain.get_model``,
    ``list_models`` and :class:`ASEInferencer` accept their names
    (``'pfa-cmaf_effnet-lite0_1xb16-8e_ase'``)."""
    global _REGISTERED
    if _REGISTERED:
        return
    _, root = mmase_model_index()
    metafile = osp.join(root, 'configs', 'ase', 'metafile.yml')
    ModelHub._register_mmpretrain_models()  # theirs first: names must differ
    ModelHub.register_model_index(metafile, config_prefix=root)
    _REGISTERED = True


def encode_record(record: Optional[dict], numeric_fields: Sequence[str],
                  text_fields: Sequence[str], where: str
                  ) -> Tuple[np.ndarray, str]:
    """``(numeric, record_text)`` of a record, as :class:`ASEDataset` builds
    them (numbers in ``numeric_fields`` order, ``"field: value; ..."``
    over ``text_fields``).

    At inference a record may be partial: a missing numeric field is NaN,
    which :class:`NumericRecordEncoder` reads as "missing" (as
    ``RecordFieldDropout`` trains it), and a missing text field is left
    out of ``record_text``. A field the model does not know (a typo) or a
    value of the wrong type is an error.

    Raises:
        ValueError: naming ``where`` and the field.
    """
    record = {} if record is None else record
    if not isinstance(record, dict):
        raise ValueError(f'{where}: field "record" must be an object '
                         f'(dict), got {type(record).__name__}')
    known = set(numeric_fields) | set(text_fields)
    unknown = sorted(k for k in record if k not in known)
    if unknown:
        raise ValueError(
            f'{where}: field "record.{unknown[0]}" is not a field of the '
            f'model (numeric: {list(numeric_fields)}, text: '
            f'{list(text_fields)})')
    numeric = []
    for f in numeric_fields:
        v = record.get(f, None)
        if v is None:
            numeric.append(float('nan'))
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f'{where}: field "record.{f}" must be a number, '
                             f'got {v!r}')
        if math.isinf(v):
            raise ValueError(f'{where}: field "record.{f}" is not finite '
                             f'({v!r})')
        numeric.append(float(v))
    text = '; '.join(f'{f}: {record[f]}' for f in text_fields
                     if record.get(f) is not None)
    return np.asarray(numeric, np.float32), text


class ASEInferencer(BaseInferencer):
    """Classify defects from an image, its record and an optional
    description (the inputs of :class:`ASEMultimodalClassifier`).

    mmpretrain's ``ImageClassificationInferencer`` feeds images only; this
    one builds the ``numeric``, ``record_text`` and ``description`` fields
    the config's ``PackInputs`` carries, from each input's ``record`` and
    ``description`` (numbers standardised with ``meta.json``'s statistics
    when the test dataset sets ``normalize_numeric``).

    Example:
        >>> from mmase.apis import ASEInferencer
        >>> inferencer = ASEInferencer(
        ...     'configs/ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase.py',
        ...     pretrained='epoch_8.pth')
        >>> inferencer(dict(img='aoi.png', record={'dot_count': 412, ...},
        ...                 description='faint dots in the upper half'))[0]
        {'pred_scores': array([...]), 'pred_label': 2, 'pred_score': 0.71,
         'pred_class': 'faded dots'}

    Args:
        model (BaseModel | str | Config): A model, a config file or object,
            or a name of mmase's model index
            (``'pfa-cmaf_effnet-lite0_1xb16-8e_ase'``).
        pretrained (str | bool): Checkpoint file. The weights must match the
            model (strict loading) unless ``strict=False``; its
            ``dataset_meta`` gives classes and record fields. Defaults to
            True (the model index's weights, none for mmase).
        device (str, optional): Device. Defaults to None (CPU, or the
            model's).
        strict (bool): Refuse a checkpoint whose keys differ from the
            model's. Defaults to True.
        meta_file (str, optional): ``meta.json`` with ``classes``,
            ``numeric_fields`` and ``text_fields`` when the checkpoint does
            not carry them. Defaults to None (the config's test dataset
            ``meta.json``).
        **kwargs: Passed to :func:`mmpretrain.apis.get_model`.
    """

    def __init__(self,
                 model,
                 pretrained: Union[bool, str] = True,
                 device: Union[str, torch.device, None] = None,
                 strict: bool = True,
                 meta_file: Optional[str] = None,
                 **kwargs) -> None:
        import mmase  # noqa: F401  (registers the modules)
        from mmengine.model import BaseModel
        if not isinstance(model, BaseModel):
            if isinstance(model, str) and not model.endswith('.py'):
                register_mmase_models()
            if isinstance(pretrained, str) and not osp.isfile(pretrained):
                raise FileNotFoundError(
                    f'ASEInferencer: checkpoint not found: {pretrained}')
            weights = pretrained if isinstance(pretrained, str) else None
            model = get_model(model, pretrained=False, device=device,
                              **kwargs)
            if weights is not None:
                model._dataset_meta = self._load_weights(
                    model, weights, strict)
        super().__init__(model=model, pretrained=False, device=device)
        meta = dict(getattr(self.model, '_dataset_meta', None) or {})
        if not meta.get('numeric_fields') and not meta.get('text_fields'):
            meta.update(self._meta_from_file(meta_file))
        for key in ('classes', 'numeric_fields', 'text_fields'):
            if meta.get(key) is None:
                raise ValueError(
                    f'ASEInferencer: no "{key}" in the checkpoint\'s '
                    'dataset_meta nor in meta.json; pass meta_file=')
        self.classes = list(meta['classes'])
        self.numeric_fields = list(meta['numeric_fields'])
        self.text_fields = list(meta['text_fields'])
        self.mean = self.std = None
        ds_cfg = self.config.get('test_dataloader', {}).get('dataset', {})
        if ds_cfg.get('normalize_numeric', False):
            self.mean = np.asarray(meta['numeric_mean'], np.float32)
            self.std = np.asarray(meta['numeric_std'], np.float32)
            self.std[self.std == 0] = 1.0

    # ---------------------------------------------------------------- setup
    @staticmethod
    def _load_weights(model, checkpoint: str, strict: bool) -> dict:
        """Load with mmase's safe reader and strict key check; return the
        checkpoint's ``dataset_meta``."""
        from .model_builder import load_model_checkpoint
        ckpt = load_model_checkpoint(model, checkpoint, strict)
        meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
        return dict((meta or {}).get('dataset_meta') or {})

    def _meta_from_file(self, meta_file: Optional[str]) -> dict:
        from mmase.utils.file_io import load_json
        if meta_file is None:
            ds = self.config.get('test_dataloader', {}).get('dataset', {})
            name = ds.get('meta_file', 'meta.json')
            root = ds.get('data_root', '') or ''
            meta_file = name if osp.isabs(name) else osp.join(root, name)
        if not osp.isfile(meta_file):
            raise FileNotFoundError(
                f'ASEInferencer: the checkpoint carries no record fields and '
                f'{meta_file} does not exist; pass meta_file=')
        meta = load_json(meta_file, 'ASE meta file')
        if not isinstance(meta, dict):
            raise ValueError(f'{meta_file}: must hold a JSON object')
        return {k: meta[k] for k in ('classes', 'numeric_fields',
                                     'text_fields', 'numeric_mean',
                                     'numeric_std') if k in meta}

    def _init_pipeline(self, cfg: Config) -> Callable:
        from mmpretrain.datasets import remove_transform
        steps = remove_transform(cfg.test_dataloader.dataset.pipeline,
                                 'LoadImageFromFile')
        return Compose([TRANSFORMS.build(t) for t in steps])

    # ---------------------------------------------------------------- steps
    def _inputs_to_list(self, inputs) -> list:
        if isinstance(inputs, (dict, str, np.ndarray)):
            inputs = [inputs]
        return list(inputs)

    def _sample(self, index: int, item: InputType) -> dict:
        where = f'input {index}'
        if not isinstance(item, dict):
            item = dict(img=item)
        unknown = sorted(set(item) - {'img', 'record', 'description'})
        if unknown:
            raise ValueError(f'{where}: unknown key "{unknown[0]}" (expected '
                             'img, record, description)')
        img = item.get('img')
        if isinstance(img, str):
            where = f'{where} ({img})'
            if not osp.isfile(img):
                raise FileNotFoundError(f'{where}: image not found')
            array = imread(img)
            if array is None:
                raise ValueError(f'{where}: cannot read image')
        elif isinstance(img, np.ndarray):
            array = img
        else:
            raise ValueError(f'{where}: field "img" must be a path or an '
                             f'array, got {type(img).__name__}')
        numeric, record_text = encode_record(
            item.get('record'), self.numeric_fields, self.text_fields, where)
        if self.mean is not None:
            numeric = (numeric - self.mean) / self.std
        desc = item.get('description') or ''
        if not isinstance(desc, str):
            raise ValueError(f'{where}: field "description" must be a '
                             f'string, got {type(desc).__name__}')
        return dict(img=array, img_shape=array.shape[:2],
                    ori_shape=array.shape[:2], numeric=numeric,
                    record_text=record_text, description=desc)

    def preprocess(self, inputs: List[InputType], batch_size: int = 1):
        samples = [self._sample(i, x) for i, x in enumerate(inputs)]
        chunks = self._get_chunk_data(map(self.pipeline, samples),
                                      batch_size)
        yield from map(default_collate, chunks)

    def postprocess(self,
                    preds: List[DataSample],
                    visualization: Optional[list] = None,
                    return_datasamples: bool = False) -> list:
        """Per input: ``pred_scores`` (array), ``pred_label``,
        ``pred_score`` and ``pred_class`` (as mmpretrain's classification
        inferencer)."""
        if return_datasamples:
            return preds
        results = []
        for sample in preds:
            scores = sample.pred_score.detach().cpu()
            label = int(scores.argmax())
            results.append(dict(
                pred_scores=scores.numpy(), pred_label=label,
                pred_score=float(scores[label]),
                pred_class=self.classes[label]
                if label < len(self.classes) else str(label)))
        return results

    @staticmethod
    def list_models(pattern: Optional[str] = None) -> List[str]:
        """Names of mmase's multimodal ASE models."""
        register_mmase_models()
        return list_models(pattern=pattern, task=ASE_TASK)
