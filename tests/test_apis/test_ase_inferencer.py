# Copyright (c) mmase contributors. All rights reserved.
"""ASEInferencer: image + record + description -> class and scores, the
same as the test pipeline of the dataset gives."""
import os.path as osp

import numpy as np
import pytest
import torch

from mmase.datasets.synthetic.ase_generator import generate_ase
from mmase.testing import make_tiny_bert
from mmase.utils.file_io import load_jsonl

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def ase(tmp_path_factory):
    """A tiny ASE set, the full model's config made small, a checkpoint
    with the dataset's meta (random weights)."""
    import mmase  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS, MODELS

    root = tmp_path_factory.mktemp('ase')
    data = str(root / 'ase')
    generate_ase(data, num_images=20, seed=0, img_size=64)
    bert = make_tiny_bert(str(root / 'bert'))
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'ase',
                 'pfa-cmaf_effnet-lite0_1xb16-8e_ase.py'))
    # a tiny image branch whatever the config's is
    cfg.model.backbone = dict(type='ResNet', depth=18, stem_channels=8,
                              base_channels=8, out_indices=(3, ))
    cfg.merge_from_dict({
        'model.text_encoder.model_name': bert,
        'test_dataloader.dataset.description_file': None,
        'model.pfa_neck.embed_dims': 16,
        'model.fusion.embed_dims': 16,
        'model.fusion.num_heads': 2,
        'model.numeric_encoder.hidden_channels': 8,
        'model.head.in_channels': 16,
        'test_dataloader.dataset.data_root': data + '/',
    })
    cfg.model.numeric_encoder.pop('out_channels', None)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        model.init_weights()
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
    ckpt = str(root / 'ase.pth')
    meta = {k: v for k, v in dataset.metainfo.items()
            if k in ('classes', 'numeric_fields', 'text_fields')}
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=meta)), ckpt)
    rows = load_jsonl(osp.join(data, 'annotations', 'test.jsonl'))
    return dict(cfg=cfg, ckpt=ckpt, data=data, dataset=dataset, rows=rows,
                meta=meta)


def _inferencer(ase, **kwargs):
    from mmase.apis import ASEInferencer
    return ASEInferencer(ase['cfg'], pretrained=ase['ckpt'], device='cpu',
                         **kwargs)


def test_same_scores_as_the_dataset_pipeline(ase):
    from mmengine.dataset import default_collate
    inferencer = _inferencer(ase)
    assert inferencer.classes == list(ase['meta']['classes'])
    inputs = [dict(img=osp.join(ase['data'], r['img_path']),
                   record=r['record'], description=r.get('description', ''))
              for r in ase['rows'][:3]]
    results = inferencer(inputs, batch_size=2)
    assert len(results) == 3
    for i, res in enumerate(results):
        with torch.no_grad():
            ref = inferencer.model.test_step(
                default_collate([ase['dataset'][i]]))[0].pred_score
        np.testing.assert_allclose(res['pred_scores'], ref.numpy(),
                                   rtol=1e-5, atol=1e-6)
        assert res['pred_label'] == int(ref.argmax())
        assert res['pred_class'] == inferencer.classes[res['pred_label']]
        assert res['pred_score'] == pytest.approx(float(ref.max()))


def test_description_and_record_change_the_scores(ase):
    inferencer = _inferencer(ase)
    row = ase['rows'][0]
    img = osp.join(ase['data'], row['img_path'])
    base = inferencer(dict(img=img, record=row['record']))[0]['pred_scores']
    desc = inferencer(dict(img=img, record=row['record'],
                           description='a large dark scratch'))[0]
    assert not np.allclose(desc['pred_scores'], base)
    # a partial record: the missing number is "missing" (NaN), as the model
    # is trained with RecordFieldDropout
    field = ase['meta']['numeric_fields'][0]
    partial = {k: v for k, v in row['record'].items() if k != field}
    samples = inferencer(dict(img=img, record=partial),
                         return_datasamples=True)
    assert np.isnan(samples[0].numeric[0])
    assert np.isfinite(samples[0].numeric[1:]).all()


@pytest.mark.parametrize('record,msg', [
    ({'areaa': 1.0}, r'input 0 \(.*\): field "record\.areaa" is not a '
     r'field of the model'),
    (None, None),
    ('x', r'field "record" must be an object'),
])
def test_record_errors_name_the_field(ase, record, msg):
    inferencer = _inferencer(ase)
    img = osp.join(ase['data'], ase['rows'][0]['img_path'])
    if msg is None:  # no record at all: every field missing
        assert len(inferencer(dict(img=img, record=record))) == 1
        return
    with pytest.raises(ValueError, match=msg):
        inferencer(dict(img=img, record=record))


def test_wrong_type_and_missing_image(ase):
    inferencer = _inferencer(ase)
    field = ase['meta']['numeric_fields'][1]
    img = osp.join(ase['data'], ase['rows'][0]['img_path'])
    with pytest.raises(ValueError, match=f'field "record.{field}" must be a '
                       "number, got '12 um'"):
        inferencer(dict(img=img, record={field: '12 um'}))
    with pytest.raises(ValueError, match=f'field "record.{field}" must be a '
                       'number, got True'):
        inferencer(dict(img=img, record={field: True}))
    with pytest.raises(FileNotFoundError, match=r'input 0 \(.*nope\.png\): '
                       'image not found'):
        inferencer(dict(img='nope.png'))
    with pytest.raises(ValueError, match='unknown key "recrod"'):
        inferencer(dict(img=img, recrod={}))


def test_registered_the_mmpretrain_way(ase):
    """mmase's model index is in mmpretrain's ModelHub: names resolve, the
    multimodal models list under their own task (so mmpretrain's
    inference_model does not pick the image-only inferencer)."""
    from mmpretrain.apis import list_models

    from mmase.apis import ASE_TASK, ASEInferencer, register_mmase_models
    register_mmase_models()
    names = ASEInferencer.list_models()
    assert ('pfa-cmaf_effnet-lite0_1xb16-8e_ase' in names
            and 'resnet50_1xb16-3e_ase' not in names)
    assert 'resnet50_1xb16-3e_ase' in list_models(
        'resnet50_1xb16-3e_ase', task='Image Classification')
    assert set(names) <= set(list_models(task=ASE_TASK))
    # by name: the repository config; its weights do not fit the tiny
    # checkpoint, and loading is strict
    with pytest.raises(RuntimeError, match=f'{ase["ckpt"]}: the checkpoint '
                       'does not match the model'):
        ASEInferencer('pfa-cmaf_effnet-lite0_1xb16-8e_ase',
                      pretrained=ase['ckpt'], device='cpu')


def test_meta_from_meta_json_when_the_checkpoint_has_none(ase, tmp_path):
    state = torch.load(ase['ckpt'], weights_only=True)
    state['meta'] = {}
    bare = str(tmp_path / 'bare.pth')
    torch.save(state, bare)
    from mmase.apis import ASEInferencer
    inferencer = ASEInferencer(ase['cfg'], pretrained=bare, device='cpu')
    assert inferencer.numeric_fields == list(ase['meta']['numeric_fields'])
    with pytest.raises(FileNotFoundError, match='no.json does not exist'):
        ASEInferencer(ase['cfg'], pretrained=bare, device='cpu',
                      meta_file=str(tmp_path / 'no.json'))
