# Copyright (c) mmase contributors. All rights reserved.
"""The mmdet-style analysis tools on a tiny MMIO set: eval_metric,
confusion_matrix, analyze_results, unseen_outcomes (from a test.py --out
pickle), browse_dataset (after the pipeline), print_config; the pickle
reader."""
import importlib.util
import json
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from mmase.testing.tiny_open_vocab import make_tiny_open_vocab_run

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# every image of the tiny set, so classes repeat across images
ALL = ['test_dataloader.dataset.ann_file=annotations/instances_all.json']


def _tool(*rel):
    path = osp.join(REPO, 'tools', *rel)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(rel[-1])[0], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp('analysis')
    run = make_tiny_open_vocab_run(str(root))
    all_json = osp.join(run['data'], 'annotations', 'instances_all.json')
    run['cfg_all'] = ALL + [f'test_evaluator.ann_file={all_json}']
    return dict(run, root=root)


def _dataset(run, all_images=True):
    from mmengine.config import Config

    from mmase.apis.det_results import build_test_dataset
    cfg = Config.fromfile(run['config'])
    if all_images:
        cfg.merge_from_dict(dict(a.split('=', 1) for a in run['cfg_all']))
    return build_test_dataset(cfg)


def _gt_pickle(run, path, edit=None):
    """A results pickle whose detections are the ground truth (score 0.9),
    in test.py's format; ``edit(i, boxes, scores, labels)`` may change
    an image's."""
    ds = _dataset(run)
    classes = list(ds.metainfo['classes'])
    results = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        boxes = [inst['bbox'] for inst in info['instances']]
        labels = [inst['bbox_label'] for inst in info['instances']]
        scores = [0.9] * len(boxes)
        if edit is not None:
            boxes, scores, labels = edit(i, boxes, scores, labels)
        results.append(dict(
            img_id=info['img_id'], img_path=info['img_path'], texts=classes,
            ori_shape=(64, 64),
            pred_instances=dict(
                bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(
                    -1, 4),
                scores=torch.tensor(scores, dtype=torch.float32),
                labels=torch.tensor(labels, dtype=torch.int64))))
    with open(path, 'wb') as f:
        pickle.dump(results, f)
    return ds, results


@pytest.fixture(scope='module')
def test_py_pickle(run):
    """tools/test.py --out on the tiny model (random weights)."""
    wd = run['root'] / 'wd'
    _tool('test.py').main([run['config'], run['checkpoint'], '--work-dir',
                           str(wd), '--out', str(wd / 'preds.pkl')])
    return wd


def test_eval_metric_reproduces_test_py(run, test_py_pickle):
    wd = test_py_pickle
    got = _tool('analysis', 'eval_metric.py').main(
        [run['config'], str(wd / 'preds.pkl'), '--out', str(wd / 'm.json')])
    with open(wd / 'metrics.json') as f:
        expect = json.load(f)
    assert set(got) == set(expect) and 'zs/hm_bbox_mAP' in got
    for k, v in expect.items():
        assert got[k] == pytest.approx(v, abs=1e-9), k
    with open(wd / 'm.json') as f:
        assert json.load(f) == got


def test_eval_metric_zero_shot_values_by_hand(run, tmp_path):
    """Detections equal to the ground truth: AP, precision and recall 1 on
    every class group present; one box dropped: recall 23/24."""
    tool = _tool('analysis', 'eval_metric.py')
    pkl = tmp_path / 'gt.pkl'
    _gt_pickle(run, pkl)
    m = tool.main([run['config'], str(pkl), '--cfg-options'] +
                  run['cfg_all'])
    for group in ('seen', 'unseen', 'all'):
        assert m[f'zs/{group}_bbox_mAP'] == pytest.approx(1.0)
        assert m[f'zs/{group}_recall'] == pytest.approx(1.0)
    assert m['zs/hm_bbox_mAP'] == pytest.approx(1.0)

    def drop_first(i, boxes, scores, labels):
        return ((boxes[1:], scores[1:], labels[1:]) if i == 0 else
                (boxes, scores, labels))

    _gt_pickle(run, pkl, drop_first)
    m = tool.main([run['config'], str(pkl), '--cfg-options'] +
                  run['cfg_all'])
    num_gt = sum(len(_dataset(run).get_data_info(i)['instances'])
                 for i in range(12))
    assert num_gt == 24
    # maxDets=100, IoU 0.50:0.95: recall = found / all boxes
    assert m['zs/all_recall'] == pytest.approx(23 / 24, abs=1e-3)


def test_eval_metric_refuses_another_datasets_pickle(run, test_py_pickle):
    """The pickle of the 2 test images does not fit the 12-image set."""
    with pytest.raises(ValueError, match=r'preds\.pkl: 2 results for 12 '):
        _tool('analysis', 'eval_metric.py').main(
            [run['config'], str(test_py_pickle / 'preds.pkl'),
             '--cfg-options'] + run['cfg_all'])


def test_confusion_matrix_by_hand(run, tmp_path):
    """Ground-truth detections plus, on image 0, a copy of its first box
    with another label: the diagonal holds the boxes of each class, the
    copy adds one (true class, other class) count, nothing is background."""
    ds = _dataset(run)
    classes = list(ds.metainfo['classes'])
    first = ds.get_data_info(0)['instances'][0]
    wrong = (first['bbox_label'] + 1) % len(classes)

    def add_wrong(i, boxes, scores, labels):
        if i == 0:
            return (boxes + [first['bbox']], scores + [0.8],
                    labels + [wrong])
        return boxes, scores, labels

    pkl = tmp_path / 'gt.pkl'
    _gt_pickle(run, pkl, add_wrong)
    out = tmp_path / 'cm'
    matrix, labels = _tool('analysis', 'confusion_matrix.py').main(
        [run['config'], str(pkl), str(out), '--score-thr', '0.5',
         '--cfg-options'] + run['cfg_all'])
    n = len(classes)
    assert labels == classes + ['background']
    assert matrix.shape == (n + 1, n + 1)
    expect = np.zeros((n + 1, n + 1))
    for i in range(len(ds)):
        for inst in ds.get_data_info(i)['instances']:
            expect[inst['bbox_label'], inst['bbox_label']] += 1
    expect[first['bbox_label'], wrong] += 1
    assert np.array_equal(matrix, expect)
    with open(out / 'confusion_matrix.json') as f:
        saved = json.load(f)
    assert saved['counts'] == expect.astype(int).tolist()
    assert saved['classes'][-1] == 'background'
    assert (out / 'confusion_matrix.png').stat().st_size > 1000
    # above the copy's score it is gone
    matrix, _ = _tool('analysis', 'confusion_matrix.py').main(
        [run['config'], str(pkl), str(out), '--score-thr', '0.85',
         '--cfg-options'] + run['cfg_all'])
    expect[first['bbox_label'], wrong] -= 1
    assert np.array_equal(matrix, expect)


def test_confusion_matrix_maps_labels_by_name(run, tmp_path):
    """Predictions made with another vocabulary order are counted under the
    dataset class of their name."""
    ds = _dataset(run)
    classes = list(ds.metainfo['classes'])
    pkl = tmp_path / 'gt.pkl'
    _, results = _gt_pickle(run, pkl)
    for res in results:  # reversed vocabulary, labels follow it
        res['texts'] = classes[::-1]
        res['pred_instances']['labels'] = len(classes) - 1 - res[
            'pred_instances']['labels']
    with open(pkl, 'wb') as f:
        pickle.dump(results, f)
    matrix, _ = _tool('analysis', 'confusion_matrix.py').main(
        [run['config'], str(pkl), str(tmp_path / 'cm'), '--cfg-options'] +
        run['cfg_all'])
    assert np.trace(matrix) == 24 and matrix.sum() == 24


def test_analyze_results_best_and_worst_per_class(run, tmp_path):
    """Class of 4 boxes in 4 images: its detection removed on one image ->
    AP 0 there (worst), 1 elsewhere."""
    ds = _dataset(run)
    classes = list(ds.metainfo['classes'])
    per_class = {}
    for i in range(len(ds)):
        for inst in ds.get_data_info(i)['instances']:
            per_class.setdefault(inst['bbox_label'], set()).add(i)
    label, images = max(per_class.items(), key=lambda kv: len(kv[1]))
    assert len(images) >= 3
    victim = sorted(images)[1]

    def miss(i, boxes, scores, labels):
        if i != victim:
            return boxes, scores, labels
        keep = [k for k, lab in enumerate(labels) if lab != label]
        return ([boxes[k] for k in keep], [scores[k] for k in keep],
                [labels[k] for k in keep])

    pkl = tmp_path / 'gt.pkl'
    _gt_pickle(run, pkl, miss)
    out = tmp_path / 'ar'
    ranking = _tool('analysis', 'analyze_results.py').main(
        [run['config'], str(pkl), str(out), '--topk', '1',
         '--classes', classes[label], '--cfg-options'] + run['cfg_all'])
    rows = ranking[classes[label]]
    assert [r['index'] for r in rows][-1] == victim
    assert rows[-1]['ap'] == 0.0
    assert all(r['ap'] == pytest.approx(1.0) for r in rows[:-1])
    assert len(rows) == len(images)
    stem = osp.splitext(osp.basename(ds.get_data_info(victim)['img_path']))[0]
    cls_dir = out / classes[label].replace(' ', '_')
    assert os.listdir(cls_dir / 'worst') == [f'01_{stem}_ap0.000.png']
    assert len(os.listdir(cls_dir / 'best')) == 1
    with open(out / 'per_class_ap.json') as f:
        assert json.load(f)[classes[label]][-1]['ap'] == 0.0
    with pytest.raises(ValueError, match=r"--classes: \['rust'\] not in"):
        _tool('analysis', 'analyze_results.py').main(
            [run['config'], str(pkl), str(out), '--classes', 'rust',
             '--cfg-options'] + run['cfg_all'])


def test_browse_dataset_shows_remapped_labels_and_texts(run, tmp_path):
    """After RandomVocabulary each box's label points into the image's own
    vocabulary; the drawn name is that entry, which is the annotated
    class."""
    out = tmp_path / 'browse'
    records = _tool('analysis', 'browse_dataset.py').main(
        [run['config'], '--output-dir', str(out), '--num', '0'])
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope
    init_default_scope('mmdet')
    cfg = Config.fromfile(run['config'])
    ds = DATASETS.build(dict(cfg.train_dataloader.dataset, pipeline=[]))
    classes = ds.metainfo['classes']
    assert len(records) == len(ds) > 0
    remapped = 0
    for rec in records:
        info = ds.get_data_info(rec['index'])
        names = sorted(classes[i['bbox_label']] for i in info['instances'])
        assert sorted(rec['gt_names']) == names  # the annotated classes
        assert len(rec['texts']) == 4  # num_vocab of the config
        assert [rec['texts'][k] for k in rec['gt_labels']] == rec['gt_names']
        remapped += any(classes.index(n) != k for n, k in zip(
            rec['gt_names'], rec['gt_labels']))
        assert (out / rec['picture']).stat().st_size > 500
    assert remapped > 0  # labels differ from the dataset's
    with open(out / 'browse.json') as f:
        assert json.load(f) == records


def test_browse_dataset_test_split_and_bad_split(run, tmp_path):
    records = _tool('analysis', 'browse_dataset.py').main(
        [run['config'], '--output-dir', str(tmp_path), '--split', 'test',
         '--num', '1'])
    # LoadVocabulary: the whole class list, labels are dataset labels
    assert len(records) == 1 and len(records[0]['texts']) == 38
    with pytest.raises(SystemExit):
        _tool('analysis', 'browse_dataset.py').main(
            [run['config'], '--output-dir', str(tmp_path), '--split',
             'nope'])


def test_print_config(run, tmp_path, capsys):
    saved = tmp_path / 'merged.py'
    cfg = _tool('analysis', 'print_config.py').main(
        [run['config'], '--cfg-options', 'train_cfg.max_epochs=7',
         '--save-path', str(saved)])
    text = capsys.readouterr().out
    assert cfg.train_cfg.max_epochs == 7 and 'max_epochs=7' in text
    # the inherited runtime is resolved (mmdet:: base through mmase's)
    assert "type='AtomicCheckpointHook'" in text or 'CheckpointHook' in text
    from mmengine.config import Config
    assert Config.fromfile(str(saved)).train_cfg.max_epochs == 7
    with pytest.raises(ValueError, match='--save-path must end in'):
        _tool('analysis', 'print_config.py').main(
            [run['config'], '--save-path', str(tmp_path / 'x.txt')])
    # the analysis tools check --cfg-options as train.py does: a top-level
    # key nothing reads is a typo, not a new setting
    with pytest.raises(ValueError, match='trian_cfg'):
        _tool('analysis', 'print_config.py').main(
            [run['config'], '--cfg-options', 'trian_cfg.max_epochs=7'])


def test_results_pickle_cannot_run_code(tmp_path):
    from mmase.apis.det_results import load_results
    marker = tmp_path / 'ran'

    class Evil:

        def __reduce__(self):
            return (os.system, (f'touch {marker}', ))

    bad = tmp_path / 'evil.pkl'
    with open(bad, 'wb') as f:
        pickle.dump([dict(pred_instances=Evil())], f)
    with pytest.raises(pickle.UnpicklingError,
                       match=r'evil\.pkl: refused to load: the pickle needs '
                       r'(posix|os)\.system'):
        load_results(str(bad))
    assert not marker.exists()
    # a truncated file names the file
    good = tmp_path / 'good.pkl'
    with open(good, 'wb') as f:
        pickle.dump([dict(a=torch.zeros(3))], f)
    assert torch.equal(load_results(str(good))[0]['a'], torch.zeros(3))
    data = good.read_bytes()
    good.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=r'good\.pkl: not a readable'):
        load_results(str(good))


def test_unseen_outcomes_by_hand(run, tmp_path):
    """Ground-truth detections name every unseen object right; a seen name
    scored above the right one on an unseen object takes it over, an
    unseen object without a detection is missed; wrong names are broken
    down by the attributes they share."""
    tool = _tool('analysis', 'unseen_outcomes.py')
    attrs = {'white round spot': dict(color='white', form='round',
                                      shape='spot'),
             'white long crack': dict(color='white', form='long',
                                      shape='crack'),
             'black round hole': dict(color='black', form='round',
                                      shape='hole')}
    unseen = ['white round spot']
    assert tool.outcome('white round spot', 'white long crack', unseen,
                        attrs) == 'seen name, same color'
    assert tool.outcome('white round spot', 'black round hole', unseen,
                        attrs) == 'seen name, same form'
    assert tool.outcome('white round spot', None, unseen, attrs) == 'missed'
    gt = np.array([[0., 0., 10., 10.], [20., 20., 30., 30.]])
    dets = np.array([[0., 0., 10., 9.], [0., 0., 10., 10.]])
    # the higher score wins among the boxes with IoU >= 0.5
    assert tool.object_outcomes(
        gt, ['white round spot', 'white round spot'], dets,
        np.array([0.2, 0.6]), ['white round spot', 'black round hole'],
        unseen, attrs) == ['seen name, same form', 'missed']

    ds = _dataset(run)
    classes = list(ds.metainfo['classes'])
    with open(osp.join(run['data'], 'split.json')) as f:
        split = json.load(f)
    seen_label = classes.index(split['seen'][0])
    unseen_objs = [(i, k) for i in range(len(ds))
                   for k, inst in enumerate(ds.get_data_info(i)['instances'])
                   if classes[inst['bbox_label']] in split['unseen']]
    assert len(unseen_objs) >= 2
    (i_wrong, k_wrong), (i_miss, k_miss) = unseen_objs[:2]

    def edit(i, boxes, scores, labels):
        boxes, scores, labels = list(boxes), list(scores), list(labels)
        if i == i_wrong:
            boxes.append(boxes[k_wrong])
            scores.append(0.95)
            labels.append(seen_label)
        if i == i_miss:  # drop the object's detection
            boxes.pop(k_miss)
            scores.pop(k_miss)
            labels.pop(k_miss)
        return boxes, scores, labels

    edited, exact = tmp_path / 'edited.pkl', tmp_path / 'gt.pkl'
    _gt_pickle(run, edited, edit)
    _gt_pickle(run, exact)
    out = tmp_path / 'outcomes.json'
    # two pickles: one column each (as for training seeds)
    table = tool.main([run['config'], str(edited), str(exact), '--out',
                       str(out), '--cfg-options'] + run['cfg_all'])
    n = len(unseen_objs)
    with open(osp.join(run['data'], 'annotations',
                       'instances_all.json')) as f:
        attributes = {c['name']: c.get('attributes', {})
                      for c in json.load(f)['categories']}
    wrong_true = classes[ds.get_data_info(i_wrong)['instances'][k_wrong]
                         ['bbox_label']]
    wrong_key = tool.outcome(wrong_true, classes[seen_label],
                             split['unseen'], attributes)
    assert wrong_key.startswith('seen name, same ')
    assert table['right name'] == pytest.approx([100 * (n - 2) / n, 100.])
    assert table['missed'] == pytest.approx([100 / n, 0.])
    assert table[wrong_key] == pytest.approx([100 / n, 0.])
    with open(out) as f:
        assert json.load(f)['percent'] == table

