# Copyright (c) mmase contributors. All rights reserved.
"""Re-score a ``tools/test.py --out`` pickle with the config's evaluators.

The same metrics as ``tools/test.py`` (``ZeroShotCocoMetric`` for the
zero-shot configs, ``CocoMetric`` for the closed ones, mmpretrain metrics for
ASE), computed offline with mmengine's ``Evaluator.offline_evaluate``, so a
metric or its settings can be changed without running the model again::

    python tools/test.py CONFIG CKPT --out work_dirs/x/preds.pkl
    python tools/analysis/eval_metric.py CONFIG work_dirs/x/preds.pkl \\
        [--cfg-options test_evaluator.iou_thrs=[0.5]] [--out metrics.json]

The pickle must come from the config's test dataset (same images, same
order). The file is read with an allow-list unpickler: it cannot run code.
"""
import argparse

from mmengine.config import Config, DictAction

from mmase.apis.det_results import (build_test_dataset,
                                    check_results_match, load_results)
from mmase.utils.file_io import dump_json_atomic
from mmase.utils.setup_env import load_config

_DUMPS = ('DumpDetResults', 'DumpResults')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config the pickle was tested with')
    parser.add_argument('pkl_results', help='tools/test.py --out pickle')
    parser.add_argument('--out', default=None,
                        help='also write the metrics to this JSON file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args(argv)


def evaluate(cfg: Config, pkl_path: str) -> dict:
    """Metrics of the pickled predictions with ``cfg.test_evaluator``."""
    from mmengine.evaluator import Evaluator
    dataset = build_test_dataset(cfg)
    results = load_results(pkl_path)
    check_results_match(results, dataset, pkl_path)
    metrics = cfg.test_evaluator
    if not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    metrics = [m for m in metrics if m.get('type') not in _DUMPS]
    if not metrics:
        raise ValueError(f'{cfg.filename}: test_evaluator has no metric')
    evaluator = Evaluator(metrics)
    evaluator.dataset_meta = dataset.metainfo
    return evaluator.offline_evaluate(results, chunk_size=16)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import mmase  # noqa: F401  (registers the modules)
    cfg = load_config(args.config, args.cfg_options)
    metrics = evaluate(cfg, args.pkl_results)
    metrics = {k: float(v) if isinstance(v, (int, float)) else v
               for k, v in metrics.items()}
    for k, v in metrics.items():
        print(f'{k}: {v}')
    if args.out:
        dump_json_atomic(metrics, args.out, indent=1)
        print(f'metrics written to {args.out}')
    return metrics


if __name__ == '__main__':
    main()
