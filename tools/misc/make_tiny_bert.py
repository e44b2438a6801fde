# Copyright (c) mmase contributors. All rights reserved.
"""Save a tiny randomly initialised BERT (model + tokenizer) for offline runs.

mmdet's GLIP and Grounding DINO load their language model with
``from_pretrained(lang_model_name)``. Without network access and without a
local ``bert-base-uncased`` the ``*-demo.py`` configs point to the directory
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
import sys

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

from mmase.testing import make_tiny_bert as _make_tiny_bert  # noqa: E402


def make_tiny_bert(out: str,
                   hidden_size: int = 64,
                   num_layers: int = 2,
                   num_heads: int = 2,
                   intermediate_size: int = 128,
                   tokenizer: str = None,
                   seed: int = 0) -> str:
    """:func:`mmase.testing.make_tiny_bert` with this tool's defaults: 512
    positions and the packaged uncased BERT vocabulary unless ``tokenizer``
    names a directory.

    Returns:
        str: The absolute ``out``.
    """
    return _make_tiny_bert(
        out, hidden_size=hidden_size, seed=seed, num_layers=num_layers,
        num_heads=num_heads, intermediate_size=intermediate_size,
        max_positions=512, tokenizer=tokenizer or 'packaged')


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
