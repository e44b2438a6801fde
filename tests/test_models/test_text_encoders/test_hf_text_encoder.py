# Copyright (c) mmase contributors. All rights reserved.
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from mmase.models.text_encoders import HFTextEncoder, default_text_model_path
from mmase.testing import make_tiny_bert, make_tiny_clip_text


@pytest.fixture(scope='module')
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(str(tmp_path_factory.mktemp('bert')))


@pytest.fixture(scope='module')
def tiny_clip(tmp_path_factory):
    return make_tiny_clip_text(str(tmp_path_factory.mktemp('clip')))


def test_sentence_mean_pooling(tiny_bert):
    enc = HFTextEncoder(tiny_bert).eval()
    assert enc.model_type == 'sentence'
    assert enc.embed_dim == 32
    texts = ['white spot', 'a long dark scratch on the metal surface']
    emb = enc(texts)
    assert emb.shape == (2, 32)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(2))
    # masked mean by hand, one sentence at a time (no padding involved)
    for i, t in enumerate(texts):
        tok = enc.tokenizer([t], return_tensors='pt')
        hidden = enc.model(**tok).last_hidden_state[0]
        expected = F.normalize(hidden.mean(0), dim=-1)
        torch.testing.assert_close(emb[i], expected, atol=1e-5, rtol=1e-5)
    # padding tokens must not change the short sentence's embedding
    alone = HFTextEncoder(tiny_bert, cache_vocab=False)(['white spot'])
    torch.testing.assert_close(alone[0], emb[0], atol=1e-5, rtol=1e-5)


def test_clip_text_embeds(tiny_clip):
    enc = HFTextEncoder(tiny_clip, model_type='auto').eval()
    assert enc.model_type == 'clip'
    assert enc.embed_dim == 16 and enc.hidden_dim == 32
    texts = ['crack', 'white round spot']
    emb = enc(texts)
    assert emb.shape == (2, 16)
    tok = enc.tokenizer(['crack'], return_tensors='pt')
    expected = F.normalize(enc.model(**tok).text_embeds[0], dim=-1)
    torch.testing.assert_close(emb[0], expected, atol=1e-5, rtol=1e-5)
    hidden, mask = enc.forward_tokens(texts)
    assert hidden.shape[0] == 2 and hidden.shape[2] == 32
    assert mask.dtype == torch.bool and mask.shape == hidden.shape[:2]
    # 'crack' is shorter: its row has padding, the other has none
    assert mask[1].all() and not mask[0].all()


def test_frozen_cache_and_train_mode(tiny_bert):
    enc = HFTextEncoder(tiny_bert)
    assert not any(p.requires_grad for p in enc.parameters())
    enc.train()
    assert not enc.model.training  # frozen model stays in eval mode
    a = enc(['crack', 'dent'])
    assert not a.requires_grad
    assert enc(['crack', 'dent']) is not a  # no cache while training
    enc.eval()
    b = enc(['crack', 'dent'])
    assert enc(['crack', 'dent']) is b
    assert enc(['dent', 'crack']) is not b
    torch.testing.assert_close(a, b)


def test_unfrozen_gets_gradients(tiny_bert):
    enc = HFTextEncoder(tiny_bert, frozen=False).train()
    emb = enc(['crack', 'dent'])
    emb.sum().backward()
    grads = [p.grad for p in enc.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


def test_model_type_forced_and_errors(tiny_bert, tmp_path):
    missing = str(tmp_path / 'no_such_model')
    with pytest.raises(FileNotFoundError, match='no_such_model'):
        HFTextEncoder(missing)
    with pytest.raises(FileNotFoundError, match='model_name'):
        HFTextEncoder('someone/not-in-the-cache')
    with pytest.raises(ValueError, match='model_type'):
        HFTextEncoder(tiny_bert, model_type='bert')
    with pytest.raises(TypeError):
        HFTextEncoder(tiny_bert)('a single string')


def test_registered_in_both_registries(tiny_bert):
    from mmdet.registry import MODELS as DET
    from mmpretrain.registry import MODELS as PRETRAIN
    for registry in (DET, PRETRAIN):
        enc = registry.build(dict(type='HFTextEncoder', model_name=tiny_bert))
        assert isinstance(enc, HFTextEncoder)
    enc = HFTextEncoder.from_config(
        dict(type='HFTextEncoder', model_name=tiny_bert, max_length=8))
    assert enc.max_length == 8
    # init_weights must keep the pretrained weights
    before = enc.model.embeddings.word_embeddings.weight.clone()
    enc.init_weights()
    assert torch.equal(before, enc.model.embeddings.word_embeddings.weight)


def test_real_minilm_similarity():
    path = default_text_model_path()
    if not osp.isdir(path):
        pytest.skip('packaged MiniLM not installed')
    enc = HFTextEncoder().eval()
    assert enc.embed_dim == 384
    emb = enc(['white round spot', 'white spot', 'wood grain crack'])
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] + 0.2


def test_compose_words_is_the_mean_of_its_words(tiny_bert):
    words = HFTextEncoder(tiny_bert, compose='words').eval()
    whole = HFTextEncoder(tiny_bert).eval()
    emb = words(['yellow round spot', 'round yellow spot', 'spot', ''])
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(4))
    # by hand: each word embedded alone as a sentence, averaged, normalised
    parts = whole(['yellow', 'round', 'spot'])
    expected = F.normalize(parts.mean(0), dim=-1)
    torch.testing.assert_close(emb[0], expected, atol=1e-5, rtol=1e-5)
    # a bag of words: the order is lost, which the sentence embedding keeps
    torch.testing.assert_close(emb[1], emb[0], atol=1e-6, rtol=1e-6)
    s = whole(['yellow round spot', 'round yellow spot'])
    assert not torch.allclose(s[0], s[1], atol=1e-4)
    # one word: the sentence embedding of that word; no word: the text whole
    torch.testing.assert_close(emb[2], parts[2], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(emb[3], whole([''])[0], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='compose'):
        HFTextEncoder(tiny_bert, compose='tokens')
    with pytest.raises(TypeError):
        words('a single string')
