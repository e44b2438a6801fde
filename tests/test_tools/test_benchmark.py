# Copyright (c) mmase contributors. All rights reserved.
"""benchmark.py on a tiny YOLOWorldDetector (tiny random text encoder)."""
import importlib.util
import os.path as osp

import pytest

from mmase.testing import make_tiny_bert, write_tiny_model_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(rel):
    name = osp.splitext(osp.basename(rel))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    d = tmp_path_factory.mktemp('tiny_yw')
    bert = make_tiny_bert(str(d / 'bert'))
    return write_tiny_model_config(str(d / 'tiny_yolo_world.py'), bert)


bm = load_tool('tools/analysis/benchmark.py')


@pytest.fixture(scope='module')
def tiny_model(tiny_config):
    return bm.build_model(tiny_config)


def test_benchmark_rows_params_flops_and_cache(tiny_model):
    model = tiny_model
    enc = bm.text_encoders(model)[0]
    calls = []
    orig = enc._encode
    enc._encode = lambda texts: calls.append(len(texts)) or orig(texts)

    rows = bm.benchmark(model, 'tiny', img_size=64, vocab_size=5, runs=3,
                        warmup=1, flops=True)
    assert [r['cache'] for r in rows] == ['on', 'off']
    total = sum(p.numel() for p in model.parameters())
    frozen = sum(p.numel() for p in enc.parameters())
    for r in rows:
        assert r['params'] == total
        # the text encoder is frozen: trainable = everything else
        assert r['trainable_params'] == total - frozen
        assert r['vocab_size'] == 5
        assert r['flops'] is not None and r['flops'] > 0
        assert r['latency_min_ms'] <= r['latency_ms'] <= r['latency_max_ms']
        assert r['imgs_per_s'] == pytest.approx(1000. / r['latency_ms'])
        assert r['peak_mem_mib'] > 0
        assert r['forward_ms'] > 0 and r['forward_note'] == \
            'tensor-mode forward'
    # FLOP count: encoded once to fill the cache. Timing with the cache
    # (emptied first): encoded once in the first of the 1 + 3 steps and not
    # in the 1 + 3 forwards; without it: encoded at every one of the 4 steps
    # and the 4 forwards
    assert len(calls) == 1 + 1 + 4 + 4
    assert calls[-1] == 5
    # caches restored afterwards
    assert enc.cache_vocab is True and model.text_cache.max_size > 0
    enc._encode = orig

    table = bm.markdown_table(rows)
    assert table.splitlines()[0].startswith('| Model | Vocab | Cache |')
    assert len(table.splitlines()) == 4
    assert bm.cache_speedup(rows) == pytest.approx(
        rows[1]['latency_ms'] / rows[0]['latency_ms'])


def test_flops_scale_with_image_size(tiny_model):
    model = tiny_model
    bm.set_vocab_cache(model, True)
    f32 = bm.count_flops(model, bm.make_batch(32, 3))['flops']
    f64 = bm.count_flops(model, bm.make_batch(64, 3))['flops']
    # per-pixel layers dominate: 4x the pixels, about 4x the FLOPs
    assert 3.0 < f64 / f32 < 4.5


def test_main_compare_prints_ratio(tiny_config, tmp_path, capsys):
    out = tmp_path / 'bench.md'
    assert bm.main([tiny_config, '--img-size', '64', '--vocab-size', '3',
                    '--runs', '1', '--warmup', '0', '--no-flops',
                    '--compare-config', tiny_config, '--out',
                    str(out)]) == 0
    text = capsys.readouterr().out
    assert 'Vocabulary cache speed-up (tiny_yolo_world)' in text
    assert 'Latency ratio tiny_yolo_world / tiny_yolo_world' in text
    assert 'Forward latency ratio tiny_yolo_world / tiny_yolo_world' in text
    assert out.read_text().strip() == text.strip()
    with pytest.raises(FileNotFoundError, match='nope.py'):
        bm.main([str(tmp_path / 'nope.py')])
