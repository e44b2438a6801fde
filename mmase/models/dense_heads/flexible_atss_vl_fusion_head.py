# Copyright (c) mmase contributors. All rights reserved.
"""GLIP's ATSS vision-language head with its DyHead options exposed."""
from mmdet.models.dense_heads.atss_vlfusion_head import (ATSSVLFusionHead,
                                                         VLFusionModule)
from mmdet.registry import MODELS


@MODELS.register_module()
class FlexibleATSSVLFusionHead(ATSSVLFusionHead):
    """mmdet's :class:`ATSSVLFusionHead` (GLIP) with ``use_dcn``,
    ``use_dyrelu`` and ``use_dyfuse`` configurable.

    mmdet's head always builds its DyHead tower with modulated deformable
    convolutions. mmcv's CPU kernel of that op is correct but takes tens of
    seconds per batch, which makes GLIP untrainable on a CPU. This head
    rebuilds the same :class:`VLFusionModule` with the given switches; with
    the defaults it is identical to mmdet's head (and loads its
    checkpoints), the GLIP demo config sets ``use_dcn=False``.

    Args:
        *args: Positional arguments of :class:`ATSSVLFusionHead`.
        use_dcn (bool): Deformable 3x3 convolutions in DyHead.
            Defaults to True.
        use_dyrelu (bool): Dynamic ReLU in DyHead. Defaults to True.
        use_dyfuse (bool): Scale-aware attention fusion in DyHead.
            Defaults to True.
        **kwargs: Keyword arguments of :class:`ATSSVLFusionHead`
            (``early_fuse``, ``use_checkpoint``, ``num_dyhead_blocks``,
            ``lang_model_name``, ...).
    """

    def __init__(self,
                 *args,
                 use_dcn: bool = True,
                 use_dyrelu: bool = True,
                 use_dyfuse: bool = True,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.head = VLFusionModule(
            in_channels=self.in_channels,
            feat_channels=self.feat_channels,
            num_base_priors=self.num_base_priors,
            early_fuse=kwargs.get('early_fuse', False),
            use_checkpoint=kwargs.get('use_checkpoint', False),
            num_dyhead_blocks=kwargs.get('num_dyhead_blocks', 6),
            lang_model_name=kwargs.get('lang_model_name',
                                       'bert-base-uncased'),
            use_dcn=use_dcn,
            use_dyrelu=use_dyrelu,
            use_dyfuse=use_dyfuse)
