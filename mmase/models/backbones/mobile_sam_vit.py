# Copyright (c) mmase contributors. All rights reserved.
"""Mobile-SAM TinyViT image encoder as a resolution-flexible mmdet backbone."""
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig

from mmase.utils.compat import load_checkpoint_file

#: Architecture of Mobile-SAM's ``vit_t`` image encoder
#: (``mobile_sam.build_sam.build_sam_vit_t``).
MOBILE_SAM_ARCHS = {
    'vit_t':
    dict(
        embed_dims=[64, 128, 160, 320],
        depths=[2, 2, 6, 2],
        num_heads=[2, 4, 5, 10],
        window_sizes=[7, 7, 14, 7]),
}


def _import_tiny_vit():
    """Import ``mobile_sam.modeling.TinyViT`` quietly.

    The package re-registers timm's ``tiny_vit_*`` names on import, which
    only produces warnings; they are silenced here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        from mobile_sam.modeling import TinyViT
    return TinyViT


class SAMAdapter(nn.Module):
    """Bottleneck adapter ``x + up(act(down(x)))`` on a NCHW feature map.

    ``up`` starts at zero, so a freshly built adapter is the identity and the
    pre-trained encoder's behaviour is unchanged at the start of training.

    Args:
        channels (int): Feature channels.
        ratio (float): Bottleneck width / channels. Defaults to 0.25.
    """

    def __init__(self, channels: int, ratio: float = 0.25) -> None:
        super().__init__()
        hidden = max(4, int(channels * ratio))
        self.down = nn.Conv2d(channels, hidden, 1)
        self.act = nn.GELU()
        self.dw = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.up = nn.Conv2d(hidden, channels, 1)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Residual adapter forward."""
        return x + self.up(self.act(self.dw(self.act(self.down(x)))))


@MODELS.register_module()
class MobileSAMViT(BaseModule):
    """Mobile-SAM's TinyViT image encoder (RTVP, Sec. "Refined Text-Visual
    Prompt", Fig. 3).

    The encoder is the ``TinyViT`` class of the ``mobile_sam`` package, built
    with the hyper-parameters of ``sam_model_registry['vit_t']``, so the
    official ``mobile_sam.pt`` (keys ``image_encoder.*``) loads strictly.

    Resolution flexibility: ``mobile_sam`` bakes a 64x64 token grid (1024 px
    input) into the model in three places: ``TinyViTBlock.input_resolution``
    (window partition and the ``L == H * W`` check), ``PatchMerging.
    input_resolution`` (token -> map reshape) and the final
    ``x.view(B, 64, 64, C)`` in ``TinyViT.forward_features``. The attention
    biases only depend on the window size (7 / 14) and windows are padded, so
    they are resolution independent. Instead of rebuilding the encoder for a
    given size, :meth:`forward` runs the stages itself and, before each
    stage, writes the real token grid of the current input into those
    ``input_resolution`` attributes. Any input size divisible by 32 (other
    sizes work too; windows are padded) runs with the same weights, and the
    checkpoint layout is untouched.

    Mobile-SAM keeps the last patch merging at stride 1 only for the widths
    320/448/576 (a hard-coded test in ``PatchMerging``); here the last merging
    always has stride 1, so narrow test encoders keep the official strides.

    Outputs (strides for the ``vit_t`` arch):

    - ``stem``: patch embedding, stride 4, ``embed_dims[0]`` channels.
    - ``stage1``: first (MBConv) stage after merging, stride 8,
      ``embed_dims[1]`` channels.
    - ``stage2``: second stage after merging, stride 16, ``embed_dims[2]``.
    - ``neck``: SAM image embedding, stride 16, ``neck_channels`` (256).

    Args:
        arch (str | dict): ``'vit_t'`` or a dict with ``embed_dims``,
            ``depths``, ``num_heads``, ``window_sizes``. Defaults to 'vit_t'.
        checkpoint (str, optional): Path to a Mobile-SAM checkpoint
            (``mobile_sam.pt`` layout, ``image_encoder.*`` keys) or to a bare
            TinyViT state dict. Defaults to None (random init).
        frozen (bool): Freeze every encoder weight and keep it in eval mode.
            Defaults to True (the paper freezes Mobile-SAM-T).
        with_adapter (bool): Add trainable zero-initialised bottleneck
            adapters after the stem, stage 1 and stage 2 (the domain
            adaptation layers of RTVP). They act inside the encoder, so later
            stages see adapted features. Defaults to False.
        adapter_ratio (float): Adapter bottleneck ratio. Defaults to 0.25.
        out_features (Sequence[str]): Which of ``stem``, ``stage1``,
            ``stage2``, ``neck`` to return, in that order.
            Defaults to all four.
        in_mean (Sequence[float], optional): Per-channel mean that the
            data preprocessor subtracted (RGB). With ``in_std`` the input is
            mapped back to 0-255 RGB and re-normalised with SAM's statistics.
            Defaults to None (input is already SAM-normalised).
        in_std (Sequence[float], optional): Per-channel std the data
            preprocessor divided by. Defaults to None.
        downsample (int): Resize the input by ``1 / downsample``
            (bilinear, antialiased) before encoding, so every output stride
            grows by that factor. RTVP's CPU demos use 2: at a 320 px input
            the stem / stage 1 / stage 2 maps then have the strides 8 / 16 /
            32 of the detector's pyramid, at a quarter of the encoder's
            cost. Defaults to 1.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    SAM_MEAN = (123.675, 116.28, 103.53)
    SAM_STD = (58.395, 57.12, 57.375)
    FEATURE_NAMES = ('stem', 'stage1', 'stage2', 'neck')

    def __init__(self,
                 arch: str = 'vit_t',
                 checkpoint: Optional[str] = None,
                 frozen: bool = True,
                 with_adapter: bool = False,
                 adapter_ratio: float = 0.25,
                 out_features: Sequence[str] = FEATURE_NAMES,
                 in_mean: Optional[Sequence[float]] = None,
                 in_std: Optional[Sequence[float]] = None,
                 downsample: int = 1,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if int(downsample) != downsample or downsample < 1:
            raise ValueError('MobileSAMViT: downsample must be an integer '
                             f'>= 1, got {downsample}')
        self.downsample = int(downsample)
        arch = self._resolve_arch(arch)
        for name in out_features:
            if name not in self.FEATURE_NAMES:
                raise ValueError(f'MobileSAMViT: out_features item "{name}" '
                                 f'is not one of {self.FEATURE_NAMES}')
        self.out_features = tuple(out_features)
        self.embed_dims = list(arch['embed_dims'])
        self.neck_channels = 256
        self.checkpoint = checkpoint
        self.frozen = frozen

        self.encoder = self._build_encoder(arch)

        channels = dict(
            stem=self.embed_dims[0],
            stage1=self.embed_dims[1],
            stage2=self.embed_dims[2],
            neck=self.neck_channels)
        self.out_channels = [channels[n] for n in self.out_features]
        self.out_strides = [
            dict(stem=4, stage1=8, stage2=16, neck=16)[n] * self.downsample
            for n in self.out_features
        ]

        self.with_adapter = with_adapter
        if with_adapter:
            self.adapters = nn.ModuleDict({
                name: SAMAdapter(channels[name], adapter_ratio)
                for name in ('stem', 'stage1', 'stage2')
            })

        self._set_input_renormalisation(in_mean, in_std)
        if checkpoint is not None:
            self.load_sam_checkpoint(checkpoint)
        if frozen:
            self._freeze()

    # --------------------------------------------------------------- build
    @staticmethod
    def _resolve_arch(arch: Union[str, dict]) -> dict:
        """The arch dict of a name of ``MOBILE_SAM_ARCHS`` or a dict, with
        every needed key checked."""
        if isinstance(arch, str):
            if arch not in MOBILE_SAM_ARCHS:
                raise KeyError(f'MobileSAMViT: unknown arch "{arch}", '
                               f'choose from {list(MOBILE_SAM_ARCHS)}')
            arch = MOBILE_SAM_ARCHS[arch]
        arch = dict(arch)
        for key in ('embed_dims', 'depths', 'num_heads', 'window_sizes'):
            if key not in arch:
                raise KeyError(f'MobileSAMViT: arch misses "{key}"')
        return arch

    @staticmethod
    def _build_encoder(arch: dict) -> nn.Module:
        """``mobile_sam``'s TinyViT, built as ``build_sam_vit_t`` does
        (img_size only seeds the resolution attributes that forward()
        rewrites per input), with the last patch merging at stride 1."""
        TinyViT = _import_tiny_vit()
        encoder = TinyViT(
            img_size=1024,
            in_chans=3,
            num_classes=1000,
            embed_dims=arch['embed_dims'],
            depths=arch['depths'],
            num_heads=arch['num_heads'],
            window_sizes=arch['window_sizes'],
            mlp_ratio=4.,
            drop_rate=0.,
            drop_path_rate=0.,
            use_checkpoint=False,
            mbconv_expand_ratio=4.0,
            local_conv_size=3,
            layer_lr_decay=0.8)
        last_merge = encoder.layers[-2].downsample
        last_merge.conv2.c.stride = (1, 1)
        return encoder

    def _set_input_renormalisation(
            self, in_mean: Optional[Sequence[float]],
            in_std: Optional[Sequence[float]]) -> None:
        """Buffers mapping the preprocessor's output to SAM's normalisation:
        ``x_sam = (x * in_std + in_mean - sam_mean) / sam_std``."""
        if (in_mean is None) != (in_std is None):
            raise ValueError('MobileSAMViT: give both in_mean and in_std '
                             'or neither')
        if in_mean is None:
            self.in_scale = None
            self.in_shift = None
            return
        in_mean_t = torch.tensor(in_mean, dtype=torch.float32)
        in_std_t = torch.tensor(in_std, dtype=torch.float32)
        sam_mean = torch.tensor(self.SAM_MEAN)
        sam_std = torch.tensor(self.SAM_STD)
        scale = in_std_t / sam_std
        shift = (in_mean_t - sam_mean) / sam_std
        self.register_buffer(
            'in_scale', scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer(
            'in_shift', shift.view(1, 3, 1, 1), persistent=False)

    # ------------------------------------------------------------------ io
    @staticmethod
    def extract_encoder_state(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Pick the TinyViT weights out of a Mobile-SAM style state dict.

        Accepts the full ``mobile_sam.pt`` (``image_encoder.*``), an
        mmengine checkpoint (``state_dict`` / ``model`` wrapper) or a bare
        TinyViT state dict.
        """
        for key in ('state_dict', 'model'):
            if key in state and isinstance(state[key], dict):
                state = state[key]
        for prefix in ('image_encoder.', 'sam_backbone.encoder.',
                       'encoder.'):
            picked = {
                k[len(prefix):]: v
                for k, v in state.items() if k.startswith(prefix)
            }
            if picked:
                return picked
        return dict(state)

    def load_sam_checkpoint(self, path: str) -> None:
        """Load Mobile-SAM weights strictly into the encoder.

        Args:
            path (str): Checkpoint path.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'MobileSAMViT: checkpoint "{path}" not found (the official '
                'weights are "mobile_sam.pt" from the MobileSAM release)')
        # the safe, allow-listed reader every mmase checkpoint goes through:
        # a file that would run code when unpickled is refused
        state = load_checkpoint_file(path, map_location='cpu')
        if not isinstance(state, dict):
            raise TypeError(f'MobileSAMViT: checkpoint "{path}" does not hold '
                            'a state dict')
        enc_state = self.extract_encoder_state(state)
        missing, unexpected = self.encoder.load_state_dict(
            enc_state, strict=False)
        if missing or unexpected:
            raise KeyError(
                f'MobileSAMViT: checkpoint "{path}" does not match the '
                f'encoder: missing {missing[:5]} ({len(missing)}), '
                f'unexpected {unexpected[:5]} ({len(unexpected)})')
        self._refresh_attention_bias_cache()

    def _refresh_attention_bias_cache(self) -> None:
        """Recompute TinyViT's eval-time attention-bias cache (``ab``).

        ``mobile_sam``'s ``Attention.train(False)`` copies the biases into a
        buffer; after loading new weights that copy must be refreshed.
        """
        for m in self.encoder.modules():
            if hasattr(m, 'attention_bias_idxs') and hasattr(m, 'ab'):
                m.ab = m.attention_biases[:, m.attention_bias_idxs].detach()

    def init_weights(self) -> None:
        """Initialise weights; a given ``checkpoint`` wins over init_cfg."""
        if self.checkpoint is None:
            super().init_weights()
        elif self.with_adapter:
            # only the adapters are not covered by the checkpoint
            for adapter in self.adapters.values():
                nn.init.zeros_(adapter.up.weight)
                nn.init.zeros_(adapter.up.bias)
        self._refresh_attention_bias_cache()

    def _freeze(self) -> None:
        self.encoder.eval()
        for p in self.encoder.parameters():
            p.requires_grad = False

    def train(self, mode: bool = True) -> 'MobileSAMViT':
        """Keep the frozen encoder in eval mode."""
        super().train(mode)
        if self.frozen:
            self.encoder.eval()
        return self

    # ------------------------------------------------------------- forward
    @staticmethod
    def _set_resolution(layer: nn.Module, hw: Tuple[int, int]) -> None:
        layer.input_resolution = hw
        for blk in layer.blocks:
            if hasattr(blk, 'input_resolution'):
                blk.input_resolution = hw
        if layer.downsample is not None:
            layer.downsample.input_resolution = hw

    @staticmethod
    def _merge(layer: nn.Module, x: Tensor) -> Tensor:
        """Run a stage's patch merging on a NCHW map, return NCHW."""
        merge = layer.downsample
        tokens = merge(x)  # (B, H' * W', C')
        stride = merge.conv2.c.stride[0]
        h = (x.shape[2] - 1) // stride + 1
        w = (x.shape[3] - 1) // stride + 1
        return tokens.transpose(1, 2).reshape(x.shape[0], -1, h, w)

    def _adapt(self, name: str, x: Tensor) -> Tensor:
        if self.with_adapter:
            return self.adapters[name](x)
        return x

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Encode images of any size.

        Args:
            x (Tensor): Images (B, 3, H, W), normalised as described by
                ``in_mean``/``in_std``.

        Returns:
            tuple[Tensor]: The maps named in ``out_features``.
        """
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError('MobileSAMViT: expects (B, 3, H, W) images, got '
                             f'{tuple(x.shape)}')
        if self.downsample > 1:
            x = F.interpolate(
                x, scale_factor=1 / self.downsample, mode='bilinear',
                align_corners=False, antialias=True)
        if self.in_scale is not None:
            x = x * self.in_scale + self.in_shift
        enc = self.encoder
        need_grad = torch.is_grad_enabled() and (
            not self.frozen or self.with_adapter)
        with torch.set_grad_enabled(need_grad):
            feats = {}
            x = enc.patch_embed(x)
            x = self._adapt('stem', x)
            feats['stem'] = x

            # stage 1: MBConv blocks on the NCHW map, then merging (s8)
            layer = enc.layers[0]
            self._set_resolution(layer, tuple(x.shape[-2:]))
            for blk in layer.blocks:
                x = blk(x)
            x = self._adapt('stage1', self._merge(layer, x))
            feats['stage1'] = x

            # attention stages on tokens
            names = ['stage2', None, None]
            for i, layer in enumerate(enc.layers[1:]):
                b, c, h, w = x.shape
                self._set_resolution(layer, (h, w))
                tokens = x.flatten(2).transpose(1, 2)
                for blk in layer.blocks:
                    tokens = blk(tokens)
                x = tokens.transpose(1, 2).reshape(b, c, h, w)
                if layer.downsample is not None:
                    x = self._merge(layer, x)
                if names[i] is not None:
                    x = self._adapt(names[i], x)
                    feats[names[i]] = x
            feats['neck'] = enc.neck(x)
        return tuple(feats[n] for n in self.out_features)
