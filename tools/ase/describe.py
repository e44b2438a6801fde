# Copyright (c) mmase contributors. All rights reserved.
"""Write the VLM-LLM descriptor cache of an ASE dataset.

Examples::

    # the paper's pipeline: VLM description + LLM combination
    python tools/ase/describe.py data/ase_synth \
        --backend vlm_llm --vlm /models/blip-base --llm /models/qwen2-0.5b \
        --prior-file configs/ase/prompts/class_prior.txt

    # no model: descriptor from the record fields only
    python tools/ase/describe.py data/ase_synth --backend record

The output (default ``<data-root>/descriptions.jsonl``) is what
``ASEDataset(description_file=...)`` merges. Re-running resumes: images
already in the output are skipped (``--no-resume`` starts over).
"""
import argparse
import os
import os.path as osp
import sys

os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')


def parse_args(argv=None):
    from mmase.apis.ase_describe import PROMPT_DIR
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='ASE dataset root')
    parser.add_argument(
        '--ann-files',
        nargs='+',
        default=[
            'annotations/train.jsonl', 'annotations/val.jsonl',
            'annotations/test.jsonl'
        ],
        help='JSONL annotation files (relative to data_root); missing '
        'default files are skipped')
    parser.add_argument(
        '--out', default=None,
        help='output JSONL (default: <data_root>/descriptions.jsonl)')
    parser.add_argument(
        '--backend', default='vlm_llm', choices=['record', 'vlm', 'vlm_llm'])
    parser.add_argument('--vlm', help='VLM directory or cached hub id')
    parser.add_argument('--llm', help='causal LM directory or cached hub id')
    parser.add_argument(
        '--vlm-prompt', default=osp.join(PROMPT_DIR, 'vlm_describe.txt'),
        help='VLM prompt template file')
    parser.add_argument(
        '--llm-prompt', default=osp.join(PROMPT_DIR, 'llm_combine.txt'),
        help='LLM prompt template file')
    parser.add_argument(
        '--record-prompt',
        default=osp.join(PROMPT_DIR, 'record_descriptor.txt'),
        help='template of the record backend')
    parser.add_argument(
        '--prior-file', default=None,
        help='text file with prior knowledge about the classes')
    parser.add_argument(
        '--z-threshold', type=float, default=1.0,
        help='record backend: |z| above which a measurement is unusual')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--max-new-tokens', type=int, default=48)
    parser.add_argument('--device', default=None)
    parser.add_argument('--flush-every', type=int, default=1,
                        help='rewrite the cache every N batches')
    parser.add_argument('--limit', type=int, default=None,
                        help='describe at most N new images')
    parser.add_argument('--no-resume', action='store_true')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def check_records(data_root: str, ann_files: list, meta: dict) -> None:
    """Stop on a record field of ``meta.json`` that is missing or not a
    number; the descriptor would otherwise silently call it usual."""
    from mmase.datasets.doctor import check_ase_jsonl
    from mmase.datasets.validation import raise_for_problems
    for ann in ann_files:
        path = ann if osp.isabs(ann) else osp.join(data_root, ann)
        rep = check_ase_jsonl(path, meta, data_root, check_images=False)
        raise_for_problems(
            [p for p in rep.problems if p.field.startswith('record')], path)


def main(argv=None):
    args = parse_args(argv)
    from mmase.utils.file_io import load_json
    from mmase.apis.ase_describe import (DescriptorPipeline, LLMCombiner,
                                         RecordDescriber, VLMDescriber,
                                         load_template, numeric_stats,
                                         read_annotations, run_describe)
    defaults = {'annotations/train.jsonl', 'annotations/val.jsonl',
                'annotations/test.jsonl'}
    ann_files = [
        a for a in args.ann_files
        if a not in defaults or osp.isfile(osp.join(args.data_root, a))
    ]
    if not ann_files:
        raise FileNotFoundError(
            f'no annotation file found under {args.data_root}/annotations')
    items = read_annotations(args.data_root, ann_files)
    classes, stats = [], None
    meta_path = osp.join(args.data_root, 'meta.json')
    if osp.isfile(meta_path):
        meta = load_json(meta_path, 'ASE meta file')
        if not isinstance(meta, dict):
            raise ValueError(f'{meta_path}: expected a JSON object')
        check_records(args.data_root, ann_files, meta)
        classes = list(meta.get('classes', []))
        fields = meta.get('numeric_fields', [])
        mean, std = meta.get('numeric_mean'), meta.get('numeric_std')
        if mean and std and len(mean) == len(std) == len(fields):
            stats = {f: (m, max(s, 1e-6))
                     for f, m, s in zip(fields, mean, std)}
    if stats is None:  # label-free statistics of the records themselves
        stats = numeric_stats(items)
    prior = load_template(args.prior_file) if args.prior_file else ''

    vlm = llm = record = None
    if args.backend == 'record':
        record = RecordDescriber(load_template(args.record_prompt), stats,
                                 args.z_threshold)
    else:
        if not args.vlm:
            raise SystemExit(f'--backend {args.backend} needs --vlm')
        vlm = VLMDescriber(args.vlm, load_template(args.vlm_prompt),
                           args.max_new_tokens, args.device)
        if args.backend == 'vlm_llm':
            if not args.llm:
                raise SystemExit('--backend vlm_llm needs --llm')
            llm = LLMCombiner(args.llm, load_template(args.llm_prompt),
                              classes, prior, args.max_new_tokens,
                              args.device)
    pipeline = DescriptorPipeline(args.backend, vlm=vlm, llm=llm,
                                  record=record)
    out = args.out or osp.join(args.data_root, 'descriptions.jsonl')
    cache = run_describe(
        items,
        pipeline,
        out,
        batch_size=args.batch_size,
        resume=not args.no_resume,
        flush_every=args.flush_every,
        limit=args.limit,
        progress=not args.no_progress)
    print(f'{len(cache)} descriptors in {out}')
    return 0


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    sys.exit(main())
