# Copyright (c) mmase contributors. All rights reserved.
"""ONNX export round trip of a tiny YOLOWorldDetector."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch

from mmase.testing import make_tiny_bert

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(rel):
    name = osp.splitext(osp.basename(rel))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ex = load_tool('tools/deploy/export_onnx.py')
TINY_CONFIG = load_tool('tests/test_tools/test_benchmark.py').TINY_CONFIG


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp('onnx')
    bert = make_tiny_bert(str(d / 'bert'))
    cfg = d / 'tiny_yolo_world.py'
    cfg.write_text(TINY_CONFIG.format(bert=bert))
    out = str(d / 'export')
    torch.manual_seed(0)
    res = ex.export(str(cfg), None, out, img_size=64, vocab_size=4)
    return out, res


def test_files_and_meta(exported):
    out, res = exported
    for name in ('text.onnx', 'image.onnx', 'meta.json',
                 'tokenizer/vocab.txt'):
        assert osp.isfile(osp.join(out, name)), name
    with open(osp.join(out, 'meta.json')) as f:
        meta = json.load(f)
    assert meta['img_size'] == 64 and meta['embed_dim'] == 32
    # 3 levels x (class logits, distances, distance logits)
    assert len(meta['outputs']) == 9
    import onnx
    g = onnx.load(osp.join(out, 'image.onnx')).graph
    assert [i.name for i in g.input] == ['image', 'txt_feats', 'txt_masks']
    vocab_dim = g.input[1].type.tensor_type.shape.dim[1]
    assert vocab_dim.dim_param == 'vocab'  # vocabulary size stays free


def test_onnxruntime_matches_torch_for_new_vocab_sizes(exported):
    out, res = exported
    results = ex.check(out, res['text_graph'], res['image_graph'],
                       vocab_sizes=(2, 6), atol=1e-4, rtol=1e-4)
    assert len(results) == 2 * (1 + 9)
    bad = [r for r in results if not r[2]]
    assert not bad, bad
    # the class logits of level 0 have one channel per vocabulary entry
    import onnxruntime as ort
    sess = ort.InferenceSession(osp.join(out, 'image.onnx'),
                                providers=['CPUExecutionProvider'])
    feats = np.random.RandomState(0).randn(1, 6, 32).astype(np.float32)
    feats /= np.linalg.norm(feats, axis=-1, keepdims=True)
    outs = sess.run(None, {
        'image': np.full((1, 3, 64, 64), 100., np.float32),
        'txt_feats': feats, 'txt_masks': np.ones((1, 6), bool)})
    assert outs[0].shape[:2] == (1, 6)


def test_image_graph_equals_detector_tensor_mode(exported):
    """The exported wrapper computes what the detector itself computes."""
    out, res = exported
    model = res['model']
    vocab = ['white spot', 'crack', 'dent']
    model.set_vocabulary(vocab)
    image = torch.rand(1, 3, 64, 64) * 255.
    with torch.no_grad():
        data = model.data_preprocessor(
            dict(inputs=[image[0].round().to(torch.uint8)]), False)
        ref = ex.flatten(model._forward(data['inputs'], None))
        feats, masks = model.encode_texts(None)
        got = res['image_graph'](image.round(), feats, masks)
    for r, g in zip(ref, got):
        assert torch.allclose(r, g, atol=1e-4)


def test_rejects_closed_set_models(tmp_path):
    cfg = tmp_path / 'closed.py'
    cfg.write_text("default_scope = 'mmdet'\nmodel = dict(type='RetinaNet', "
                   "backbone=dict(type='ResNet', depth=18, out_indices=(3,)),"
                   " neck=None, bbox_head=dict(type='RetinaHead', "
                   "num_classes=2, in_channels=512, anchor_generator=dict("
                   "type='AnchorGenerator', octave_base_scale=4, "
                   "scales_per_octave=1, ratios=[1.0], strides=[32]), "
                   "bbox_coder=dict(type='DeltaXYWHBBoxCoder')))\n")
    with pytest.raises(TypeError, match='closed.py'):
        ex.build_detector(str(cfg))
