# Copyright (c) mmase contributors. All rights reserved.
"""Refined visual prompt of RTVP (eq. 4-6)."""
from typing import Dict, List, Sequence

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig


@MODELS.register_module()
class VisualPromptRefiner(BaseModule):
    """Score, enhance and sparsely select the coarse visual prompt.

    Per scale ``l``: :class:`UncertaintyScorer` gives the enhanced feature
    and the uncertainty score ``U_l`` (eq. 4-5); :class:`SparseSelection`
    picks the top-k above-mean pixels of every patch (eq. 6). The refined
    visual prompt is the enhanced feature at the selected pixels (zero
    elsewhere). The score multiplies the feature, so detection and
    auxiliary losses train the scorer through the selected pixels.

    Args:
        in_channels (Sequence[int]): Coarse prompt channels per scale.
        strides (Sequence[int]): Coarse prompt strides per scale.
        scorer (dict): :class:`UncertaintyScorer` config without
            ``in_channels``. Defaults to ``dict(type='UncertaintyScorer')``.
        selection (dict): :class:`SparseSelection` config.
            Defaults to ``dict(type='SparseSelection', patch_size=32)``.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 strides: Sequence[int],
                 scorer: ConfigType = dict(type='UncertaintyScorer'),
                 selection: ConfigType = dict(
                     type='SparseSelection', patch_size=32),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(strides):
            raise ValueError('VisualPromptRefiner: in_channels and strides '
                             'must have the same length')
        self.in_channels = list(in_channels)
        self.strides = list(strides)
        self.scorers = nn.ModuleList(
            [MODELS.build(dict(scorer, in_channels=c)) for c in in_channels])
        self.selection = MODELS.build(selection)

    @property
    def out_channels(self) -> List[int]:
        """Refined prompt channels per scale."""
        return self.in_channels

    def forward(self, coarse: Sequence[Tensor]) -> Dict[str, List[Tensor]]:
        """Refine coarse prompts.

        Args:
            coarse (Sequence[Tensor]): Coarse prompts per scale.

        Returns:
            dict: ``prompts`` (refined prompts), ``scores`` (U per scale,
            (B, 1, H, W)) and ``masks`` (selection masks per scale).
        """
        if len(coarse) != len(self.scorers):
            raise ValueError(f'VisualPromptRefiner: got {len(coarse)} scales, '
                             f'configured for {len(self.scorers)}')
        prompts, scores, masks = [], [], []
        for x, scorer, stride in zip(coarse, self.scorers, self.strides):
            enhanced, score = scorer(x)
            mask = self.selection(score.detach(), stride)
            prompts.append(enhanced * mask)
            scores.append(score)
            masks.append(mask)
        return dict(prompts=prompts, scores=scores, masks=masks)
