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
``configs/yolo_world/yolo-world_s_4xb8-200e_mmio-zs.py``); v1 checkpoints use
the L2 ``RegionTextContrastiveHead`` and the dual PAFPN with an image-pooling
text enhancer. The tool prints the layout it found and the ``--cfg-options``
for widths other than S.

Example::

    python tools/model_converters/yolo_world_to_mmase.py \\
        checkpoints/yolo_world_v2_s_obj365v1_goldg_pretrain-55b943ea.pth \\
        checkpoints/yolo_world_v2_s_mmase.pth \\
        --config configs/yolo_world/yolo-world_s_4xb8-200e_mmio-zs.py
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import torch  # noqa: E402

from mmase.models.utils import make_divisible  # noqa: E402
from mmase.utils.compat import load_checkpoint_file  # noqa: E402
from mmase.utils.file_io import atomic_file  # noqa: E402
from mmase.utils.yolo_world_weights import (  # noqa: E402,F401
    convert_state_dict, describe_layout, extract_state_dict)


def config_options(info: dict) -> List[str]:
    """``--cfg-options`` that turn ``yolo-world_s_4xb8-200e_mmio-zs.py`` (v2,
    S) into the architecture of ``info`` (empty for v2-S).

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
    if info['cls_feat_channels'] != make_divisible(256, w):
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
        print('config overrides for '
              'configs/yolo_world/yolo-world_s_4xb8-200e_mmio-zs.py:'
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
