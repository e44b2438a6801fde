# Copyright (c) mmase contributors. All rights reserved.
"""Write the VLM-LLM descriptor cache of an ASE dataset.

Examples::

    # the paper's pipeline: VLM description + LLM combination
    python tools/ase/describe.py data/ase_synth \\
        --backend vlm_llm --vlm /models/SmolVLM-256M-Instruct \\
        --llm /models/Qwen2.5-0.5B-Instruct --prior-file class_prior.txt \\
        --dtype bfloat16

    # no model: what the pixels show, in words (measured dots)
    python tools/ase/describe.py data/ase_synth --backend measure

    # no model: the record restated in words
    python tools/ase/describe.py data/ase_synth --backend record

The output (default ``<data-root>/descriptions.jsonl``) is what
``ASEDataset(description_file=...)`` merges. Re-running resumes: images
already in the output are skipped (``--no-resume`` starts over). An output
path that is one of the inputs (annotation file, meta.json, prompt, image)
is refused. Prompt options take a file or the name of a prompt shipped with
mmase (``mmase/resources/ase_prompts``).
"""
import argparse
import os
import os.path as osp
import sys

os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

DEFAULT_ANN_FILES = ('annotations/train.jsonl', 'annotations/val.jsonl',
                     'annotations/test.jsonl')


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='ASE dataset root')
    parser.add_argument(
        '--ann-files', nargs='+', default=list(DEFAULT_ANN_FILES),
        help='JSONL annotation files (relative to data_root); missing '
        'default files are skipped')
    parser.add_argument(
        '--out', default=None,
        help='output JSONL (default: <data_root>/descriptions.jsonl)')
    parser.add_argument(
        '--backend', default='vlm_llm',
        choices=['record', 'measure', 'vlm', 'vlm_llm'])
    parser.add_argument('--vlm', help='VLM directory or cached hub id')
    parser.add_argument('--llm', help='causal LM directory or cached hub id')
    parser.add_argument('--vlm-prompt', default='vlm_describe.txt',
                        help='VLM prompt (file or packaged name)')
    parser.add_argument('--llm-prompt', default='llm_combine.txt',
                        help='LLM prompt (file or packaged name)')
    parser.add_argument('--record-prompt', default='record_descriptor.txt',
                        help='template of the record backend')
    parser.add_argument(
        '--prior-file', default=None,
        help='prior knowledge about the classes (file or packaged name, '
        'e.g. class_prior.txt)')
    parser.add_argument(
        '--z-threshold', type=float, default=1.0,
        help='record backend: |z| above which a measurement is unusual')
    parser.add_argument('--batch-size', type=_positive_int, default=8)
    parser.add_argument('--max-new-tokens', type=_positive_int, default=48)
    parser.add_argument('--device', default=None)
    parser.add_argument(
        '--dtype', default=None,
        choices=['auto', 'float32', 'float16', 'bfloat16'],
        help='weight dtype of the VLM / LLM (default float32)')
    parser.add_argument('--flush-every', type=_positive_int, default=1,
                        help='rewrite the cache every N batches (>= 1)')
    parser.add_argument('--limit', type=_positive_int, default=None,
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


def _meta_stats(meta_path: str, data_root: str, ann_files: list):
    """Classes and numeric (mean, std) from meta.json, if present."""
    from mmase.utils.file_io import load_json
    if not osp.isfile(meta_path):
        return [], None
    meta = load_json(meta_path, 'ASE meta file')
    if not isinstance(meta, dict):
        raise ValueError(f'{meta_path}: expected a JSON object')
    check_records(data_root, ann_files, meta)
    fields = meta.get('numeric_fields', [])
    mean, std = meta.get('numeric_mean'), meta.get('numeric_std')
    stats = None
    if mean and std and len(mean) == len(std) == len(fields):
        stats = {f: (m, max(s, 1e-6)) for f, m, s in zip(fields, mean, std)}
    return list(meta.get('classes', [])), stats


def build_pipeline(args, classes: list, stats: dict):
    from mmase.apis.ase_describe import (DescriptorPipeline, LLMCombiner,
                                         RecordDescriber, VLMDescriber,
                                         load_template)
    prior = load_template(args.prior_file) if args.prior_file else ''
    vlm = llm = record = None
    if args.backend == 'record':
        record = RecordDescriber(load_template(args.record_prompt), stats,
                                 args.z_threshold)
    elif args.backend in ('vlm', 'vlm_llm'):
        if not args.vlm:
            raise SystemExit(f'--backend {args.backend} needs --vlm')
        if args.backend == 'vlm_llm' and not args.llm:
            raise SystemExit('--backend vlm_llm needs --llm')
        vlm = VLMDescriber(args.vlm, load_template(args.vlm_prompt),
                           args.max_new_tokens, args.device,
                           dtype=args.dtype)
        if args.backend == 'vlm_llm':
            llm = LLMCombiner(args.llm, load_template(args.llm_prompt),
                              classes, prior, args.max_new_tokens,
                              args.device, dtype=args.dtype)
    return DescriptorPipeline(args.backend, vlm=vlm, llm=llm, record=record)


def main(argv=None):
    args = parse_args(argv)
    from mmase.apis.ase_describe import (check_output_path, numeric_stats,
                                         read_annotations, run_describe)
    ann_files = [
        a for a in args.ann_files if a not in DEFAULT_ANN_FILES or
        osp.isfile(osp.join(args.data_root, a))
    ]
    if not ann_files:
        raise FileNotFoundError(
            f'no annotation file found under {args.data_root}/annotations')
    ann_paths = [a if osp.isabs(a) else osp.join(args.data_root, a)
                 for a in ann_files]
    meta_path = osp.join(args.data_root, 'meta.json')
    out = args.out or osp.join(args.data_root, 'descriptions.jsonl')
    prompts = [args.vlm_prompt, args.llm_prompt, args.record_prompt,
               args.prior_file]
    # before anything is read or loaded: never write onto an input
    check_output_path(out, ann_paths + [meta_path] +
                      [p for p in prompts if p and osp.isfile(p)])
    items = read_annotations(args.data_root, ann_files)
    check_output_path(out, [it['abs_path'] for it in items])
    classes, stats = _meta_stats(meta_path, args.data_root, ann_files)
    if stats is None:  # label-free statistics of the records themselves
        stats = numeric_stats(items)
    pipeline = build_pipeline(args, classes, stats)
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
    sys.exit(main())
