# Copyright (c) mmase contributors. All rights reserved.
"""RTVP: Refined Text-Visual Prompt detector."""
import contextlib
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmengine.logging import MMLogger
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType
from torch import Tensor

from ..utils import probe_outputs
from .yolo_world_detector import YOLOWorldDetector


@MODELS.register_module()
class RTVP(YOLOWorldDetector):
    """Refined Text-Visual Prompt detector (RTVP, Fig. 3).

    A :class:`YOLOWorldDetector` (CSP-Darknet image backbone, frozen text
    encoder, text-guided PAFPN, region-text head) plus the RTVP branch:

    1. ``sam_backbone`` (:class:`MobileSAMViT`, frozen, optional adapters):
       stem / stage 1 / stage 2 maps and the SAM embedding.
    2. ``expert`` (CNN pre-trained on the seen classes, frozen here) and
       ``domain_adapter`` (:class:`ExpertDomainAdapter`): masked
       multi-scale reconstruction of the expert features (eq. 1-3); the
       decoder applied to the unmasked features gives the coarse visual
       prompts, in training and at test time alike. Without them the
       coarse prompts are the raw SAM maps (Table 5, "-Expert Domain
       Adapter"). The expert only runs for the training loss.

       The paper keeps the expert trainable ("iteratively optimized"), but
       gives it no loss of its own: trained only by the reconstruction loss
       that should distil it, it drifts toward the adapter's output and
       forgets its pre-training (the loss collapses toward 0). Here the
       expert is a fixed teacher: no gradient, BatchNorm in eval mode, and
       a WARNING at build time when ``model.expert.init_cfg`` loads no
       pre-trained weights (a random expert has nothing to teach).

       With ``expert_shared_stages`` = N the expert's stem and first N block
       stages are computed once, by the detector backbone, and the expert
       resumes from there (``forward_stages`` / ``start_stage`` of
       :class:`EfficientNetLite`). This is exact, not an approximation,
       when those stages hold the same weights in both and are frozen in
       both: the seen-class expert of the CPU demo is a YOLO-World-N
       backbone trained with the detector's frozen ImageNet stages, so its
       stride-8 level is the detector's own. :meth:`init_weights` checks
       the weights; the saving is most of the expert's cost (its
       high-resolution first stages).
    3. ``prompt_refiner`` (:class:`VisualPromptRefiner`): uncertainty score
       and sparse selection (eq. 4-6). None: coarse prompts are used as is
       (Table 5, "-Refined Visual Prompt").
    4. ``aux_head`` (:class:`RTVPAuxHead`): CIoU-optimised feature
       activation on the refined prompt (training only; needs the refiner).
    5. ``interaction`` (:class:`TextVisualPromptInteraction`): max-sigmoid
       text-guided injection of the prompt into the multi-scale image
       features (eq. 7), before the neck (``interaction_position=
       'backbone'``, so the text-guided neck propagates it) or after it
       (``'neck'``). With ``use_text=False`` the gate ignores the text
       (Table 5, "-Text-Visual Interaction"); None drops the injection.

    Losses: the head's ``loss_cls``/``loss_bbox``/``loss_dfl``,
    ``loss_domain_{stem,stage1,stage2}`` and ``loss_aux_{cls,bbox,inside}``.
    Once the domain adapter's stop criterion fires (checked by
    :class:`DomainAdaptationStopHook`, which calls :meth:`freeze_adaptation`;
    configs with a ``stop_threshold`` add it to ``custom_hooks``), the
    adaptation branch (SAM adapters, domain adapter) runs without gradients
    and in eval mode, so neither its weights nor any normalisation
    statistics change again, and the domain losses are reported as zeros.

    Channel and stride arguments of the RTVP modules that can be derived
    from the modules before them are filled in when missing.

    Args:
        *args: :class:`YOLOWorldDetector` arguments (``backbone``,
            ``text_encoder``, ``neck``, ``bbox_head``, ...).
        sam_backbone (dict, optional): :class:`MobileSAMViT` config; None
            disables the whole RTVP branch (plain YOLO-World).
        expert (dict, optional): Expert CNN config; its first three outputs
            are the stem / stage 1 / stage 2 targets. Defaults to None.
        domain_adapter (dict, optional): :class:`ExpertDomainAdapter`
            config. Defaults to None.
        prompt_refiner (dict, optional): :class:`VisualPromptRefiner`
            config. Defaults to None.
        aux_head (dict, optional): :class:`RTVPAuxHead` config.
            Defaults to None.
        interaction (dict, optional): :class:`TextVisualPromptInteraction`
            config. Defaults to None.
        interaction_position (str): ``'backbone'`` or ``'neck'``.
            Defaults to 'backbone'.
        expert_shared_stages (int): Stem and first block stages the expert
            takes from the detector backbone instead of computing them
            (both :class:`EfficientNetLite`, these stages frozen in the
            backbone, equal weights). Defaults to 0 (none).
        **kwargs: :class:`YOLOWorldDetector` arguments.
    """

    def __init__(self,
                 *args,
                 sam_backbone: OptConfigType = None,
                 expert: OptConfigType = None,
                 domain_adapter: OptConfigType = None,
                 prompt_refiner: OptConfigType = None,
                 aux_head: OptConfigType = None,
                 interaction: OptConfigType = None,
                 interaction_position: str = 'backbone',
                 expert_shared_stages: int = 0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if interaction_position not in ('backbone', 'neck'):
            raise ValueError('RTVP: interaction_position must be "backbone" '
                             f'or "neck", got "{interaction_position}"')
        self.interaction_position = interaction_position
        self.expert_shared_stages = expert_shared_stages
        self.sam_backbone = None
        self.expert = None
        self.domain_adapter = None
        self.prompt_refiner = None
        self.aux_head = None
        self.interaction = None
        if sam_backbone is None:
            for name, cfg in (('expert', expert), ('domain_adapter',
                                                   domain_adapter),
                              ('prompt_refiner', prompt_refiner),
                              ('aux_head', aux_head), ('interaction',
                                                       interaction)):
                if cfg is not None:
                    raise ValueError(f'RTVP: "{name}" needs sam_backbone')
            if expert_shared_stages:
                raise ValueError('RTVP: expert_shared_stages needs an expert')
            return
        self.sam_backbone = MODELS.build(sam_backbone)
        sam_ch = list(self.sam_backbone.out_channels)
        sam_st = list(self.sam_backbone.out_strides)
        if len(sam_ch) != 4:
            raise ValueError('RTVP: sam_backbone must output stem, stage1, '
                             'stage2 and neck')
        prompt_ch, prompt_st = sam_ch[:3], sam_st[:3]

        if (expert is None) != (domain_adapter is None):
            raise ValueError('RTVP: expert and domain_adapter go together '
                             '(set both or neither)')
        if expert is not None:
            prompt_ch, prompt_st = self._build_domain_branch(
                expert, domain_adapter, sam_ch)
        prompt_ch = self._build_prompt_heads(prompt_refiner, aux_head,
                                             prompt_ch, prompt_st)
        if interaction is not None:
            self._build_interaction(interaction, prompt_ch)
        self.prompt_channels = prompt_ch
        self.prompt_strides = prompt_st
        if expert_shared_stages:
            self._check_shared_stages_config()

    def init_weights(self) -> None:
        """Initialise the weights (the expert from its ``init_cfg``).

        Training calls this; testing and inference load a checkpoint that
        holds the expert instead. So this is where a never pre-trained
        expert is reported: the domain loss would distil a random network.
        """
        super().init_weights()
        if self.expert is not None and not self._expert_pretrained:
            MMLogger.get_current_instance().warning(
                'RTVP: the expert CNN has no pre-trained weights '
                '(`model.expert.init_cfg` is not a Pretrained '
                'checkpoint), so the domain loss distils a random '
                'network. Pre-train it on the seen classes first '
                '(configs/rtvp/README.md, stage 1).')
            if self.expert_shared_stages:
                MMLogger.get_current_instance().warning(
                    'RTVP: expert_shared_stages is off for this random '
                    'expert (its first stages are not the backbone\'s)')
                self.expert_shared_stages = 0
        if self.expert_shared_stages:
            self._check_shared_stages_weights()

    def _check_shared_stages_config(self) -> None:
        """``expert_shared_stages`` needs an expert and a backbone that can
        hand over after that many stages, frozen in the backbone."""
        n = self.expert_shared_stages
        if self.expert is None:
            raise ValueError('RTVP: expert_shared_stages needs an expert')
        for name, net in (('backbone', self.backbone),
                          ('expert', self.expert)):
            if not hasattr(net, 'forward_stages'):
                raise ValueError(
                    f'RTVP: expert_shared_stages needs a {name} with '
                    f'forward_stages (EfficientNetLite), got '
                    f'{type(net).__name__}')
        if getattr(self.backbone, 'frozen_stages', -1) < n:
            raise ValueError(
                f'RTVP: expert_shared_stages={n} needs the backbone\'s '
                f'first {n} stages frozen (backbone.frozen_stages='
                f'{self.backbone.frozen_stages})')

    def _check_shared_stages_weights(self) -> None:
        """The shared stages must hold the same weights, statistics and
        input normalisation in the backbone and the expert, else the
        expert would see another network's features."""
        n = self.expert_shared_stages
        prefixes = ('conv_stem.', 'bn1.') + tuple(
            f'blocks.{i}.' for i in range(n))
        own = self.backbone.model.state_dict()
        other = self.expert.model.state_dict()
        keys = [k for k in own if k.startswith(prefixes)
                and not k.endswith('num_batches_tracked')]
        pairs = [(k, own[k], other.get(k)) for k in keys]
        for name in ('in_scale', 'in_shift'):
            pairs.append((name, getattr(self.backbone, name),
                          getattr(self.expert, name)))
        for key, a, b in pairs:
            same = (a is None and b is None) or (
                a is not None and b is not None and a.shape == b.shape
                and torch.equal(a, b.to(a.device)))
            if not same:
                raise ValueError(
                    f'RTVP: expert_shared_stages={n}, but the expert and '
                    f'the backbone differ at {key}; share only stages both '
                    'hold frozen with the same weights (or set it to 0)')

    # ---------------------------------------------------------------- build
    def _build_domain_branch(self, expert: ConfigType,
                             domain_adapter: ConfigType, sam_ch: List[int]
                             ) -> Tuple[List[int], List[int]]:
        """Build the frozen expert and the domain adapter (its SAM and
        expert channels filled in); return the coarse prompts' channels and
        strides."""
        self.expert = MODELS.build(expert)
        self.expert.requires_grad_(False)
        self.expert.eval()
        self._expert_pretrained = self._has_pretrained_init(expert)
        expert_ch = [f.shape[1] for f in probe_outputs(self.expert)[:3]]
        domain_adapter = copy.deepcopy(domain_adapter)
        domain_adapter.setdefault('sam_channels', sam_ch[:3])
        domain_adapter.setdefault('neck_channels', sam_ch[3])
        domain_adapter.setdefault('expert_channels', expert_ch)
        self.domain_adapter = MODELS.build(domain_adapter)
        return (list(self.domain_adapter.out_channels),
                list(self.domain_adapter.expert_strides))

    def _build_prompt_heads(self, prompt_refiner: OptConfigType,
                            aux_head: OptConfigType, prompt_ch: List[int],
                            prompt_st: List[int]) -> List[int]:
        """Build the refiner and the auxiliary head on the coarse prompts;
        return the channels of the prompts given to the interaction."""
        if prompt_refiner is not None:
            prompt_refiner = copy.deepcopy(prompt_refiner)
            prompt_refiner.setdefault('in_channels', prompt_ch)
            prompt_refiner.setdefault('strides', prompt_st)
            self.prompt_refiner = MODELS.build(prompt_refiner)
            prompt_ch = list(self.prompt_refiner.out_channels)
        if aux_head is not None:
            if self.prompt_refiner is None:
                raise ValueError('RTVP: aux_head needs prompt_refiner')
            aux_head = copy.deepcopy(aux_head)
            aux_head.setdefault('in_channels', prompt_ch)
            aux_head.setdefault('strides', prompt_st)
            self.aux_head = MODELS.build(aux_head)
        return prompt_ch

    def _build_interaction(self, interaction: ConfigType,
                           prompt_ch: List[int]) -> None:
        """Build the text-visual interaction for the image levels at
        ``interaction_position``."""
        interaction = copy.deepcopy(interaction)
        if self.interaction_position == 'backbone':
            img_ch = [f.shape[1] for f in probe_outputs(self.backbone)]
        else:
            img_ch = self._neck_channels()
        interaction.setdefault('img_channels', img_ch)
        interaction.setdefault('prompt_channels', prompt_ch)
        interaction.setdefault('text_channels',
                               int(self.text_encoder.embed_dim))
        self.interaction = MODELS.build(interaction)

    # ------------------------------------------------------------- helpers
    @staticmethod
    def _has_pretrained_init(cfg: ConfigType) -> bool:
        """Whether a module config loads weights through ``init_cfg``."""
        init = cfg.get('init_cfg')
        inits = init if isinstance(init, (list, tuple)) else [init]
        return any(
            isinstance(i, dict) and i.get('type') == 'Pretrained'
            and i.get('checkpoint') for i in inits)

    def _adaptation_modules(self) -> List[torch.nn.Module]:
        """Trainable modules of the adaptation branch (eq. 1-3)."""
        mods = []
        if self.domain_adapter is not None:
            mods.append(self.domain_adapter)
            adapters = getattr(self.sam_backbone, 'adapters', None)
            if adapters is not None:
                mods.append(adapters)
        return mods

    def train(self, mode: bool = True) -> 'RTVP':
        """Set the mode; the expert (and, after the stop criterion, the
        adaptation branch) stays in eval mode."""
        super().train(mode)
        if self.expert is not None:
            self.expert.eval()
        if self._adaptation_stopped():
            for m in self._adaptation_modules():
                m.eval()
        return self

    def freeze_adaptation(self) -> None:
        """Stop the adaptation branch for good (paper: "stop optimizing the
        domain adaptation layer"): no gradients, eval mode."""
        for m in self._adaptation_modules():
            m.requires_grad_(False)
            m.eval()

    def _neck_channels(self) -> List[int]:
        feats = probe_outputs(self.backbone)
        if self.use_text_feats_in_neck:
            d = int(self.text_encoder.embed_dim)
            outs = probe_outputs(self.neck, feats,
                                 feats[0].new_zeros(1, 1, d), None)
        else:
            outs = probe_outputs(self.neck, feats)
        return [o.shape[1] for o in outs]

    @property
    def with_rtvp(self) -> bool:
        """bool: Whether the Mobile-SAM prompt branch is built."""
        return self.sam_backbone is not None

    def _adaptation_stopped(self) -> bool:
        return (self.domain_adapter is not None
                and bool(self.domain_adapter.stopped))

    def _shares_expert_stages(self, need_losses: bool) -> bool:
        """Whether this pass runs the expert from the backbone's stages."""
        return bool(self.expert_shared_stages and need_losses
                    and not self._adaptation_stopped())

    def visual_prompts(self,
                       batch_inputs: Tensor,
                       need_losses: bool = False,
                       shared: Optional[Tensor] = None) -> Dict:
        """Compute the (refined) visual prompts.

        Args:
            batch_inputs (Tensor): Preprocessed images (B, 3, H, W).
            need_losses (bool): Run the expert and keep what the losses
                need. Defaults to False.
            shared (Tensor, optional): The backbone's output after
                ``expert_shared_stages`` stages; the expert resumes from
                it. Defaults to None (the expert runs on the image).

        Returns:
            dict: ``prompts`` (list per scale) and, when available,
            ``domain_losses``, ``scores``, ``masks``.
        """
        out: Dict = {}
        img_shape = tuple(batch_inputs.shape[-2:])
        stopped = self._adaptation_stopped()
        ctx = torch.no_grad() if stopped else contextlib.nullcontext()
        with ctx:
            sam = self.sam_backbone(batch_inputs)
            if self.domain_adapter is None:
                coarse = list(sam[:3])
            else:
                train_domain = need_losses and not stopped
                expert_feats, sizes = None, None
                if train_domain:
                    with torch.no_grad():
                        if shared is None:
                            expert_feats = self.expert(batch_inputs)
                        else:
                            expert_feats = self.expert(
                                shared,
                                start_stage=self.expert_shared_stages)
                        expert_feats = list(expert_feats)[:3]
                    sizes = [tuple(e.shape[-2:]) for e in expert_feats]
                adapted = self.domain_adapter(
                    list(sam[:3]), sam[3], img_shape, sizes,
                    with_reconstruction=train_domain)
                coarse = adapted['prompts']
                if train_domain:
                    out['domain_losses'] = self.domain_adapter.loss(
                        adapted['recons'], expert_feats, adapted['keep'],
                        img_shape)
                elif need_losses:
                    zero = batch_inputs.new_zeros(())
                    out['domain_losses'] = {
                        f'loss_domain_{n}': zero
                        for n in self.domain_adapter.level_names
                    }
        if stopped:
            coarse = [c.detach() for c in coarse]
        if self.prompt_refiner is None:
            out['prompts'] = coarse
        else:
            out.update(self.prompt_refiner(coarse))
        return out

    # ------------------------------------------------------------ features
    def image_feats(self, batch_inputs: Tensor, txt_feats: Tensor,
                    txt_masks: Tensor, need_losses: bool = False
                    ) -> Tuple[Sequence[Tensor], Dict]:
        """Backbone and neck with the refined text-visual prompt injected
        (before or after the neck, ``interaction_position``).

        Returns:
            tuple: the neck levels and the :meth:`visual_prompts` state.
        """
        state: Dict = {}
        shared = None
        if self.with_rtvp and self._shares_expert_stages(need_losses):
            n = self.expert_shared_stages
            shared = self.backbone.forward_stages(batch_inputs, n)
            img_feats = self.backbone(shared, start_stage=n)
        else:
            img_feats = self.backbone(batch_inputs)
        if self.with_rtvp:
            state = self.visual_prompts(batch_inputs, need_losses, shared)
        if self.interaction is not None and \
                self.interaction_position == 'backbone':
            img_feats = self.interaction(img_feats, state['prompts'],
                                         txt_feats, txt_masks)
        img_feats = self.neck_feats(img_feats, txt_feats, txt_masks)
        if self.interaction is not None and \
                self.interaction_position == 'neck':
            img_feats = self.interaction(img_feats, state['prompts'],
                                         txt_feats, txt_masks)
        return img_feats, state

    # ---------------------------------------------------------------- modes
    def extra_losses(self, state: Dict,
                     batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Domain (eq. 3) and auxiliary CIoU losses."""
        losses = dict(state.get('domain_losses', {}))
        if self.aux_head is not None:
            gts = [s.gt_instances for s in batch_data_samples]
            metas = [s.metainfo for s in batch_data_samples]
            losses.update(
                self.aux_head.loss(state['prompts'], state['scores'],
                                   state['masks'], gts, metas))
        return losses
