# Copyright (c) mmase contributors. All rights reserved.
import math
from typing import Iterator, Optional, Sized

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmpretrain.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(Sampler):
    """Sample with replacement so that tail classes are seen more often.

    Sample ``i`` of class ``c`` is drawn with probability proportional to
    ``n_c ** -power`` (``n_c``: number of training samples of ``c``):
    ``power=1`` makes every class equally likely per draw, ``power=0.5`` is
    the milder square-root balancing, ``power=0`` is uniform sampling with
    replacement. This is the class-balanced sampling part of the ASE paper's
    task-specific augmentation for tail classes (with the augmentations,
    repeated tail samples are different views).

    Registered in mmpretrain's and mmdet's ``DATA_SAMPLERS`` so both kinds of
    config find it: ``sampler=dict(type='ClassBalancedSampler')``.
    Labels come from ``dataset.get_gt_labels()`` (mmpretrain datasets) or
    ``dataset.get_cat_ids(i)[0]``.

    Args:
        dataset (Sized): The dataset.
        num_samples (int, optional): Draws per epoch over all ranks.
            Defaults to None (``len(dataset)``).
        power (float): Balancing exponent. Defaults to 1.0.
        seed (int, optional): Random seed, identical on all ranks.
            Defaults to None (synced random seed).
    """

    def __init__(self,
                 dataset: Sized,
                 num_samples: Optional[int] = None,
                 power: float = 1.0,
                 seed: Optional[int] = None) -> None:
        if power < 0:
            raise ValueError(f'ClassBalancedSampler: power must be >= 0, '
                             f'got {power}')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.power = power
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        labels = self._labels(dataset)
        if len(labels) == 0:
            raise ValueError('ClassBalancedSampler: the dataset is empty')
        _, inverse, counts = np.unique(
            labels, return_inverse=True, return_counts=True)
        weights = counts[inverse].astype(np.float64)**(-power)
        self.weights = torch.as_tensor(weights / weights.sum())
        total = len(labels) if num_samples is None else int(num_samples)
        self.num_samples = math.ceil(total / self.world_size)
        self.total_size = self.num_samples * self.world_size

    @staticmethod
    def _labels(dataset) -> np.ndarray:
        if hasattr(dataset, 'get_gt_labels'):
            return np.asarray(dataset.get_gt_labels()).reshape(-1)
        if hasattr(dataset, 'get_cat_ids'):
            return np.array(
                [dataset.get_cat_ids(i)[0] for i in range(len(dataset))])
        raise TypeError('ClassBalancedSampler: the dataset has neither '
                        '`get_gt_labels` nor `get_cat_ids`')

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        indices = torch.multinomial(
            self.weights, self.total_size, replacement=True, generator=g)
        return iter(indices[self.rank::self.world_size].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (a new draw per epoch)."""
        self.epoch = epoch


MMDET_DATA_SAMPLERS.register_module(module=ClassBalancedSampler)
