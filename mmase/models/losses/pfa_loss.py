# Copyright (c) mmase contributors. All rights reserved.
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmpretrain.registry import MODELS


@MODELS.register_module()
class PFALoss(nn.Module):
    """Progressive Feature Alignment loss (ASE paper, Sec. PFA, Fig. 5).

    A symmetric InfoNCE between the projected image features ``f_i`` and
    text features ``f_t`` of the same batch (the contrastive objective of the
    PFA block). Pair ``k`` is the positive of anchor ``k``; the admitted
    pairs of other classes are its negatives:

    .. math::

        \\ell_k^{i \\to t} = -\\log
        \\frac{\\exp(s_{kk} / \\tau)}
             {\\exp(s_{kk} / \\tau) +
              \\sum_{j \\in \\mathcal{N}_k(p)} \\exp(s_{kj} / \\tau)},
        \\quad s_{kj} = \\cos(f_i^k, f_t^j),
        \\quad \\mathcal{N}_k(p) = \\{j \\in \\mathcal{A}(p):
                                   y_j \\ne y_k\\}

    and symmetrically ``t -> i``; the loss is the mean of both directions
    over the anchors that have at least one negative.

    **Supervised: same-class pairs are never negatives.** An ASE class is a
    pattern shared by all its images, so the text of another image of the
    same class is a valid description of this image too; pushing it away
    (the unsupervised CLIP objective) would fight the classifier. With
    ``labels`` given, a same-class pair is masked out of the softmax (it is
    neither a negative nor an extra positive). This follows Robinson et al.
    (ICLR 2021, "Contrastive Learning with Hard Negative Samples"), which
    the paper cites for its negative selection: negatives should be *true*
    negatives (of another class) and the hard ones should come with
    priority; Robinson et al. estimate the class with a debiasing term
    because they have no labels, here the labels are known.

    **How "progressive" is read.** The equation bodies are missing from the
    paper text; Fig. 5's caption says PFA "considers the self-similarity
    within every image-text pair", ranks pairs by it, and "low
    self-similarity data pairs will be regarded as negative samples and added
    ... with priority" so that the hard-to-align pairs are aligned "at
    first". We implement this as a negative curriculum:

    1. the self-similarity of pair ``k`` is ``s_kk`` (cosine of the sample's
       own image and text features), computed without gradient;
    2. pairs are ranked by ascending self-similarity inside the batch (the
       batch stands for the training set; a dataset-wide ranking would need
       stale features from a memory bank);
    3. at training progress ``p`` (iteration / max iterations, or epoch /
       max epochs) only the ``ceil(r(p) * B)`` lowest-ranked pairs form the
       admitted set ``A(p)``, where ``r(p)`` grows linearly from
       ``start_ratio`` to ``end_ratio`` while ``p`` goes from 0 to
       ``ramp_end``; the negatives of anchor ``k`` are the admitted pairs of
       another class. With ``end_ratio=1`` every other-class pair is a
       negative once the ramp is over.

    Every anchor always keeps its own positive; an anchor without any
    negative contributes ``-log 1 = 0`` and is left out of the mean.
    Without ``labels`` the loss is the unsupervised version (every other
    admitted pair is a negative).

    The progress is taken from the ``progress`` argument when given,
    otherwise from mmengine's ``MessageHub`` runtime info (``iter`` /
    ``max_iters`` or ``epoch`` / ``max_epochs``, kept up to date by
    ``RuntimeInfoHook``), so no extra hook is needed. Outside a runner the
    progress defaults to 1 (all negatives).

    Args:
        temperature (float): Softmax temperature ``tau``. Defaults to 0.07.
        start_ratio (float): Fraction of the batch admitted as negatives at
            the start of training. Defaults to 0.25.
        end_ratio (float): Fraction admitted at the end of the ramp.
            Defaults to 1.0.
        ramp_end (float): Training progress (0-1] at which ``end_ratio`` is
            reached. Defaults to 0.5.
        by_epoch (bool): Measure progress in epochs instead of iterations.
            Defaults to False.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 temperature: float = 0.07,
                 start_ratio: float = 0.25,
                 end_ratio: float = 1.0,
                 ramp_end: float = 0.5,
                 by_epoch: bool = False,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        if not 0 <= start_ratio <= end_ratio <= 1:
            raise ValueError('need 0 <= start_ratio <= end_ratio <= 1, got '
                             f'{start_ratio}, {end_ratio}')
        if not 0 < ramp_end <= 1:
            raise ValueError(f'ramp_end must be in (0, 1], got {ramp_end}')
        self.temperature = temperature
        self.start_ratio = start_ratio
        self.end_ratio = end_ratio
        self.ramp_end = ramp_end
        self.by_epoch = by_epoch
        self.loss_weight = loss_weight

    def current_progress(self) -> float:
        """Training progress in [0, 1] read from the ``MessageHub``."""
        try:
            hub = MessageHub.get_current_instance()
        except Exception:  # pragma: no cover - no hub at all
            return 1.0
        if self.by_epoch:
            cur, total = hub.get_info('epoch'), hub.get_info('max_epochs')
        else:
            cur, total = hub.get_info('iter'), hub.get_info('max_iters')
        if cur is None or not total:
            return 1.0
        return float(min(max(cur / total, 0.0), 1.0))

    def negative_ratio(self, progress: float) -> float:
        """Fraction of the batch admitted as negatives at ``progress``."""
        t = min(max(progress / self.ramp_end, 0.0), 1.0)
        return self.start_ratio + (self.end_ratio - self.start_ratio) * t

    @staticmethod
    def negative_order(img_feats: torch.Tensor,
                       text_feats: torch.Tensor) -> torch.Tensor:
        """Indices of the pairs by ascending self-similarity.

        Args:
            img_feats (Tensor): Image features, shape (B, D).
            text_feats (Tensor): Text features, shape (B, D).

        Returns:
            Tensor: Long tensor (B, ), the pair admitted first comes first.
        """
        with torch.no_grad():
            self_sim = F.cosine_similarity(img_feats, text_feats, dim=-1)
        return torch.argsort(self_sim, stable=True)

    def negative_mask(self, img_feats: torch.Tensor, text_feats: torch.Tensor,
                      progress: float) -> torch.Tensor:
        """Bool mask (B, ) of the pairs admitted as negatives."""
        num = img_feats.size(0)
        num_neg = int(math.ceil(self.negative_ratio(progress) * num - 1e-6))
        num_neg = min(max(num_neg, 0), num)
        order = self.negative_order(img_feats, text_feats)
        mask = img_feats.new_zeros(num, dtype=torch.bool)
        mask[order[:num_neg]] = True
        return mask

    def pair_mask(self,
                  img_feats: torch.Tensor,
                  text_feats: torch.Tensor,
                  progress: float,
                  labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Bool (B, B) mask of the logits kept in the softmax of each row.

        Row ``k`` keeps its positive ``(k, k)`` and its negatives: the
        admitted pairs (:meth:`negative_mask`) of another class.

        Args:
            img_feats (Tensor): Image features (B, D).
            text_feats (Tensor): Text features (B, D).
            progress (float): Training progress in [0, 1].
            labels (Tensor, optional): Class indices (B, ). Defaults to None
                (no class information: every admitted pair is a negative).

        Returns:
            Tensor: Bool (B, B).
        """
        num = img_feats.size(0)
        eye = torch.eye(num, dtype=torch.bool, device=img_feats.device)
        negatives = self.negative_mask(img_feats, text_feats,
                                       progress)[None, :] & ~eye
        if labels is not None:
            labels = labels.reshape(-1).to(img_feats.device)
            if labels.numel() != num:
                raise ValueError(f'PFALoss: {labels.numel()} labels for a '
                                 f'batch of {num}')
            negatives = negatives & (labels[:, None] != labels[None, :])
        return eye | negatives

    def forward(self,
                img_feats: torch.Tensor,
                text_feats: torch.Tensor,
                valid: Optional[torch.Tensor] = None,
                progress: Optional[float] = None,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            img_feats (Tensor): Image features (B, D); normalised inside.
            text_feats (Tensor): Text features (B, D); normalised inside.
            valid (Tensor, optional): Bool (B, ); pairs without a text
                (empty description and record) are left out entirely.
                Defaults to None (all valid).
            progress (float, optional): Training progress in [0, 1].
                Defaults to None (read from the ``MessageHub``).
            labels (Tensor, optional): Class indices (B, ); same-class pairs
                are never negatives. Defaults to None.

        Returns:
            Tensor: Scalar loss.
        """
        if img_feats.shape != text_feats.shape or img_feats.dim() != 2:
            raise ValueError('PFALoss expects two (B, D) tensors of the same '
                             f'shape, got {tuple(img_feats.shape)} and '
                             f'{tuple(text_feats.shape)}')
        if valid is not None:
            img_feats, text_feats = img_feats[valid], text_feats[valid]
            if labels is not None:
                labels = labels.reshape(-1)[valid.to(labels.device)]
        zero = img_feats.sum() * 0. + text_feats.sum() * 0.
        if img_feats.size(0) < 2:
            return zero
        if progress is None:
            progress = self.current_progress()

        img_feats = F.normalize(img_feats, dim=-1)
        text_feats = F.normalize(text_feats, dim=-1)
        logits = img_feats @ text_feats.t() / self.temperature  # (B, B)
        keep = self.pair_mask(img_feats, text_feats, progress, labels)
        has_neg = keep.sum(1) > 1
        if not has_neg.any():
            return zero
        neg_inf = torch.finfo(logits.dtype).min
        labels_diag = torch.arange(logits.size(0), device=logits.device)
        # rows are anchors and columns candidates in both directions, so
        # the same mask applies to logits.t()
        loss_i2t = F.cross_entropy(
            logits.masked_fill(~keep, neg_inf), labels_diag,
            reduction='none')
        loss_t2i = F.cross_entropy(
            logits.t().masked_fill(~keep, neg_inf), labels_diag,
            reduction='none')
        loss = 0.5 * (loss_i2t + loss_t2i)[has_neg].mean()
        return self.loss_weight * loss
