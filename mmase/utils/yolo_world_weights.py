# Copyright (c) mmase contributors. All rights reserved.
"""Official YOLO-World weights (AILab-CVC/YOLO-World v1/v2 on mmyolo) under
mmase's :class:`YOLOWorldDetector` names: the key mapping, the checks of
what is converted, and the architecture the weights describe. The
command-line tool is ``tools/model_converters/yolo_world_to_mmase.py``
(its docstring has the mapping table)."""
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

#: (official prefix, mmase prefix): every module that holds weights.
KEY_PREFIXES: Tuple[Tuple[str, str], ...] = (
    *((f'backbone.image_model.{m}.', f'backbone.{m}.')
      for m in ('stem', 'stage1', 'stage2', 'stage3', 'stage4')),
    *((f'backbone.text_model.model.{m}', f'text_encoder.model.{m}')
      for m in ('text_model.', 'text_projection.')),
    *((f'neck.{m}.', f'neck.{m}.')
      for m in ('top_down_layers', 'downsample_layers', 'bottom_up_layers',
                'text_enhancer')),
    *((f'bbox_head.head_module.{m}.', f'bbox_head.{m}.')
      for m in ('cls_preds', 'reg_preds', 'cls_contrasts')),
)


#: Official keys that hold no learnt weight and are dropped.
DROPPED_KEYS = re.compile(
    r'^backbone\.text_model\.model\.text_model\.embeddings\.position_ids$')


#: Classifier scalars: 0-d in the reference, (1, ) in mmase.
SCALAR_KEYS = re.compile(
    r'^bbox_head\.cls_contrasts\.\d+\.(bias|logit_scale)$')


#: Keys of the reference's re-parameterised (fixed vocabulary) models.
REPARAM_KEYS = re.compile(
    r'(cls_contrasts\.\d+\.conv\.|attn_block\.guide_weight|'
    r'attn_block\.guide_convs\.)')


def extract_state_dict(checkpoint: object, src: str) -> 'OrderedDict':
    """The model weights of a loaded checkpoint.

    mmengine checkpoints keep them under ``state_dict`` (with an EMA hook
    these are already the EMA weights; ``ema_state_dict`` is ignored); a
    bare ``{name: tensor}`` dict is taken as is. A ``module.`` prefix left
    by a DDP wrapper is removed.

    Args:
        checkpoint (object): What :func:`torch.load` returned.
        src (str): File name, for the error messages.

    Returns:
        OrderedDict: ``{name: tensor}``.
    """
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{src}: expected a checkpoint dict, got '
                         f'{type(checkpoint).__name__}')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict) or not state:
        raise ValueError(f'{src}: field `state_dict` is missing or empty')
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f'{src}: field `state_dict` holds non-tensor '
                         f'entries, e.g. {bad[0]!r}')
    if all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return OrderedDict(state)


def convert_state_dict(state_dict: Dict[str, torch.Tensor],
                       src: str = 'checkpoint',
                       with_text_encoder: bool = True) -> 'OrderedDict':
    """Rename official YOLO-World weights to mmase's keys.

    Args:
        state_dict (dict): Official ``{name: tensor}``.
        src (str): Where the weights come from, for the error messages.
            Defaults to 'checkpoint'.
        with_text_encoder (bool): Keep the CLIP text model. Without it the
            text encoder keeps the weights of its ``model_name`` (the
            reference freezes it, so they are the same CLIP weights).
            Defaults to True.

    Returns:
        OrderedDict: ``{mmase name: tensor}``, in the official order.

    Raises:
        ValueError: A key that belongs to no known module, or a
            re-parameterised checkpoint; the message names ``src`` and the
            keys.
    """
    reparam = [k for k in state_dict if REPARAM_KEYS.search(k)]
    if reparam:
        raise ValueError(
            f'{src}: re-parameterised YOLO-World weights (fixed vocabulary '
            f'baked into the model, e.g. {reparam[0]!r}) cannot be '
            'converted; use the pre-trained checkpoint')
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    unknown: List[str] = []
    for key, value in state_dict.items():
        if DROPPED_KEYS.match(key):
            continue
        for old, new in KEY_PREFIXES:
            if key.startswith(old):
                name = new + key[len(old):]
                break
        else:
            unknown.append(key)
            continue
        if not with_text_encoder and name.startswith('text_encoder.'):
            continue
        if SCALAR_KEYS.match(name) and value.dim() == 0:
            value = value.reshape(1)
        out[name] = value
    if unknown:
        raise ValueError(
            f'{src}: {len(unknown)} key(s) of no known YOLO-World module '
            f'(not converted): {unknown[:5]}')
    if not any(k.startswith('backbone.') for k in out):
        raise ValueError(f'{src}: no image backbone weights '
                         '(`backbone.image_model.*`); is this a YOLO-World '
                         'checkpoint?')
    return out


def describe_layout(state_dict: Dict[str, torch.Tensor]) -> dict:
    """Architecture of converted weights, read from names and shapes.

    Args:
        state_dict (dict): mmase-named weights (:func:`convert_state_dict`).

    Returns:
        dict: ``version`` ('v1' or 'v2'), ``contrastive_head``,
        ``text_enhancer`` (bool), ``text_encoder`` (bool), ``widen_factor``,
        ``deepen_factor``, ``last_stage_out_channels``,
        ``cls_feat_channels`` and ``text_channels``.
    """
    bn_head = any(
        re.match(r'bbox_head\.cls_contrasts\.\d+\.norm\.', k)
        for k in state_dict)
    enhancer = any(k.startswith('neck.text_enhancer.') for k in state_dict)
    stem = state_dict['backbone.stem.conv.weight'].shape[0]
    widen = stem / 64
    blocks = len({
        k.split('.')[4]
        for k in state_dict if k.startswith('backbone.stage1.1.blocks.')
    })
    deepen = {1: 0.33, 2: 0.67}.get(blocks, round(blocks / 3, 2))
    last = state_dict['backbone.stage4.0.conv.weight'].shape[0]
    info = dict(
        version='v2' if bn_head else 'v1',
        contrastive_head='BNContrastiveHead'
        if bn_head else 'RegionTextContrastiveHead',
        text_enhancer=enhancer,
        text_encoder=any(k.startswith('text_encoder.') for k in state_dict),
        widen_factor=widen,
        deepen_factor=deepen,
        last_stage_out_channels=int(round(last / widen)),
        cls_feat_channels=int(
            state_dict['bbox_head.cls_preds.0.0.conv.weight'].shape[0]),
        text_channels=int(
            state_dict['bbox_head.cls_preds.0.2.weight'].shape[0]))
    return info
