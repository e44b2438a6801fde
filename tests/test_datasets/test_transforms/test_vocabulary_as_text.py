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
    with pytest.raises(TypeError, match=r'texts\[1\] of y.png'):
        VocabularyAsText()({'img_path': 'y.png', 'texts': ['a', ['b']]})
