# Copyright (c) mmase contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils import TextEmbeddingCache, probe_outputs, text_encoder_frozen


@MODELS.register_module()
class ASEMultimodalClassifier(BaseClassifier):
    """Multimodal defect classifier of the ASE paper (Fig. 3).

    Pipeline:

    1. image tokens: the last stage of an mmpretrain backbone (ResNet feature
       map cells; ViT / DeiT tokens with ``out_type='featmap'`` (patches) or
       ``'raw'`` (class token + patches); ``'cls_token'`` gives one token);
    2. text tokens: a frozen :class:`HFTextEncoder` over
       ``description + record_text`` (the VLM-LLM descriptor of
       ``tools/ase/describe.py`` and the textual record fields), plus one
       token from the numeric record fields (:class:`NumericRecordEncoder`);
    3. :class:`PFANeck` projects both into a joint space; :class:`PFALoss`
       aligns the pooled image / text vectors (progressive InfoNCE);
    4. :class:`CMAFNeck` fuses the aligned tokens with cross attention both
       ways and a per-sample gate (``fusion=None`` concatenates the pooled
       vectors instead, the "w/o CMAF" ablation);
    5. a linear head (mmpretrain ``LinearClsHead``) with cross entropy.

    ``loss = CE + align_loss``; the alignment loss gets the labels, so
    same-class pairs are never its negatives. Samples without text (empty
    description and record text, no numeric field) are left out of the
    alignment loss and fused from the image alone.

    ``backbone=None`` gives a text-only model (no image branch, no fusion,
    no alignment): the pooled text feature goes to the head, e.g. the
    "descriptor only" baseline with ``text_keys=('description', )``.

    Args:
        backbone (dict, optional): mmpretrain backbone config; None for a
            text-only model.
        head (dict): Classification head config (``LinearClsHead``); its
            ``in_channels`` must be ``embed_dims`` with CMAF, ``2 *
            embed_dims`` without.
        pfa_neck (dict): :class:`PFANeck` config; ``img_channels`` and
            ``text_channels`` are filled in when missing.
        text_encoder (dict, optional): :class:`HFTextEncoder` config.
            Defaults to None (no text tokens).
        numeric_encoder (dict, optional): :class:`NumericRecordEncoder`
            config; ``out_channels`` is set to the text token width.
            Defaults to None.
        fusion (dict, optional): :class:`CMAFNeck` config. Defaults to None.
        align_loss (dict, optional): :class:`PFALoss` config. Defaults to
            None (no alignment loss, the "w/o PFA" ablation).
        img_channels (int, optional): Channels of the backbone's last
            stage. Defaults to None (inferred with a dummy forward).
        text_keys (Sequence[str]): Data-sample fields joined (with ``'. '``)
            into the text of a sample. Defaults to
            ``('description', 'record_text')``.
        text_cache_size (int): With a frozen text encoder, keep the token
            features of up to this many distinct texts (least recently used
            dropped), so repeated texts are encoded once. Models whose
            frozen encoders have the same class, length limit and weights
            share one cache in the process (e.g. the seeds and ablations of
            a benchmark). 0 disables it. Defaults to 0.
        data_preprocessor (dict, optional): Defaults to None
            (``ClsDataPreprocessor``).
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 backbone: Optional[dict],
                 head: dict,
                 pfa_neck: dict,
                 text_encoder: Optional[dict] = None,
                 numeric_encoder: Optional[dict] = None,
                 fusion: Optional[dict] = None,
                 align_loss: Optional[dict] = None,
                 img_channels: Optional[int] = None,
                 text_keys: Sequence[str] = ('description', 'record_text'),
                 text_cache_size: int = 0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        data_preprocessor = data_preprocessor or {}
        if isinstance(data_preprocessor, dict):
            data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        if text_encoder is None and numeric_encoder is None:
            raise ValueError(
                'ASEMultimodalClassifier needs `text_encoder` and/or '
                '`numeric_encoder`; use ImageClassifier for image only')
        if backbone is None and (fusion is not None or
                                 align_loss is not None):
            raise ValueError('ASEMultimodalClassifier: a text-only model '
                             '(backbone=None) has nothing to fuse or align; '
                             'set fusion=None and align_loss=None')
        self.backbone = MODELS.build(backbone) if backbone else None
        self.text_encoder = (
            MODELS.build(text_encoder) if text_encoder is not None else None)
        self.text_keys = tuple(text_keys)
        self.text_cache = TextEmbeddingCache(
            int(text_cache_size), on_cpu=True, shared=True)

        if img_channels is None and self.backbone is not None:
            img_channels = self._infer_img_channels()
        if self.text_encoder is not None:
            text_channels = int(
                getattr(self.text_encoder, 'hidden_dim',
                        getattr(self.text_encoder, 'embed_dim', 0)))
        else:
            text_channels = None
        if numeric_encoder is not None:
            numeric_encoder = dict(numeric_encoder)
            if text_channels is None:
                text_channels = numeric_encoder.setdefault(
                    'out_channels', 384)
            else:
                numeric_encoder['out_channels'] = text_channels
            self.numeric_encoder = MODELS.build(numeric_encoder)
        else:
            self.numeric_encoder = None

        pfa_neck = dict(pfa_neck)
        pfa_neck['img_channels'] = pfa_neck.get('img_channels',
                                                img_channels) \
            if self.backbone is not None else None
        pfa_neck.setdefault('text_channels', text_channels)
        self.neck = MODELS.build(pfa_neck)
        self.fusion = MODELS.build(fusion) if fusion is not None else None
        self.align_loss = (
            MODELS.build(align_loss) if align_loss is not None else None)
        self.head = MODELS.build(head)
        expected = self.neck.embed_dims * (
            1 if self.fusion or self.backbone is None else 2)
        head_in = getattr(self.head, 'in_channels', expected)
        if head_in != expected:
            raise ValueError(
                f'ASEMultimodalClassifier: head.in_channels={head_in} but the '
                f'fused feature has {expected} channels (embed_dims='
                f'{self.neck.embed_dims}, fusion='
                f'{"CMAF" if self.fusion else "concat"}, image branch='
                f'{self.backbone is not None})')

    def _infer_img_channels(self) -> int:
        feat = probe_outputs(self.backbone)[-1]
        return int(feat.shape[1] if feat.dim() == 4 else feat.shape[-1])

    # ------------------------------------------------------------------
    # features
    @staticmethod
    def _to_tokens(feat: Union[torch.Tensor, Sequence]) -> torch.Tensor:
        """Backbone output -> (B, N, C) tokens."""
        if isinstance(feat, (list, tuple)):
            # ViT 'cls_token' style outputs (patch, cls): keep the patches
            feat = feat[0]
        if feat.dim() == 4:
            return feat.flatten(2).transpose(1, 2)
        if feat.dim() == 3:
            return feat
        if feat.dim() == 2:
            return feat[:, None]
        raise ValueError('ASEMultimodalClassifier: unsupported backbone '
                         f'output shape {tuple(feat.shape)}')

    def _texts(self, data_samples: List[DataSample]) -> List[str]:
        texts = []
        for sample in data_samples:
            parts = []
            for key in self.text_keys:
                value = sample.get(key, '') if sample is not None else ''
                if value is None:
                    continue
                value = str(value).strip()
                if value:
                    parts.append(value.rstrip('.'))
            texts.append('. '.join(parts))
        return texts

    def _numeric(self, data_samples: List[DataSample],
                 device: torch.device) -> torch.Tensor:
        rows = []
        for i, sample in enumerate(data_samples):
            value = sample.get('numeric', None) if sample is not None \
                else None
            if value is None:
                rows.append(
                    torch.full((self.numeric_encoder.num_fields, ),
                               float('nan')))
            else:
                rows.append(torch.as_tensor(
                    np.asarray(value, dtype=np.float32)).reshape(-1))
        try:
            return torch.stack(rows).to(device)
        except RuntimeError as e:
            raise ValueError('ASEMultimodalClassifier: data samples carry '
                             'numeric records of different lengths') from e

    def _encode_texts(self, texts: List[str]
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Token features (B, L, D) and mask (B, L) of ``texts``."""
        if (self.text_cache.max_size <= 0
                or not text_encoder_frozen(self.text_encoder)):
            return self.text_encoder.forward_tokens(texts)
        self.text_cache.bind(self.text_encoder)
        feats = self.text_cache.lookup(texts, self._encode_token_rows)
        length = max(f.size(0) for f in feats)
        out = feats[0].new_zeros(len(feats), length, feats[0].size(-1))
        mask = torch.zeros(len(feats), length, dtype=torch.bool)
        for i, f in enumerate(feats):
            out[i, :f.size(0)] = f
            mask[i, :f.size(0)] = True
        return out, mask

    def _encode_token_rows(self, texts: List[str]) -> List[torch.Tensor]:
        """The features of the real (non-padding) tokens of each text."""
        tokens, mask = self.text_encoder.forward_tokens(texts)
        return [tok[m] for tok, m in zip(tokens, mask)]

    def extract_feat(self,
                     inputs: torch.Tensor,
                     data_samples: Optional[List[DataSample]] = None
                     ) -> Dict[str, torch.Tensor]:
        """Image / text features, projected and fused.

        Args:
            inputs (Tensor): Images (B, 3, H, W).
            data_samples (list[DataSample], optional): Samples carrying
                ``description``, ``record_text`` and ``numeric``. Defaults to
                None (no text: image-only fusion).

        Returns:
            dict: PFANeck outputs plus ``fused`` (B, C) and ``gate`` (if
            CMAF is used).
        """
        batch = inputs.size(0)
        if data_samples is None:
            data_samples = [None] * batch
        img_tokens = None
        if self.backbone is not None:
            img_tokens = self._to_tokens(self.backbone(inputs)[-1])
        device = inputs.device
        dtype = img_tokens.dtype if img_tokens is not None else \
            next(self.neck.parameters()).dtype

        tok_list, mask_list = [], []
        if self.text_encoder is not None:
            texts = self._texts(data_samples)
            tokens, mask = self._encode_texts(texts)
            tokens = tokens.to(device=device, dtype=dtype)
            mask = mask.to(device)
            empty = torch.tensor([not t for t in texts], device=device)
            mask = mask & ~empty[:, None]
            tok_list.append(tokens)
            mask_list.append(mask)
        if self.numeric_encoder is not None:
            num_feat, num_valid = self.numeric_encoder(
                self._numeric(data_samples, device))
            tok_list.append(num_feat[:, None])
            mask_list.append(num_valid[:, None])
        text_tokens = torch.cat(tok_list, dim=1)
        text_mask = torch.cat(mask_list, dim=1)

        out = self.neck(img_tokens, text_tokens, text_mask)
        if self.backbone is None:
            fused = out['text_feat']
        elif self.fusion is not None:
            fused, gate = self.fusion(out['img_tokens'], out['text_tokens'],
                                      out['text_mask'])
            out['gate'] = gate
        else:
            fused = torch.cat([out['img_feat'], out['text_feat']], dim=-1)
        out['fused'] = fused
        return out

    # ------------------------------------------------------------------
    # modes
    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """Unified entry: ``'tensor'`` (logits), ``'loss'``, ``'predict'``.

        Args:
            inputs (Tensor): Images (B, 3, H, W).
            data_samples (list[DataSample], optional): Samples with the text
                and numeric fields (and ``gt_label`` for ``'loss'``).
                Defaults to None.
            mode (str): Defaults to ``'tensor'``.
        """
        if mode == 'tensor':
            feats = self.extract_feat(inputs, data_samples)
            return self.head((feats['fused'], ))
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Cross entropy of the head plus the PFA alignment loss."""
        feats = self.extract_feat(inputs, data_samples)
        losses = self.head.loss((feats['fused'], ), data_samples)
        if self.align_loss is not None:
            labels = torch.cat([
                s.gt_label.reshape(-1) for s in data_samples
            ]).to(feats['img_feat'].device)
            losses['loss_align'] = self.align_loss(
                feats['img_feat'], feats['text_feat'], feats['text_valid'],
                labels=labels)
        return losses

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predict labels; ``pred_score`` / ``pred_label`` are set."""
        feats = self.extract_feat(inputs, data_samples)
        return self.head.predict((feats['fused'], ), data_samples, **kwargs)
