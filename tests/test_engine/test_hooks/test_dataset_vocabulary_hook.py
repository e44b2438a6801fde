# Copyright (c) mmase contributors. All rights reserved.
from types import SimpleNamespace

import pytest
import torch.nn as nn

import mmase  # noqa: F401
from mmase.engine.hooks import DatasetVocabularyHook


class _Det(nn.Module):

    def __init__(self):
        super().__init__()
        self.vocab = None

    def set_vocabulary(self, texts):
        self.vocab = list(texts)


class _Wrapped:
    """A dataset wrapper (like ClassBalancedDataset) without metainfo."""

    def __init__(self, dataset):
        self.dataset = dataset


def _loader(classes, wrap=False):
    ds = SimpleNamespace(metainfo=dict(classes=classes))
    return SimpleNamespace(dataset=_Wrapped(ds) if wrap else ds)


def test_sets_vocabulary_per_phase():
    model = _Det()
    runner = SimpleNamespace(
        model=model,
        train_dataloader=_loader(('traffic_light', 'cat'), wrap=True),
        val_dataloader=_loader(('dog', 'cat', 'bird')),
        test_dataloader=_loader(('zebra', )),
        _train_loop=object())
    hook = DatasetVocabularyHook()
    hook.before_train(runner)
    assert model.vocab == ['traffic light', 'cat']
    hook.before_val(runner)
    assert model.vocab == ['dog', 'cat', 'bird']
    hook.after_val(runner)
    assert model.vocab == ['traffic light', 'cat']
    DatasetVocabularyHook('a photo of a {}').before_test(runner)
    assert model.vocab == ['a photo of a zebra']


def test_errors():
    runner = SimpleNamespace(model=nn.Linear(1, 1),
                             val_dataloader=_loader(('a', )))
    with pytest.raises(TypeError, match='set_vocabulary'):
        DatasetVocabularyHook().before_val(runner)
    runner = SimpleNamespace(model=_Det(), val_dataloader=_loader(()))
    with pytest.raises(ValueError, match='no metainfo classes'):
        DatasetVocabularyHook().before_val(runner)


class _LabelMapDet(_Det):

    def set_vocabulary(self, texts, label_map=None):
        self.vocab = list(texts)
        self.label_map = None if label_map is None else list(label_map)


def test_lvis_training_vocabulary_excludes_rare_names(tmp_path):
    """mmdet's LVISV1Dataset on a file with the 1203 LVIS categories, three
    of them rare: the training vocabulary holds the 1200 base names, labels
    map into it, and evaluation sees all 1203."""
    import json

    import torch
    from mmdet.datasets import LVISV1Dataset
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    from mmase.models.detectors import YOLOWorldDetector
    names = LVISV1Dataset.METAINFO['classes']
    rare = {0, 5, 1202}
    cats = [dict(id=i + 1, name=n, synset=f'{n}.n.01',
                 frequency='r' if i in rare else ('c' if i % 2 else 'f'))
            for i, n in enumerate(names)]
    img = dict(id=1, file_name='000000000001.jpg', width=64, height=48,
               coco_url='http://x/000000000001.jpg', neg_category_ids=[],
               not_exhaustive_category_ids=[])
    ann = dict(id=1, image_id=1, category_id=2, bbox=[4, 4, 10, 8],
               area=80.0, segmentation=[[4, 4, 14, 4, 14, 12, 4, 12]])
    path = tmp_path / 'lvis_v1_train_base.json'
    path.write_text(json.dumps(dict(images=[img], annotations=[ann],
                                    categories=cats)))
    dataset = LVISV1Dataset(ann_file=str(path), data_prefix=dict(img=''),
                            pipeline=[], lazy_init=False)
    model = _LabelMapDet()
    runner = SimpleNamespace(
        model=model, train_dataloader=SimpleNamespace(dataset=dataset),
        val_dataloader=SimpleNamespace(dataset=dataset),
        test_dataloader=SimpleNamespace(dataset=dataset),
        _train_loop=object())
    hook = DatasetVocabularyHook(train_exclude_frequencies=('r', ))
    hook.before_train(runner)
    rare_names = {names[i].replace('_', ' ') for i in rare}
    assert len(model.vocab) == 1200
    assert not rare_names & set(model.vocab)
    assert [model.label_map[i] for i in sorted(rare)] == [-1, -1, -1]
    assert model.vocab[model.label_map[1]] == names[1].replace('_', ' ')
    assert model.vocab[model.label_map[7]] == names[7].replace('_', ' ')
    hook.before_test(runner)
    assert len(model.vocab) == 1203 and model.label_map is None
    hook.after_val(runner)
    assert len(model.vocab) == 1200

    # the detector maps a sample's dataset labels and drops rare boxes
    holder = SimpleNamespace(_label_map=torch.tensor(
        [-1, 0, 1, 2, 3, -1, 4]))
    s = DetDataSample()
    s.gt_instances = InstanceData(
        bboxes=torch.arange(12.).view(3, 4), labels=torch.tensor([0, 6, 2]))
    YOLOWorldDetector.remap_gt_labels(holder, [s])
    assert s.gt_instances.labels.tolist() == [4, 1]
    assert s.gt_instances.bboxes[:, 0].tolist() == [4., 8.]


def test_bad_frequency_option():
    with pytest.raises(ValueError, match='r/c/f'):
        DatasetVocabularyHook(train_exclude_frequencies=('rare', ))
