# Copyright (c) mmase contributors. All rights reserved.
from .dataset_vocabulary_hook import DatasetVocabularyHook

__all__ = ['DatasetVocabularyHook']
