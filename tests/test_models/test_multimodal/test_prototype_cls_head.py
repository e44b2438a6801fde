# Copyright (c) mmase contributors. All rights reserved.
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmase  # noqa: F401


def _head():
    head = MODELS.build(dict(type='PrototypeClsHead', num_classes=3,
                             in_channels=4, embed_dims=4, scale=1.))
    with torch.no_grad():
        head.proj.weight.copy_(torch.eye(4))
        head.proj.bias.zero_()
    return head


def test_leave_one_out_logits_hand_computed():
    head = _head()
    emb = F.normalize(torch.tensor([[1., 0, 0, 0], [1., 1, 0, 0],
                                    [0., 1, 0, 0], [0., 0, 1, 0]]), dim=-1)
    labels = torch.tensor([0, 0, 1, 2])
    logits, has_support = head.episode_logits(emb, labels)
    # sample 0: class-0 prototype without itself = emb[1]
    assert torch.isclose(logits[0, 0], emb[0] @ emb[1])
    # sample 0: class-1 prototype = emb[2]
    assert torch.isclose(logits[0, 1], emb[0] @ emb[2])
    # sample 2 is alone in class 1: no support, class 1 masked for it
    assert has_support.tolist() == [True, True, False, False]
    assert logits[2, 1] < -1e3


def test_loss_prototypes_and_predict():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='PrototypeClsHead', num_classes=2,
                             in_channels=6, embed_dims=4))
    head.init_weights()
    feats = torch.randn(6, 6)
    feats[:3] += 3.
    samples = [DataSample().set_gt_label(int(i >= 3)) for i in range(6)]
    opt = torch.optim.SGD(head.parameters(), lr=0.5)
    first = None
    for _ in range(10):
        loss = head.loss((feats, ), samples)['loss']
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first
    assert head.proto_seen.all()
    preds = head.predict((feats, ))
    assert [int(p.pred_label) for p in preds] == [0, 0, 0, 1, 1, 1]
