# Copyright (c) mmase contributors. All rights reserved.
from .bn_contrastive_head import BNContrastiveHead
from .c2f import C2f, C2fBottleneck
from .image_pooling_attention import ImagePoolingAttention
from .max_sigmoid_attn_block import MaxSigmoidAttnBlock
from .max_sigmoid_csp_layer import MaxSigmoidCSPLayer
from .region_text_contrastive_head import RegionTextContrastiveHead
from .expert_domain_adapter import ExpertDomainAdapter
from .sparse_selection import SparseSelection
from .text_visual_prompt_interaction import TextVisualPromptInteraction
from .uncertainty_scorer import UncertaintyScorer
from .visual_prompt_refiner import VisualPromptRefiner

__all__ = [
    'BNContrastiveHead', 'C2f', 'C2fBottleneck', 'ImagePoolingAttention', 'MaxSigmoidAttnBlock',
    'MaxSigmoidCSPLayer', 'RegionTextContrastiveHead',
    'ExpertDomainAdapter', 'SparseSelection', 'TextVisualPromptInteraction',
    'UncertaintyScorer', 'VisualPromptRefiner'
]
