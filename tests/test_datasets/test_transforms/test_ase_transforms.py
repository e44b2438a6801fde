# Copyright (c) mmase contributors. All rights reserved.
import random

import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS

import mmase  # noqa: F401

PINK = (180, 105, 255)  # BGR
BG = (30, 30, 30)


def _aoi(size=40, dots=((10, 10), (10, 30), (30, 20))):
    img = np.zeros((size, size, 3), np.uint8)
    img[:] = BG
    for y, x in dots:
        img[y - 1:y + 2, x - 1:x + 2] = PINK  # 3x3 dots
    return img


def _pink_mask(img):
    return np.all(img == PINK, axis=-1)


def test_dot_jitter_moves_dots_and_keeps_shape():
    random.seed(0)
    t = TRANSFORMS.build(dict(type='AOIDotJitter', max_shift=2,
                              drop_prob=0.))
    img = _aoi()
    out = t(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
    # same number of pink pixels (3 dots x 9 px), background untouched
    assert _pink_mask(out).sum() == 27
    assert set(map(tuple, out[~_pink_mask(out)].reshape(-1, 3))) == {BG}
    # each dot moved by at most max_shift
    import cv2
    n, labels = cv2.connectedComponents(_pink_mask(out).astype(np.uint8))
    assert n - 1 == 3
    centers = sorted(
        tuple(np.argwhere(labels == k).mean(0)) for k in range(1, n))
    for (y, x), (y0, x0) in zip(centers, [(10, 10), (10, 30), (30, 20)]):
        assert abs(y - y0) <= 2 and abs(x - x0) <= 2
    # over a few draws something moves
    moved = any(not np.array_equal(
        t(dict(img=img.copy()))['img'], img) for _ in range(5))
    assert moved


def test_dot_dropout():
    random.seed(0)
    img = _aoi()
    drop_all = TRANSFORMS.build(dict(type='AOIDotJitter', drop_prob=1.))
    assert _pink_mask(drop_all(dict(img=img.copy(), gt_label=1))
                      ['img']).sum() == 0
    keep = TRANSFORMS.build(dict(type='AOIDotJitter', max_shift=0,
                                 drop_prob=0.))
    assert np.array_equal(keep(dict(img=img.copy()))['img'], img)
    with pytest.raises(TypeError, match='x.png'):
        keep(dict(img=None, img_path='x.png'))


def test_color_shift_changes_dots_not_layout():
    random.seed(1)
    t = TRANSFORMS.build(dict(type='AOIColorShift', hue_shift=20,
                              sat_range=(0.5, 0.6), val_range=(0.7, 0.8),
                              bg_shift=0))
    img = _aoi()
    out = t(dict(img=img.copy()))['img']
    fg = _pink_mask(img)
    assert np.all(out[~fg] == BG)  # bg_shift=0: background unchanged
    assert not np.any(_pink_mask(out))  # dot colour changed
    assert np.all(out[fg].astype(int).sum(-1) < np.array(PINK).sum())
    bg_only = TRANSFORMS.build(dict(type='AOIColorShift', hue_shift=0,
                                    sat_range=(1, 1), val_range=(1, 1),
                                    bg_shift=10))
    out = bg_only(dict(img=img.copy()))['img']
    assert np.abs(out[~fg].astype(int) - BG).max() <= 10
    assert np.abs(out[fg].astype(int) - PINK).max() <= 6  # HSV round trip


def test_record_field_dropout():
    random.seed(0)
    t = TRANSFORMS.build(dict(type='RecordFieldDropout', numeric_prob=1.,
                              text_prob=1., min_keep=1))
    res = t(dict(numeric=np.array([1., 2., 3.], np.float32),
                 record_text='machine: A; shift: night; line: 3'))
    assert np.isnan(res['numeric']).sum() == 2  # one kept by min_keep
    assert len(res['record_text'].split('; ')) == 1
    assert res['record_text'] in ('machine: A', 'shift: night', 'line: 3')
    none = TRANSFORMS.build(dict(type='RecordFieldDropout', numeric_prob=0.,
                                 text_prob=0.))
    src = np.array([1., 2.], np.float32)
    res = none(dict(numeric=src, record_text='a: 1; b: 2'))
    assert np.array_equal(res['numeric'], src)
    assert res['record_text'] == 'a: 1; b: 2'
    # dropout rate close to the probability
    half = TRANSFORMS.build(dict(type='RecordFieldDropout', numeric_prob=.5,
                                 min_keep=0))
    drops = [np.isnan(half(dict(numeric=np.zeros(10, np.float32)))
                      ['numeric']).sum() for _ in range(200)]
    assert 4 < np.mean(drops) < 6
    with pytest.raises(ValueError):
        TRANSFORMS.build(dict(type='RecordFieldDropout', numeric_prob=2.))


def test_description_paraphrase():
    random.seed(0)
    t = TRANSFORMS.build(dict(
        type='DescriptionParaphrase', templates=['{}', 'The map: {}'],
        synonyms={'dots': ['points']}, synonym_prob=1.,
        shuffle_sentences=False, prob=1.))
    outs = {t(dict(description='Dense dots in a ring.'))['description']
            for _ in range(20)}
    assert outs == {'Dense points in a ring.', 'The map: dense points in a '
                    'ring.'}
    assert t(dict(description=''))['description'] == ''
    off = TRANSFORMS.build(dict(type='DescriptionParaphrase', prob=0.))
    assert off(dict(description='Dots.'))['description'] == 'Dots.'
    with pytest.raises(ValueError, match='template'):
        TRANSFORMS.build(dict(type='DescriptionParaphrase',
                              templates=['no slot']))


def test_dot_dropout_never_on_normal():
    """Dropped dots look like `faded dots`: a `normal` sample keeps all."""
    random.seed(0)
    img = _aoi()
    t = TRANSFORMS.build(dict(type='AOIDotJitter', max_shift=0,
                              drop_prob=1.))  # no_drop_labels=(0, )
    for label in (0, np.array([0])):
        out = t(dict(img=img.copy(), gt_label=label))['img']
        assert _pink_mask(out).sum() == 27
    # no label: no dropout either; another class: every dot dropped
    assert _pink_mask(t(dict(img=img.copy()))['img']).sum() == 27
    assert _pink_mask(t(dict(img=img.copy(), gt_label=3))['img']).sum() == 0


def _tail_aug(counts, max_prob=1.):
    # a stand-in augmentation that marks the sample it touches
    return TRANSFORMS.build(dict(
        type='TailClassAugment', class_counts=counts, max_prob=max_prob,
        transforms=[dict(type='RecordFieldDropout', numeric_prob=1.,
                         min_keep=0, prob=1.)]))


def test_tail_class_augment_probabilities():
    t = _tail_aug([120, 60, 30, 0], max_prob=0.8)
    # p_c = 0.8 * (1 - n_c / 120)
    assert [t.class_prob(c) for c in range(4)] == pytest.approx(
        [0., 0.4, 0.6, 0.8])
    assert t.class_prob(7) == 0.  # unknown class: untouched
    random.seed(0)
    hits = {c: 0 for c in range(4)}
    for _ in range(500):
        for c in range(4):
            res = t(dict(gt_label=c, numeric=np.zeros(2, np.float32)))
            hits[c] += bool(np.isnan(res['numeric']).all())
    assert hits[0] == 0  # the head class is never touched
    assert 170 < hits[1] < 230 and 270 < hits[2] < 330 and hits[3] > 370
    with pytest.raises(KeyError, match='gt_label'):
        t(dict(numeric=np.zeros(2, np.float32), img_path='x.png'))
    with pytest.raises(ValueError, match='class_counts'):
        _tail_aug([])


def test_head_class_untouched_by_full_augmentation():
    """At probability 0 (the head class) nothing changes, image included."""
    random.seed(0)
    t = TRANSFORMS.build(dict(
        type='TailClassAugment', class_counts=[100, 10],
        transforms=[
            dict(type='AOIDotJitter', max_shift=2, drop_prob=0.5),
            dict(type='AOIColorShift'),
            dict(type='RecordFieldDropout', numeric_prob=1.),
            dict(type='DescriptionParaphrase', prob=1.)
        ]))
    img = _aoi()
    for _ in range(20):
        res = t(dict(img=img.copy(), gt_label=0,
                     numeric=np.ones(3, np.float32), record_text='a: 1',
                     description='Dots are dense.'))
        assert np.array_equal(res['img'], img)
        assert np.array_equal(res['numeric'], np.ones(3, np.float32))
        assert res['description'] == 'Dots are dense.'
    changed = [t(dict(img=img.copy(), gt_label=1,
                      numeric=np.ones(3, np.float32), record_text='a: 1',
                      description='Dots are dense.'))['img']
               for _ in range(20)]
    assert any(not np.array_equal(c, img) for c in changed)


def test_paraphrase_keeps_field_names_and_casing():
    random.seed(0)
    t = TRANSFORMS.build(dict(
        type='DescriptionParaphrase', templates=['In this AOI image, {}'],
        synonym_prob=1., shuffle_sentences=False, prob=1.))
    text = ('AOI sample. Unusual measurements: dot_count high; '
            'dot_diameter_um low.')
    for _ in range(10):
        out = t(dict(description=text))['description']
        assert out.startswith('In this AOI image, AOI sample.')
        assert 'dot_count high' in out and 'dot_diameter_um low' in out
    # an ordinary first word is lower-cased inside the template, ids kept
    out = t(dict(description='Dots on AOI-03 near L2305-07.'))['description']
    assert out.startswith('In this AOI image, ') and out[19].islower()
    assert 'AOI-03' in out and 'L2305-07' in out
