# Copyright (c) mmase contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmase.models.multimodal.numeric_record_encoder import \
    NumericRecordEncoder


def test_running_stats_match_numpy():
    enc = NumericRecordEncoder(num_fields=2, out_channels=4)
    rng = np.random.default_rng(0)
    data = rng.normal([5., -3.], [2., .5], size=(40, 2)).astype(np.float32)
    data[3, 0] = np.nan  # a missing value is left out of the statistics
    enc.train()
    for chunk in np.split(data, 4):
        enc(torch.from_numpy(chunk))
    col0 = data[~np.isnan(data[:, 0]), 0]
    assert enc.running_mean[0].item() == pytest.approx(col0.mean(), rel=1e-4)
    assert enc.running_var[0].item() == pytest.approx(col0.var(), rel=1e-3)
    assert enc.running_mean[1].item() == pytest.approx(data[:, 1].mean(),
                                                       rel=1e-4)
    enc.eval()
    z, present = enc.normalize(torch.tensor([[np.nan, data[:, 1].mean()]]))
    assert present.tolist() == [[False, True]]
    assert z[0, 0] == 0 and abs(z[0, 1].item()) < 1e-3


def test_output_and_validity():
    enc = NumericRecordEncoder(num_fields=3, out_channels=8)
    feats, valid = enc(torch.tensor([[1., 2., 3.], [np.nan] * 3]))
    assert feats.shape == (2, 8) and torch.isfinite(feats).all()
    assert valid.tolist() == [True, False]
    with pytest.raises(ValueError, match='num_fields'):
        enc(torch.zeros(2, 4))
