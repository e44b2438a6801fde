# Copyright (c) mmase contributors. All rights reserved.
"""Open-vocabulary single-stage detector (YOLO-World-S style)."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet.models.detectors.single_stage import SingleStageDetector
from mmdet.registry import MODELS
from mmdet.structures import OptSampleList, SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from ..utils import TextEmbeddingCache, text_encoder_frozen

# A class prompt: one string, or several strings (name, descriptions...)
# whose embeddings are averaged.
Prompt = Union[str, Sequence[str]]


@MODELS.register_module()
class YOLOWorldDetector(SingleStageDetector):
    """YOLO-World-S style open-vocabulary detector, the base of RTVP.

    Image features (``backbone``) are fused with the vocabulary embeddings
    of a frozen text encoder (RTVP "Implementation Details": the CLIP text
    encoder is frozen) in a text-guided ``neck`` (max-sigmoid attention,
    Eq. 7) and classified by region-text similarity in ``bbox_head``.

    The vocabulary of an image is ``data_sample.texts`` (one prompt per
    class; gt labels and predicted labels index into it) or, when the
    samples carry none, the one given to :meth:`set_vocabulary`, else the
    classes of ``dataset_meta``. Predictions carry ``label_names``. A prompt
    may be a list of strings (name and descriptions): their L2-normalised
    embeddings are averaged and re-normalised (prompt ensembling).
    Vocabularies of different sizes are padded at the end and masked.

    The work is split so subclasses can extend single steps:
    :meth:`encode_texts` -> ``(txt_feats, txt_masks)``,
    :meth:`batch_text_feats` (the same, per image of the batch),
    :meth:`image_feats` (backbone and :meth:`neck_feats`; the step a
    detector with extra image branches overrides, returning a state for
    :meth:`extra_losses`),
    :meth:`extract_feat` -> ``(img_feats, txt_feats, txt_masks)``,
    then :meth:`loss`, :meth:`predict` and :meth:`_forward` pass all three
    to the head. :meth:`predict` takes ``texts=`` for a vocabulary per
    call.

    Args:
        backbone (dict): Image backbone config.
        text_encoder (dict): Text encoder config (e.g. ``HFTextEncoder``);
            must map ``List[str]`` to (N, D) embeddings and expose
            ``embed_dim``.
        neck (dict): Neck config. When ``use_text_feats_in_neck`` it is
            called as ``neck(img_feats, txt_feats, txt_masks)`` and its
            ``guide_channels`` defaults to the text dimension.
        bbox_head (dict): Head config, called with
            ``(img_feats, txt_feats, txt_masks, ...)``; its ``embed_dims``
            defaults to the text dimension.
        data_preprocessor (dict, optional): Data preprocessor config.
            Defaults to None.
        train_cfg (dict, optional): Head training config. Defaults to None.
        test_cfg (dict, optional): Head test config. Defaults to None.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
        use_text_feats_in_neck (bool): Pass the texts to the neck.
            Defaults to True.
        vocabulary (list, optional): Initial fallback vocabulary.
            Defaults to None.
        text_cache_size (int): With a frozen text encoder, the embeddings
            of this many distinct prompt strings are kept, so training
            with random vocabularies encodes each class text once.
            Defaults to 4096.
    """

    def __init__(self,
                 backbone: ConfigType,
                 text_encoder: ConfigType,
                 neck: ConfigType,
                 bbox_head: ConfigType,
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 use_text_feats_in_neck: bool = True,
                 vocabulary: Optional[List[Prompt]] = None,
                 text_cache_size: int = 4096) -> None:
        text_encoder = MODELS.build(text_encoder)
        embed_dim = int(text_encoder.embed_dim)
        neck = copy.deepcopy(neck)
        bbox_head = copy.deepcopy(bbox_head)
        if use_text_feats_in_neck:
            neck.setdefault('guide_channels', embed_dim)
        bbox_head.setdefault('embed_dims', embed_dim)
        super().__init__(
            backbone=backbone,
            neck=neck,
            bbox_head=bbox_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.text_encoder = text_encoder
        self.use_text_feats_in_neck = use_text_feats_in_neck
        self.text_cache = TextEmbeddingCache(text_cache_size)
        self._vocabulary: Optional[List[Prompt]] = None
        self._label_map: Optional[Tensor] = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    # ---------------------------------------------------------- vocabulary
    @property
    def vocabulary(self) -> Optional[List[Prompt]]:
        """list or None: The fallback vocabulary."""
        return self._vocabulary

    def set_vocabulary(self,
                       texts: Sequence[Prompt],
                       label_map: Optional[Sequence[int]] = None) -> None:
        """Set the vocabulary used for samples without ``texts``.

        Args:
            texts (Sequence[str | Sequence[str]]): One prompt per class.
            label_map (Sequence[int], optional): For training on a subset of
                the dataset's classes (e.g. the LVIS base classes): the
                vocabulary index of every dataset label, -1 for a class
                outside the vocabulary (its boxes are dropped from the
                loss). Defaults to None (labels index ``texts``).
        """
        if isinstance(texts, str):
            raise TypeError('YOLOWorldDetector.set_vocabulary: expected a '
                            'list of class prompts, got a single str')
        self._vocabulary = [
            t if isinstance(t, str) else list(t) for t in texts
        ]
        self._label_map = None
        if label_map is not None:
            label_map = torch.as_tensor(list(label_map), dtype=torch.long)
            if label_map.numel() and (label_map.max() >= len(texts)
                                      or label_map.min() < -1):
                raise ValueError('YOLOWorldDetector.set_vocabulary: '
                                 'label_map values must be -1 or index '
                                 f'the {len(texts)} texts')
            self._label_map = label_map

    def remap_gt_labels(self, batch_data_samples: SampleList) -> None:
        """Map dataset labels to vocabulary indices (``label_map`` of
        :meth:`set_vocabulary`) in the samples that carry no ``texts``;
        boxes of classes outside the vocabulary are removed."""
        label_map = getattr(self, '_label_map', None)
        if label_map is None:
            return
        for sample in batch_data_samples:
            if sample.get('texts', None) is not None:
                continue
            gt = sample.gt_instances
            new = label_map.to(gt.labels.device)[gt.labels]
            keep = new >= 0
            gt = gt[keep]
            gt.labels = new[keep]
            sample.gt_instances = gt

    def embed_strings(self, strings: Sequence[str]) -> Tensor:
        """Embeddings of distinct strings (cached when the encoder is
        frozen, see :class:`TextEmbeddingCache`).

        Args:
            strings (Sequence[str]): Strings to embed.

        Returns:
            Tensor: (len(strings), D), L2-normalised.
        """
        strings = list(strings)
        if not text_encoder_frozen(self.text_encoder):
            return self.text_encoder(strings)
        if not strings:
            return None
        return torch.stack(
            self.text_cache.lookup(strings, self._encode_no_grad))

    def _encode_no_grad(self, strings: List[str]) -> Tensor:
        with torch.no_grad():
            return self.text_encoder(strings)

    def _fallback_vocabulary(self) -> Optional[List[Prompt]]:
        """The vocabulary of samples without ``texts``: the one of
        :meth:`set_vocabulary` (or ``vocabulary=`` in the config), else the
        class names of ``dataset_meta`` (set by mmdet's ``DetInferencer``
        and ``init_detector`` from the checkpoint), else None."""
        if self._vocabulary is not None:
            return self._vocabulary
        classes = (getattr(self, 'dataset_meta', None) or {}).get('classes')
        return list(classes) if classes else None

    def add_pred_to_datasample(self, data_samples: SampleList,
                               results_list) -> SampleList:
        """Attach predictions, with ``label_names``: the vocabulary entry
        (its first string) of each label, as mmdet's grounding detectors
        do, so ``DetLocalVisualizer`` and ``DetInferencer`` name a box by
        the prompt of its own image."""
        vocabs = self._sample_vocabularies(data_samples)
        for vocab, results in zip(vocabs, results_list):
            names = [p if isinstance(p, str) else p[0] for p in vocab]
            results.label_names = [
                names[i] for i in results.labels.tolist()
            ]
        return super().add_pred_to_datasample(data_samples, results_list)

    def _sample_vocabularies(
            self, batch_data_samples: OptSampleList) -> List[List[Prompt]]:
        vocabs = []
        samples = batch_data_samples or []
        for i, sample in enumerate(samples):
            texts = sample.get('texts', None) if hasattr(
                sample, 'get') else None
            if texts is None:
                texts = self._fallback_vocabulary()
            if texts is None:
                raise ValueError(
                    f'YOLOWorldDetector: data sample {i} has no `texts` and '
                    'no vocabulary was set; add `texts` to the meta_keys of '
                    'PackDetInputs (LoadVocabulary/RandomVocabulary), pass '
                    'texts= to DetInferencer or call `set_vocabulary(texts)`')
            if isinstance(texts, str):
                raise TypeError(
                    f'YOLOWorldDetector: data sample {i} field `texts` must '
                    'be a list of class prompts, got a str')
            vocabs.append(list(texts))
        return vocabs

    def encode_texts(
            self, batch_data_samples: OptSampleList) -> Tuple[Tensor, Tensor]:
        """Embed each image's vocabulary.

        Args:
            batch_data_samples (list[DetDataSample], optional): Samples with
                ``texts`` (else the :meth:`set_vocabulary` vocabulary).

        Returns:
            tuple[Tensor, Tensor]: ``txt_feats`` (B, N, D), zero for padding,
            and ``txt_masks`` (B, N) bool, True for real texts (padding at
            the end).
        """
        vocabs = self._sample_vocabularies(batch_data_samples)
        if not vocabs:  # e.g. tensor mode without samples
            if self._vocabulary is None:
                raise ValueError('YOLOWorldDetector: no data samples and no '
                                 'vocabulary set (call set_vocabulary)')
            vocabs = [list(self._vocabulary)]
        strings = []
        for vocab in vocabs:
            for prompt in vocab:
                strings.extend([prompt] if isinstance(prompt, str) else
                               list(prompt))
        uniq = list(dict.fromkeys(strings))
        D = int(self.text_encoder.embed_dim)
        if uniq:
            table = self.embed_strings(uniq)
        else:
            table = self.bbox_head.proj.new_zeros((0, D))
        index = {s: j for j, s in enumerate(uniq)}
        B = len(vocabs)
        N = max(len(v) for v in vocabs)
        txt_feats = table.new_zeros((B, N, D))
        txt_masks = torch.zeros((B, N), dtype=torch.bool,
                                device=table.device)
        for b, vocab in enumerate(vocabs):
            if not vocab:
                continue
            rows = []
            for prompt in vocab:
                if isinstance(prompt, str):
                    rows.append(table[index[prompt]])
                else:
                    if len(prompt) == 0:
                        raise ValueError('YOLOWorldDetector: empty prompt '
                                         f'list in the vocabulary of sample '
                                         f'{b} (field `texts`)')
                    emb = table[[index[s] for s in prompt]].mean(0)
                    rows.append(F.normalize(emb, dim=-1))
            txt_feats[b, :len(vocab)] = torch.stack(rows)
            txt_masks[b, :len(vocab)] = True
        return txt_feats, txt_masks

    # ------------------------------------------------------------ features
    def batch_text_feats(self, batch_inputs: Tensor,
                         batch_data_samples: OptSampleList
                         ) -> Tuple[Tensor, Tensor]:
        """:meth:`encode_texts`, broadcast to the batch and cast to the
        images' dtype.

        Returns:
            tuple[Tensor, Tensor]: ``txt_feats`` (B, N, D) and ``txt_masks``
            (B, N).
        """
        txt_feats, txt_masks = self.encode_texts(batch_data_samples)
        B = batch_inputs.size(0)
        if txt_feats.size(0) == 1 and B > 1:
            txt_feats = txt_feats.expand(B, -1, -1)
            txt_masks = txt_masks.expand(B, -1)
        return txt_feats.to(batch_inputs.dtype), txt_masks

    def neck_feats(self, img_feats: Sequence[Tensor], txt_feats: Tensor,
                   txt_masks: Tensor) -> Sequence[Tensor]:
        """The neck, text-guided when ``use_text_feats_in_neck``."""
        if not self.with_neck:
            return img_feats
        if self.use_text_feats_in_neck:
            return self.neck(img_feats, txt_feats, txt_masks)
        return self.neck(img_feats)

    def image_feats(self, batch_inputs: Tensor, txt_feats: Tensor,
                    txt_masks: Tensor, need_losses: bool = False
                    ) -> Tuple[Sequence[Tensor], Dict]:
        """The image path: backbone, then :meth:`neck_feats`. Subclasses
        that add branches override this step.

        Args:
            batch_inputs (Tensor): Images (B, C, H, W).
            txt_feats (Tensor): (B, N, D) vocabulary embeddings.
            txt_masks (Tensor): (B, N) real-text mask.
            need_losses (bool): Whether the caller computes losses (extra
                branches keep what their losses need in the state).
                Defaults to False.

        Returns:
            tuple: the neck levels and a state dict for
            :meth:`extra_losses` (empty here).
        """
        img_feats = self.backbone(batch_inputs)
        return self.neck_feats(img_feats, txt_feats, txt_masks), {}

    def extract_feat_and_state(
        self,
        batch_inputs: Tensor,
        batch_data_samples: OptSampleList = None,
        need_losses: bool = False
    ) -> Tuple[Tuple[Tensor, ...], Tensor, Tensor, Dict]:
        """:meth:`extract_feat` plus the state of :meth:`image_feats`."""
        txt_feats, txt_masks = self.batch_text_feats(batch_inputs,
                                                     batch_data_samples)
        img_feats, state = self.image_feats(batch_inputs, txt_feats,
                                            txt_masks, need_losses)
        return tuple(img_feats), txt_feats, txt_masks, state

    def extract_feat(
        self,
        batch_inputs: Tensor,
        batch_data_samples: OptSampleList = None
    ) -> Tuple[Tuple[Tensor, ...], Tensor, Tensor]:
        """Image features fused with the vocabulary.

        Args:
            batch_inputs (Tensor): Images (B, C, H, W).
            batch_data_samples (list[DetDataSample], optional): Samples.
                Defaults to None.

        Returns:
            tuple: ``img_feats`` (neck levels), ``txt_feats`` (B, N, D),
            ``txt_masks`` (B, N).
        """
        img_feats, txt_feats, txt_masks, _ = self.extract_feat_and_state(
            batch_inputs, batch_data_samples)
        return img_feats, txt_feats, txt_masks

    # ---------------------------------------------------------------- modes
    def extra_losses(self, state: Dict,
                     batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Losses of extra branches from the :meth:`image_feats` state
        (none here)."""
        return {}

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> dict:
        """Losses of a batch: the head's (see :meth:`YOLOWorldHead.loss`)
        and :meth:`extra_losses`."""
        self.remap_gt_labels(batch_data_samples)
        img_feats, txt_feats, txt_masks, state = self.extract_feat_and_state(
            batch_inputs, batch_data_samples, need_losses=True)
        losses = self.bbox_head.loss(img_feats, txt_feats, txt_masks,
                                     batch_data_samples)
        losses.update(self.extra_losses(state, batch_data_samples))
        return losses

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True,
                texts: Optional[Sequence[Prompt]] = None) -> SampleList:
        """Detect with the samples' vocabularies or a given one.

        Args:
            batch_inputs (Tensor): Images.
            batch_data_samples (list[DetDataSample]): Samples.
            rescale (bool): Rescale boxes to the original image.
                Defaults to True.
            texts (Sequence[str | Sequence[str]], optional): A custom
                vocabulary for this call; it replaces every sample's
                ``texts`` (written into the samples' metainfo, so
                ``pred_instances.labels`` index into it).
                Defaults to None.

        Returns:
            list[DetDataSample]: Samples with ``pred_instances``; labels
            index into each sample's vocabulary.
        """
        if texts is not None:
            if isinstance(texts, str):
                raise TypeError(f'{type(self).__name__}.predict: texts must '
                                'be a list of class prompts, got a str')
            vocab = [t if isinstance(t, str) else list(t) for t in texts]
            for sample in batch_data_samples:
                sample.set_metainfo(dict(texts=list(vocab)))
        img_feats, txt_feats, txt_masks = self.extract_feat(
            batch_inputs, batch_data_samples)
        results_list = self.bbox_head.predict(
            img_feats, txt_feats, txt_masks, batch_data_samples,
            rescale=rescale)
        return self.add_pred_to_datasample(batch_data_samples, results_list)

    def _forward(self,
                 batch_inputs: Tensor,
                 batch_data_samples: OptSampleList = None) -> tuple:
        """Raw head outputs (tensor mode)."""
        img_feats, txt_feats, txt_masks = self.extract_feat(
            batch_inputs, batch_data_samples)
        return self.bbox_head.forward(img_feats, txt_feats, txt_masks)
