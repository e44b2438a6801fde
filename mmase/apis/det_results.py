# Copyright (c) mmase contributors. All rights reserved.
"""Read back the predictions ``tools/test.py --out preds.pkl`` writes
(mmdet's ``DumpDetResults``), for the analysis tools."""
import io
import os.path as osp
import pickle
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

# The globals a DumpDetResults / DumpResults pickle needs: containers,
# tensors (rebuilt from their storage bytes) and numpy arrays/scalars.
_SAFE_GLOBALS = {
    ('collections', 'OrderedDict'),
    ('_codecs', 'encode'),  # bytes in protocol-2 pickles
    ('builtins', 'set'),
    ('builtins', 'frozenset'),
    ('builtins', 'slice'),
    ('torch', 'Size'),
    ('torch._utils', '_rebuild_tensor'),
    ('torch._utils', '_rebuild_tensor_v2'),
    ('torch._utils', '_rebuild_parameter'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', 'scalar'),
}
_SAFE_MODULES = ('numpy.dtypes', )
_SAFE_TORCH_DTYPES = {
    'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16',
    'int8', 'uint8', 'bool'
}


class RefusedPickleError(pickle.UnpicklingError):
    """A results pickle needing an object outside the allow-list."""


def _storage_from_bytes(data: bytes):
    """A tensor storage pickled by ``torch.save`` inside the pickle, loaded
    with the weights-only unpickler (torch's own helper would load it with
    ``weights_only=False``)."""
    return torch.load(io.BytesIO(data), weights_only=True)


class _ResultsUnpickler(pickle.Unpickler):
    """Unpickler that only builds the objects a results file holds."""

    def __init__(self, file, path: str) -> None:
        super().__init__(file)
        self.path = path

    def find_class(self, module: str, name: str):
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            return _storage_from_bytes
        if (module == 'torch' and name in _SAFE_TORCH_DTYPES):
            return getattr(torch, name)
        if (module, name) in _SAFE_GLOBALS or module in _SAFE_MODULES:
            return super().find_class(module, name)
        raise RefusedPickleError(
            f'{self.path}: refused to load: the pickle needs {module}.{name}'
            ', which a test.py --out results file does not contain')


def load_results(path: str) -> List[dict]:
    """Load a ``test.py --out`` pickle without running code from it.

    Args:
        path (str): The ``.pkl`` file.

    Returns:
        list[dict]: One dict per test image (``pred_instances`` with
        ``bboxes``/``scores``/``labels``, and the packed meta keys such as
        ``img_id``, ``img_path``, ``texts``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a results pickle (message names the file).
        RefusedPickleError: the file needs objects outside the allow-list
            (e.g. code); a ``pickle.UnpicklingError``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'results file not found: {path}')
    with open(path, 'rb') as f:
        try:
            results = _ResultsUnpickler(f, path).load()
        except RefusedPickleError:
            raise
        except Exception as err:  # truncated / not a pickle
            raise ValueError(f'{path}: not a readable results pickle '
                             f'({type(err).__name__}: {err})') from None
    if not isinstance(results, list) or not all(
            isinstance(r, dict) for r in results):
        raise ValueError(f'{path}: expected a list of per-image dicts (the '
                         'file tools/test.py --out writes)')
    return results


def build_test_dataset(cfg, with_pipeline: bool = False):
    """The config's test dataset, in the config's registry scope.

    Args:
        cfg (Config): The config.
        with_pipeline (bool): Keep the pipeline; else an empty one (only the
            annotations are read). Defaults to False.
    """
    import copy

    from mmengine.registry import DATASETS, init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    if not with_pipeline:
        ds_cfg['pipeline'] = []
    return DATASETS.build(ds_cfg)


def check_results_match(results: Sequence[dict], dataset, path: str) -> None:
    """The pickle and the dataset list the same images in the same order.

    Raises:
        ValueError: naming the file and the first differing image.
    """
    if len(results) != len(dataset):
        raise ValueError(
            f'{path}: {len(results)} results for {len(dataset)} images of '
            'the config\'s test dataset; was it written with this config?')
    for i, res in enumerate(results):
        info = dataset.get_data_info(i)
        if 'img_id' in res and 'img_id' in info and \
                res['img_id'] != info['img_id']:
            raise ValueError(
                f'{path}: result {i} is for image id {res["img_id"]}, the '
                f'dataset\'s image {i} has id {info["img_id"]}')


def dataset_labels(result: dict, classes: Sequence[str],
                   path: str = '<results>') -> np.ndarray:
    """Predicted labels of one result as indices into ``classes``.

    Open-vocabulary predictions index the image's vocabulary (``texts``);
    with the test pipeline's :class:`LoadVocabulary` that is the dataset
    class list, but a run with another vocabulary is mapped by name. A
    name outside ``classes`` gets -1.

    Returns:
        np.ndarray: int64 labels, one per prediction.
    """
    pred = result['pred_instances']
    labels = np.asarray(torch.as_tensor(pred['labels']).cpu().numpy(),
                        np.int64)
    names = pred.get('label_names')
    if names is None and result.get('texts') is not None:
        texts = [t if isinstance(t, str) else t[0] for t in result['texts']]
        if any(lab >= len(texts) for lab in labels.tolist()):
            raise ValueError(f'{path}: image {result.get("img_path")}: a '
                             f'label exceeds its {len(texts)} texts')
        names = [texts[lab] for lab in labels.tolist()]
    if names is None:
        return labels
    index = {c: i for i, c in enumerate(classes)}
    return np.asarray([index.get(n, -1) for n in names], np.int64)


def predictions(result: dict, classes: Sequence[str],
                score_thr: float = 0.0, path: str = '<results>'
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bboxes (n, 4), scores (n,), labels (n,))`` of one result as
    numpy, labels as dataset indices, detections below ``score_thr`` and
    outside ``classes`` dropped."""
    pred = result['pred_instances']
    bboxes = torch.as_tensor(pred['bboxes']).cpu().numpy().reshape(-1, 4)
    scores = torch.as_tensor(pred['scores']).cpu().numpy().reshape(-1)
    labels = dataset_labels(result, classes, path)
    keep = (scores >= score_thr) & (labels >= 0)
    return bboxes[keep], scores[keep], labels[keep]


def ground_truth(info: dict) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bboxes, labels, ignore_flags)`` of a dataset's data info."""
    insts = info.get('instances', [])
    bboxes = np.asarray([i['bbox'] for i in insts],
                        np.float32).reshape(-1, 4)
    labels = np.asarray([i['bbox_label'] for i in insts], np.int64)
    ignore = np.asarray([bool(i.get('ignore_flag', 0)) for i in insts],
                        bool)
    return bboxes, labels, ignore


def class_names(dataset) -> List[str]:
    """The dataset's class names."""
    classes: Optional[Sequence[str]] = dataset.metainfo.get('classes')
    if not classes:
        raise ValueError('the test dataset has no classes in its metainfo')
    return list(classes)
