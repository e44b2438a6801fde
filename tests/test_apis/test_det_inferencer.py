# Copyright (c) mmase contributors. All rights reserved.
"""mmdet's DetInferencer on mmase's open-vocabulary detectors.

``DetInferencer(model=CONFIG, weights=CKPT)(img, texts='a . b')`` is how
mmdet 3.x runs open-vocabulary models: the inferencer puts ``text`` and
``custom_entities`` into the test pipeline, where ``LoadVocabulary`` reads
them.
"""
import os
import os.path as osp

import numpy as np
import pytest
import torch

from mmase.testing.tiny_open_vocab import make_tiny_open_vocab_run


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('det_inferencer')
    run = make_tiny_open_vocab_run(str(root))
    images = sorted(os.listdir(osp.join(run['data'], 'images')))
    return dict(run, root=root,
                img=osp.join(run['data'], 'images', images[0]))


def _model_files(setup, kind, **model_overrides):
    """Config + checkpoint (random weights, train classes in its meta, as
    mmengine's runner saves them)."""
    run = make_tiny_open_vocab_run(str(setup['root']), kind)
    cfg = run['config']
    if model_overrides:
        text = open(cfg).read() + f'\nmodel.update({model_overrides!r})\n'
        cfg = str(setup['root'] / f'{kind}_override.py')
        with open(cfg, 'w') as f:
            f.write(text)
    return cfg, run['checkpoint']


def _inferencer(cfg, ckpt):
    from mmdet.apis import DetInferencer
    return DetInferencer(model=cfg, weights=ckpt, device='cpu',
                         show_progress=False)


@pytest.mark.parametrize('kind', ['yolo_world', 'rtvp'])
def test_texts_name_the_classes(setup, kind, tmp_path):
    cfg, ckpt = _model_files(setup, kind)
    inferencer = _inferencer(cfg, ckpt)
    names = ['white round spot', 'black long crack', 'rust']
    out = inferencer(setup['img'], texts=' . '.join(names) + ' .',
                     custom_entities=True, return_datasamples=True,
                     out_dir=str(tmp_path / 'vis'))
    pred = out['predictions'][0]
    assert pred.texts == names  # LoadVocabulary read mmdet's `text`
    inst = pred.pred_instances
    assert len(inst) > 0
    assert inst.labels.max() < len(names)
    assert list(inst.label_names) == [names[i] for i in inst.labels.tolist()]
    # the drawing is written where mmdet writes it
    assert os.listdir(tmp_path / 'vis' / 'vis') == [
        osp.basename(setup['img'])
    ]

    # the same image through the test pipeline as tools/test.py feeds it
    # (the dataset's class texts): the same detections
    data = inferencer.pipeline(dict(img_path=setup['img'],
                                    texts=[[n, 'a description'] for n in
                                           names]))
    with torch.no_grad():
        ref = inferencer.model.test_step(
            inferencer.collate_fn([data]))[0].pred_instances
    assert torch.allclose(ref.bboxes, inst.bboxes)
    assert torch.allclose(ref.scores, inst.scores)
    assert torch.equal(ref.labels, inst.labels)

    # a list per image (one tuple of names each), as mmdet allows
    out2 = inferencer([setup['img'], setup['img']],
                      texts=[tuple(names), ('rust', )],
                      return_datasamples=True)
    p0, p1 = out2['predictions']
    assert torch.allclose(p0.pred_instances.scores, inst.scores)
    assert set(p1.pred_instances.label_names) == {'rust'}


def test_without_texts_the_checkpoint_classes(setup):
    cfg, ckpt = _model_files(setup, 'yolo_world')
    inferencer = _inferencer(cfg, ckpt)
    out = inferencer(setup['img'], return_datasamples=True)
    pred = out['predictions'][0]
    assert 'texts' not in pred  # nothing packed: the model's vocabulary
    assert set(pred.pred_instances.label_names) <= set(setup['seen'])
    # identical to giving those classes as texts
    named = inferencer(setup['img'], texts=' . '.join(setup['seen']),
                       return_datasamples=True)['predictions'][0]
    assert torch.allclose(named.pred_instances.scores,
                          pred.pred_instances.scores)
    assert list(named.pred_instances.label_names) == list(
        pred.pred_instances.label_names)
    # dict output: labels index the checkpoint classes
    plain = inferencer(setup['img'])['predictions'][0]
    assert plain['labels'] == pred.pred_instances.labels.tolist()


def test_config_vocabulary_wins_over_checkpoint_classes(setup):
    vocab = ['white round spot', 'rust']
    cfg, ckpt = _model_files(setup, 'yolo_world', vocabulary=vocab)
    pred = _inferencer(cfg, ckpt)(
        setup['img'], return_datasamples=True)['predictions'][0]
    assert set(pred.pred_instances.label_names) <= set(vocab)
    assert pred.pred_instances.labels.max() < len(vocab)


def test_bad_texts_name_the_field(setup):
    cfg, ckpt = _model_files(setup, 'yolo_world')
    inferencer = _inferencer(cfg, ckpt)
    with pytest.raises(ValueError, match=r'duplicate class names \[.rust.\]'):
        inferencer(setup['img'], texts='rust . dent . rust')
    with pytest.raises(ValueError, match='no class name'):
        inferencer(setup['img'], texts=' . ')


def test_many_texts_are_drawn(setup, tmp_path):
    """A vocabulary longer than any palette still draws (MMIODataset's
    palette before loading is mmdet's seeded 'random' one)."""
    cfg, ckpt = _model_files(setup, 'yolo_world')
    names = [f'defect {k}' for k in range(90)]
    out = _inferencer(cfg, ckpt)(setup['img'], texts=' . '.join(names),
                                 return_vis=True, pred_score_thr=0.0,
                                 return_datasamples=True)
    vis = out['visualization'][0]
    assert vis.shape[:2] == (64, 64) and vis.dtype == np.uint8
    # boxes were drawn (10 of them, labels up to the 90 names)
    assert len(out['predictions'][0].pred_instances) == 10
    import mmcv
    assert not np.array_equal(
        vis, mmcv.imread(setup['img'], channel_order='rgb'))
