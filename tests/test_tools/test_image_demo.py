# Copyright (c) mmase contributors. All rights reserved.
"""tools/demo/image_demo.py: a thin wrapper over mmdet's DetInferencer
that never writes onto its inputs and keeps output names distinct."""
import importlib.util
import json
import os
import os.path as osp

import pytest

from mmase.testing.tiny_open_vocab import make_tiny_open_vocab_run

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _demo():
    path = osp.join(REPO, 'tools', 'demo', 'image_demo.py')
    spec = importlib.util.spec_from_file_location('image_demo', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


demo = _demo()


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    return make_tiny_open_vocab_run(str(tmp_path_factory.mktemp('demo')))


def _files(path):
    if not osp.isdir(path):
        return []
    return sorted(
        osp.relpath(osp.join(d, f), path) for d, _, fs in os.walk(path)
        for f in fs)


def _inputs(run, folder, names):
    """Copies of the first test images under ``folder`` with ``names``
    (a .jpg name gets a JPEG)."""
    import cv2
    os.makedirs(folder, exist_ok=True)
    src = sorted(os.listdir(osp.join(run['data'], 'images')))
    paths = []
    for i, name in enumerate(names):
        img = cv2.imread(osp.join(run['data'], 'images', src[i]))
        path = osp.join(folder, name)
        os.makedirs(osp.dirname(path), exist_ok=True)
        cv2.imwrite(path, img)
        paths.append(path)
    return paths


def test_texts_pictures_and_json(run, tmp_path):
    _inputs(run, tmp_path / 'in', ['a.png', 'b.png'])
    out = tmp_path / 'out'
    demo.main([str(tmp_path / 'in'), run['config'], run['checkpoint'],
               '--texts', 'white round spot . rust', '--out', str(out),
               '--score-thr', '0.0', '--topk', '3'])
    assert _files(out) == ['a.png', 'b.png', 'detections.json']
    with open(out / 'detections.json') as f:
        res = json.load(f)
    assert res['texts'] == ['white round spot', 'rust']
    assert [r['picture'] for r in res['results']] == ['a.png', 'b.png']
    for r in res['results']:
        assert 0 < len(r['detections']) <= 3  # --topk
        scores = [d['score'] for d in r['detections']]
        assert scores == sorted(scores, reverse=True)
        assert {d['label'] for d in r['detections']} <= {'white round spot',
                                                         'rust'}

    # the detections are DetInferencer's, filtered by score and topk
    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(model=run['config'],
                               weights=run['checkpoint'], device='cpu',
                               show_progress=False)
    pred = inferencer(str(tmp_path / 'in' / 'a.png'),
                      texts='white round spot . rust',
                      return_datasamples=True)['predictions'][0]
    order = pred.pred_instances.scores.argsort(descending=True)[:3]
    expect = [round(float(s), 4) for s in pred.pred_instances.scores[order]]
    assert [d['score'] for d in res['results'][0]['detections']] == expect


def test_without_texts_uses_the_checkpoint_classes(run, tmp_path):
    img = _inputs(run, tmp_path / 'in', ['a.png'])[0]
    out = tmp_path / 'out'
    demo.main([img, run['config'], run['checkpoint'], '--out', str(out),
               '--score-thr', '0'])
    with open(out / 'detections.json') as f:
        res = json.load(f)
    assert res['texts'] == run['seen']
    labels = {d['label'] for d in res['results'][0]['detections']}
    assert labels and labels <= set(run['seen'])


@pytest.mark.parametrize('where', ['same', 'parent', 'file_inside'])
def test_out_may_not_hold_an_input(run, tmp_path, where):
    """Before: --out set to the input folder replaced every input PNG by its
    drawing."""
    paths = _inputs(run, tmp_path / 'data' / 'in', ['a.png', 'b.png'])
    before = {p: open(p, 'rb').read() for p in paths}
    out = {'same': tmp_path / 'data' / 'in', 'parent': tmp_path / 'data',
           'file_inside': tmp_path / 'data' / 'in'}[where]
    inputs = [str(tmp_path / 'data' / 'in')] if where != 'file_inside' \
        else [paths[1]]
    with pytest.raises(ValueError, match=r'--out .*: contains the input '
                       r'.*(a|b)\.png'):
        demo.main(inputs + [run['config'], run['checkpoint'], '--texts',
                            'rust', '--out', str(out)])
    assert _files(tmp_path / 'data') == ['in/a.png', 'in/b.png']
    assert all(open(p, 'rb').read() == b for p, b in before.items())


def test_symlinked_out_is_resolved(run, tmp_path):
    paths = _inputs(run, tmp_path / 'in', ['a.png'])
    os.symlink(tmp_path / 'in', tmp_path / 'link')
    with pytest.raises(ValueError, match='contains the input'):
        demo.main([paths[0], run['config'], run['checkpoint'], '--texts',
                   'rust', '--out', str(tmp_path / 'link')])


def test_colliding_stems_get_distinct_names(run, tmp_path):
    """Before: a.png and a.jpg both became a.png, one overwriting the
    other; the same name in two folders too."""
    paths = _inputs(run, tmp_path / 'in',
                    ['a.png', 'a.jpg', 'b.png', 'sub/b.png', 'c.png'])
    out = tmp_path / 'out'
    demo.main([str(tmp_path / 'in'), str(tmp_path / 'in' / 'sub'),
               run['config'], run['checkpoint'], '--texts', 'rust', '--out',
               str(out), '--score-thr', '0'])
    with open(out / 'detections.json') as f:
        res = json.load(f)
    pictures = {osp.relpath(r['image'], tmp_path / 'in'): r['picture']
                for r in res['results']}
    assert pictures == {'a.jpg': 'a_jpg.png', 'a.png': 'a_png.png',
                        'b.png': 'b_png_1.png', 'sub/b.png': 'b_png_2.png',
                        'c.png': 'c.png'}
    assert _files(out) == sorted(list(pictures.values()) +
                                 ['detections.json'])
    assert len(paths) == len(pictures)


def test_output_names_unit():
    names = demo.output_names(['x/a.png', 'x/a.jpg', 'y/a.png', 'x/b.PNG',
                               'x/a_png.png'])
    assert len(set(names.values())) == 5
    assert names['x/b.PNG'] == 'b.png'
    assert names['x/a.jpg'] == 'a_jpg.png'
    # x/a_png.png's own stem is 'a_png' too: the three are numbered in
    # input order
    assert [names[k] for k in ('x/a.png', 'y/a.png', 'x/a_png.png')] == [
        'a_png_1.png', 'a_png_2.png', 'a_png_3.png'
    ]
    assert demo.output_names(['a_png_1.png', 'x/a.png', 'y/a.png']) == {
        'a_png_1.png': 'a_png_1.png', 'x/a.png': 'a_png_2.png',
        'y/a.png': 'a_png_3.png'
    }


def test_run_demo_sh_calls_the_demo_with_its_cli():
    """tools/run_demo.sh passes the image files and an --out that does not
    hold them."""
    text = open(osp.join(REPO, 'tools', 'run_demo.sh')).read()
    assert 'tools/demo/image_demo.py $IMGS "$CONFIG" "$CKPT"' in text
    assert '--out "$OUT" --score-thr' in text
    assert "'$DATA/images/' + im['file_name']" in text
    assert 'cp "$DATA/images' not in text  # no copies inside $OUT
    args = demo.parse_args(['d/1.png', 'd/2.png', 'c.py', 'k.pth',
                            '--texts', 'a . b', '--out', 'o',
                            '--score-thr', '0.02', '--topk', '5'])
    assert args.inputs == ['d/1.png', 'd/2.png']
    assert (args.config, args.checkpoint, args.topk) == ('c.py', 'k.pth', 5)


def test_sibling_out_folder_is_fine(run, tmp_path):
    """An --out next to the inputs (not holding them) is accepted."""
    paths = _inputs(run, tmp_path / 'in', ['a.png'])
    demo.main([paths[0], run['config'], run['checkpoint'], '--texts',
               'rust', '--out', str(tmp_path / 'in_vis')])
    assert _files(tmp_path / 'in_vis') == ['a.png', 'detections.json']
    assert _files(tmp_path / 'in') == ['a.png']
