# Copyright (c) mmase contributors. All rights reserved.
"""LRU cache of the features a frozen text encoder gives to strings."""
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn

#: Stores of the ``shared`` caches, one per encoder fingerprint.
_SHARED_STORES: Dict[tuple, 'OrderedDict[str, Tensor]'] = {}


def text_encoder_frozen(encoder: nn.Module) -> bool:
    """Whether a text encoder gives the same features for the same string
    every time (so they can be cached): its ``frozen`` flag when it has one
    (``HFTextEncoder``), else no parameter requires a gradient.

    Args:
        encoder (nn.Module): The text encoder.

    Returns:
        bool: True for a frozen encoder.
    """
    frozen = getattr(encoder, 'frozen', None)
    if frozen is None:
        frozen = not any(p.requires_grad for p in encoder.parameters())
    return bool(frozen)


def _encoder_fingerprint(encoder: nn.Module) -> tuple:
    """Class, length limit and a checksum of the weights of an encoder."""
    params = [p.detach() for p in encoder.parameters()]
    return (type(encoder).__name__, getattr(encoder, 'max_length', None),
            len(params),
            round(float(sum(p.double().sum() for p in params)), 6),
            round(float(sum(p.double().abs().sum() for p in params)), 6))


class TextEmbeddingCache(nn.Module):
    """Least-recently-used cache of text features, keyed by the string.

    Used by the open-vocabulary detectors (one embedding per class prompt)
    and the ASE classifier (token features per description) so that a text
    met again is not encoded again. Only valid for a frozen encoder
    (:func:`text_encoder_frozen`); the owner checks that.

    It is a child module without parameters or buffers, so it follows its
    owner: cached tensors on the owner's device are dropped when the owner
    is moved or cast (``model.to``, ``.half()``), and a ``shared`` cache
    looks its store up again after the owner loads a state dict.

    Args:
        max_size (int): Entries kept; the least recently used beyond it are
            dropped after each lookup.
        on_cpu (bool): Keep detached float32 copies on the CPU (the caller
            moves them to its device and dtype), which survive moving the
            owner; False keeps the detached tensors where they were
            computed. Defaults to False.
        shared (bool): Share one store with every cache bound
            (:meth:`bind`) to an encoder of the same class, length limit and
            weights in this process, e.g. the seeds and ablations of a
            benchmark. Needs ``on_cpu``. Defaults to False.
    """

    def __init__(self,
                 max_size: int,
                 on_cpu: bool = False,
                 shared: bool = False) -> None:
        super().__init__()
        if shared and not on_cpu:
            raise ValueError('TextEmbeddingCache: a shared cache must keep '
                             'its entries on the CPU (on_cpu=True)')
        self.max_size = int(max_size)
        self.on_cpu = on_cpu
        self.shared = shared
        self._store: 'OrderedDict[str, Tensor]' = OrderedDict()
        self._key: Optional[tuple] = None

    @property
    def store(self) -> 'OrderedDict[str, Tensor]':
        """OrderedDict: The entries, least recently used first."""
        return self._store

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> None:
        """Drop every entry."""
        self._store.clear()

    def bind(self, encoder: nn.Module) -> None:
        """Use the store of ``encoder``'s fingerprint (``shared`` caches;
        a no-op otherwise). Called before the first lookup; the weights are
        read once, until the owner loads a state dict again.

        Args:
            encoder (nn.Module): The frozen text encoder.
        """
        if not self.shared or self._key is not None:
            return
        self._key = _encoder_fingerprint(encoder)
        self._store = _SHARED_STORES.setdefault(self._key, OrderedDict())

    def lookup(self, keys: Sequence[str],
               encode: Callable[[List[str]], Sequence[Tensor]]
               ) -> List[Tensor]:
        """The features of ``keys``, encoding only the missing ones.

        Args:
            keys (Sequence[str]): The strings.
            encode (Callable): Maps a list of distinct strings to one
                feature tensor per string; called once, with the strings not
                in the cache (not called when all are).

        Returns:
            list[Tensor]: One entry per key (as stored: detached, and on
            the CPU in float32 with ``on_cpu``).
        """
        store = self._store
        missing = [k for k in dict.fromkeys(keys) if k not in store]
        if missing:
            for key, value in zip(missing, encode(missing)):
                value = value.detach()
                store[key] = value.float().cpu() if self.on_cpu else value
        out = [store[k] for k in keys]
        for key in keys:
            store.move_to_end(key)
        while len(store) > self.max_size:
            store.popitem(last=False)
        return out

    def _apply(self, fn, *args, **kwargs):
        if not self.on_cpu:
            self._store.clear()  # entries on the old device / dtype
        return super()._apply(fn, *args, **kwargs)

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self._key = None  # new weights may be another encoder
        super()._load_from_state_dict(*args, **kwargs)

    def extra_repr(self) -> str:
        return (f'max_size={self.max_size}, on_cpu={self.on_cpu}, '
                f'shared={self.shared}')
