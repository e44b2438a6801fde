# Copyright (c) mmase contributors. All rights reserved.
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


@MODELS.register_module()
class PrototypeClsHead(ClsHead):
    """Prototype (nearest class mean) head: the few-shot baseline of ASE.

    The ASE paper compares against few-shot methods; this head gives a
    prototypical-network style baseline inside mmpretrain's
    ``ImageClassifier``:

    - features are projected (one linear layer) and L2-normalised;
    - training is episodic on each batch: every sample is classified by the
      scaled cosine to the *leave-one-out* class means of the batch
      (``proto_c = mean of the other samples of class c``); classes without
      support in the batch are masked out, and a sample whose class has no
      other sample in the batch is skipped;
    - running class prototypes (exponential moving averages of the class
      means) are kept as buffers and used at test time (nearest prototype by
      cosine), so no support set has to be passed to ``predict``.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Input feature channels.
        embed_dims (int): Projected embedding size. Defaults to 128.
        scale (float): Cosine logit scale (inverse temperature).
            Defaults to 10.
        momentum (float): EMA momentum of the running prototypes.
            Defaults to 0.1.
        init_cfg (dict, optional): Defaults to
            ``dict(type='Normal', layer='Linear', std=0.01)``.
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of ``ClsHead``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 embed_dims: int = 128,
                 scale: float = 10.,
                 momentum: float = 0.1,
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01),
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be positive')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.scale = scale
        self.momentum = momentum
        self.proj = nn.Linear(in_channels, embed_dims)
        self.register_buffer('prototypes',
                             torch.zeros(num_classes, embed_dims))
        self.register_buffer('proto_seen',
                             torch.zeros(num_classes, dtype=torch.bool))

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Normalised embedding of the last stage."""
        return F.normalize(self.proj(feats[-1]), dim=-1)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Cosine logits to the running prototypes (test-time path)."""
        emb = self.pre_logits(feats)
        protos = F.normalize(self.prototypes, dim=-1)
        logits = self.scale * emb @ protos.t()
        # never-seen classes cannot win
        return logits.masked_fill(~self.proto_seen[None], -1e4)

    @torch.no_grad()
    def _update_prototypes(self, emb: torch.Tensor,
                           labels: torch.Tensor) -> None:
        for c in labels.unique():
            mean = emb[labels == c].mean(0)
            if self.proto_seen[c]:
                self.prototypes[c].mul_(1 - self.momentum).add_(
                    self.momentum * mean)
            else:
                self.prototypes[c].copy_(mean)
                self.proto_seen[c] = True

    def episode_logits(self, emb: torch.Tensor,
                       labels: torch.Tensor) -> Tuple[torch.Tensor,
                                                      torch.Tensor]:
        """Leave-one-out prototype logits of a batch.

        Args:
            emb (Tensor): Normalised embeddings (B, D).
            labels (Tensor): Labels (B, ).

        Returns:
            tuple[Tensor, Tensor]: Logits (B, num_classes) and a bool (B, )
            of samples that have support (another sample of their class).
        """
        onehot = F.one_hot(labels, self.num_classes).to(emb.dtype)  # B, C
        sums = onehot.t() @ emb  # C, D
        counts = onehot.sum(0)  # C
        # remove the sample itself from its own class mean
        loo_sums = sums[None] - onehot[:, :, None] * emb[:, None]  # B, C, D
        loo_counts = counts[None] - onehot  # B, C
        protos = F.normalize(loo_sums, dim=-1)
        logits = self.scale * (protos * emb[:, None]).sum(-1)
        logits = logits.masked_fill(loo_counts <= 0, -1e4)
        has_support = (loo_counts * onehot).sum(1) > 0
        return logits, has_support

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> dict:
        """Episodic prototype loss over the batch."""
        emb = self.pre_logits(feats)
        labels = torch.cat([s.gt_label for s in data_samples]).to(emb.device)
        self._update_prototypes(emb.detach(), labels)
        logits, has_support = self.episode_logits(emb, labels)
        if not has_support.any():
            return dict(loss=emb.sum() * 0.)
        loss = self.loss_module(
            logits[has_support],
            labels[has_support],
            avg_factor=int(has_support.sum()),
            **kwargs)
        return dict(loss=loss)
