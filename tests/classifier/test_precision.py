"""predict_proba(precision=): the network's arithmetic, float32 or bfloat16."""

import numpy as np
import pytest
import torch

from clusterfinder import ClusterClassifier, Cutout


def _model_and_stamps(n=64):
    clf = ClusterClassifier(
        "small_cnn", cutout_size=16, architecture_options={"widths": (8, 8, 8, 8)}, seed=0
    )
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:16, :16] - 7.5
    width = rng.uniform(1.0, 2.5, n)
    star = np.exp(-(xx**2 + yy**2)[None] / (2 * width[:, None, None] ** 2))
    data = 500.0 * np.stack([star, star], axis=1) + rng.normal(0, 2.0, (n, 2, 16, 16))
    return clf, Cutout(data.astype(np.float32), bands=("g", "i"))


def test_float32_is_the_cpu_default_and_bfloat16_is_close():
    clf, stamps = _model_and_stamps()
    auto = clf.predict_proba(stamps, device="cpu")
    exact = clf.predict_proba(stamps, device="cpu", precision="float32")
    half = clf.predict_proba(stamps, device="cpu", precision="bfloat16")
    np.testing.assert_array_equal(auto, exact)
    assert np.abs(half - exact).max() < 0.05
    assert np.any(half != exact)  # it did run in bfloat16
    assert half.dtype == np.float64 and np.all((half >= 0) & (half <= 1))
    decisions = clf.predict(stamps, device="cpu", precision="bfloat16")
    np.testing.assert_array_equal(decisions, half >= clf.threshold)


@pytest.mark.parametrize("bad", ["fp16", "BFLOAT16", None, 16])
def test_unknown_precision_refused(bad):
    clf, stamps = _model_and_stamps(4)
    with pytest.raises(ValueError, match="precision must be one of 'auto', 'float32', 'bfloat16'"):
        clf.predict_proba(stamps, device="cpu", precision=bad)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_precisions():
    clf, stamps = _model_and_stamps()
    cpu = clf.predict_proba(stamps, device="cpu")
    full = clf.predict_proba(stamps, device="cuda", precision="float32")
    mixed = clf.predict_proba(stamps, device="cuda")
    np.testing.assert_allclose(full, cpu, atol=1e-3)  # TF32 convolutions
    assert np.abs(mixed - cpu).max() < 0.05
