# Copyright (c) mmase contributors. All rights reserved.
import torch
from mmengine.structures import InstanceData

import mmase  # noqa: F401
from mmase.models.dense_heads import RTVPAuxHead


def test_aux_head_loss_and_training():
    torch.manual_seed(0)
    head = RTVPAuxHead(in_channels=[8, 16], strides=[4, 8], feat_channels=16,
                       num_convs=1)
    prompts = [torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8)]
    scores = [torch.rand(2, 1, 16, 16, requires_grad=True),
              torch.rand(2, 1, 8, 8, requires_grad=True)]
    masks = [torch.ones(2, 1, 16, 16), torch.ones(2, 1, 8, 8)]
    gts = [InstanceData(bboxes=torch.tensor([[8., 8., 40., 32.]]),
                        labels=torch.tensor([3])),
           InstanceData(bboxes=torch.zeros(0, 4),
                        labels=torch.zeros(0, dtype=torch.long))]
    metas = [dict(img_shape=(64, 64))] * 2
    losses = head.loss(prompts, scores, masks, gts, metas)
    assert set(losses) == {'loss_aux_cls', 'loss_aux_bbox',
                           'loss_aux_inside'}
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_aux_bbox'].item() > 0
    sum(losses.values()).backward()
    assert scores[0].grad is not None
    # the inside term pushes the score of selected pixels inside the gt up
    # and outside down: pixel centre (10, 10) is inside, (62, 62) outside
    assert scores[0].grad[0, 0, 2, 2] < 0
    assert scores[0].grad[0, 0, 15, 15] > 0

    opt = torch.optim.SGD(head.parameters(), lr=0.05)
    first = None
    for _ in range(15):
        losses = head.loss(prompts, [s.detach() for s in scores], masks, gts,
                           metas)
        total = losses['loss_aux_cls'] + losses['loss_aux_bbox']
        first = first if first is not None else total.item()
        opt.zero_grad()
        total.backward()
        opt.step()
    assert total.item() < first


def test_aux_head_loss_under_fp16_autocast():
    """``--amp`` on CUDA runs the head in fp16: the convolutions return half
    tensors while the gt boxes stay fp32; the assignment must not mix them
    (mmdet's TaskAlignedAssigner index-puts one into the other). CPU
    float16 autocast gives the same half outputs."""
    torch.manual_seed(0)
    head = RTVPAuxHead(in_channels=[8, 16], strides=[4, 8], feat_channels=16,
                       num_convs=1)
    prompts = [torch.randn(1, 8, 16, 16), torch.randn(1, 16, 8, 8)]
    scores = [torch.rand(1, 1, 16, 16), torch.rand(1, 1, 8, 8)]
    masks = [torch.ones(1, 1, 16, 16), torch.ones(1, 1, 8, 8)]
    gts = [InstanceData(bboxes=torch.tensor([[8., 8., 40., 32.]]),
                        labels=torch.tensor([3]))]
    metas = [dict(img_shape=(64, 64))]
    fp32 = head.loss(prompts, scores, masks, gts, metas)
    with torch.autocast('cpu', dtype=torch.float16):
        assert head(prompts)[0][0].dtype == torch.float16
        half = head.loss(prompts, scores, masks, gts, metas)
    for k, v in fp32.items():
        assert torch.isfinite(half[k])
        torch.testing.assert_close(half[k].float(), v, rtol=0.05, atol=0.02)
