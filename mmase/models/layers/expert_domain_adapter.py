# Copyright (c) mmase contributors. All rights reserved.
"""Expert-assisted domain adaptation of RTVP (eq. 1-3)."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig


def random_patch_mask(batch_size: int,
                      grid_size: Tuple[int, int],
                      mask_ratio: float,
                      device: torch.device = None,
                      generator: Optional[torch.Generator] = None) -> Tensor:
    """Uniformly sample masked patches per image (eq. 1).

    Exactly ``round(mask_ratio * N)`` of the ``N = gh * gw`` patch indices
    ``(i, j)`` are drawn without replacement for every image (a random
    permutation, as in MAE), so the realised ratio is the requested one up
    to rounding.

    Args:
        batch_size (int): Images.
        grid_size (tuple[int, int]): Patch grid (gh, gw).
        mask_ratio (float): Fraction of patches to mask, in [0, 1).
        device (torch.device, optional): Device. Defaults to None.
        generator (torch.Generator, optional): RNG. Defaults to None.

    Returns:
        Tensor: Binary keep-mask (B, 1, gh, gw); 0 = masked, 1 = kept.
    """
    if not 0.0 <= mask_ratio < 1.0:
        raise ValueError(f'mask_ratio must be in [0, 1), got {mask_ratio}')
    gh, gw = grid_size
    num = gh * gw
    num_masked = int(round(mask_ratio * num))
    noise = torch.rand(batch_size, num, device=device, generator=generator)
    order = noise.argsort(dim=1)
    keep = torch.ones(batch_size, num, device=device)
    keep.scatter_(1, order[:, :num_masked], 0.0)
    return keep.view(batch_size, 1, gh, gw)


class _ReconstructionDecoder(nn.Module):
    """Three-layer conv / conv / deconv decoder of eq. 2."""

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, norm_cfg: ConfigType,
                 act_cfg: ConfigType) -> None:
        super().__init__()
        self.down = ConvModule(
            in_channels, hidden_channels, 3, stride=2, padding=1,
            norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.mid = ConvModule(
            hidden_channels, hidden_channels, 3, padding=1,
            norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.up = nn.ConvTranspose2d(
            hidden_channels, out_channels, kernel_size=2, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        y = self.up(self.mid(self.down(x)))
        return y[..., :h, :w]


@MODELS.register_module()
class ExpertDomainAdapter(BaseModule):
    """Expert-assisted domain adaptation (RTVP eq. 1-3, Fig. 3-b).

    For every expert scale ``l`` (stem, stage 1, stage 2 of the expert CNN):

    1. Multi-scale sampling: the Mobile-SAM image embedding (``neck``) is
       resampled to the scale's grid and concatenated with the Mobile-SAM
       map of the same stride (``stem``/``stage1``/``stage2``), then a 1x1
       ``ConvModule`` gives ``F_l``. The paper samples "the output feature"
       at several scales; adding the same-stride encoder map keeps the fine
       detail that the stride-16 embedding lacks.
    2. Patch grouping + uniform random masking (eq. 1, training only):
       the image is cut into ``mask_patch_size`` x ``mask_patch_size``
       input-pixel patches, ``round(mask_ratio * N)`` patch indices are
       sampled uniformly per image and the same binary mask, resized to each
       scale, multiplies ``F_l``. One mask for all scales keeps the scales
       spatially consistent.
    3. Decoder (eq. 2): conv (stride 2) - conv - deconv (stride 2) per scale
       reconstructs the expert feature from the masked ``F_l``.
    4. Loss (eq. 3): ``loss_domain_{name}`` per scale
       (:class:`DomainReconstructionLoss`, weighted by ``level_weights``),
       averaged over the **masked** feature pixels only, as in MAE: the
       unmasked pixels can be copied through and would let the loss fall
       without any use of context. The expert features are targets only
       (detached): the expert is a fixed teacher (see :class:`RTVP`).

    Prompts: the coarse visual prompt of every scale is the decoder's output
    on the *unmasked* ``F_l``, in training and at test time alike, so the
    refiner, the interaction and the auxiliary head never learn on inputs
    they do not see at test time. In training the masked pass (for the
    loss) is a second decoder pass on the same sampled features. Masking is
    the regulariser of the reconstruction objective only.

    Normalisation: GroupNorm by default (the paper does not say). With
    BatchNorm the masked pass would feed zero-filled batches into the
    running statistics used for the unmasked prompts, and train-mode
    prompts would differ from eval-mode ones; GroupNorm has no running
    statistics, so the prompts of an image are the same in both modes.

    Stop criterion: the paper stops optimising the adaptation layers once the
    domain loss is "infinitely small". The module keeps that state in
    buffers (saved in checkpoints): :meth:`update_stop_state` (called by
    ``DomainAdaptationStopHook`` with each training iteration's loss) counts
    consecutive iterations whose total domain loss is below
    ``stop_threshold``; after ``stop_patience`` of them ``stopped`` becomes
    True and the detector runs the adaptation branch without gradients
    (adapter, decoder, expert and SAM adapters are no longer updated).

    Args:
        sam_channels (Sequence[int]): Channels of the Mobile-SAM maps that
            match the expert scales (stem, stage1, stage2).
        neck_channels (int): Channels of the Mobile-SAM embedding.
        expert_channels (Sequence[int]): Expert feature channels per scale.
        expert_strides (Sequence[int]): Expert feature strides per scale.
            Defaults to (4, 8, 16).
        level_names (Sequence[str]): Loss suffixes per scale.
            Defaults to ('stem', 'stage1', 'stage2').
        embed_channels (int): Width of ``F_l``. Defaults to 128.
        decoder_channels (int): Decoder hidden width. Defaults to 128.
        mask_ratio (float): Masked patch fraction (eq. 1). The paper gives
            no value; 0.25 masks enough to force context use while keeping
            train and test prompts close. Defaults to 0.25.
        mask_patch_size (int): Masking patch size in input pixels.
            Defaults to 32.
        level_weights (Sequence[float]): Per-scale weights of eq. 3.
            Defaults to (1., 1., 1.).
        loss_domain (dict): Loss config.
            Defaults to ``dict(type='DomainReconstructionLoss')``.
        stop_threshold (float, optional): Total domain-loss threshold of the
            stop criterion; None disables it. Defaults to None.
        stop_patience (int): Consecutive iterations below the threshold
            before stopping. Defaults to 100.
        norm_cfg (dict): Norm config of the sampler and decoder convs.
            Defaults to ``dict(type='GN', num_groups=16)``.
        act_cfg (dict): Activation config. Defaults to SiLU.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 sam_channels: Sequence[int],
                 neck_channels: int,
                 expert_channels: Sequence[int],
                 expert_strides: Sequence[int] = (4, 8, 16),
                 level_names: Sequence[str] = ('stem', 'stage1', 'stage2'),
                 embed_channels: int = 128,
                 decoder_channels: int = 128,
                 mask_ratio: float = 0.25,
                 mask_patch_size: int = 32,
                 level_weights: Sequence[float] = (1., 1., 1.),
                 loss_domain: ConfigType = dict(
                     type='DomainReconstructionLoss'),
                 stop_threshold: Optional[float] = None,
                 stop_patience: int = 100,
                 norm_cfg: ConfigType = dict(type='GN', num_groups=16),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        n = len(expert_channels)
        if not (len(sam_channels) == len(expert_strides) == len(level_names)
                == len(level_weights) == n):
            raise ValueError(
                'ExpertDomainAdapter: sam_channels, expert_channels, '
                'expert_strides, level_names and level_weights must have the '
                'same length')
        if not 0.0 <= mask_ratio < 1.0:
            raise ValueError('ExpertDomainAdapter: mask_ratio must be in '
                             f'[0, 1), got {mask_ratio}')
        self.expert_channels = list(expert_channels)
        self.expert_strides = list(expert_strides)
        self.level_names = list(level_names)
        self.level_weights = list(level_weights)
        self.mask_ratio = mask_ratio
        self.mask_patch_size = mask_patch_size
        self.stop_threshold = stop_threshold
        self.stop_patience = stop_patience

        self.samplers = nn.ModuleList([
            ConvModule(
                c + neck_channels, embed_channels, 1, norm_cfg=norm_cfg,
                act_cfg=act_cfg) for c in sam_channels
        ])
        self.decoders = nn.ModuleList([
            _ReconstructionDecoder(embed_channels, decoder_channels, c,
                                   norm_cfg, act_cfg)
            for c in expert_channels
        ])
        self.loss_domain = MODELS.build(loss_domain)
        self.register_buffer('below_count', torch.zeros((), dtype=torch.long))
        self.register_buffer('stopped', torch.zeros((), dtype=torch.bool))

    @property
    def out_channels(self) -> List[int]:
        """Channels of the coarse prompts (= expert channels)."""
        return self.expert_channels

    @staticmethod
    def target_sizes(img_shape: Tuple[int, int],
                     strides: Sequence[int]) -> List[Tuple[int, int]]:
        """Feature sizes ``ceil(H / s)`` of a CNN for the given strides."""
        h, w = img_shape
        return [(math.ceil(h / s), math.ceil(w / s)) for s in strides]

    def make_mask(self, batch_size: int, img_shape: Tuple[int, int],
                  device: torch.device) -> Tensor:
        """Keep-mask on the input-pixel patch grid (B, 1, gh, gw)."""
        gh = math.ceil(img_shape[0] / self.mask_patch_size)
        gw = math.ceil(img_shape[1] / self.mask_patch_size)
        return random_patch_mask(batch_size, (gh, gw), self.mask_ratio,
                                 device)

    def forward(self,
                sam_feats: Sequence[Tensor],
                sam_neck: Tensor,
                img_shape: Tuple[int, int],
                sizes: Optional[Sequence[Tuple[int, int]]] = None,
                with_reconstruction: bool = False) -> Dict:
        """Sample and decode the Mobile-SAM features.

        Args:
            sam_feats (Sequence[Tensor]): Mobile-SAM maps per scale.
            sam_neck (Tensor): Mobile-SAM image embedding.
            img_shape (tuple[int, int]): Padded input size (H, W).
            sizes (Sequence[tuple], optional): Output sizes per scale
                (the expert's feature sizes). Defaults to
                ``ceil(img_shape / expert_strides)``.
            with_reconstruction (bool): Also run the masked reconstruction
                pass of eq. 1-2 (for :meth:`loss`). Defaults to False.

        Returns:
            dict: ``prompts`` (coarse prompts from the unmasked features,
            list of (B, C_l, H_l, W_l)); with ``with_reconstruction`` also
            ``recons`` (decoder outputs of the masked features) and
            ``keep`` (patch-grid keep-mask, None when ``mask_ratio`` is 0).
        """
        if sizes is None:
            sizes = self.target_sizes(img_shape, self.expert_strides)
        feats = []
        for i, size in enumerate(sizes):
            neck = F.interpolate(
                sam_neck, size=size, mode='bilinear', align_corners=False)
            feat = sam_feats[i]
            if feat.shape[-2:] != tuple(size):
                feat = F.interpolate(
                    feat, size=size, mode='bilinear', align_corners=False)
            feats.append(self.samplers[i](torch.cat([feat, neck], dim=1)))
        out = dict(prompts=[dec(x) for dec, x in zip(self.decoders, feats)])
        if not with_reconstruction:
            return out
        out['keep'] = None
        out['recons'] = out['prompts']
        if self.mask_ratio > 0:
            keep = self.make_mask(sam_neck.shape[0], img_shape,
                                  sam_neck.device)
            out['keep'] = keep
            out['recons'] = [
                dec(x * self.resize_mask(keep, x.shape[-2:], img_shape))
                for dec, x in zip(self.decoders, feats)
            ]
        return out

    def resize_mask(self, keep: Tensor, size: Tuple[int, int],
                    img_shape: Tuple[int, int]) -> Tensor:
        """Map a patch-grid keep-mask onto a feature grid (nearest)."""
        # each feature pixel centre -> its input-pixel patch
        h, w = size
        dev = keep.device
        ys = ((torch.arange(h, device=dev) + 0.5) * img_shape[0] / h)
        xs = ((torch.arange(w, device=dev) + 0.5) * img_shape[1] / w)
        iy = (ys // self.mask_patch_size).long().clamp(max=keep.shape[2] - 1)
        ix = (xs // self.mask_patch_size).long().clamp(max=keep.shape[3] - 1)
        return keep[:, :, iy][:, :, :, ix]

    def loss(self,
             recons: Sequence[Tensor],
             expert_feats: Sequence[Tensor],
             keep: Optional[Tensor] = None,
             img_shape: Optional[Tuple[int, int]] = None
             ) -> Dict[str, Tensor]:
        """Multi-scale domain loss (eq. 3) on the masked patches.

        Args:
            recons (Sequence[Tensor]): Decoder outputs of the masked
                features per scale.
            expert_feats (Sequence[Tensor]): Expert features per scale
                (targets; no gradient flows into them).
            keep (Tensor, optional): Patch-grid keep-mask of
                :meth:`forward` (1 = kept). The loss averages over the
                feature pixels whose patch was masked; None averages over
                every pixel. Defaults to None.
            img_shape (tuple[int, int], optional): Padded input size, needed
                with ``keep``. Defaults to None.

        Returns:
            dict[str, Tensor]: ``loss_domain_{name}`` per scale.
        """
        if len(expert_feats) != len(recons):
            raise ValueError(
                f'ExpertDomainAdapter: got {len(expert_feats)} expert '
                f'features for {len(recons)} scales')
        if keep is not None and img_shape is None:
            raise ValueError('ExpertDomainAdapter.loss: img_shape is needed '
                             'with a keep-mask')
        losses = {}
        for name, w, r, e in zip(self.level_names, self.level_weights, recons,
                                 expert_feats):
            if e.shape[1] != r.shape[1]:
                raise ValueError(
                    f'ExpertDomainAdapter: expert scale "{name}" has '
                    f'{e.shape[1]} channels, expert_channels says '
                    f'{r.shape[1]}')
            weight = None
            if keep is not None:
                weight = 1.0 - self.resize_mask(keep, r.shape[-2:],
                                                img_shape).to(r.dtype)
            losses[f'loss_domain_{name}'] = w * self.loss_domain(
                r, e.detach(), weight)
        return losses

    @torch.no_grad()
    def update_stop_state(self, total_loss: float) -> bool:
        """Advance the stop criterion with this iteration's domain loss.

        Args:
            total_loss (float): Sum of the domain losses of the iteration.

        Returns:
            bool: Whether adaptation is stopped (now or before).
        """
        if self.stop_threshold is None or bool(self.stopped):
            return bool(self.stopped)
        if float(total_loss) < self.stop_threshold:
            self.below_count += 1
        else:
            self.below_count.zero_()
        if int(self.below_count) >= self.stop_patience:
            self.stopped.fill_(True)
        return bool(self.stopped)
