# Copyright (c) mmase contributors. All rights reserved.
import pytest
import torch
from torch import nn

from mmase.models.utils import TextEmbeddingCache, text_encoder_frozen


class _Encoder(nn.Module):
    """Embeds a string as [len, first char code]; counts what it encodes."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.seen = []

    def forward(self, texts):
        self.seen.append(list(texts))
        return torch.stack([
            torch.tensor([float(len(t)), float(ord(t[0]))]) for t in texts
        ]) * self.scale


def test_encodes_each_missing_string_once_and_keeps_the_recent_ones():
    enc = _Encoder()
    cache = TextEmbeddingCache(max_size=2)
    out = cache.lookup(['ab', 'c', 'ab'], enc)
    assert enc.seen == [['ab', 'c']]  # distinct strings, in order
    assert [o.tolist() for o in out] == [[2., 97.], [1., 99.], [2., 97.]]
    assert not any(o.requires_grad for o in out)  # stored detached
    cache.lookup(['c'], enc)  # hit: 'ab' is now the least recently used
    assert enc.seen == [['ab', 'c']]
    cache.lookup(['xyz'], enc)
    assert list(cache.store) == ['c', 'xyz'] and len(cache) == 2
    cache.lookup(['ab'], enc)  # evicted before: encoded again
    assert enc.seen[-1] == ['ab']


def test_device_entries_dropped_when_the_owner_moves_cpu_entries_kept():
    owner = nn.Module()
    owner.cache = TextEmbeddingCache(max_size=8)
    owner.cpu_cache = TextEmbeddingCache(max_size=8, on_cpu=True)
    enc = _Encoder()
    owner.cache.lookup(['a'], enc)
    owner.cpu_cache.lookup(['a'], lambda t: [torch.ones(3, dtype=torch.half)])
    assert owner.cpu_cache.store['a'].dtype == torch.float32
    owner.to(torch.float64)
    assert len(owner.cache) == 0 and len(owner.cpu_cache) == 1
    assert owner.state_dict() == {}  # nothing goes into checkpoints


def test_shared_store_follows_the_encoder_weights():
    enc_a, enc_b = _Encoder(), _Encoder()
    first = TextEmbeddingCache(8, on_cpu=True, shared=True)
    second = TextEmbeddingCache(8, on_cpu=True, shared=True)
    first.bind(enc_a)
    second.bind(enc_b)  # same class and weights: one store
    assert first.store is second.store
    first.lookup(['a'], enc_a)
    second.lookup(['a'], enc_b)
    assert enc_b.seen == []
    owner = nn.Module()
    owner.enc, owner.cache = enc_b, second
    with torch.no_grad():
        enc_b.scale.fill_(2.)
    owner.load_state_dict(owner.state_dict())  # new weights: bind again
    second.bind(enc_b)
    assert second.store is not first.store
    with pytest.raises(ValueError, match='on_cpu'):
        TextEmbeddingCache(8, shared=True)


def test_text_encoder_frozen():
    enc = _Encoder()
    assert not text_encoder_frozen(enc)
    enc.requires_grad_(False)
    assert text_encoder_frozen(enc)
    enc.frozen = False  # a declared flag wins over requires_grad
    assert not text_encoder_frozen(enc)
