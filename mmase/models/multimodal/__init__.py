# Copyright (c) mmase contributors. All rights reserved.
from .ase_multimodal_classifier import \
    ASEMultimodalClassifier  # noqa: E402
from .numeric_record_encoder import NumericRecordEncoder  # noqa: E402
from .prototype_cls_head import PrototypeClsHead  # noqa: E402

__all__ = [
    'ASEMultimodalClassifier', 'NumericRecordEncoder', 'PrototypeClsHead'
]
