# Copyright (c) mmase contributors. All rights reserved.
import pytest

from mmase.datasets.transforms import VocabularyAsText


def test_texts_become_glip_text_tuple():
    t = VocabularyAsText()
    res = t({'img_path': 'a.png',
             'texts': ['white round spot', ' black crack. thin line. ']})
    # a tuple (hashable: GLIP compares the prompts of a batch with set())
    assert res['text'] == ('white round spot', 'black crack, thin line')
    assert res['custom_entities'] is True
    # the vocabulary itself is untouched, so labels keep indexing it
    assert res['texts'] == ['white round spot', ' black crack. thin line. ']


def test_options_and_errors():
    res = VocabularyAsText(custom_entities=False, strip_period=False)(
        {'texts': ['a. b']})
    assert res['text'] == ('a. b', ) and res['custom_entities'] is False
    with pytest.raises(KeyError, match='x.png'):
        VocabularyAsText()({'img_path': 'x.png'})
    with pytest.raises(KeyError, match='neither `texts` nor `text`'):
        VocabularyAsText()({'img_path': 'x.png', 'text': None})


def test_mmdet_text_key_without_vocabulary_transform():
    """DetInferencer's ``text`` reaches a GLIP/GDINO pipeline as the same
    one-entity-per-name tuple that LoadVocabulary + VocabularyAsText give."""
    from mmase.datasets.transforms import LoadVocabulary
    direct = VocabularyAsText()({'text': 'white spot . crack .',
                                 'custom_entities': False})
    assert direct['text'] == ('white spot', 'crack')
    assert direct['custom_entities'] is True
    chained = VocabularyAsText()(LoadVocabulary()(
        {'text': 'white spot . crack .', 'custom_entities': False}))
    assert chained['text'] == direct['text']
    with pytest.raises(ValueError, match='duplicate class names'):
        VocabularyAsText()({'img_path': 'x.png', 'text': 'a . a'})
    with pytest.raises(TypeError, match=r'texts\[1\] of y.png'):
        VocabularyAsText()({'img_path': 'y.png', 'texts': ['a', ['b']]})
