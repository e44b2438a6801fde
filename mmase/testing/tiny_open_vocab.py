# Copyright (c) mmase contributors. All rights reserved.
"""A complete tiny open-vocabulary detection config (model, MMIO data,
loaders, zero-shot metric, runtime) for tests of the tools and APIs."""
import copy
import os.path as osp
from typing import Dict, Optional

_MODEL = dict(
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.],
        bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(
        type='YOLOv8CSPDarknet', deepen_factor=0.33, widen_factor=0.125),
    neck=dict(
        type='YOLOWorldPAFPN', in_channels=[256, 512, 1024],
        out_channels=[256, 512, 1024], embed_channels=[128, 256, 256],
        num_heads=[4, 8, 8], deepen_factor=0.33, widen_factor=0.125),
    bbox_head=dict(
        type='YOLOWorldHead', in_channels=[256, 512, 1024],
        widen_factor=0.125),
    train_cfg=dict(assigner=dict(type='BatchTaskAlignedAssigner', topk=10)),
    test_cfg=dict(
        score_thr=0.0, nms_pre=100, nms=dict(type='nms', iou_threshold=0.7),
        max_per_img=10))

_RTVP = dict(
    sam_backbone=dict(
        type='MobileSAMViT',
        arch=dict(embed_dims=[16, 32, 40, 80], depths=[1, 1, 1, 1],
                  num_heads=[1, 2, 2, 4], window_sizes=[7, 7, 14, 7]),
        with_adapter=True, in_mean=[0., 0., 0.], in_std=[255., 255., 255.]),
    expert=dict(
        type='YOLOv8CSPDarknet', deepen_factor=0.33, widen_factor=0.125,
        out_indices=(1, 2, 3)),
    domain_adapter=dict(
        type='ExpertDomainAdapter', embed_channels=16, decoder_channels=16,
        mask_ratio=0.25, mask_patch_size=16),
    prompt_refiner=dict(
        type='VisualPromptRefiner',
        selection=dict(type='SparseSelection', patch_size=16)),
    aux_head=dict(type='RTVPAuxHead', feat_channels=16, num_convs=1),
    interaction=dict(
        type='TextVisualPromptInteraction', embed_channels=16, num_heads=4))

_TEMPLATE = '''
_base_ = {runtime!r}
custom_imports = dict(imports=['mmase'], allow_failed_imports=False)
default_scope = 'mmdet'
img_scale = ({size}, {size})
model = {model!r}
data_root = {data_root!r}
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='RandomVocabulary', num_vocab={num_vocab}),
    dict(type='PackDetInputs', meta_keys=meta_keys + ('flip', 'texts')),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadVocabulary'),
    dict(type='PackDetInputs', meta_keys=meta_keys + ('texts', )),
]
common = dict(type='MMIODataset', data_root=data_root,
              data_prefix=dict(img='images/'),
              class_text_path='class_texts.json', split_path='split.json')
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(common, ann_file='annotations/instances_zs_train.json',
                 vocabulary='seen', filter_cfg=dict(filter_empty_gt=True),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(common, ann_file='annotations/instances_zs_test.json',
                 vocabulary='all', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='ZeroShotCocoMetric',
    ann_file=data_root + 'annotations/instances_zs_test.json',
    split_path=data_root + 'split.json')
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.001, momentum=0.9))
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=1))
'''


def tiny_model_cfg(kind: str,
                   text_model: Optional[str] = None,
                   num_classes: Optional[int] = None,
                   **overrides) -> Dict:
    """The model dict of a tiny detector on a 0.125-wide YOLOv8 backbone.

    Args:
        kind (str): ``'yolo_world'`` (:class:`YOLOWorldDetector`),
            ``'rtvp'`` (:class:`RTVP`: plus a tiny Mobile-SAM, expert,
            domain adapter, prompt refiner, auxiliary head and interaction)
            or ``'yolov8'`` (mmdet's ``SingleStageDetector`` with the
            closed-set ``YOLOv8PAFPN`` and ``YOLOv8Head``).
        text_model (str, optional): Text encoder folder (e.g.
            :func:`make_tiny_bert`); needed by the open-vocabulary kinds.
        num_classes (int, optional): Classes of ``'yolov8'``.
        **overrides: Top-level keys that replace the defaults (``None``
            removes a part, e.g. ``prompt_refiner=None``).

    Returns:
        dict: A fresh model config.
    """
    if kind not in ('yolo_world', 'rtvp', 'yolov8'):
        raise ValueError(
            f'kind must be yolo_world, rtvp or yolov8, got {kind!r}')
    model = copy.deepcopy(_MODEL)
    if kind == 'yolov8':
        if num_classes is None:
            raise ValueError("kind 'yolov8' needs num_classes")
        model.update(
            type='SingleStageDetector',
            neck=dict(model['neck'], type='YOLOv8PAFPN'),
            bbox_head=dict(model['bbox_head'], type='YOLOv8Head',
                           num_classes=num_classes))
        for key in ('embed_channels', 'num_heads'):
            model['neck'].pop(key)
    else:
        if text_model is None:
            raise ValueError(f'kind {kind!r} needs text_model')
        model.update(
            type='YOLOWorldDetector' if kind == 'yolo_world' else 'RTVP',
            text_encoder=dict(type='HFTextEncoder', model_name=text_model))
    if kind == 'rtvp':
        model.update(copy.deepcopy(_RTVP))
    model.update(overrides)
    return model


def write_tiny_model_config(path: str, text_model: str,
                            kind: str = 'yolo_world') -> str:
    """Write a config holding only the tiny model (what the benchmark and
    export tools read) to ``path``; returns ``path``."""
    from mmase.utils.file_io import dump_text_atomic
    dump_text_atomic(
        "custom_imports = dict(imports=['mmase'], "
        'allow_failed_imports=False)\n'
        "default_scope = 'mmdet'\n"
        'img_scale = (64, 64)\n'
        f'model = {tiny_model_cfg(kind, text_model)!r}\n', path)
    return path


def write_tiny_open_vocab_config(path: str, data_root: str,
                                 text_model: str, kind: str = 'yolo_world',
                                 size: int = 64, num_vocab: int = 4) -> str:
    """Write a runnable config (train/val/test on an MMIO folder such as
    ``generate_mmio(data_root, num_images=12, img_size=64)``) to ``path``.

    Returns:
        str: ``path``.
    """
    from mmase.utils.file_io import dump_text_atomic
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    text = _TEMPLATE.format(
        runtime=osp.join(repo, 'configs', '_base_', 'default_runtime.py'),
        size=size, model=tiny_model_cfg(kind, text_model),
        data_root=osp.join(data_root, ''), num_vocab=num_vocab)
    dump_text_atomic(text, path)
    return path


def make_tiny_open_vocab_run(root: str, kind: str = 'yolo_world',
                             num_images: int = 12) -> Dict:
    """A tiny MMIO folder, text model, config and random-weight checkpoint
    under ``root`` (reused when present).

    The checkpoint carries the training classes in ``meta.dataset_meta``,
    as mmengine's runner writes them.

    Returns:
        dict: ``data`` (MMIO root), ``bert``, ``config``, ``checkpoint``,
        ``seen`` (training class names).
    """
    import json

    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmase.datasets.synthetic.mmio_generator import generate_mmio
    from mmase.testing import make_tiny_bert
    data = osp.join(root, 'mmio')
    if not osp.isdir(data):
        generate_mmio(data, num_images=num_images, seed=0, img_size=64)
    bert = osp.join(root, 'bert')
    if not osp.isdir(bert):
        make_tiny_bert(bert)
    config = write_tiny_open_vocab_config(
        osp.join(root, f'{kind}.py'), data, bert, kind)
    with open(osp.join(data, 'split.json'), encoding='utf-8') as f:
        seen = json.load(f)['seen']
    ckpt = osp.join(root, f'{kind}.pth')
    if not osp.isfile(ckpt):
        import mmase  # noqa: F401
        from mmdet.registry import MODELS
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmdet'):
            model = MODELS.build(Config.fromfile(config).model)
        model.init_weights()
        torch.save(dict(state_dict=model.state_dict(),
                        meta=dict(dataset_meta=dict(classes=tuple(seen)))),
                   ckpt)
    return dict(data=data, bert=bert, config=config, checkpoint=ckpt,
                seen=seen)
