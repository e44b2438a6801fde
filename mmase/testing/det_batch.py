# Copyright (c) mmase contributors. All rights reserved.
"""A synthetic detection batch in the form the data loader hands over."""
from typing import Dict, Sequence

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData


def make_det_batch(size: int = 64,
                   batch: int = 2,
                   vocab: Sequence[str] = ('white round spot', 'black crack',
                                           'red stain'),
                   seed: int = 0) -> Dict:
    """Grey uint8 images, each with one bright box labelled with a random
    entry of ``vocab``; the samples carry the vocabulary both as mmase's
    ``texts`` and as mmdet's ``text`` + ``custom_entities`` (GLIP,
    Grounding DINO).

    Args:
        size (int): Square image size. Defaults to 64.
        batch (int): Images. Defaults to 2.
        vocab (Sequence[str]): Class texts of every image.
        seed (int): Seed of the labels. Defaults to 0.

    Returns:
        dict: ``inputs`` (list of (3, size, size) uint8 tensors) and
        ``data_samples`` (list of :class:`DetDataSample`).
    """
    g = torch.Generator().manual_seed(seed)
    x1, y1, x2, y2 = (round(size * f) for f in (0.19, 0.16, 0.62, 0.47))
    inputs, samples = [], []
    for _ in range(batch):
        img = torch.full((3, size, size), 120, dtype=torch.uint8)
        img[:, y1:y2, x1:x2] = 250
        inputs.append(img)
        s = DetDataSample(metainfo=dict(
            img_shape=(size, size), ori_shape=(size, size),
            pad_shape=(size, size), scale_factor=(1., 1.),
            texts=list(vocab), text=tuple(vocab), custom_entities=True))
        s.gt_instances = InstanceData(
            bboxes=torch.tensor([[x1, y1, x2, y2]], dtype=torch.float32),
            labels=torch.randint(0, len(vocab), (1, ), generator=g))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)
