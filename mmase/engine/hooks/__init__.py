# Copyright (c) mmase contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .channels_last_hook import ChannelsLastHook
from .dataset_vocabulary_hook import DatasetVocabularyHook
from .domain_adaptation_stop_hook import DomainAdaptationStopHook
from .non_finite_loss_hook import NonFiniteLossHook

__all__ = [
    'AtomicCheckpointHook', 'ChannelsLastHook', 'DatasetVocabularyHook',
    'DomainAdaptationStopHook', 'NonFiniteLossHook'
]
