# Copyright (c) mmase contributors. All rights reserved.
from .load_vocabulary import LoadVocabulary  # noqa: E402
from .random_vocabulary import RandomVocabulary  # noqa: E402

__all__ = ['LoadVocabulary', 'RandomVocabulary']
