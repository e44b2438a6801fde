# Copyright (c) mmase contributors. All rights reserved.
"""Train and test every ASE baseline and ablation over seeds; print a table.

Rows (``--rows``, default all, in this order):

- ``majority``: the most frequent training class;
- ``record``: record only, a class-balanced logistic regression
  (scikit-learn) on the numeric fields (standardised), the machine id
  (one-hot) and the words of the operator note; C chosen on val;
- ``descriptor``: descriptor only, the model's text branch alone
  (``configs/ase/descriptor-only_minilm_1xb16-8e_ase.py``);
- ``resnet50``, ``deit``: image only, random init (no offline weights);
- ``image``: image only, ImageNet EfficientNet-Lite0, the image branch of
  the full model (``pfa-cmaf_effnet-lite0_1xb16-8e_ase_image-only.py``);
- ``full``: ``pfa-cmaf_effnet-lite0_1xb16-8e_ase.py``; ``no_pfa``,
  ``no_cmaf``, ``no_aug``, ``no_sampler``: its ablations;
- ``oracle``: reference, not a method: logistic regression on exact
  measurements of the pixels (noise-free record fields and order
  statistics of the 3 x 3 cell statistics of the ``measure`` backend).

The data seed is fixed (``--data-seed``); each trained row runs with the
training seeds ``0 .. --seeds - 1`` and is reported as mean +- std (the
linear rows are deterministic: std 0). Nothing is selected on the test
split: the linear rows choose C on val, the trained rows report their last
epoch. A row is marked ``*`` when its difference to the full model is
larger than the two spreads together (``|d| > std_row + std_full``).
Missing pieces are made first: the dataset
(``tools/data/make_synthetic.py ase``) and the descriptor cache
(``tools/ase/describe.py``, ``measure`` backend unless ``--backend`` /
``--vlm`` say otherwise).

Examples::

    OMP_NUM_THREADS=1 python tools/ase/run_ase_benchmark.py --seeds 3
    python tools/ase/run_ase_benchmark.py --rows record full no_pfa --seeds 1

The summary (``summary.json`` in ``--work-dir``) holds every run's val / test
macro-F1 and test per-class F1; ``table.md`` the printed table.
"""
import argparse
import os
import os.path as osp
import runpy
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

CONFIG_ROWS = {
    'descriptor': ('descriptor only (text branch)',
                   'configs/ase/descriptor-only_minilm_1xb16-8e_ase.py'),
    'resnet50': ('image only: ResNet-50, random init',
                 'configs/ase/resnet50_1xb16-3e_ase.py'),
    'deit': ('image only: DeiT-tiny, random init',
             'configs/ase/deit-tiny_1xb16-6e_ase.py'),
    'image': ('image only: EfficientNet-Lite0, ImageNet',
              'configs/ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase_image-only.py'),
    'full': ('full: PFA + CMAF + TDA + sampler',
             'configs/ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase.py'),
    'no_pfa': ('w/o PFA',
               'configs/ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-pfa.py'),
    'no_cmaf': ('w/o CMAF (concatenation)',
                'configs/ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-cmaf.py'),
    'no_aug': ('w/o task-specific augmentation',
               'configs/ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-aug.py'),
    'no_sampler': (
        'w/o class-balanced sampler',
        'configs/ase/pfa-cmaf_effnet-lite0_1xb16-8e_ase_no-sampler.py'),
}
LINEAR_ROWS = {
    'majority': 'majority class',
    'record': 'record only (linear)',
    'oracle': 'reference: pixel measurements (linear)',
}
ALL_ROWS = ('majority', 'record', 'descriptor', 'resnet50', 'deit', 'image',
            'full', 'no_pfa', 'no_cmaf', 'no_aug', 'no_sampler', 'oracle')
SINGLE_MODALITY = ('record', 'descriptor', 'resnet50', 'deit', 'image')


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rows', nargs='+', default=list(ALL_ROWS),
                        choices=ALL_ROWS)
    parser.add_argument('--seeds', type=int, default=3,
                        help='training seeds 0 .. N-1 per trained row')
    parser.add_argument('--data-root', default='data/ase_synth')
    parser.add_argument('--data-seed', type=int, default=0,
                        help='generator seed when the set has to be made')
    parser.add_argument('--num-images', type=int, default=455)
    parser.add_argument('--work-dir', default='work_dirs/ase_benchmark')
    parser.add_argument(
        '--backend', default='measure', choices=['measure', 'record', 'vlm',
                                                 'vlm_llm'],
        help='descriptor backend (vlm / vlm_llm need --vlm, --llm)')
    parser.add_argument('--vlm', help='VLM for the descriptors')
    parser.add_argument('--llm', help='LLM for the descriptors')
    parser.add_argument(
        '--threads', type=int, default=1,
        help='torch threads (1 on a busy shared CPU: more threads than free '
        'cores slow training down a lot)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of every trained config')
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error('--seeds must be >= 1')
    if args.backend in ('vlm', 'vlm_llm') and not args.vlm:
        parser.error(f'--backend {args.backend} needs --vlm')
    return args


def _describe_main(argv) -> None:
    """Run tools/ase/describe.py (a script, not a module) with ``argv``."""
    describe = runpy.run_path(
        osp.join(ROOT, 'tools', 'ase', 'describe.py'),
        run_name='mmase_tools_ase_describe')
    describe['main'](argv)


def ensure_data(args) -> str:
    """Make the dataset and the descriptor cache if missing; return the
    cache's absolute path."""
    if not osp.isfile(osp.join(args.data_root, 'meta.json')):
        from mmase.datasets.synthetic import generate_ase
        print(f'[benchmark] rendering the ASE set into {args.data_root}')
        generate_ase(args.data_root, num_images=args.num_images,
                     seed=args.data_seed)
    # absolute: ASEDataset resolves a relative path against its data_root
    desc = osp.abspath(osp.join(args.data_root,
                                f'descriptions_{args.backend}.jsonl'))
    cmd = [args.data_root, '--out', desc, '--no-progress', '--backend',
           args.backend]
    if args.vlm:
        cmd += ['--vlm', args.vlm]
    if args.llm:
        cmd += ['--llm', args.llm]
    _describe_main(cmd)  # resumes: only new images are described
    return desc


# --------------------------------------------------------------- trained
def _set_data(cfg, data_root: str, desc: str) -> None:
    root = osp.abspath(data_root) + '/'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        loader['num_workers'] = 0
        loader['persistent_workers'] = False
        ds = loader['dataset']
        while 'dataset' in ds:  # dataset wrappers
            ds = ds['dataset']
        ds['data_root'] = root
        ds['description_file'] = desc


def run_config(config: str, seed: int, args, desc: str, work_dir: str
               ) -> dict:
    """Train one config with one seed; val / test macro-F1 of the last
    epoch."""
    import pickle

    import numpy as np
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.randomness = dict(seed=seed)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    _set_data(cfg, args.data_root, desc)
    # no checkpoint (the frozen text encoder alone is 90 MB), one
    # validation after training, macro-F1 and per-class F1 only
    cfg.default_hooks.checkpoint = None
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs + 1
    dump = osp.join(work_dir, 'test_predictions.pkl')
    metrics = [dict(type='SingleLabelMetric', average='macro'),
               dict(type='SingleLabelMetric', items=('f1-score', ),
                    average=None)]
    cfg.val_evaluator = metrics
    cfg.test_evaluator = metrics + [dict(type='DumpResults',
                                         out_file_path=dump)]
    cfg.log_level = 'WARNING'
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    val = runner.val_loop.run()
    test = runner.test()
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    return dict(
        val=_get(val, 'f1-score'),
        test=_get(test, 'f1-score'),
        test_per_class=_get(test, 'f1-score_classwise'),
        test_pred=[int(np.asarray(p['pred_label']).reshape(-1)[0])
                   for p in preds],
        test_gt=[int(np.asarray(p['gt_label']).reshape(-1)[0])
                 for p in preds],
        minutes=round((time.time() - start) / 60, 2))


def _get(metrics: dict, key: str):
    for k, v in metrics.items():
        if k.split('/')[-1] == key:
            return v if not hasattr(v, 'tolist') else v.tolist()
    return None


def verdict(stats: dict, names: dict) -> str:
    """Full model vs the best single-modality row (chosen on val)."""
    singles = [k for k in SINGLE_MODALITY if k in stats]
    if 'full' not in stats or not singles:
        return ''
    best = max(singles, key=lambda k: stats[k]['val_mean'])
    full, b = stats['full'], stats[best]
    return (f"full - best single modality ({names[best]}, chosen on val): "
            f"val {full['val_mean'] - b['val_mean']:+.1f}, test "
            f"{full['test_mean'] - b['test_mean']:+.1f} macro-F1 points "
            '(target: >= +10)')


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    import mmase  # noqa: F401  (registers the modules)
    from mmase.utils.ase_benchmark_table import (bootstrap_std, format_table,
                                                 summarize)
    from mmase.utils.ase_linear_baselines import run_linear
    from mmase.utils.file_io import dump_json_atomic, dump_text_atomic
    torch.set_num_threads(args.threads)
    begin = time.time()
    desc = ensure_data(args)
    names = dict(LINEAR_ROWS, **{k: v[0] for k, v in CONFIG_ROWS.items()})
    rows = [r for r in ALL_ROWS if r in args.rows]
    trained = [r for r in rows if r in CONFIG_ROWS]
    print(f'[benchmark] {len(trained)} trained rows x {args.seeds} seeds, '
          f'{len(rows) - len(trained)} linear rows; descriptors: {desc}')
    results = {}
    for key in rows:
        if key in LINEAR_ROWS:
            results[key] = [run_linear(key, args.data_root)]
        else:
            results[key] = []
            for seed in range(args.seeds):
                run = run_config(CONFIG_ROWS[key][1], seed, args, desc,
                                 osp.join(args.work_dir, key, f'seed{seed}'))
                results[key].append(run)
                print(f'[benchmark] {key} seed {seed}: val {run["val"]:.1f} '
                      f'test {run["test"]:.1f} ({run["minutes"]:.1f} min)')
        if key in LINEAR_ROWS:
            print(f'[benchmark] {key}: val {results[key][0]["val"]:.1f} '
                  f'test {results[key][0]["test"]:.1f}')
    stats = summarize(results)
    minutes = (time.time() - begin) / 60
    table = format_table(stats, names)
    lines = [table, '']
    if 'full' in results:
        run = results['full'][0]
        noise = bootstrap_std(run['test_gt'], run['test_pred'],
                              len(run['test_per_class']))
        lines.append('test-set sampling noise: bootstrap std of the full '
                     f'model\'s test macro-F1 (seed 0): {noise:.1f}')
    lines.append(verdict(stats, names))
    lines.append(f'wall time {minutes:.1f} min, {args.threads} thread(s), '
                 f'descriptors: {args.backend} backend')
    text = '\n'.join(line for line in lines if line is not None)
    print('\n' + text)
    os.makedirs(args.work_dir, exist_ok=True)
    dump_json_atomic(dict(args=vars(args), stats=stats, runs=results,
                          wall_minutes=minutes),
                     osp.join(args.work_dir, 'summary.json'), indent=1)
    dump_text_atomic(text + '\n', osp.join(args.work_dir, 'table.md'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
