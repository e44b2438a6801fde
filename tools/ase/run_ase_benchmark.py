# Copyright (c) mmase contributors. All rights reserved.
"""Train and test ASE classifiers on one dataset; print macro-F1 side by side.

By default: the full multimodal model (``configs/ase/pfa_cmaf_ase.py``) and
the image-only ResNet-50 (``configs/ase/resnet50_ase.py``) on the procedural
ASE set. Missing pieces are made first: the dataset
(``tools/data/make_synthetic.py ase``) and the descriptor cache
(``tools/ase/describe.py``, ``record`` backend unless ``--vlm`` is given).

Examples::

    python tools/ase/run_ase_benchmark.py
    python tools/ase/run_ase_benchmark.py --configs \
        configs/ase/pfa_cmaf_ase.py configs/ase/pfa_cmaf_ase_no_pfa.py \
        configs/ase/resnet50_ase.py --epochs 10

The summary (``summary.json`` in ``--work-dir``) holds, per config, the
validation and test macro-F1 and the per-class F1 of the test split.
"""
import argparse
import os
import os.path as osp
import sys
import time

from mmengine.config import DictAction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

from mmase.utils.file_io import dump_json_atomic  # noqa: E402

DEFAULT_CONFIGS = ('configs/ase/pfa_cmaf_ase.py',
                   'configs/ase/resnet50_ase.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--configs', nargs='+', default=list(DEFAULT_CONFIGS))
    parser.add_argument('--data-root', default='data/ase_synth')
    parser.add_argument('--work-dir', default='work_dirs/ase_benchmark')
    parser.add_argument(
        '--epochs', type=int, default=None,
        help='override train_cfg.max_epochs of every config')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--num-images', type=int, default=455,
        help='size of the procedural set when it has to be made')
    parser.add_argument(
        '--threads', type=int, default=None,
        help='torch intra-op threads (e.g. 1 on a busy shared CPU, where '
        'more threads than free cores slow training down a lot)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of every config, e.g. '
        'model.align_loss.loss_weight=0.1')
    parser.add_argument('--vlm', help='VLM for the descriptors (optional)')
    parser.add_argument('--llm', help='LLM for the descriptors (optional)')
    return parser.parse_args(argv)


def ensure_data(args) -> str:
    """Make the dataset and the descriptor cache if missing."""
    data_root = args.data_root
    if not osp.isfile(osp.join(data_root, 'meta.json')):
        from mmase.datasets.synthetic import generate_ase
        print(f'[benchmark] rendering the ASE set into {data_root}')
        generate_ase(data_root, num_images=args.num_images, seed=args.seed)
    # absolute: ASEDataset resolves a relative description_file against
    # its data_root
    desc = osp.abspath(osp.join(data_root, 'descriptions.jsonl'))
    from tools_ase_describe import main as describe_main
    cmd = [data_root, '--out', desc, '--no-progress']
    if args.vlm:
        cmd += ['--vlm', args.vlm]
        cmd += ['--backend', 'vlm_llm', '--llm', args.llm] if args.llm \
            else ['--backend', 'vlm']
    else:
        cmd += ['--backend', 'record']
    describe_main(cmd)  # resumes: only new images are described
    return desc


def _set_data(cfg, data_root: str, desc: str) -> None:
    root = data_root.rstrip('/') + '/'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader:
            continue
        ds = loader['dataset']
        while 'dataset' in ds:  # dataset wrappers
            ds = ds['dataset']
        ds['data_root'] = root
        ds['description_file'] = desc


def run_one(config: str, args, desc: str) -> dict:
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(ROOT, config) if not osp.isabs(config)
                          and not osp.isfile(config) else config)
    name = osp.splitext(osp.basename(config))[0]
    cfg.work_dir = osp.join(args.work_dir, name)
    cfg.launcher = 'none'
    cfg.randomness = dict(seed=args.seed)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.epochs is not None:
        cfg.train_cfg.max_epochs = args.epochs
    _set_data(cfg, args.data_root, desc)
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    val = runner.val_loop.run() if runner.val_loop is not None else {}
    test = runner.test()
    minutes = (time.time() - start) / 60
    return dict(
        config=config,
        val_macro_f1=_get(val, 'f1-score'),
        test_macro_f1=_get(test, 'f1-score'),
        test_per_class_f1=_get(test, 'f1-score_classwise'),
        minutes=round(minutes, 2))


def _get(metrics: dict, key: str):
    for k, v in metrics.items():
        if k.split('/')[-1] == key:
            return v if not hasattr(v, 'tolist') else v.tolist()
    return None


def main(argv=None) -> int:
    args = parse_args(argv)
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'tools_ase_describe', osp.join(ROOT, 'tools', 'ase', 'describe.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules['tools_ase_describe'] = mod

    import mmase  # noqa: F401  (registers the modules)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
        os.environ['OMP_NUM_THREADS'] = str(args.threads)
    desc = ensure_data(args)
    results = [run_one(c, args, desc) for c in args.configs]
    os.makedirs(args.work_dir, exist_ok=True)
    summary_path = osp.join(args.work_dir, 'summary.json')
    dump_json_atomic(results, summary_path, indent=2)

    width = max(len(r['config']) for r in results)
    print('\n' + '=' * (width + 40))
    print(f'{"config":<{width}}  val macro-F1  test macro-F1  minutes')
    for r in results:
        val = '-' if r['val_macro_f1'] is None else f'{r["val_macro_f1"]:.2f}'
        test = '-' if r['test_macro_f1'] is None else \
            f'{r["test_macro_f1"]:.2f}'
        print(f'{r["config"]:<{width}}  {val:>12}  {test:>13}  '
              f'{r["minutes"]:>7.1f}')
    print('=' * (width + 40))
    print(f'per-class F1 and details: {summary_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
