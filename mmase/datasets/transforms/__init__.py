# Copyright (c) mmase contributors. All rights reserved.
from .load_vocabulary import LoadVocabulary  # noqa: E402
from .random_vocabulary import RandomVocabulary  # noqa: E402
from .ase_transforms import (AOIColorShift, AOIDotJitter,  # noqa: E402
                             DescriptionParaphrase, RecordFieldDropout,
                             TailClassAugment)

__all__ = ['LoadVocabulary', 'RandomVocabulary']
__all__ += [
    'AOIColorShift', 'AOIDotJitter', 'DescriptionParaphrase',
    'RecordFieldDropout', 'TailClassAugment'
]
from .vocabulary_as_text import VocabularyAsText  # noqa: E402

__all__ += ['VocabularyAsText']
