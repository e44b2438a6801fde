# Copyright (c) mmase contributors. All rights reserved.
"""Statistics and the markdown table of the ASE benchmark
(``tools/ase/run_ase_benchmark.py``): macro-F1, its bootstrap spread on the
test set, the mean and std over seeds of every row."""


def macro_f1(gt, pred, num_classes: int) -> float:
    """Macro-F1 (%) as mmpretrain's SingleLabelMetric computes it (a class
    without predictions or samples counts 0)."""
    import numpy as np
    gt, pred = np.asarray(gt), np.asarray(pred)
    scores = []
    for c in range(num_classes):
        tp = float(((pred == c) & (gt == c)).sum())
        denom = float((pred == c).sum() + (gt == c).sum())
        scores.append(2 * tp / denom if denom else 0.)
    return 100 * float(np.mean(scores))


def bootstrap_std(gt, pred, num_classes: int, n: int = 1000) -> float:
    """Std of the macro-F1 (%) over bootstrap resamples of the test set."""
    import numpy as np
    rng = np.random.default_rng(0)
    gt, pred = np.asarray(gt), np.asarray(pred)
    scores = []
    for _ in range(n):
        idx = rng.integers(0, len(gt), len(gt))
        scores.append(macro_f1(gt[idx], pred[idx], num_classes))
    return float(np.std(scores))


def summarize(results: dict) -> dict:
    """Mean and std (ddof 0) over the runs of every row, total minutes."""
    import numpy as np
    out = {}
    for key, runs in results.items():
        val = np.array([r['val'] for r in runs], np.float64)
        test = np.array([r['test'] for r in runs], np.float64)
        out[key] = dict(val_mean=val.mean(), val_std=val.std(ddof=0),
                        test_mean=test.mean(), test_std=test.std(ddof=0),
                        minutes=float(sum(r['minutes'] for r in runs)),
                        runs=len(runs))
    return out


def format_table(stats: dict, names: dict) -> str:
    """Markdown table of :func:`summarize`; ``*`` marks a test difference
    to the full model larger than the two stds together."""
    full = stats.get('full')
    lines = ['| row | val macro-F1 | test macro-F1 | test vs full | '
             'runs | minutes |', '| --- | --- | --- | --- | --- | --- |']
    for key, s in stats.items():
        diff = '-'
        if full is not None and key != 'full':
            d = s['test_mean'] - full['test_mean']
            mark = ' *' if abs(d) > s['test_std'] + full['test_std'] else ''
            diff = f'{d:+.1f}{mark}'
        lines.append(
            f"| {names[key]} | {s['val_mean']:.1f} +- {s['val_std']:.1f} | "
            f"{s['test_mean']:.1f} +- {s['test_std']:.1f} | {diff} | "
            f"{s['runs']} | {s['minutes']:.1f} |")
    return '\n'.join(lines)
