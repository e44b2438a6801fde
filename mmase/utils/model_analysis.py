# Copyright (c) mmase contributors. All rights reserved.
"""FLOPs of a detector's tensor-mode forward (mmengine's FlopAnalyzer)."""
from typing import Dict

import torch


class TensorForward(torch.nn.Module):
    """Wrap ``model._forward(image, samples)`` as ``forward(image)``."""

    def __init__(self, model, samples):
        super().__init__()
        self.model = model
        self.samples = samples

    def forward(self, x):
        model = self.model
        if type(model).__name__ == 'GLIP':
            # mmdet's GLIP has no tensor mode: image features, caption
            # features (language model included) and the fusion head
            text = self.samples[0].text
            _, caption, _, _ = model.get_tokens_positive_and_prompts(
                text, True)
            lang = model.language_model([caption])
            return model.bbox_head(model.extract_feat(x), lang)
        return model._forward(x, self.samples)


def count_flops(model: torch.nn.Module, batch: dict) -> Dict[str, object]:
    """FLOPs of the tensor-mode forward for the first image of ``batch``.

    Returns:
        dict: ``flops`` (int or None) and ``flops_note`` (str).
    """
    from mmengine.analysis import FlopAnalyzer
    one = dict(inputs=batch['inputs'][:1],
               data_samples=batch['data_samples'][:1])
    with torch.no_grad():
        data = model.data_preprocessor(one, False)
    wrapper = TensorForward(model, data['data_samples'])
    try:
        with torch.no_grad():
            # modules not called in the tensor forward (losses, the training
            # -only expert, ...) are expected: no warning listing them
            flops = FlopAnalyzer(wrapper, (data['inputs'], )) \
                .unsupported_ops_warnings(False) \
                .uncalled_modules_warnings(False).total()
        return dict(flops=int(flops),
                    flops_note='mmengine FlopAnalyzer, tensor forward')
    except Exception as e:  # tracing is model dependent
        msg = f'{type(e).__name__}: {e}'.splitlines()[0][:120]
        return dict(flops=None, flops_note=f'not traceable ({msg})')
