# Copyright (c) mmase contributors. All rights reserved.
"""Pre-trained starts: official YOLO-World weights through
tools/model_converters/yolo_world_to_mmase.py, and mmdet's GLIP-T /
Grounding DINO-T checkpoints through ``load_from``.

No file is downloaded. The official YOLO-World state dicts are rebuilt here
from the reference's module definitions (AILab-CVC/YOLO-World on mmyolo:
``YOLOv8CSPDarknet``, ``YOLOWorldPAFPN`` / ``YOLOWorldDualPAFPN`` with
``MaxSigmoidCSPLayerWithTwoConv``, ``YOLOWorldHeadModule`` with
``BNContrastiveHead`` / ``ContrastiveHead``, ``HuggingCLIPLanguageBackbone``)
and the numbers of its configs, with mmcv blocks and the reference's
channel formulas, independently of mmase's modules. The mmdet state dicts
come from building mmdet's own configs.
"""
import math
import os.path as osp
import sys
from argparse import ArgumentParser
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from mmase.testing import make_tiny_bert, make_tiny_clip_text
from mmase.utils.compat import load_checkpoint_file
from tests.conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'model_converters'))
import yolo_world_to_mmase as converter  # noqa: E402

YOLO_WORLD_S = osp.join(
    REPO_ROOT, 'configs/yolo_world/yolo-world_s_4xb8-200e_mmio-zs.py')
RTVP_S = osp.join(
    REPO_ROOT, 'configs/rtvp/rtvp_yolo-world-s_4xb8-200e_mmio-zs.py')
RTVP_ONLY = ('sam_backbone.', 'expert.', 'domain_adapter.', 'prompt_refiner.',
             'aux_head.', 'interaction.')


# ---------------------------------------------------------------------------
# The reference's modules (names and shapes), from its definitions.
# mmyolo.models.utils: make_divisible / make_round.
def _divisible(x: float, widen: float) -> int:
    return math.ceil(x * widen / 8) * 8


def _round(x: float, deepen: float) -> int:
    return max(round(x * deepen), 1) if x > 1 else x


_BN = dict(type='BN', momentum=0.03, eps=0.001)


def _conv(c_in, c_out, k, stride=1, act=True):
    return ConvModule(c_in, c_out, k, stride=stride, padding=k // 2,
                      norm_cfg=_BN, act_cfg=dict(type='SiLU') if act else None)


class _RefBottleneck(nn.Module):  # mmyolo DarknetBottleneck, 3x3 + 3x3

    def __init__(self, c):
        super().__init__()
        self.conv1 = _conv(c, c, 3)
        self.conv2 = _conv(c, c, 3)


class _RefCSPLayerWithTwoConv(nn.Module):  # mmyolo CSPLayerWithTwoConv

    def __init__(self, c_in, c_out, num_blocks, extra=0):
        super().__init__()
        self.mid_channels = int(c_out * 0.5)
        self.main_conv = _conv(c_in, 2 * self.mid_channels, 1)
        self.final_conv = _conv((2 + extra + num_blocks) * self.mid_channels,
                                c_out, 1)
        self.blocks = nn.ModuleList(
            _RefBottleneck(self.mid_channels) for _ in range(num_blocks))


class _RefSPPFBottleneck(nn.Module):  # mmyolo SPPFBottleneck, kernel 5

    def __init__(self, c):
        super().__init__()
        self.conv1 = _conv(c, c // 2, 1)
        self.poolings = nn.MaxPool2d(5, 1, 2)
        self.conv2 = _conv(c // 2 * 4, c, 1)


class _RefMaxSigmoidAttnBlock(nn.Module):  # yolo_world yolo_bricks

    def __init__(self, c_in, c_out, guide, embed, heads):
        super().__init__()
        self.embed_conv = _conv(c_in, embed, 1, act=False) \
            if embed != c_in else None
        self.guide_fc = nn.Linear(guide, embed)
        self.bias = nn.Parameter(torch.zeros(heads))
        self.project_conv = _conv(c_in, c_out, 3, act=False)


class _RefMaxSigmoidCSPLayer(_RefCSPLayerWithTwoConv):

    def __init__(self, c_in, c_out, guide, embed, heads, num_blocks):
        super().__init__(c_in, c_out, num_blocks, extra=1)
        self.attn_block = _RefMaxSigmoidAttnBlock(
            self.mid_channels, self.mid_channels, guide, embed, heads)


class _RefImagePoolingAttentionModule(nn.Module):  # v1 text enhancer

    def __init__(self, image_channels, text_channels, embed=256, heads=8):
        super().__init__()
        self.projections = nn.ModuleList(
            ConvModule(c, embed, 1, act_cfg=None) for c in image_channels)
        self.query = nn.Sequential(
            nn.LayerNorm(text_channels), nn.Linear(text_channels, embed))
        self.key = nn.Sequential(nn.LayerNorm(embed), nn.Linear(embed, embed))
        self.value = nn.Sequential(
            nn.LayerNorm(embed), nn.Linear(embed, embed))
        self.proj = nn.Linear(embed, text_channels)
        self.image_pools = nn.ModuleList(
            nn.AdaptiveMaxPool2d(3) for _ in image_channels)


class _RefContrastiveHead(nn.Module):  # ContrastiveHead / BNContrastiveHead

    def __init__(self, embed, bn):
        super().__init__()
        if bn:
            self.norm = nn.BatchNorm2d(embed, momentum=0.03, eps=0.001)
        self.bias = nn.Parameter(torch.zeros([]))
        self.logit_scale = nn.Parameter(-torch.ones([]))


# mmyolo yolov8_{s,m,l}_syncbn_fast_8xb16-500e_coco.py
ARCHS = dict(s=(0.33, 0.5, 1024), m=(0.67, 0.75, 768), l=(1.0, 1.0, 512))


def _reference_image_part(version: str, arch: str) -> nn.Module:
    """backbone.image_model, neck and bbox_head.head_module of the official
    YOLO-World ``version`` ('v1': dual PAFPN + L2 head, 'v2': PAFPN + BN
    head) of size ``arch``."""
    deepen, widen, last = ARCHS[arch]
    text_channels, num_classes = 512, 80  # CLIP ViT-B/32, 80 train classes
    # backbone: mmyolo YOLOv8CSPDarknet, arch P5
    image_model = nn.Module()
    image_model.stem = _conv(3, _divisible(64, widen), 3, 2)
    settings = [[64, 128, 3, False], [128, 256, 6, False],
                [256, 512, 6, False], [512, last, 3, True]]
    for i, (c_in, c_out, n, sppf) in enumerate(settings):
        c_in, c_out = _divisible(c_in, widen), _divisible(c_out, widen)
        stage = [_conv(c_in, c_out, 3, 2),
                 _RefCSPLayerWithTwoConv(c_out, c_out, _round(n, deepen))]
        if sppf:
            stage.append(_RefSPPFBottleneck(c_out))
        image_model.add_module(f'stage{i + 1}', nn.Sequential(*stage))
    # neck: YOLOWorldPAFPN (YOLOv8PAFPN builders), config numbers
    ins = outs = [256, 512, last]
    embeds, heads = [128, 256, last // 2], [4, 8, last // 2 // 32]
    neck = nn.Module()
    neck.reduce_layers = nn.ModuleList(nn.Identity() for _ in range(3))
    neck.upsample_layers = nn.ModuleList(
        nn.Upsample(scale_factor=2) for _ in range(2))
    neck.top_down_layers = nn.ModuleList(
        _RefMaxSigmoidCSPLayer(
            _divisible(ins[idx - 1] + ins[idx], widen),
            _divisible(outs[idx - 1], widen), text_channels,
            _round(embeds[idx - 1], widen), _round(heads[idx - 1], widen),
            _round(3, deepen)) for idx in (2, 1))
    neck.downsample_layers = nn.ModuleList(
        _conv(_divisible(ins[idx], widen), _divisible(ins[idx], widen), 3, 2)
        for idx in (0, 1))
    neck.bottom_up_layers = nn.ModuleList(
        _RefMaxSigmoidCSPLayer(
            _divisible(outs[idx] + outs[idx + 1], widen),
            _divisible(outs[idx + 1], widen), text_channels,
            _round(embeds[idx + 1], widen), _round(heads[idx + 1], widen),
            _round(3, deepen)) for idx in (0, 1))
    neck.out_layers = nn.ModuleList(nn.Identity() for _ in range(3))
    if version == 'v1':  # YOLOWorldDualPAFPN
        neck.text_enhancer = _RefImagePoolingAttentionModule(
            [int(c * widen) for c in outs], text_channels)
    # head: YOLOWorldHeadModule (YOLOv8HeadModule._init_layers)
    head_ins = [_divisible(c, widen) for c in (256, 512, last)]
    reg_out = max(16, head_ins[0] // 4, 16 * 4)
    cls_out = max(head_ins[0], num_classes)
    head = nn.Module()
    head.cls_preds, head.reg_preds = nn.ModuleList(), nn.ModuleList()
    head.cls_contrasts = nn.ModuleList()
    for c in head_ins:
        head.reg_preds.append(nn.Sequential(
            _conv(c, reg_out, 3), _conv(reg_out, reg_out, 3),
            nn.Conv2d(reg_out, 4 * 16, 1)))
        head.cls_preds.append(nn.Sequential(
            _conv(c, cls_out, 3), _conv(cls_out, cls_out, 3),
            nn.Conv2d(cls_out, text_channels, 1)))
        head.cls_contrasts.append(
            _RefContrastiveHead(text_channels, bn=version == 'v2'))
    model = nn.Module()
    model.backbone = nn.Module()
    model.backbone.image_model = image_model
    model.neck = neck
    model.bbox_head = nn.Module()
    model.bbox_head.head_module = head
    return model


def _randomise(state: dict, seed: int) -> 'OrderedDict':
    """Distinct values everywhere, so a misplaced tensor is noticed."""
    gen = torch.Generator().manual_seed(seed)
    out = OrderedDict()
    for k, v in state.items():
        if v.is_floating_point():
            out[k] = torch.randn(v.shape, generator=gen)
        else:
            out[k] = torch.full_like(v, 7)
    return out


@pytest.fixture(scope='module')
def clip_b32(tmp_path_factory):
    """A CLIP ViT-B/32-shaped text model with projection (the reference's
    ``HuggingCLIPLanguageBackbone.model``) saved where mmase's
    HFTextEncoder loads it from, and its official-named weights."""
    from transformers import (CLIPTextConfig, CLIPTextModelWithProjection,
                              CLIPTokenizer)
    path = str(tmp_path_factory.mktemp('clip_b32'))
    make_tiny_clip_text(path)  # the tokenizer; the model is replaced below
    tok = CLIPTokenizer.from_pretrained(path)
    config = CLIPTextConfig(  # openai/clip-vit-base-patch32 text sizes
        vocab_size=49408, hidden_size=512, intermediate_size=2048,
        projection_dim=512, num_hidden_layers=12, num_attention_heads=8,
        max_position_embeddings=77, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    model = CLIPTextModelWithProjection(config)
    model.save_pretrained(path)
    state = OrderedDict(
        ('backbone.text_model.model.' + k, v.detach().clone())
        for k, v in model.state_dict().items())
    # the fixed position ids, a persistent buffer in transformers < 4.31
    state['backbone.text_model.model.text_model.embeddings.position_ids'] = \
        torch.arange(77)[None]
    return path, state


def _official_state(version, arch, clip_state, seed=0):
    state = _randomise(
        _reference_image_part(version, arch).state_dict(), seed)
    state.update(clip_state)
    return state


def _parse_cfg_options(options):
    parser = ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *options]).cfg_options \
        if options else {}


def _build(config, text_dir, options=()):
    import mmase  # noqa: F401
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(_parse_cfg_options(list(options)))
    cfg.model.text_encoder.model_name = text_dir
    init_default_scope('mmdet')
    return MODELS.build(cfg.model)


# ---------------------------------------------------------------------------
@pytest.mark.parametrize('version,arch', [('v2', 's'), ('v1', 's'),
                                          ('v2', 'm'), ('v2', 'l'),
                                          ('v1', 'l')])
def test_official_weights_load_strictly(version, arch, clip_b32):
    """Official names and shapes -> converter -> strict load into
    yolo-world_s_4xb8-200e_mmio-zs.py (S v2 as is; other sizes and v1 with the
    overrides the converter prints)."""
    text_dir, clip_state = clip_b32
    official = _official_state(version, arch, clip_state)
    converted = converter.convert_state_dict(official)
    info = converter.describe_layout(converted)
    assert info['version'] == version
    assert info['text_enhancer'] == (version == 'v1')
    deepen, widen, last = ARCHS[arch]
    assert (info['deepen_factor'], info['widen_factor'],
            info['last_stage_out_channels']) == (deepen, widen, last)
    options = converter.config_options(info)
    assert (options == []) == ((version, arch) == ('v2', 's'))

    model = _build(YOLO_WORLD_S, text_dir, options)
    report = converter.compare_keys(converted, model.state_dict())
    assert report == dict(missing=[], unexpected=[], shape_mismatch=[])
    model.load_state_dict(converted, strict=True)

    # values arrive where they belong
    mapping = {
        'backbone.image_model.stem.conv.weight': 'backbone.stem.conv.weight',
        'backbone.image_model.stage4.2.conv2.bn.running_var':
        'backbone.stage4.2.conv2.bn.running_var',
        'neck.bottom_up_layers.1.attn_block.guide_fc.weight':
        'neck.bottom_up_layers.1.attn_block.guide_fc.weight',
        'bbox_head.head_module.cls_preds.2.2.bias':
        'bbox_head.cls_preds.2.2.bias',
        'backbone.text_model.model.text_projection.weight':
        'text_encoder.model.text_projection.weight',
    }
    own = model.state_dict()
    for src, dst in mapping.items():
        torch.testing.assert_close(own[dst], official[src])
    for level in range(3):
        contrast = model.bbox_head.cls_contrasts[level]
        for name in ('bias', 'logit_scale'):
            value = official[
                f'bbox_head.head_module.cls_contrasts.{level}.{name}']
            assert value.dim() == 0
            torch.testing.assert_close(getattr(contrast, name).data,
                                       value.reshape(1))
        if version == 'v2':
            key = f'bbox_head.head_module.cls_contrasts.{level}.norm.weight'
            torch.testing.assert_close(contrast.norm.weight.data,
                                       official[key])


def test_convert_file_and_cli(clip_b32, tmp_path, capsys):
    """The command line: safe loading of an mmengine checkpoint, atomic
    output, layout report, and the key check against the config."""
    text_dir, clip_state = clip_b32
    src = str(tmp_path / 'yolo_world_v2_s_official.pth')
    torch.save(dict(meta=dict(epoch=100),
                    state_dict=_official_state('v2', 's', clip_state, 1)),
               src)
    dst = str(tmp_path / 'out' / 'yolo_world_v2_s_mmase.pth')
    code = converter.main([
        src, dst, '--config', YOLO_WORLD_S, '--cfg-options',
        f'model.text_encoder.model_name={text_dir}'
    ])
    out = capsys.readouterr().out
    assert code == 0
    assert 'YOLO-World v2: contrastive head BNContrastiveHead' in out
    for line in ('missing: 0', 'unexpected: 0', 'shape_mismatch: 0'):
        assert line in out
    ckpt = load_checkpoint_file(dst)  # weights-only loadable
    assert ckpt['meta']['converted_from'] == osp.basename(src)
    assert ckpt['meta']['yolo_world_version'] == 'v2'
    state = ckpt['state_dict']
    assert not any('position_ids' in k for k in state)
    assert state['bbox_head.cls_contrasts.0.logit_scale'].shape == (1, )

    # without the text model: the image part only
    no_text = str(tmp_path / 'no_text.pth')
    converter.main([src, no_text, '--no-text-encoder'])
    keys = load_checkpoint_file(no_text)['state_dict'].keys()
    assert not any(k.startswith('text_encoder.') for k in keys)
    assert set(keys) == {k for k in state if not k.startswith('text_')}


def test_bad_checkpoints_are_refused(tmp_path):
    official = _official_state('v2', 's', {})
    dst = tmp_path / 'out.pth'

    odd = dict(official, **{'bbox_head.head_module.extra.weight':
                            torch.zeros(1)})
    src = str(tmp_path / 'odd.pth')
    torch.save(dict(state_dict=odd), src)
    with pytest.raises(ValueError, match=r'odd\.pth.*head_module\.extra'):
        converter.convert_file(src, str(dst))
    assert not dst.exists()  # nothing half-written

    reparam = dict(official, **{
        'bbox_head.head_module.cls_contrasts.0.conv.weight':
        torch.zeros(80, 512, 1, 1)
    })
    with pytest.raises(ValueError, match='re-parameterised'):
        converter.convert_state_dict(reparam, 'rep.pth')

    torch.save([1, 2], str(tmp_path / 'list.pth'))
    with pytest.raises(ValueError, match=r'list\.pth.*checkpoint dict'):
        converter.convert_file(str(tmp_path / 'list.pth'), str(dst))
    with pytest.raises(ValueError, match='overwrite'):
        converter.convert_file(src, src)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        converter.convert_file(str(tmp_path / 'missing.pth'), str(dst))
    # a DDP "module." prefix is removed
    ddp = {'module.' + k: v for k, v in official.items()}
    assert list(converter.extract_state_dict(dict(state_dict=ddp), 'x')) == \
        list(official)


def test_rtvp_takes_the_converted_weights_by_load_from(clip_b32, tmp_path):
    """rtvp_yolo-world-s_4xb8-200e_mmio-zs.py + load_from: every converted
    weight lands in the YOLO-World part, only RTVP's own modules are not in
    the file and they keep their initialisation (mmengine's load_from is
    non-strict)."""
    from mmengine.runner import load_checkpoint
    text_dir, clip_state = clip_b32
    official = _official_state('v2', 's', clip_state, 2)
    converted = converter.convert_state_dict(official)
    path = str(tmp_path / 'yw.pth')
    torch.save(dict(state_dict=converted), path)

    model = _build(RTVP_S, text_dir, ['model.sam_backbone.checkpoint=None'])
    report = converter.compare_keys(converted, model.state_dict())
    assert report['unexpected'] == [] and report['shape_mismatch'] == []
    assert report['missing'], 'RTVP has modules of its own'
    assert all(k.startswith(RTVP_ONLY) for k in report['missing'])
    tops = {k.split('.')[0] for k in report['missing']}
    assert {'sam_backbone', 'expert', 'domain_adapter'} <= tops

    before = {k: v.clone() for k, v in model.state_dict().items()
              if k.startswith(RTVP_ONLY)}
    load_checkpoint(model, path, map_location='cpu', strict=False,
                    revise_keys=[(r'^module\.', '')])  # Runner.load_from
    after = model.state_dict()
    for k, v in before.items():
        assert torch.equal(after[k], v), k
    torch.testing.assert_close(
        after['backbone.stage2.1.final_conv.conv.weight'],
        official['backbone.image_model.stage2.1.final_conv.conv.weight'])
    torch.testing.assert_close(
        after['bbox_head.cls_contrasts.1.norm.running_mean'],
        official['bbox_head.head_module.cls_contrasts.1.norm.running_mean'])


# ---------------------------------------------------------------------------
# mmdet's GLIP-T (A) and Grounding DINO-T checkpoints.
MMDET_BASELINES = {
    'glip': ('mmdet::glip/glip_atss_swin-t_a_fpn_dyhead_pretrain_obj365.py',
             'configs/glip/glip_swin-t-a_4xb4-24e_mmio-zs.py'),
    'grounding_dino':
    ('mmdet::grounding_dino/'
     'grounding_dino_swin-t_pretrain_obj365_goldg_cap4m.py',
     'configs/grounding_dino/grounding-dino_swin-t_4xb4-12e_mmio-zs.py'),
}


@pytest.fixture(scope='module')
def bert_base(tmp_path_factory):
    """A bert-base-uncased-shaped BERT (random weights, uncased WordPiece
    vocabulary of 30522 tokens)."""
    return make_tiny_bert(
        str(tmp_path_factory.mktemp('bert') / 'bert_base'),
        hidden_size=768, num_layers=12, num_heads=12,
        intermediate_size=3072, max_positions=512, tokenizer='packaged')


def _build_mmdet(cfg: Config, bert: str) -> nn.Module:
    import mmase  # noqa: F401
    from mmdet.registry import MODELS
    cfg.model.language_model.name = bert
    if 'lang_model_name' in cfg.model.bbox_head:
        cfg.model.bbox_head.lang_model_name = bert
    init_default_scope('mmdet')
    return MODELS.build(cfg.model)


# Where mmdet's fine-tuning recipe (the base of
# grounding-dino_swin-t_4xb4-12e_mmio-zs.py) differs from the model of the
# pre-trained file: its BERT has no pooler (unused by Grounding DINO, which
# reads the token features; the pre-training config builds it), and its 7
# classifiers (6 decoder layers + the encoder's query selection) get a
# learnable temperature `log_scale` initialised to 0, i.e. exp(0) = 1, the
# pre-trained model's unscaled similarity.
EXPECTED_DIFF = {
    'glip': dict(missing=[], unexpected=[]),
    'grounding_dino': dict(
        missing=[f'bbox_head.cls_branches.{i}.log_scale' for i in range(7)],
        unexpected=[
            'language_model.language_backbone.body.model.pooler.dense.bias',
            'language_model.language_backbone.body.model.pooler.dense.weight'
        ]),
}


@pytest.mark.parametrize('name', list(MMDET_BASELINES))
def test_mmdet_checkpoint_keys_match(name, bert_base):
    """The state dict of mmdet's official model (the one its model-zoo
    checkpoint was saved from) loads into mmase's full-size config: no
    shape differs, missing / unexpected only the documented keys (none for
    GLIP-T)."""
    from mmengine.hub import get_config
    official_cfg, own_cfg = MMDET_BASELINES[name]
    official = _build_mmdet(get_config(official_cfg), bert_base)
    state = official.state_dict()
    del official
    own = _build_mmdet(Config.fromfile(osp.join(REPO_ROOT, own_cfg)),
                       bert_base)
    report = converter.compare_keys(state, own.state_dict())
    assert report == dict(EXPECTED_DIFF[name], shape_mismatch=[])
    assert len(state) > 300
    result = own.load_state_dict(state, strict=False)
    assert sorted(result.missing_keys) == EXPECTED_DIFF[name]['missing']
    assert sorted(result.unexpected_keys) == \
        EXPECTED_DIFF[name]['unexpected']
    for key in EXPECTED_DIFF[name]['missing']:  # what stays: scale 1
        assert own.state_dict()[key].tolist() == [0.0]
