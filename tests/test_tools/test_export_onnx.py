# Copyright (c) mmase contributors. All rights reserved.
"""ONNX export round trip of a tiny YOLOWorldDetector."""
import glob
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch

from mmase.testing import make_tiny_bert, write_tiny_model_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(rel):
    name = osp.splitext(osp.basename(rel))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ex = load_tool('tools/deploy/export_onnx.py')


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp('onnx')
    bert = make_tiny_bert(str(d / 'bert'))
    cfg = write_tiny_model_config(str(d / 'tiny_yolo_world.py'), bert)
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


# ---------------------------------------------------- deployment options
TEST_CFG = dict(score_thr=0.05, nms_pre=60, min_bbox_size=0,
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=20)


@pytest.mark.parametrize('seed,score_mode', [(0, 'sigmoid'),
                                              (1, 'sigmoid'),
                                              (2, 'sigmoid'),
                                              (0, 'softmax'),
                                              (1, 'softmax')])
def test_in_graph_postprocess_equals_detector_predict(exported, seed,
                                                      score_mode):
    """DetectionGraph's static-shape decode + class-wise NMS gives exactly
    the head's own predict_by_feat (mmdet's filter_scores_and_topk and
    batched_nms), padded classes included, on head outputs without ties;
    under both score modes (the softmax over the real texts only)."""
    _, res = exported
    model = res['model']
    cfg = dict(TEST_CFG, score_mode=score_mode)
    graph = ex.DetectionGraph(ex.ImageGraph(model), 64, cfg)
    g = torch.Generator().manual_seed(seed)
    sizes = [(8, 8), (4, 4), (2, 2)]  # strides 8, 16, 32 at 64 px
    n_real, n_pad = 4, 6
    cls = [torch.randn(1, n_pad, h, w, generator=g) * 2 - 1 for h, w in sizes]
    dist = [torch.rand(1, 4, h, w, generator=g) * 3 for h, w in sizes]
    masks = torch.zeros(1, n_pad, dtype=torch.bool)
    masks[0, :n_real] = True
    with torch.no_grad():
        num, boxes, scores, labels = graph.postprocess(cls, dist, masks)
        ref = model.bbox_head.predict_by_feat(
            cls, dist, batch_img_metas=[dict(img_shape=(64, 64))],
            txt_masks=masks, cfg=cfg)[0]
    k = int(num)
    assert 5 < k == len(ref) <= TEST_CFG['max_per_img']
    assert torch.allclose(boxes[0, :k], ref.bboxes)
    assert torch.allclose(scores[0, :k], ref.scores)
    assert torch.equal(labels[0, :k], ref.labels)
    assert labels[0, :k].max() < n_real  # padded classes never score
    assert (labels[0, k:] == -1).all() and (scores[0, k:] == 0).all()
    assert (boxes[0, k:] == 0).all()
    assert boxes.shape == (1, 20, 4)


def _varied_checkpoint(model, path):
    """The tiny model with spread-out class scores and box sizes (random
    initial weights give nearly equal ones, so NMS would have nothing to
    decide)."""
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    for lvl in range(3):
        sd[f'bbox_head.cls_contrasts.{lvl}.logit_scale'] = torch.tensor([1.])
        sd[f'bbox_head.cls_contrasts.{lvl}.bias'] = torch.tensor([-1.])
        last = f'bbox_head.reg_preds.{lvl}.2'
        sd[f'{last}.weight'] = sd[f'{last}.weight'] * 0.3
        bias = torch.zeros_like(sd[f'{last}.bias']).view(4, -1)
        bias[:, 2] = 3.
        sd[f'{last}.bias'] = bias.view(-1)
    torch.save(dict(state_dict=sd, meta={}), path)
    return path


@pytest.fixture(scope='module')
def deploy_setup(tmp_path_factory, exported):
    from mmase.datasets.synthetic.mmio_generator import generate_mmio
    d = tmp_path_factory.mktemp('deploy')
    ckpt = _varied_checkpoint(exported[1]['model'], str(d / 'varied.pth'))
    generate_mmio(str(d / 'mmio'), num_images=4, seed=0, img_size=128)
    import cv2
    imgs = []
    for name in sorted(os.listdir(d / 'mmio' / 'images'))[:2]:
        img = cv2.imread(str(d / 'mmio' / 'images' / name))
        imgs.append(torch.from_numpy(img).permute(2, 0, 1)[None].float())
    cfg = next(p for p in glob.glob(str(d.parent / '*' /
                                        'tiny_yolo_world.py')))
    return dict(dir=d, ckpt=ckpt, images=imgs, config=cfg)


def test_max_vocab_gives_static_shapes(deploy_setup):
    import onnx
    out = str(deploy_setup['dir'] / 'static')
    res = ex.export(deploy_setup['config'], deploy_setup['ckpt'], out,
                    img_size=128, vocab_size=3, max_vocab=6)
    graph = onnx.load(osp.join(out, 'image.onnx')).graph
    for value in list(graph.input) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        assert all(dim.dim_value > 0 and not dim.dim_param for dim in dims), \
            value.name  # every dimension a fixed number
    assert [d.dim_value for d in graph.input[1].type.tensor_type.shape.dim
            ] == [1, 6, 32]
    # 3 and 6 real classes: ONNX (padded) = PyTorch (padded) = the detector
    # with the unpadded vocabulary
    results = ex.check(out, res['text_graph'], res['image_graph'],
                       vocab_sizes=(3, 6), images=deploy_setup['images'],
                       atol=1e-4, rtol=1e-4)
    assert [r for r in results if not r[2]] == []
    assert sum('padded vs unpadded' in r[0] for r in results) == 9 * 2
    with pytest.raises(ValueError, match='does not fit the static size 6'):
        ex.check(out, res['text_graph'], res['image_graph'],
                 vocab_sizes=(7, ), images=deploy_setup['images'][:1])


@pytest.mark.parametrize('max_vocab,score_mode', [(None, 'sigmoid'),
                                                   (6, 'sigmoid'),
                                                   (6, 'softmax')])
def test_with_nms_matches_the_detector(deploy_setup, max_vocab, score_mode):
    import onnx
    out = str(deploy_setup['dir'] / f'nms_{max_vocab}_{score_mode}')
    config, ckpt = deploy_setup['config'], deploy_setup['ckpt']
    if score_mode != 'sigmoid':
        config = str(deploy_setup['dir'] / f'{score_mode}.py')
        with open(config, 'w') as f:
            f.write(f"_base_ = [{deploy_setup['config']!r}]\n"
                    f'model = dict(test_cfg=dict(score_mode={score_mode!r}))'
                    '\n')
        # sharper logits (exp(2.5) = 12x): at logit scale 1 the softmax
        # shares of the untrained texts are nearly equal, and the top-k and
        # NMS cuts among them compare float rounding, not the graph
        sd = torch.load(ckpt, weights_only=False)['state_dict']
        for lvl in range(3):
            sd[f'bbox_head.cls_contrasts.{lvl}.logit_scale'] = torch.tensor(
                [2.5])
        ckpt = str(deploy_setup['dir'] / f'{score_mode}.pth')
        torch.save(dict(state_dict=sd, meta={}), ckpt)
    res = ex.export(config, ckpt, out,
                    img_size=128, vocab_size=4, max_vocab=max_vocab,
                    with_nms=True)
    graph = onnx.load(osp.join(out, 'image.onnx')).graph
    assert [o.name for o in graph.output] == ['num_dets', 'boxes', 'scores',
                                              'labels']
    assert 'NonMaxSuppression' in {node.op_type for node in graph.node}
    results = ex.check(out, res['text_graph'], res['image_graph'],
                       vocab_sizes=(4, 6), images=deploy_setup['images'],
                       atol=1e-4, rtol=1e-4)
    counts = [r[0] for r in results if r[0].startswith('num_dets')]
    assert len(counts) == 4  # ONNX vs PyTorch graph, vs detector; 2 sizes
    if score_mode == 'softmax':
        # the softmax scores of ONNX Runtime and torch differ by about
        # 1e-6, which reorders the many near-equal candidates of an
        # untrained model: the counts and the sorted scores must agree
        assert [r for r in results if r[0].startswith(('num_dets', 'scores'))
                and not r[2]] == []
        return
    assert [r for r in results if not r[2]] == []
    # NMS had work to do: fewer than max_per_img boxes, most of them
    # compared box by box
    assert any(' 10 vs 10' not in c for c in counts)
    untied = [int(r[0].split('(')[1].split()[0]) for r in results
              if r[0].startswith('boxes')]
    assert min(untied) >= 3


def test_cli_options(deploy_setup, capsys):
    out = str(deploy_setup['dir'] / 'cli')
    rc = ex.main([deploy_setup['config'], deploy_setup['ckpt'], '--out', out,
                  '--img-size', '128', '--vocab-size', '3', '--max-vocab',
                  '5', '--with-nms'])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert 'match' in text and 'MISMATCH' not in text
    with open(osp.join(out, 'meta.json')) as f:
        meta = json.load(f)
    assert meta['max_vocab'] == 5 and meta['with_nms'] is True
    assert meta['outputs'] == ['num_dets', 'boxes', 'scores', 'labels']
    with pytest.raises(ValueError, match=r'--vocab-size 6 must be in'):
        ex.main([deploy_setup['config'], '--out', out, '--vocab-size', '6',
                 '--max-vocab', '5'])
