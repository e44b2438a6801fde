# Copyright (c) mmase contributors. All rights reserved.
"""Convert an official YOLO-World checkpoint to mmase's YOLOWorldDetector.

The official checkpoints (AILab-CVC/YOLO-World, v1 and v2, S/M/L/X; built on
mmyolo) and mmase's :class:`YOLOWorldDetector` hold the same modules under
other names:

=============================================  =============================
official (mmyolo layout)                       mmase
=============================================  =============================
``backbone.image_model.{stem,stage1..4}.*``    ``backbone.*``
``backbone.text_model.model.*`` (CLIP text     ``text_encoder.model.*``
model with projection)                         (``HFTextEncoder``, 'clip')
``neck.{top_down,bottom_up}_layers.*``,        ``neck.*`` (same names)
``neck.downsample_layers.*``
``neck.text_enhancer.*`` (v1 dual PAFPN)       ``neck.text_enhancer.*``
                                               (``ImagePoolingAttention``)
``bbox_head.head_module.{cls,reg}_preds.*``,   ``bbox_head.*``
``bbox_head.head_module.cls_contrasts.*``
=============================================  =============================

The neck's reduce/upsample/out layers and the data preprocessor have no
weights. The classifiers' ``bias`` and ``logit_scale`` are 0-d tensors in
the reference and ``(1, )`` in mmase; the text model's ``position_ids``
(a fixed ``arange`` buffer that transformers < 4.31 saved) is dropped.
Any other key is an error: nothing is silently left out.

v2 checkpoints use ``BNContrastiveHead`` and the plain PAFPN (as
``configs/yolo_world/yolo_world_s_mmio.py``); v1 checkpoints use the L2
``RegionTextContrastiveHead`` and the dual PAFPN with an image-pooling text
enhancer. The tool prints the layout it found and the ``--cfg-options`` for
widths other than S.

Example::

    python tools/model_converters/yolo_world_to_mmase.py \\
        checkpoints/yolo_world_v2_s_obj365v1_goldg_pretrain-55b943ea.pth \\
        checkpoints/yolo_world_v2_s_mmase.pth \\
        --config configs/yolo_world/yolo_world_s_mmio.py
"""
import argparse
import math
import os
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import torch  # noqa: E402

from mmase.utils.compat import load_checkpoint_file  # noqa: E402
from mmase.utils.file_io import atomic_file  # noqa: E402

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


def _make_divisible(x: float, widen_factor: float) -> int:
    return int(math.ceil(x * widen_factor / 8) * 8)


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


def config_options(info: dict) -> List[str]:
    """``--cfg-options`` that turn ``yolo_world_s_mmio.py`` (v2, S) into the
    architecture of ``info`` (empty for v2-S).

    Args:
        info (dict): :func:`describe_layout` output.

    Returns:
        list[str]: ``key=value`` strings.
    """
    opts = []
    w, d = info['widen_factor'], info['deepen_factor']
    last = info['last_stage_out_channels']
    if (w, d, last) != (0.5, 0.33, 1024):
        chans = f'[256,512,{last}]'
        opts += [
            f'model.backbone.widen_factor={w}',
            f'model.backbone.deepen_factor={d}',
            f'model.backbone.last_stage_out_channels={last}',
            f'model.neck.widen_factor={w}', f'model.neck.deepen_factor={d}',
            f'model.neck.in_channels={chans}',
            f'model.neck.out_channels={chans}',
            f'model.neck.embed_channels=[128,256,{last // 2}]',
            f'model.neck.num_heads=[4,8,{last // 2 // 32}]',
            f'model.bbox_head.widen_factor={w}',
            f'model.bbox_head.in_channels={chans}'
        ]
    if info['cls_feat_channels'] != _make_divisible(256, w):
        opts.append(
            f'model.bbox_head.cls_feat_channels={info["cls_feat_channels"]}')
    if info['text_channels'] != 512:
        opts += [
            f"model.neck.guide_channels={info['text_channels']}",
            f"model.bbox_head.embed_dims={info['text_channels']}",
            'model.text_encoder.model_name=<CLIP directory of that width>'
        ]
    if info['version'] == 'v1':
        opts += [
            'model.bbox_head.contrastive_head.type=RegionTextContrastiveHead',
            'model.neck.text_enhancer.type=ImagePoolingAttention',
            'model.neck.text_enhancer.embed_channels=256',
            'model.neck.text_enhancer.num_heads=8'
        ]
    return opts


def compare_keys(state_dict: Dict[str, torch.Tensor],
                 model_state: Dict[str, torch.Tensor]) -> dict:
    """Missing, unexpected and differently shaped keys.

    Args:
        state_dict (dict): Weights to load.
        model_state (dict): ``model.state_dict()``.

    Returns:
        dict: ``missing`` (in the model only), ``unexpected`` (in the
        weights only) and ``shape_mismatch`` (``(key, weight shape, model
        shape)``), each sorted.
    """
    missing = sorted(set(model_state) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(model_state))
    mismatch = sorted(
        (k, tuple(v.shape), tuple(model_state[k].shape))
        for k, v in state_dict.items()
        if k in model_state and v.shape != model_state[k].shape)
    return dict(missing=missing, unexpected=unexpected,
                shape_mismatch=mismatch)


def check_against_config(state_dict: Dict[str, torch.Tensor],
                         config: str,
                         cfg_options: Optional[dict] = None) -> dict:
    """Build the model of an mmase config and compare its keys.

    Args:
        state_dict (dict): Converted weights.
        config (str): mmase config file.
        cfg_options (dict, optional): Config overrides. Defaults to None.

    Returns:
        dict: :func:`compare_keys` output.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmase  # noqa: F401  (registers the modules)
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    return compare_keys(state_dict, model.state_dict())


def convert_file(src: str,
                 dst: str,
                 with_text_encoder: bool = True,
                 allow_unsafe: Optional[bool] = None) -> dict:
    """Convert ``src`` and write ``{'meta', 'state_dict'}`` to ``dst``
    atomically.

    Args:
        src (str): Official checkpoint.
        dst (str): Output checkpoint.
        with_text_encoder (bool): Keep the CLIP text model.
            Defaults to True.
        allow_unsafe (bool, optional): Passed to
            :func:`mmase.utils.compat.load_checkpoint_file`. Defaults to
            None (the ``MMASE_ALLOW_UNSAFE_LOAD`` variable).

    Returns:
        dict: :func:`describe_layout` of the converted weights.
    """
    if osp.abspath(src) == osp.abspath(dst):
        raise ValueError(f'{dst}: output would overwrite the input')
    checkpoint = load_checkpoint_file(src, allow_unsafe=allow_unsafe)
    state = convert_state_dict(
        extract_state_dict(checkpoint, src), src, with_text_encoder)
    try:
        info = describe_layout(state)
    except KeyError as e:
        raise ValueError(f'{src}: weight {e} of the YOLOv8 backbone/head is '
                         'missing') from None
    meta = dict(
        converted_from=osp.basename(src),
        converter='tools/model_converters/yolo_world_to_mmase.py',
        yolo_world_version=info['version'])
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    with atomic_file(dst) as tmp:
        torch.save(dict(meta=meta, state_dict=state), tmp)
    return info


def main(argv: Optional[Sequence[str]] = None) -> int:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Convert an official YOLO-World checkpoint (v1/v2, '
        'mmyolo layout) to mmase YOLOWorldDetector keys')
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument(
        '--no-text-encoder', action='store_true',
        help='leave out the CLIP text model (it is frozen; mmase loads it '
        'from the config `text_encoder.model_name`)')
    parser.add_argument(
        '--allow-unsafe', action='store_true',
        help='load a trusted file that needs more than weights-only '
        'unpickling')
    parser.add_argument(
        '--config', help='mmase config to check the converted keys against '
        '(builds the model; needs its text model locally)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='overrides of --config, key=value')
    args = parser.parse_args(argv)

    info = convert_file(args.src, args.dst,
                        with_text_encoder=not args.no_text_encoder,
                        allow_unsafe=True if args.allow_unsafe else None)
    print(f'wrote {args.dst}')
    print(f"YOLO-World {info['version']}: contrastive head "
          f"{info['contrastive_head']}, text enhancer "
          f"{'yes' if info['text_enhancer'] else 'no'}, widen "
          f"{info['widen_factor']}, deepen {info['deepen_factor']}, last "
          f"stage {info['last_stage_out_channels']}, text encoder "
          f"{'included' if info['text_encoder'] else 'left out'}")
    opts = config_options(info)
    if opts:
        print('config overrides for configs/yolo_world/yolo_world_s_mmio.py:'
              '\n  --cfg-options ' + ' '.join(opts))
    if args.config:
        state = load_checkpoint_file(args.dst)['state_dict']
        report = check_against_config(state, args.config, args.cfg_options)
        for name in ('missing', 'unexpected', 'shape_mismatch'):
            items = report[name]
            print(f'{name}: {len(items)}')
            for item in items[:20]:
                print(f'  {item}')
        if report['unexpected'] or report['shape_mismatch']:
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
