# Copyright (c) mmase contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .dataset_vocabulary_hook import DatasetVocabularyHook
from .non_finite_loss_hook import NonFiniteLossHook

__all__ = [
    'AtomicCheckpointHook', 'DatasetVocabularyHook', 'NonFiniteLossHook'
]
