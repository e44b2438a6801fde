# Copyright (c) mmase contributors. All rights reserved.
import pytest
import torch

import mmase  # noqa: F401
from mmase.models.layers import ExpertDomainAdapter
from mmase.models.layers.expert_domain_adapter import random_patch_mask


@pytest.mark.parametrize('ratio', [0.0, 0.25, 0.5, 0.75])
def test_mask_ratio_is_exact(ratio):
    torch.manual_seed(0)
    keep = random_patch_mask(8, (10, 10), ratio)
    assert keep.shape == (8, 1, 10, 10)
    assert set(keep.unique().tolist()) <= {0.0, 1.0}
    masked = 1 - keep.flatten(1).mean(1)
    assert torch.allclose(masked, torch.full((8, ), ratio))
    # different images get different masks (uniform sampling per image)
    if 0 < ratio:
        assert not torch.equal(keep[0], keep[1])


def test_mask_positions_uniform():
    torch.manual_seed(0)
    keep = random_patch_mask(4000, (2, 2), 0.5)
    freq = 1 - keep.mean(0).flatten()
    assert torch.allclose(freq, torch.full((4, ), 0.5), atol=0.04)


def _adapter(**kwargs):
    cfg = dict(
        sam_channels=[8, 16, 24],
        neck_channels=32,
        expert_channels=[6, 12, 20],
        embed_channels=16,
        decoder_channels=16,
        mask_ratio=0.5,
        mask_patch_size=16)
    cfg.update(kwargs)
    return ExpertDomainAdapter(**cfg)


def _sam_inputs():
    sam = [torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8),
           torch.randn(2, 24, 4, 4)]
    neck = torch.randn(2, 32, 4, 4)
    return sam, neck


def test_shapes_masking_and_loss_names():
    torch.manual_seed(0)
    adapter = _adapter()
    sam, neck = _sam_inputs()
    adapter.train()
    out = adapter(sam, neck, (64, 64), with_reconstruction=True)
    recons, keep = out['recons'], out['keep']
    assert [tuple(r.shape) for r in recons] == [(2, 6, 16, 16),
                                               (2, 12, 8, 8), (2, 20, 4, 4)]
    assert [r.shape for r in out['prompts']] == [r.shape for r in recons]
    assert keep.shape == (2, 1, 4, 4)
    assert torch.allclose(1 - keep.flatten(1).mean(1), torch.tensor(0.5))
    # the patch mask, resized to the stride-4 map, keeps the ratio and
    # masks whole 4x4 blocks (16 px patches)
    m = adapter.resize_mask(keep, (16, 16), (64, 64))
    assert torch.allclose(1 - m.flatten(1).mean(1), torch.tensor(0.5))
    assert torch.equal(m[:, :, ::4, ::4], keep)
    expert = [torch.randn_like(r) for r in recons]
    losses = adapter.loss(recons, expert, keep, (64, 64))
    assert set(losses) == {'loss_domain_stem', 'loss_domain_stage1',
                           'loss_domain_stage2'}
    sum(losses.values()).backward()
    assert adapter.samplers[0].conv.weight.grad is not None
    # odd input sizes follow ceil(H / stride); no reconstruction asked, no
    # mask drawn
    adapter.eval()
    out = adapter(sam, neck, (60, 52))
    assert set(out) == {'prompts'}
    assert out['prompts'][0].shape[-2:] == (15, 13)
    assert out['prompts'][2].shape[-2:] == (4, 4)


def test_prompts_do_not_depend_on_masking_or_mode():
    """The prompts come from the unmasked features: equal in train and
    eval mode, and equal whether the masked reconstruction runs or not."""
    torch.manual_seed(0)
    adapter = _adapter(mask_ratio=0.75)
    sam, neck = _sam_inputs()
    adapter.train()
    with torch.no_grad():
        train_out = adapter(sam, neck, (64, 64), with_reconstruction=True)
        train_plain = adapter(sam, neck, (64, 64))['prompts']
        adapter.eval()
        eval_out = adapter(sam, neck, (64, 64))['prompts']
    for a, b, c, r in zip(train_out['prompts'], train_plain, eval_out,
                          train_out['recons']):
        assert torch.equal(a, b)
        assert torch.allclose(a, c, atol=1e-6)
        # the masked pass is a different input
        assert not torch.allclose(a, r)


def test_loss_ignores_unmasked_patches():
    """Hand-made mask on a 64 px image with 32 px patches: the left half is
    masked. Errors in the kept half cost nothing; errors in the masked half
    are the whole loss."""
    adapter = _adapter(
        sam_channels=[8], expert_channels=[4], expert_strides=[4],
        level_names=['stem'], level_weights=[1.], mask_patch_size=32,
        loss_domain=dict(type='DomainReconstructionLoss', normalize='none'))
    keep = torch.tensor([[[[0., 1.], [0., 1.]]]])  # (1, 1, 2, 2)
    target = torch.zeros(1, 4, 16, 16)
    recon = torch.zeros(1, 4, 16, 16)
    recon[..., 8:] = 5.0  # kept (right) half only
    loss = adapter.loss([recon], [target], keep, (64, 64))
    assert loss['loss_domain_stem'].item() == 0.0
    recon = torch.zeros(1, 4, 16, 16)
    recon[..., :8] = 2.0  # masked (left) half: squared error 4 everywhere
    loss = adapter.loss([recon], [target], keep, (64, 64))
    assert loss['loss_domain_stem'].item() == pytest.approx(4.0)
    # without a mask every pixel counts: half the pixels at 4
    loss = adapter.loss([recon], [target])
    assert loss['loss_domain_stem'].item() == pytest.approx(2.0)


def test_loss_never_trains_the_expert():
    adapter = _adapter()
    sam, neck = _sam_inputs()
    out = adapter(sam, neck, (64, 64), with_reconstruction=True)
    expert = [torch.randn_like(r, requires_grad=True) for r in out['recons']]
    sum(adapter.loss(out['recons'], expert, out['keep'],
                     (64, 64)).values()).backward()
    assert all(e.grad is None for e in expert)


def test_stop_criterion():
    adapter = _adapter(stop_threshold=0.1, stop_patience=3)
    seq = [0.5, 0.05, 0.05, 0.2, 0.05, 0.05]
    assert [adapter.update_stop_state(v) for v in seq] == [False] * 6
    assert int(adapter.below_count) == 2
    assert adapter.update_stop_state(0.01) is True
    # stays stopped, and the state is part of the checkpoint
    assert adapter.update_stop_state(5.0) is True
    state = adapter.state_dict()
    assert bool(state['stopped'])
    fresh = _adapter(stop_threshold=0.1, stop_patience=3)
    fresh.load_state_dict(state)
    assert bool(fresh.stopped)
    # disabled without a threshold
    never = _adapter()
    assert not any(never.update_stop_state(0.0) for _ in range(500))


def test_bad_config():
    with pytest.raises(ValueError, match='mask_ratio'):
        _adapter(mask_ratio=1.0)
    with pytest.raises(ValueError, match='same length'):
        _adapter(sam_channels=[8, 16])
