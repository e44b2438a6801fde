# Copyright (c) mmase contributors. All rights reserved.
import copy
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import mmase  # noqa: F401
from mmase.engine.hooks import DomainAdaptationStopHook
from mmase.testing import make_tiny_bert, tiny_model_cfg

IMG = 64
DET_LOSSES = {'loss_cls', 'loss_bbox', 'loss_dfl'}
DOMAIN_LOSSES = {'loss_domain_stem', 'loss_domain_stage1',
                 'loss_domain_stage2'}
AUX_LOSSES = {'loss_aux_cls', 'loss_aux_bbox', 'loss_aux_inside'}


@pytest.fixture(autouse=True)
def mmdet_scope():
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


@pytest.fixture(scope='module')
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(str(tmp_path_factory.mktemp('bert')))


def tiny_cfg(text_model, **kwargs):
    kwargs.setdefault('train_cfg', dict(
        assigner=dict(type='TaskAlignedAssigner', topk=10), alpha=0.5,
        beta=6.0))
    return tiny_model_cfg('rtvp', text_model, **kwargs)


def _samples():
    metas = dict(img_shape=(IMG, IMG), ori_shape=(IMG, IMG),
                 scale_factor=(1., 1.), pad_shape=(IMG, IMG),
                 batch_input_shape=(IMG, IMG))
    s0 = DetDataSample(metainfo=dict(metas, texts=['white spot', 'crack']))
    s0.gt_instances = InstanceData(
        bboxes=torch.tensor([[8., 8., 30., 30.]]), labels=torch.tensor([0]))
    s1 = DetDataSample(metainfo=dict(metas, texts=['white spot', 'crack']))
    s1.gt_instances = InstanceData(
        bboxes=torch.tensor([[30., 20., 60., 50.]]), labels=torch.tensor([1]))
    return [s0, s1]


def _images():
    img = torch.full((2, 3, IMG, IMG), 100.)
    img[0, :, 8:30, 8:30] = 250.
    img[1, :, 20:50, 30:60] = 10.
    return img


def _data(model, training):
    return model.data_preprocessor(
        dict(inputs=list(_images()), data_samples=_samples()), training)


def test_loss_predict_tensor_modes(tiny_bert):
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(tiny_bert))
    model.init_weights()
    # derived channels: expert strides 4/8/16 of a 0.125-wide CSP-Darknet
    assert model.domain_adapter.expert_channels == [16, 32, 64]
    assert model.prompt_channels == [16, 32, 64]
    assert model.interaction.img_channels == [32, 64, 128]
    # frozen SAM weights and expert, trainable adapters
    assert not any(p.requires_grad
                   for p in model.sam_backbone.encoder.parameters())
    assert not any(p.requires_grad for p in model.expert.parameters())
    model.train()
    losses = model(**_data(model, True), mode='loss')
    assert set(losses) == DET_LOSSES | DOMAIN_LOSSES | AUX_LOSSES
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.sam_backbone.adapters['stem'].up.weight.grad is not None
    assert model.expert.stem.conv.weight.grad is None
    assert model.domain_adapter.samplers[0].conv.weight.grad is not None
    assert model.prompt_refiner.scorers[0].spatial.weight.grad is not None
    assert model.interaction.fuse[0].conv.weight.grad is not None
    assert all(p.grad is None
               for p in model.sam_backbone.encoder.parameters())

    model.eval()
    data = _data(model, False)
    with torch.no_grad():
        preds = model(**data, mode='predict')
        outs = model(**data, mode='tensor')
    assert all(p.pred_instances.labels.max() < 2 for p in preds)
    assert outs[0][0].shape == (2, 2, 8, 8)
    # a custom vocabulary per call
    vocab = ['rust', 'hole', 'dent', ['scratch', 'a long scratch'], 'stain']
    with torch.no_grad():
        preds = model.predict(data['inputs'], data['data_samples'],
                              texts=vocab)
    assert all(len(p.texts) == 5 for p in preds)
    assert max(p.pred_instances.labels.max().item() for p in preds) < 5
    assert any(p.pred_instances.labels.max().item() >= 2 for p in preds)
    with pytest.raises(TypeError):
        model.predict(data['inputs'], data['data_samples'], texts='rust')


@pytest.mark.parametrize('ablation', ['no_expert', 'no_refine',
                                      'no_interaction', 'no_sam'])
def test_table5_ablations(tiny_bert, ablation):
    changes = dict(
        no_expert=dict(expert=None, domain_adapter=None),
        no_refine=dict(prompt_refiner=None, aux_head=None),
        no_interaction=dict(),
        no_sam=dict(sam_backbone=None, expert=None, domain_adapter=None,
                    prompt_refiner=None, aux_head=None, interaction=None))
    cfg = tiny_cfg(tiny_bert, **changes[ablation])
    if ablation == 'no_interaction':
        cfg['interaction']['use_text'] = False
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    losses = model(**_data(model, True), mode='loss')
    expect = set(DET_LOSSES)
    if ablation not in ('no_expert', 'no_sam'):
        expect |= DOMAIN_LOSSES
    if ablation not in ('no_refine', 'no_sam'):
        expect |= AUX_LOSSES
    assert set(losses) == expect
    assert torch.isfinite(sum(losses.values()))
    if ablation == 'no_expert':
        # coarse prompts are the raw SAM maps
        assert model.prompt_channels == [16, 32, 40]
    if ablation == 'no_sam':
        assert not model.with_rtvp


def test_bad_configs(tiny_bert):
    with pytest.raises(ValueError, match='aux_head needs prompt_refiner'):
        MODELS.build(tiny_cfg(tiny_bert, prompt_refiner=None))
    with pytest.raises(ValueError, match='together'):
        MODELS.build(tiny_cfg(tiny_bert, expert=None))
    with pytest.raises(ValueError, match='needs sam_backbone'):
        MODELS.build(tiny_cfg(tiny_bert, sam_backbone=None))


def _stop_hook_step(model, losses):
    """What the runner does after a training iteration: the stop hook
    (checking every iteration) sees the iteration's losses."""
    hook = DomainAdaptationStopHook(interval=1)
    runner = SimpleNamespace(model=model, iter=0,
                             logger=MMLogger.get_current_instance())
    hook.before_train(runner)
    hook.after_train_iter(runner, 0, outputs=losses)


def test_stop_criterion_freezes_adaptation(tiny_bert):
    cfg = tiny_cfg(tiny_bert)
    cfg['domain_adapter'].update(stop_threshold=1e9, stop_patience=1)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.train()
    assert not bool(model.domain_adapter.stopped)
    _stop_hook_step(model, model(**_data(model, True), mode='loss'))
    assert bool(model.domain_adapter.stopped)
    model.zero_grad()
    losses = model(**_data(model, True), mode='loss')
    assert all(losses[k].item() == 0 for k in DOMAIN_LOSSES)
    sum(losses.values()).backward()
    adapt = [model.sam_backbone.adapters, model.expert, model.domain_adapter]
    assert all(p.grad is None for m in adapt for p in m.parameters())
    # the rest still learns
    assert model.prompt_refiner.scorers[0].spatial.weight.grad is not None
    assert model.bbox_head.reg_preds[0][0].conv.weight.grad is not None


def test_few_steps_lower_every_rtvp_loss(tiny_bert):
    """Every RTVP loss term goes down on a fixed batch.

    The YOLO-World head's terms are not monotone over a few steps (its
    task-aligned assignment admits more, harder positives as the scores
    grow, so they start near zero and rise); they are checked for being
    finite here and for decreasing in the detector's own tests.
    """
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(tiny_bert))
    model.init_weights()
    model.train()
    data = _data(model, True)
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=2e-3)
    history = []
    for _ in range(5):
        torch.manual_seed(1)  # same masks every step: a fixed objective
        losses = model(**data, mode='loss')
        history.append({k: v.item() for k, v in losses.items()})
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
    first, last = history[0], history[-1]
    for key in sorted(DOMAIN_LOSSES | AUX_LOSSES):
        assert last[key] < first[key], (key, first[key], last[key])
    assert all(
        torch.isfinite(torch.tensor(h[k])) for h in history
        for k in DET_LOSSES)


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _assert_same_state(before, module):
    after = module.state_dict()
    assert set(before) == set(after)
    for k, v in before.items():
        assert torch.equal(v, after[k]), k


def _train_steps(model, steps=3):
    """AdamW with weight decay on every parameter, as mmengine builds it."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    data = _data(model, True)
    for _ in range(steps):
        opt.zero_grad()
        losses = model(**data, mode='loss')
        sum(losses.values()).backward()
        opt.step()


def test_expert_is_a_fixed_teacher(tiny_bert, tmp_path):
    """Weights, BatchNorm statistics and features of the expert are the
    same after RTVP training steps; a never pre-trained expert is reported
    once when training initialises the weights (not at build time, when a
    test run's checkpoint has yet to bring the expert), a pre-trained one
    is not."""
    torch.manual_seed(0)
    with mock.patch('mmase.models.detectors.rtvp.MMLogger') as logger:
        model = MODELS.build(tiny_cfg(tiny_bert))
        warn = logger.get_current_instance.return_value.warning
        assert warn.call_count == 0
        model.init_weights()
    assert warn.call_count == 1
    assert 'model.expert.init_cfg' in warn.call_args[0][0]
    model.train()
    assert not model.expert.training
    before = _state(model.expert)
    sampler_before = model.domain_adapter.samplers[0].conv.weight.clone()
    x = _images() / 255.
    with torch.no_grad():
        feats_before = [f.clone() for f in model.expert(x)]
    _train_steps(model)
    _assert_same_state(before, model.expert)
    with torch.no_grad():
        for a, b in zip(feats_before, model.expert(x)):
            assert torch.equal(a, b)
    # the adapter that distils it did learn
    assert not torch.equal(sampler_before,
                           model.domain_adapter.samplers[0].conv.weight)

    ckpt = tmp_path / 'expert.pth'
    torch.save(dict(state_dict=model.expert.state_dict()), ckpt)
    cfg = tiny_cfg(tiny_bert)
    cfg['expert'] = dict(
        cfg['expert'],
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt)))
    with mock.patch('mmase.models.detectors.rtvp.MMLogger') as logger:
        model = MODELS.build(cfg)
        model.init_weights()
    assert logger.get_current_instance.return_value.warning.call_count == 0
    _assert_same_state(before, model.expert)


def test_prompts_equal_in_train_and_eval_mode(tiny_bert):
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(tiny_bert))
    model.init_weights()
    x = model.data_preprocessor(
        dict(inputs=list(_images()), data_samples=_samples()),
        False)['inputs']
    model.train()
    with torch.no_grad():
        torch.manual_seed(3)
        train_out = model.visual_prompts(x, need_losses=True)
        model.eval()
        eval_out = model.visual_prompts(x)
    assert 'domain_losses' in train_out
    for a, b in zip(train_out['prompts'], eval_out['prompts']):
        assert torch.allclose(a, b, atol=1e-6)


def test_nothing_of_the_adaptation_branch_changes_after_the_stop(tiny_bert):
    cfg = tiny_cfg(tiny_bert)
    cfg['domain_adapter'].update(stop_threshold=1e9, stop_patience=1)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    _stop_hook_step(model, model(**_data(model, True), mode='loss'))
    assert bool(model.domain_adapter.stopped)
    frozen = [model.domain_adapter, model.sam_backbone, model.expert]
    before = [_state(m) for m in frozen]
    head_before = model.bbox_head.reg_preds[0][0].conv.weight.clone()
    _train_steps(model)
    for b, m in zip(before, frozen):
        _assert_same_state(b, m)
    model.train()  # a new epoch: the branch stays in eval mode
    assert not model.domain_adapter.training
    assert not torch.equal(head_before,
                           model.bbox_head.reg_preds[0][0].conv.weight)


RTVP_DEMO = 'configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py'


def _demo_rtvp(expert_ckpt=None):
    from mmengine.config import Config
    cfg = Config.fromfile(RTVP_DEMO).model
    if expert_ckpt is not None:
        cfg.expert.init_cfg = dict(
            type='Pretrained', checkpoint=str(expert_ckpt), prefix='backbone.')
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.train()


def test_expert_resumes_from_the_backbones_frozen_stages(tmp_path):
    """The RTVP-N demo's expert (``expert_shared_stages=3``) takes its stem
    and first three stages from the detector backbone: it never runs them
    itself, and the losses are those of the expert run on the image. The
    weights are checked: a differing shared stage is an error, a random
    expert turns the sharing off with a warning."""
    from mmase.testing import make_det_batch

    # a seen-class backbone as stage 1 leaves it: the frozen ImageNet
    # stages as they were, later stages changed by training
    model = _demo_rtvp()
    assert model.expert_shared_stages == 0  # random expert: turned off
    state = {f'backbone.{k}': v.clone()
             for k, v in model.backbone.state_dict().items()}
    state['backbone.model.blocks.4.0.conv_pw.weight'] += 0.05
    ckpt = tmp_path / 'stage1.pth'
    torch.save(dict(state_dict=state), ckpt)

    model = _demo_rtvp(ckpt)
    assert model.expert_shared_stages == 3
    calls = []
    model.expert.model.conv_stem.register_forward_hook(
        lambda *args: calls.append(1))
    data = model.data_preprocessor(
        make_det_batch(64, 2, ['white round spot', 'black crack']), True)

    def losses(shared_stages):
        model.expert_shared_stages = shared_stages
        torch.manual_seed(1)  # the domain adapter's masks
        out = model.loss(data['inputs'], data['data_samples'])
        return {k: v.detach() for k, v in out.items() if 'domain' in k}

    shared = losses(3)
    assert calls == []
    own = losses(0)
    assert calls == [1]
    assert set(shared) == DOMAIN_LOSSES
    for key in shared:
        assert torch.allclose(shared[key], own[key], rtol=1e-5), key
    assert float(shared['loss_domain_stage2']) > 0

    model.expert_shared_stages = 3
    with torch.no_grad():
        model.expert.model.blocks[1][0].conv_pw.weight.add_(0.01)
    with pytest.raises(ValueError, match='differ at blocks.1.0.conv_pw'):
        model._check_shared_stages_weights()


def test_expert_shared_stages_needs_frozen_effnet_stages():
    from mmengine.config import Config
    cfg = Config.fromfile(RTVP_DEMO).model
    with pytest.raises(ValueError, match='first 3 stages frozen'):
        MODELS.build(dict(cfg, backbone=dict(cfg.backbone, frozen_stages=2)))
    with pytest.raises(ValueError, match='needs an expert'):
        MODELS.build(dict(cfg, expert=None, domain_adapter=None))
