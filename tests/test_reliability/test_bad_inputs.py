# Copyright (c) mmase contributors. All rights reserved.
"""Bad inputs through the real entry points (the table of
docs/bad_inputs.md): each gives one error naming the file, the item and the
field, a non-zero exit status for the command-line tools, and no
half-written output file."""
import argparse
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets.transforms import LoadAnnotations

import mmase  # noqa: F401  (registers the modules)
from mmase.datasets import ASEDataset, MMIODataset
from mmase.engine.hooks.non_finite_loss_hook import NonFiniteLossError
from tests.conftest import REPO_ROOT, write_tiny_coco

CLASSES = ('bright square', 'dark square')
TEXTS = [['bright square', 'a bright square patch'],
         ['dark square', 'a dark square patch']]
ASE_META = dict(classes=['ok', 'scratch'], numeric_fields=['area'],
                text_fields=['machine'])


def _tool(rel: str):
    """Import ``tools/<rel>`` in-process (its ``main(argv)``)."""
    name = 'mmase_tool_' + rel.replace('/', '_')[:-3]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, osp.join(REPO_ROOT, 'tools', rel))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def _files(folder) -> list:
    """Every file under ``folder`` (relative paths), [] if it is absent."""
    out = []
    for dirpath, _, names in os.walk(str(folder)):
        out += [osp.relpath(osp.join(dirpath, n), str(folder)) for n in names]
    return sorted(out)


# --------------------------------------------------------------- MMIO data
def make_mmio(root, coco_fn=None, texts=TEXTS, split=None):
    """A 4-image MMIO-style set: annotations.json, class_texts.json,
    split.json, images/."""
    ann = write_tiny_coco(str(root), num_images=4, classes=CLASSES)
    if coco_fn is not None:
        with open(ann) as f:
            coco = json.load(f)
        coco_fn(coco)
        with open(ann, 'w') as f:
            json.dump(coco, f)
    (root / 'class_texts.json').write_text(json.dumps(texts))
    (root / 'split.json').write_text(json.dumps(
        split or dict(seen=['bright square'], unseen=['dark square'])))
    return root


def build_mmio(root, **kwargs):
    cfg = dict(
        data_root=str(root) + '/', ann_file='annotations.json',
        data_prefix=dict(img=''), class_text_path='class_texts.json',
        split_path='split.json', filter_cfg=dict(filter_empty_gt=False),
        pipeline=[LoadImageFromFile(), LoadAnnotations(with_bbox=True)],
        test_mode=True)
    cfg.update(kwargs)
    return MMIODataset(**cfg)


def check_dataset(capsys, *argv):
    rc = _tool('data/check_dataset.py').main([str(a) for a in argv])
    return rc, capsys.readouterr().out


# ---------------------------------------------------------------- ASE data
def make_ase(root, rows_fn=None, meta=None):
    """A 3-image ASE set: meta.json, annotations/train.jsonl, images/."""
    (root / 'images').mkdir(parents=True)
    (root / 'annotations').mkdir()
    rows = []
    for i in range(3):
        cv2.imwrite(str(root / 'images' / f'{i}.png'),
                    np.full((16, 16, 3), 40 * i + 20, np.uint8))
        rows.append(dict(img_path=f'images/{i}.png',
                         label=ASE_META['classes'][i % 2],
                         record=dict(area=float(i + 1), machine='M1')))
    if rows_fn is not None:
        rows_fn(rows)
    (root / 'annotations' / 'train.jsonl').write_text(''.join(
        (r if isinstance(r, str) else json.dumps(r)) + '\n' for r in rows))
    (root / 'meta.json').write_text(json.dumps(meta or ASE_META))
    return root


def build_ase(root):
    return ASEDataset(data_root=str(root), ann_file='annotations/train.jsonl',
                      pipeline=[LoadImageFromFile()], test_mode=True)


def describe(root):
    """tools/ase/describe.py with the model-free record backend."""
    return _tool('ase/describe.py').main([
        str(root), '--backend', 'record', '--ann-files',
        'annotations/train.jsonl', '--no-progress'])


# --------------------------------------------------------- tiny detector
@pytest.fixture
def det_model(tiny_det_config, tmp_path):
    """(config path, checkpoint path) of an untrained tiny YOLOX."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg_path = tiny_det_config(max_epochs=1)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(Config.fromfile(cfg_path).model)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=CLASSES))), ckpt)
    return cfg_path, ckpt


def image_demo(inputs, cfg, ckpt, out, texts='bright square . dark square'):
    return _tool('demo/image_demo.py').main(
        [str(inputs), cfg, ckpt, '--texts', texts, '--out', str(out)])


def _damage_image(path, kind):
    if kind == 'missing':
        os.remove(path)
    elif kind == 'corrupt':
        with open(path, 'wb') as f:
            f.write(b'this is not an image')
    else:  # truncated: cut a noisy PNG in the middle of its pixel data
        noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3))
        cv2.imwrite(path, noise.astype(np.uint8))
        with open(path, 'rb') as f:
            data = f.read()
        with open(path, 'wb') as f:
            f.write(data[:len(data) // 2])


# ======================================================================
# rows of docs/bad_inputs.md
# ======================================================================
@pytest.mark.parametrize('kind', ['missing', 'corrupt', 'truncated'])
def test_bad_image(kind, tmp_path, capsys, det_model):
    root = make_mmio(tmp_path / 'mmio')
    bad = str(root / 'images' / '001.png')
    _damage_image(bad, kind)
    ds = build_mmio(root)
    ds[0]  # the good image loads
    with pytest.raises(Exception) as err:
        ds[1]
    # the annotation record first, then the loader's own message
    assert str(err.value).startswith(
        f'{ds.ann_file}: image id=1 ({bad}): ')
    if kind == 'missing':
        assert isinstance(err.value, FileNotFoundError)

    ase = make_ase(tmp_path / 'ase')
    _damage_image(str(ase / 'images' / '1.png'), kind)
    ase_ds = build_ase(ase)
    with pytest.raises(Exception) as err:
        ase_ds[1]
    assert re.match(re.escape(f'{ase_ds.ann_file}:2: img_path ') +
                    r'\S*images/1\.png: ', str(err.value)), str(err.value)

    rc, out = check_dataset(capsys, root / 'annotations.json', '--img-dir',
                            root)
    assert rc == 1
    assert 'image id=1: file_name: image ' in out and '001.png' in out
    rc, out = check_dataset(capsys, ase)
    assert rc == 1 and 'train.jsonl:2: img_path: image' in out

    # the demo decodes every input before building the model or writing
    out_dir = tmp_path / 'demo_out'
    cfg, ckpt = det_model
    inputs = bad if kind == 'missing' else root / 'images'
    with pytest.raises((ValueError, FileNotFoundError), match='001.png'):
        image_demo(inputs, cfg, ckpt, out_dir)
    assert _files(out_dir) == []

    if kind == 'corrupt':  # converters read the image header for the size
        lbl = tmp_path / 'labels'
        lbl.mkdir()
        (tmp_path / 'names.txt').write_text('\n'.join(CLASSES))
        out_json = tmp_path / 'yolo.json'
        with pytest.raises(ValueError, match='001.png: cannot read image'):
            _tool('data/yolo2coco.py').main([
                '--img-dir', str(root / 'images'), '--label-dir', str(lbl),
                '--classes', str(tmp_path / 'names.txt'), '--out',
                str(out_json)])
        assert not out_json.exists()


@pytest.mark.parametrize('kind', ['truncated', 'malformed'])
def test_bad_json(kind, tmp_path, capsys):

    def damage(path, lineno=None):
        text = open(path).read()
        if lineno is not None:  # one line of a JSONL file
            lines = text.splitlines()
            line = lines[lineno - 1]
            lines[lineno - 1] = (line[:len(line) // 2] if kind == 'truncated'
                                 else line.replace('"img_path"', 'img_path'))
            text = '\n'.join(lines) + '\n'
        elif kind == 'truncated':
            text = text[:len(text) // 2]
        else:
            text = text.replace('"', "'", 2)
        with open(path, 'w') as f:
            f.write(text)

    for name in ('annotations.json', 'class_texts.json'):
        root = make_mmio(tmp_path / name)
        damage(root / name)
        with pytest.raises(ValueError, match=f'{name}: invalid JSON'):
            build_mmio(root)
        rc, out = check_dataset(capsys, root / 'annotations.json',
                                '--img-dir', root, '--class-texts',
                                root / 'class_texts.json')
        assert rc == 1 and f'{name}: invalid JSON' in out

    ase = make_ase(tmp_path / 'ase_jsonl')
    damage(ase / 'annotations' / 'train.jsonl', lineno=2)
    with pytest.raises(ValueError, match=r'train\.jsonl:2: invalid JSON'):
        build_ase(ase)
    with pytest.raises(ValueError, match=r'train\.jsonl:2: invalid JSON'):
        describe(ase)
    assert not (ase / 'descriptions.jsonl').exists()
    rc, out = check_dataset(capsys, ase)
    assert rc == 1 and 'train.jsonl:2: invalid JSON' in out

    ase = make_ase(tmp_path / 'ase_meta')
    damage(ase / 'meta.json')
    with pytest.raises(ValueError, match=r'meta\.json: invalid JSON'):
        build_ase(ase)
    with pytest.raises(ValueError, match=r'meta\.json: invalid JSON'):
        describe(ase)
    assert not (ase / 'descriptions.jsonl').exists()


def test_category_without_text(tmp_path, capsys):
    root = make_mmio(tmp_path, texts=TEXTS[:1])
    with pytest.raises(ValueError,
                       match=r"class_texts\.json: class 'dark square': "
                       r'texts: class has no text entry'):
        build_mmio(root)
    rc, out = check_dataset(capsys, root / 'annotations.json', '--img-dir',
                            root, '--class-texts', root / 'class_texts.json')
    assert rc == 1
    assert "class_texts.json: class 'dark square': texts: class has no " \
           'text entry' in out


def test_unknown_category_id(tmp_path, capsys):

    def unknown(coco):
        coco['annotations'][1]['category_id'] = 99

    root = make_mmio(tmp_path / 'mmio', unknown)
    # before: mmdet's loader dropped the annotation without a word
    with pytest.raises(ValueError,
                       match=r'annotation id=1: category_id: unknown '
                       r'category id 99'):
        build_mmio(root)
    rc, out = check_dataset(capsys, root / 'annotations.json', '--img-dir',
                            root)
    assert rc == 1 and 'annotation id=1: category_id: unknown' in out

    (tmp_path / 'img').mkdir()
    cv2.imwrite(str(tmp_path / 'img' / 'a.png'), np.zeros((8, 8, 3)))
    (tmp_path / 'lbl').mkdir()
    (tmp_path / 'lbl' / 'a.txt').write_text('5 0.5 0.5 0.2 0.2\n')
    (tmp_path / 'names.txt').write_text('\n'.join(CLASSES))
    out_json = tmp_path / 'out.json'
    with pytest.raises(ValueError, match=r'a\.txt:1: class index 5'):
        _tool('data/yolo2coco.py').main([
            '--img-dir', str(tmp_path / 'img'), '--label-dir',
            str(tmp_path / 'lbl'), '--classes', str(tmp_path / 'names.txt'),
            '--out', str(out_json)])
    assert not out_json.exists()


VOC = ('<annotation><filename>a.png</filename><size><width>64</width>'
       '<height>48</height><depth>3</depth></size><object><name>dent</name>'
       '<bndbox><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax>'
       '</bndbox></object></annotation>')
BAD_BOXES = {
    # COCO [x, y, w, h]; YOLO "cx cy w h"; VOC (xmin, ymin, xmax, ymax)
    'outside': ([200, 200, 10, 10], '0.5 3.0 0.1 0.1', (70, 10, 90, 20)),
    'zero_area': ([5, 5, 0, 10], '0.5 0.5 0 0.1', (10, 10, 9, 20)),
    'nan': ([float('nan'), 5, 10, 10], '0.5 nan 0.1 0.1',
            ('nan', 10, 20, 20)),
}


@pytest.mark.parametrize('kind', list(BAD_BOXES))
def test_bad_box(kind, tmp_path, capsys):
    coco_box, yolo_box, voc_box = BAD_BOXES[kind]

    def bad(coco):
        coco['annotations'][2]['bbox'] = coco_box

    root = make_mmio(tmp_path / 'mmio', bad)
    with pytest.raises(ValueError,
                       match=r'annotations\.json: annotation id=2: bbox: '):
        build_mmio(root)

    # the COCO tools check their input before writing anything
    before = _files(root)
    split_before = (root / 'split.json').read_bytes()
    with pytest.raises(ValueError,
                       match=r'annotations\.json: annotation id=2: bbox: '):
        _tool('data/split_mmio.py').main(
            [str(root), '--ann', 'annotations.json', '--unseen',
             'dark square'])
    assert _files(root) == before
    assert (root / 'split.json').read_bytes() == split_before
    merged = tmp_path / 'merged'
    with pytest.raises(ValueError,
                       match=r'annotations\.json: annotation id=2: bbox: '):
        _tool('data/merge_coco.py').main([
            '--src', f'a:{root}/annotations.json:{root}', '--threshold', '2',
            '--out', str(merged)])
    assert not merged.exists()

    ann = root / 'annotations.json'
    before = ann.read_bytes()
    fixed = tmp_path / 'fixed.json'
    rc, out = check_dataset(capsys, ann, '--img-dir', root, '--fix-to',
                            fixed)
    assert rc == 1 and 'annotation id=2: bbox: ' in out
    assert ann.read_bytes() == before  # the input is never modified
    with open(fixed) as f:
        assert 2 not in [a['id'] for a in json.load(f)['annotations']]

    (tmp_path / 'img').mkdir()
    cv2.imwrite(str(tmp_path / 'img' / 'a.png'), np.zeros((48, 64, 3)))
    (tmp_path / 'lbl').mkdir()
    (tmp_path / 'lbl' / 'a.txt').write_text(f'0 0.5 0.5 0.1 0.1\n'
                                            f'1 {yolo_box}\n')
    (tmp_path / 'names.txt').write_text('\n'.join(CLASSES))
    out_json = tmp_path / 'yolo.json'
    # before: NaN became a whole-image box, outside/empty ones vanished
    with pytest.raises(ValueError, match=r'a\.txt:2: field "bbox"'):
        _tool('data/yolo2coco.py').main([
            '--img-dir', str(tmp_path / 'img'), '--label-dir',
            str(tmp_path / 'lbl'), '--classes', str(tmp_path / 'names.txt'),
            '--out', str(out_json)])
    assert not out_json.exists()

    (tmp_path / 'voc').mkdir()
    (tmp_path / 'voc' / 'a.xml').write_text(VOC.format(*voc_box))
    with pytest.raises(ValueError, match=r'a\.xml <object> #0: field '
                       r'"bbox"'):
        _tool('data/voc2coco.py').main(
            ['--ann-dir', str(tmp_path / 'voc'), '--out', str(out_json)])
    assert not out_json.exists()


@pytest.mark.parametrize('where', ['demo_texts', 'split', 'class_texts'])
def test_empty_vocabulary_or_text(where, tmp_path, capsys, det_model):
    if where == 'demo_texts':
        img = str(tmp_path / 'a.png')
        cv2.imwrite(img, np.zeros((32, 32, 3), np.uint8))
        cfg, ckpt = det_model
        with pytest.raises(ValueError, match='--texts: no class name'):
            image_demo(img, cfg, ckpt, tmp_path / 'out', texts=' . ')
        assert _files(tmp_path / 'out') == []
    elif where == 'split':
        root = make_mmio(tmp_path, split=dict(seen=list(CLASSES),
                                              unseen=[]))
        with pytest.raises(ValueError,
                           match=r'split\.json: field "unseen" is empty'):
            build_mmio(root, vocabulary='unseen')
    else:
        root = make_mmio(tmp_path, texts=[TEXTS[0], ['dark square', ' ']])
        with pytest.raises(ValueError, match=r'class_texts\.json: \[1\]: '
                           'texts: must be a non-empty list of non-empty '
                           'strings'):
            build_mmio(root)
        rc, out = check_dataset(capsys, root / 'annotations.json',
                                '--img-dir', root, '--class-texts',
                                root / 'class_texts.json')
        assert rc == 1 and 'class_texts.json: [1]: texts:' in out


@pytest.mark.parametrize(
    'where', ['categories', 'class_texts', 'ase_meta', 'demo_texts'])
def test_duplicate_class_names(where, tmp_path, capsys, det_model):
    if where == 'categories':

        def dup(coco):
            coco['categories'][1]['name'] = 'bright square'

        root = make_mmio(tmp_path, dup)
        with pytest.raises(ValueError, match=r"category id=2: name: "
                           r"duplicate name 'bright square'"):
            build_mmio(root)
        rc, out = check_dataset(capsys, root / 'annotations.json',
                                '--img-dir', root)
        assert rc == 1 and 'category id=2: name: duplicate name' in out
    elif where == 'class_texts':
        root = make_mmio(tmp_path, texts=TEXTS + [TEXTS[0]])
        with pytest.raises(ValueError, match=r"class_texts\.json: \[2\]: "
                           r"name: duplicate name 'bright square'"):
            build_mmio(root)
    elif where == 'ase_meta':
        # before: every 'ok' label silently became the last duplicate's
        root = make_ase(tmp_path, meta=dict(ASE_META, classes=['ok',
                                                               'x', 'ok']))
        with pytest.raises(ValueError, match=r'meta\.json: classes\[2\]: '
                           r"name: duplicate name 'ok'"):
            build_ase(root)
        rc, out = check_dataset(capsys, root)
        assert rc == 1 and ("meta.json: classes[2]: name: duplicate name "
                            "'ok'") in out
    else:
        img = str(tmp_path / 'a.png')
        cv2.imwrite(img, np.zeros((32, 32, 3), np.uint8))
        cfg, ckpt = det_model
        with pytest.raises(ValueError, match='--texts: duplicate class'):
            image_demo(img, cfg, ckpt, tmp_path / 'out', texts='a . b . a')
        assert _files(tmp_path / 'out') == []


@pytest.mark.parametrize('kind', ['overlap', 'unknown'])
def test_bad_seen_unseen(kind, tmp_path, capsys):
    split = (dict(seen=list(CLASSES), unseen=['dark square'])
             if kind == 'overlap' else
             dict(seen=['bright square', 'rust'], unseen=['dark square']))
    root = make_mmio(tmp_path, split=split)
    msg = (r"split\.json: class 'dark square': seen/unseen: class is both "
           r'seen and unseen' if kind == 'overlap' else
           r"split\.json: seen\[1\]: seen: 'rust' is not a category")
    for vocabulary in ('seen', 'unseen'):
        with pytest.raises(ValueError, match=msg):
            build_mmio(root, vocabulary=vocabulary)
    rc, out = check_dataset(capsys, root / 'annotations.json', '--img-dir',
                            root, '--split', root / 'split.json')
    assert rc == 1
    assert ("class 'dark square': seen/unseen" in out if kind == 'overlap'
            else "split.json: seen[1]: seen: 'rust' is not a category" in out)
    # the split tool refuses names that are not categories
    before = _files(root)
    with pytest.raises(ValueError, match=r"not in the category list: "
                       r"\['rust'\]"):
        _tool('data/split_mmio.py').main(
            [str(root), '--ann', 'annotations.json', '--unseen', 'rust'])
    assert _files(root) == before


@pytest.mark.parametrize('entry', ['test.py', 'image_demo.py'])
def test_checkpoint_wrong_or_missing_keys(entry, det_model, tmp_path):
    cfg, ckpt = det_model
    state = torch.load(ckpt, weights_only=True)
    sd = state['state_dict']
    dropped = 'bbox_head.multi_level_conv_cls.0.weight'
    assert dropped in sd
    del sd[dropped]
    sd['bbox_head.extra_layer.weight'] = torch.zeros(1)
    bad = str(tmp_path / 'bad_keys.pth')
    torch.save(state, bad)
    out = tmp_path / 'out'
    if entry == 'test.py':
        run = _tool('test.py').main
        argv = [cfg, bad, '--work-dir', str(out), '--out',
                str(out / 'preds.pkl')]
    else:
        img = str(tmp_path / 'a.png')
        cv2.imwrite(img, np.zeros((32, 32, 3), np.uint8))

        def run(argv):
            return _tool('demo/image_demo.py').main(argv)

        argv = [img, cfg, bad, '--texts', 'a . b', '--out', str(out)]
    with pytest.raises(RuntimeError) as err:
        run(argv)
    msg = str(err.value)
    # before: mmengine/mmdet only logged a warning and ran on random weights
    assert msg.startswith(f'{bad}: the checkpoint does not match')
    assert dropped in msg and 'bbox_head.extra_layer.weight' in msg
    assert '--no-strict' in msg
    assert not [f for f in _files(out) if f.endswith(('.pkl', '.json',
                                                      '.png'))]
    # --no-strict: mmengine's lenient loading, the run completes
    run(argv + ['--no-strict'])
    assert (out / ('metrics.json' if entry == 'test.py' else
                   'detections.json')).exists()
    if entry == 'image_demo.py':  # the matching checkpoint loads strictly
        argv[2] = ckpt
        run(argv)


def test_missing_text_encoder_path(tmp_path):
    missing = str(tmp_path / 'no_such_minilm')
    wd = tmp_path / 'wd'
    with pytest.raises(FileNotFoundError,
                       match=f'text model directory not found: '
                       f"'{missing}' \\(field `model_name`\\)"):
        _tool('train.py').main([
            osp.join(REPO_ROOT, 'configs', 'ase',
                     'pfa-cmaf_effnet-lite0_1xb16-8e_ase.py'),
            '--work-dir', str(wd), '--cfg-options',
            f'model.text_encoder.model_name={missing}'
        ])
    assert not [f for f in _files(wd) if f.endswith('.pth')]


@pytest.mark.parametrize('kind', ['missing', 'string', 'nan'])
def test_ase_record_bad_field(kind, tmp_path, capsys):

    def bad(rows):
        if kind == 'missing':
            del rows[1]['record']['area']
        else:
            rows[1]['record']['area'] = ('12 um' if kind == 'string' else
                                         float('nan'))

    root = make_ase(tmp_path, bad)
    msg = r'train\.jsonl:2: record\.area: '
    with pytest.raises(ValueError, match=msg):
        build_ase(root)
    # before: the descriptor silently called the value usual
    with pytest.raises(ValueError, match=r'train\.jsonl:2: record\.area: '):
        describe(root)
    assert not (root / 'descriptions.jsonl').exists()
    rc, out = check_dataset(capsys, root)
    assert rc == 1 and 'train.jsonl:2: record.area: ' in out


@pytest.mark.parametrize('entry', ['test.py', 'image_demo.py'])
def test_checkpoint_needing_unsafe_unpickling(entry, det_model, tmp_path,
                                              monkeypatch):
    monkeypatch.delenv('MMASE_ALLOW_UNSAFE_LOAD', raising=False)
    cfg, ckpt = det_model
    state = torch.load(ckpt, weights_only=True)
    state['meta']['args'] = argparse.Namespace(lr=0.1)  # not allow-listed
    bad = str(tmp_path / 'pickled.pth')
    torch.save(state, bad)
    out = tmp_path / 'out'
    with pytest.raises(RuntimeError, match='refused to load with '
                       'weights_only=True') as err:
        if entry == 'test.py':
            _tool('test.py').main([cfg, bad, '--work-dir', str(tmp_path),
                                   '--out', str(out / 'p.pkl')])
        else:
            img = str(tmp_path / 'a.png')
            cv2.imwrite(img, np.zeros((32, 32, 3), np.uint8))
            image_demo(img, cfg, bad, out)
    assert bad in str(err.value) and 'MMASE_ALLOW_UNSAFE_LOAD=1' in str(
        err.value)
    assert _files(out) == []


def test_nan_loss_stops_training(tiny_det_config, tmp_path):
    wd = tmp_path / 'wd'
    # a NaN loss weight makes the box loss NaN from the first iteration
    with pytest.raises(NonFiniteLossError,
                       match=r'non-finite loss at iteration 1 \(epoch 1\): '
                       r'.*loss_bbox=\[nan\]'):
        _tool('train.py').main([
            tiny_det_config(max_epochs=1), '--work-dir', str(wd),
            '--cfg-options', 'model.bbox_head.loss_bbox.type=IoULoss',
            'model.bbox_head.loss_bbox.mode=square',
            'model.bbox_head.loss_bbox.reduction=sum',
            'model.bbox_head.loss_bbox.loss_weight=nan'
        ])
    assert not [f for f in _files(wd) if f.endswith('.pth')]


def test_cli_exit_status_and_no_output(tmp_path):
    """The same error from the command line: non-zero exit, the message as
    the last line of stderr, no output file."""
    (tmp_path / 'img').mkdir()
    cv2.imwrite(str(tmp_path / 'img' / 'a.png'), np.zeros((8, 8, 3)))
    (tmp_path / 'lbl').mkdir()
    (tmp_path / 'lbl' / 'a.txt').write_text('0 nan 0.5 0.1 0.1\n')
    (tmp_path / 'names.txt').write_text('a\n')
    out_json = tmp_path / 'out.json'
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    res = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'data', 'yolo2coco.py'),
         '--img-dir', str(tmp_path / 'img'), '--label-dir',
         str(tmp_path / 'lbl'), '--classes', str(tmp_path / 'names.txt'),
         '--out', str(out_json)],
        env=env, cwd=str(tmp_path), capture_output=True, text=True,
        timeout=120)
    assert res.returncode != 0
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('ValueError: ') and 'a.txt:1: field "bbox"' in last
    assert not out_json.exists()


# ----------------------------------------------- geometry, types, paths
def _set_coco(**changes):
    """``coco_fn`` for make_mmio: ``section=(index, field, value)``."""

    def fn(coco):
        for section, (i, key, value) in changes.items():
            coco[section][i][key] = value

    return fn


def test_image_size_differs_from_file(tmp_path, capsys):
    # the json says 128x128, the file is 64x64: a box at x=100 is outside
    # the real image (before: the dataset and train.py took it as is)
    root = make_mmio(tmp_path, lambda coco: (
        coco['images'][1].update(width=128, height=128),
        coco['annotations'][1].update(bbox=[100, 100, 20, 20], area=400)))
    with pytest.raises(ValueError, match=r'annotations\.json: image id=1: '
                       r'width/height: declared 128x128, file is 64x64'):
        build_mmio(root)
    rc, out = check_dataset(capsys, root / 'annotations.json', '--img-dir',
                            root)
    assert rc == 1 and 'image id=1: width/height: declared 128x128' in out
    # the header check can be switched off; the box is then checked
    # against the declared size only
    assert len(build_mmio(root, check_image_size=False)) == 4


def _exif_jpeg(path, w, h, orientation):
    from PIL import Image
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.new('RGB', (w, h), (90, 90, 90)).save(path, exif=exif.tobytes())


def test_exif_rotated_image(tmp_path, capsys):
    """A JPEG stored 64x32 with EXIF orientation 6 is loaded 32 wide and 64
    high by mmcv; the converter, the doctor and the dataset use that frame
    (before: the doctor passed the stored size, yolo2coco scaled the boxes
    by it)."""
    (tmp_path / 'img').mkdir()
    (tmp_path / 'lbl').mkdir()
    _exif_jpeg(tmp_path / 'img' / 'a.jpg', 64, 32, 6)
    (tmp_path / 'lbl' / 'a.txt').write_text('1 0.25 0.5 0.5 0.25\n')
    (tmp_path / 'names.txt').write_text('\n'.join(CLASSES))
    (tmp_path / 'class_texts.json').write_text(json.dumps(TEXTS))
    ann = tmp_path / 'ann.json'
    _tool('data/yolo2coco.py').main([
        '--img-dir', str(tmp_path / 'img'), '--label-dir',
        str(tmp_path / 'lbl'), '--classes', str(tmp_path / 'names.txt'),
        '--out', str(ann)])
    coco = json.loads(ann.read_text())
    assert (coco['images'][0]['width'], coco['images'][0]['height']) == (32,
                                                                        64)
    # cx 0.25 * 32 = 8, cy 0.5 * 64 = 32, w 0.5 * 32 = 16, h 0.25 * 64 = 16
    assert coco['annotations'][0]['bbox'] == [0.0, 24.0, 16.0, 16.0]
    ds = build_mmio(tmp_path, ann_file='ann.json', data_prefix=dict(
        img='img/'), split_path=None)
    sample = ds[0]
    assert sample['img'].shape[:2] == (64, 32)  # mmcv applied the EXIF
    assert sample['gt_bboxes'].tensor.tolist() == [[0.0, 24.0, 16.0, 40.0]]
    rc, out = check_dataset(capsys, ann, '--img-dir', tmp_path / 'img')
    assert rc == 0, out

    # a json with the stored (unrotated) size is refused by both
    coco['images'][0].update(width=64, height=32)
    ann.write_text(json.dumps(coco))
    msg = ('image id=1: width/height: declared 64x32, file is 32x64 (EXIF '
           'orientation 6, applied by the image loader)')
    with pytest.raises(ValueError, match=re.escape(msg)):
        build_mmio(tmp_path, ann_file='ann.json',
                   data_prefix=dict(img='img/'), split_path=None)
    rc, out = check_dataset(capsys, ann, '--img-dir', tmp_path / 'img')
    assert rc == 1 and msg in out


WRONG_TYPES = {
    # name: (make_mmio coco_fn or None, split, ASE rows_fn, ASE meta,
    #        message)
    'split_entry_list': (
        None, dict(seen=[['bright square']], unseen=['dark square']),
        None, None,
        'split.json: seen[0]: seen: expected a class name, got '
        '["bright square"]'),
    'category_id_list': (
        _set_coco(annotations=(1, 'category_id', [2])), None, None, None,
        'annotations.json: annotation id=1: category_id: expected an '
        'integer id, got [2]'),
    'category_id_true': (
        _set_coco(annotations=(1, 'category_id', True)), None, None, None,
        'annotations.json: annotation id=1: category_id: expected an '
        'integer id, got true'),
    'image_id_float': (
        _set_coco(annotations=(1, 'image_id', 1.0)), None, None, None,
        'annotations.json: annotation id=1: image_id: expected an integer '
        'id, got 1.0'),
    'ase_label_list': (
        None, None, lambda rows: rows[1].update(label=['scratch']), None,
        'train.jsonl:2: label: expected a class name, got ["scratch"]'),
    'meta_list': (
        None, None, None, [ASE_META],
        'meta.json: top level: type: expected a JSON object, got array'),
}


@pytest.mark.parametrize('case', list(WRONG_TYPES))
def test_wrong_json_type(case, tmp_path, capsys):
    """Valid JSON of the wrong type: one report naming file, record and
    field from the dataset and the doctor (before: TypeError/AttributeError,
    or ``true``/``1.0`` taken as the id 1)."""
    coco_fn, split, rows_fn, meta, msg = WRONG_TYPES[case]
    if case.startswith(('ase', 'meta')):
        root = make_ase(tmp_path, rows_fn, meta=meta)
        with pytest.raises(ValueError) as err:
            build_ase(root)
        rc, out = check_dataset(capsys, root)
    else:
        root = make_mmio(tmp_path, coco_fn, split=split)
        with pytest.raises(ValueError) as err:
            build_mmio(root, vocabulary='seen')
        rc, out = check_dataset(capsys, root / 'annotations.json',
                                '--img-dir', root, '--split',
                                root / 'split.json')
    assert msg in str(err.value)
    assert str(err.value).startswith(str(root))  # the file, in full
    assert rc == 1 and msg in out


def _yolo_cli(tmp_path, label_line, names='bright square\ndark square\n',
              names_file='names.txt'):
    (tmp_path / 'img').mkdir(exist_ok=True)
    (tmp_path / 'lbl').mkdir(exist_ok=True)
    cv2.imwrite(str(tmp_path / 'img' / 'a.png'), np.zeros((48, 64, 3)))
    (tmp_path / 'lbl' / 'a.txt').write_text(label_line + '\n')
    (tmp_path / names_file).write_text(names)
    out_json = tmp_path / 'out.json'
    try:
        _tool('data/yolo2coco.py').main([
            '--img-dir', str(tmp_path / 'img'), '--label-dir',
            str(tmp_path / 'lbl'), '--classes', str(tmp_path / names_file),
            '--out', str(out_json)])
    finally:
        assert not out_json.exists()


@pytest.mark.parametrize('index', ['1.7', '-0.5', 'inf', '-1'])
def test_yolo_class_index_not_exact(index, tmp_path):
    # before: 1.7 became class 1, -0.5 class 0, inf an OverflowError
    msg = (r"a\.txt:1: class index -1 out of range \(0\.\.1\)"
           if index == '-1' else
           rf"a\.txt:1: class index '{re.escape(index)}' is not a whole "
           rf'number')
    with pytest.raises(ValueError, match=msg):
        _yolo_cli(tmp_path, f'{index} 0.5 0.5 0.2 0.2')


@pytest.mark.parametrize('kind', ['blank', 'duplicate', 'yaml_gap'])
def test_class_list_blank_gap_duplicate(kind, tmp_path):
    """Class lists where a blank, a gap or a duplicate would shift or merge
    classes are refused by yolo2coco and voc2coco (before: every later
    class moved by one, or two categories had one name)."""
    names, names_file, msg = {
        'blank': ('bright square\n\ndark square\n', 'names.txt',
                  r'names\.txt:2: class 1 has no name'),
        'duplicate': ('bright square\ndark square\nbright square\n',
                      'names.txt', r"names\.txt:3: duplicate class name "
                      r"'bright square' \(also line 1\)"),
        'yaml_gap': ('names:\n  0: bright square\n  2: dark square\n',
                     'data.yaml', r'data\.yaml: field "names": keys must '
                     r'be 0\.\.1; missing \[1\]'),
    }[kind]
    with pytest.raises(ValueError, match=msg):
        _yolo_cli(tmp_path, '0 0.5 0.5 0.2 0.2', names, names_file)
    (tmp_path / 'voc').mkdir()
    (tmp_path / 'voc' / 'a.xml').write_text(VOC.format(10, 10, 20, 20))
    out_json = tmp_path / 'voc.json'
    with pytest.raises(ValueError, match=msg):
        _tool('data/voc2coco.py').main([
            '--ann-dir', str(tmp_path / 'voc'), '--classes',
            str(tmp_path / names_file), '--out', str(out_json)])
    assert not out_json.exists()


@pytest.mark.parametrize('value', ['nan', 'inf', '0'])
def test_voc_size_not_finite(value, tmp_path):
    # before: a bare "cannot convert float NaN to integer" / OverflowError
    (tmp_path / 'voc').mkdir()
    (tmp_path / 'voc' / 'a.xml').write_text(
        VOC.format(10, 10, 20, 20).replace('<width>64<', f'<width>{value}<'))
    out_json = tmp_path / 'voc.json'
    with pytest.raises(ValueError, match=r'a\.xml <size>: <width> must be a '
                       rf"positive whole number of pixels, got '{value}'"):
        _tool('data/voc2coco.py').main(
            ['--ann-dir', str(tmp_path / 'voc'), '--out', str(out_json)])
    assert not out_json.exists()


@pytest.mark.parametrize('path', ['../outside.png', 'images/../../x.png',
                                  '/abs/a.png'])
def test_path_leaving_data_root(path, tmp_path, capsys):
    """Image paths written in annotation files stay inside their folder
    (before: accepted; merge_coco copied such a file wherever it led)."""
    cv2.imwrite(str(tmp_path / 'outside.png'), np.zeros((64, 64, 3)))
    root = make_mmio(tmp_path / 'mmio',
                     _set_coco(images=(1, 'file_name', path)))
    msg = f"image id=1: file_name: '{path}' " + (
        'is absolute' if path.startswith('/') else 'leaves the image folder')
    with pytest.raises(ValueError, match=re.escape(msg)):
        build_mmio(root)
    rc, out = check_dataset(capsys, root / 'annotations.json', '--img-dir',
                            root)
    assert rc == 1 and msg in out
    merged = tmp_path / 'merged'
    with pytest.raises(ValueError, match=re.escape(msg)):
        _tool('data/merge_coco.py').main([
            '--src', f'a:{root}/annotations.json:{root}', '--threshold', '2',
            '--out', str(merged)])
    assert _files(merged) == []

    ase = make_ase(tmp_path / 'ase',
                   lambda rows: rows[1].update(img_path=path))
    msg = f"train.jsonl:2: img_path: '{path}' " + (
        'is absolute' if path.startswith('/') else 'leaves the data root')
    with pytest.raises(ValueError, match=re.escape(msg)):
        build_ase(ase)
    rc, out = check_dataset(capsys, ase)
    assert rc == 1 and msg in out


def test_class_neither_seen_nor_unseen(tmp_path, capsys):
    # before: the boxes of 'dark square' vanished from both vocabularies
    root = make_mmio(tmp_path, split=dict(seen=['bright square'],
                                          unseen=[]))
    msg = ("split.json: class 'dark square': seen/unseen: class is neither "
           'seen nor unseen')
    with pytest.raises(ValueError, match=re.escape(msg)):
        build_mmio(root, vocabulary='seen')
    rc, out = check_dataset(capsys, root / 'annotations.json', '--img-dir',
                            root, '--split', root / 'split.json')
    assert rc == 1 and msg in out


@pytest.mark.parametrize('value', [None, 3])
def test_ase_text_field_not_a_string(value, tmp_path, capsys):
    # before: the model read "machine: None"
    root = make_ase(tmp_path,
                    lambda rows: rows[1]['record'].update(machine=value))
    msg = f'train.jsonl:2: record.machine: not a string: {json.dumps(value)}'
    with pytest.raises(ValueError, match=re.escape(msg)):
        build_ase(root)
    rc, out = check_dataset(capsys, root)
    assert rc == 1 and msg in out


# ------------------------------------------------ checkpoints and configs
class _RunsCode:
    """Unpickling this creates a directory (stands for any code)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker, ))


def _evil_checkpoint(path, marker, state_dict=None):
    torch.save(dict(state_dict=state_dict or {}, meta=dict(),
                    payload=_RunsCode(str(marker))), str(path))
    return str(path)


@pytest.mark.parametrize('entry', [
    'MobileSAMViT', 'expert init_cfg', 'text encoder weights', 'test.py',
    'train.py --resume', 'init_model', 'model converter'
])
def test_malicious_checkpoint_runs_no_code(entry, tmp_path, monkeypatch,
                                           det_model):
    """Every path that reads a checkpoint refuses a pickle that would run
    code, and the code does not run (before: ``MobileSAMViT`` loaded with
    ``weights_only=False`` and ran it)."""
    monkeypatch.delenv('MMASE_ALLOW_UNSAFE_LOAD', raising=False)
    marker = tmp_path / 'code_ran'
    evil = _evil_checkpoint(tmp_path / 'evil.pth', marker)
    cfg, _ = det_model
    with pytest.raises(Exception) as err:
        if entry == 'MobileSAMViT':
            from mmase.models.backbones import MobileSAMViT
            MobileSAMViT(checkpoint=evil)
        elif entry == 'expert init_cfg':  # rtvp_s_branch.py's recipe
            from mmase.models.backbones import YOLOv8CSPDarknet
            YOLOv8CSPDarknet(
                deepen_factor=0.33, widen_factor=0.125,
                init_cfg=dict(type='Pretrained', checkpoint=evil,
                              prefix='backbone.')).init_weights()
        elif entry == 'text encoder weights':  # HFTextEncoder(model_name)
            from mmase.models.text_encoders import HFTextEncoder
            from mmase.testing import make_tiny_bert
            bert = make_tiny_bert(str(tmp_path / 'bert'))
            for name in os.listdir(bert):
                if name.endswith('.safetensors'):
                    os.remove(osp.join(bert, name))
            _evil_checkpoint(osp.join(bert, 'pytorch_model.bin'), marker)
            HFTextEncoder(model_name=bert)
        elif entry == 'test.py':
            _tool('test.py').main([cfg, evil, '--work-dir',
                                   str(tmp_path / 'wd')])
        elif entry == 'train.py --resume':
            _tool('train.py').main([cfg, '--work-dir', str(tmp_path / 'wd'),
                                    '--resume', evil])
        elif entry == 'model converter':
            _tool('model_converters/yolo_world_to_mmase.py').convert_file(
                evil, str(tmp_path / 'converted.pth'))
        else:  # benchmark.py, export_onnx.py, paper_table.py, image demo
            from mmase.apis import init_model
            init_model(cfg, evil)
    assert not marker.exists(), 'the checkpoint ran code'
    if entry != 'text encoder weights':  # transformers words its own error
        assert evil in str(err.value)
        assert 'refused to load with weights_only=True' in str(err.value)
    # the payload is real: unsafe loading would run it
    torch.load(evil, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize('entry', ['test.py', 'train.py --resume CKPT',
                                   'train.py --resume'])
def test_truncated_checkpoint_names_the_file(entry, det_model, tmp_path):
    """Before: torch's ``PytorchStreamReader failed reading zip archive``
    (or a bare ``EOFError``) without the file name."""
    cfg, ckpt = det_model
    wd = tmp_path / 'wd'
    wd.mkdir()
    cut = str(wd / 'epoch_1.pth')
    with open(ckpt, 'rb') as f:
        data = f.read()
    with open(cut, 'wb') as f:
        f.write(data[:len(data) // 2])
    (wd / 'last_checkpoint').write_text(cut)
    before = _files(wd)
    with pytest.raises((RuntimeError, FileNotFoundError)) as err:
        if entry == 'test.py':
            _tool('test.py').main([cfg, cut, '--work-dir', str(wd)])
        elif entry == 'train.py --resume CKPT':
            _tool('train.py').main([cfg, '--work-dir', str(wd), '--resume',
                                    cut])
        else:  # the only checkpoint of the work dir is broken
            _tool('train.py').main([cfg, '--work-dir', str(wd), '--resume'])
    msg = str(err.value)
    assert cut in msg and 'truncated' in msg, msg
    assert not [f for f in _files(wd) if f not in before
                and f.endswith(('.pth', '.json'))]


@pytest.mark.parametrize('kind', ['empty work dir', 'missing work dir',
                                  'empty last_checkpoint'])
def test_resume_with_nothing_to_resume(kind, det_model, tmp_path):
    """``--resume`` never trains from scratch: before, an empty or wrong
    work dir trained from scratch with exit status 0, and an empty
    ``last_checkpoint`` failed on an empty path."""
    cfg, _ = det_model
    wd = tmp_path / 'wd'
    if kind != 'missing work dir':
        wd.mkdir()
    if kind == 'empty last_checkpoint':
        (wd / 'last_checkpoint').write_text('')
    with pytest.raises(FileNotFoundError,
                       match=f'--resume: nothing to resume in {wd}') as err:
        _tool('train.py').main([cfg, '--work-dir', str(wd), '--resume'])
    if kind == 'empty last_checkpoint':
        assert f'{wd}/last_checkpoint: empty file' in str(err.value)
    assert 'without --resume' in str(err.value)
    assert not [f for f in _files(wd) if f.endswith('.pth')]


@pytest.mark.parametrize('option', ['foo_bar=1', 'trian_cfg.max_epochs=1'])
def test_unknown_top_level_cfg_option(option, det_model, tmp_path):
    """Before: merged into the config and ignored; the run trained with
    the config's own values."""
    cfg, _ = det_model
    wd = tmp_path / 'wd'
    key = option.split('.')[0].split('=')[0]
    msg = f"unknown top-level key\\(s\\) '{key}'"
    with pytest.raises(ValueError, match=msg) as err:
        _tool('train.py').main([cfg, '--work-dir', str(wd),
                                '--cfg-options', option])
    assert cfg in str(err.value)
    if key == 'trian_cfg':
        assert "did you mean 'train_cfg'" in str(err.value)
    assert _files(wd) == []
    # known keys, and keys the Runner reads without a config default, pass
    _tool('train.py').build_config(_tool('train.py').parse_args([
        cfg, '--work-dir', str(wd), '--cfg-options', 'train_cfg.max_epochs=1',
        'find_unused_parameters=True']))


@pytest.mark.parametrize('hook_type', ['AtomicCheckpointHook',
                                       'CheckpointHook'])
def test_unknown_hook_argument(hook_type, det_model, tmp_path):
    """``default_hooks.checkpoint.intervall=1``: before, mmengine's
    CheckpointHook kept it for ``save_checkpoint`` and failed after the
    first epoch had trained."""
    cfg, _ = det_model
    wd = tmp_path / 'wd'
    with pytest.raises(TypeError) as err:
        _tool('train.py').main([
            cfg, '--work-dir', str(wd), '--cfg-options',
            f'default_hooks.checkpoint.type={hook_type}',
            'default_hooks.checkpoint.intervall=1'])
    msg = str(err.value)
    assert msg.startswith(f'{cfg}: default_hooks.checkpoint: ')
    assert "'intervall' (did you mean 'interval'?)" in msg
    assert not [f for f in _files(wd) if f.endswith(('.pth', '.log'))]


def test_ase_num_classes_differs_from_meta_classes(tmp_path):
    """Before: ``IndexError: Target 5 is out of bounds`` inside the loss
    after the model, the text encoder and the data were built."""
    meta = dict(ASE_META, classes=['ok', 'scratch', 'dent', 'stain', 'pit',
                                   'burr'])
    root = make_ase(tmp_path / 'ase', meta=meta)
    config = osp.join(REPO_ROOT, 'configs', 'ase',
                      'pfa-cmaf_effnet-lite0_1xb16-8e_ase.py')
    wd = tmp_path / 'wd'
    with pytest.raises(ValueError) as err:
        _tool('train.py').main([
            config, '--work-dir', str(wd), '--cfg-options',
            f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}'])
    msg = str(err.value)
    assert msg.startswith(f'{config}: model.head.num_classes = 5 but ')
    assert f'{root}/meta.json (field "classes"' in msg
    assert 'lists 6 classes' in msg
    assert _files(wd) == []
