# Copyright (c) mmase contributors. All rights reserved.
"""RandomVocabulary and LoadVocabulary."""
import random

import numpy as np
import pytest

from mmase.datasets.transforms import LoadVocabulary, RandomVocabulary

TEXTS = [[f'class {k}', f'description {k} a', f'description {k} b']
         for k in range(10)]


def _results(labels, texts=TEXTS):
    return dict(texts=[list(t) for t in texts],
                gt_bboxes_labels=np.array(labels, np.int64))


def test_keeps_positives_adds_negatives_and_remaps():
    random.seed(0)
    t = RandomVocabulary(num_vocab=6)
    for _ in range(20):
        out = t(_results([3, 7, 3]))
        texts, labels = out['texts'], out['gt_bboxes_labels']
        assert len(texts) == 6 and len(set(texts)) == 6
        assert [texts[lab] for lab in labels] == ['class 3', 'class 7',
                                                  'class 3']
        assert labels.dtype == np.int64
        assert [f'class {k}' for k in out['vocab_class_ids']] == texts


def test_negatives_are_random_and_order_shuffled():
    random.seed(1)
    t = RandomVocabulary(num_vocab=4)
    vocabs = {tuple(t(_results([0]))['texts']) for _ in range(30)}
    assert len(vocabs) > 5
    positions = {t(_results([0]))['texts'].index('class 0')
                 for _ in range(30)}
    assert positions == {0, 1, 2, 3}
    fixed = RandomVocabulary(num_vocab=4, shuffle=False)
    assert fixed(_results([5]))['texts'][0] == 'class 5'


def test_more_positives_than_num_vocab_and_small_dataset():
    out = RandomVocabulary(num_vocab=2)(_results([1, 2, 4, 8]))
    assert sorted(out['texts']) == ['class 1', 'class 2', 'class 4',
                                    'class 8']
    out = RandomVocabulary(num_vocab=80)(_results([1], TEXTS[:3]))
    assert sorted(out['texts']) == ['class 0', 'class 1', 'class 2']
    out = RandomVocabulary(num_vocab=3)(dict(texts=TEXTS))
    assert len(out['texts']) == 3
    assert out['gt_bboxes_labels'].shape == (0, )


def test_descriptions():
    random.seed(0)
    out = RandomVocabulary(num_vocab=10, use_descriptions_prob=1.0)(
        _results([2]))
    assert all(s.startswith('description') for s in out['texts'])
    lab = out['gt_bboxes_labels'][0]
    assert out['texts'][lab] in ('description 2 a', 'description 2 b')
    out = RandomVocabulary(num_vocab=3, use_descriptions_prob=1.0)(
        _results([0], [['only name'], ['b'], ['c']]))
    assert sorted(out['texts']) == ['b', 'c', 'only name']


def test_random_vocabulary_errors():
    with pytest.raises(KeyError, match='texts'):
        RandomVocabulary()(dict(gt_bboxes_labels=np.array([0])))
    with pytest.raises(ValueError, match='out of range'):
        RandomVocabulary()(_results([10]))
    with pytest.raises(ValueError, match=r"\['texts'\]\[1\]"):
        RandomVocabulary()(_results([0], [['a'], []]))
    with pytest.raises(ValueError, match='num_vocab'):
        RandomVocabulary(num_vocab=0)


def test_load_vocabulary_modes():
    texts = [['spot', 'a dark spot'], ['hole']]
    assert LoadVocabulary()(dict(texts=texts))['texts'] == ['spot', 'hole']
    assert LoadVocabulary('description')(dict(texts=texts))['texts'] == [
        'a dark spot', 'hole'
    ]
    assert LoadVocabulary('name_and_description')(
        dict(texts=texts))['texts'] == ['spot: a dark spot', 'hole']
    with pytest.raises(ValueError, match='text_mode'):
        LoadVocabulary('random')


def test_load_vocabulary_reads_mmdet_text_key():
    """DetInferencer(...)(img, texts='a . b') gives ``text`` and
    ``custom_entities``, not ``texts``."""
    t = LoadVocabulary('name_and_description')
    for custom in (True, False):  # one class per name either way
        out = t(dict(img_path='x.png', text='white spot . 0.5 mm crack .',
                     custom_entities=custom))
        assert out['texts'] == ['white spot', '0.5 mm crack']
        assert out['custom_entities'] is custom  # kept for GLIP/GDINO
    # one tuple per image (DetInferencer's texts=[...] form); it wins over
    # a dataset's texts, as the caller asked for it
    out = t(dict(text=('spot', ' hole '), texts=[['crack', 'long']]))
    assert out['texts'] == ['spot', 'hole']
    assert t(dict(text='spot, hole'))['texts'] == ['spot', 'hole']
    assert t(dict(text='spot. hole.'))['texts'] == ['spot', 'hole']


def test_load_vocabulary_without_texts_leaves_it_to_the_model():
    out = LoadVocabulary()(dict(img_path='x.png'))
    assert 'texts' not in out  # PackDetInputs then packs none
    out = LoadVocabulary()(dict(img_path='x.png', text=None))
    assert 'texts' not in out


@pytest.mark.parametrize('text,msg', [
    (' . ', r"text of x\.png: no class name in ' \. '"),
    ('a . b . a', r"text of x\.png: duplicate class names \['a'\]"),
    (('a', ''), r'text of x\.png\[1\] must be a non-empty string'),
    (3, 'text of x.png must be a string or a list of strings, got int'),
])
def test_load_vocabulary_bad_text(text, msg):
    with pytest.raises(ValueError, match=msg):
        LoadVocabulary()(dict(img_path='x.png', text=text))
