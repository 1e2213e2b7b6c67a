"""Unsupervised adaptation of a trained classifier: AdaBN and MMD feature alignment."""

import numpy as np
import pytest
import torch
from classifier_helpers import make_blobs

from clusterfinder import ClusterClassifier, Cutout
from clusterfinder.adaptation import (
    adapt_batchnorm,
    batchnorm_layers,
    feature_layer,
    mmd2,
)

FIT = dict(epochs=3, batch_size=64, learning_rate=3e-3, device="cpu")


def shifted(cutout, *, gain=3.0, seed=9):
    """The same kind of stamps on another sky: brighter and with more noise."""
    rng = np.random.default_rng(seed)
    data = cutout.data * gain + rng.normal(0, 4.0, cutout.data.shape)
    return Cutout(data.astype(np.float32), bands=cutout.bands, table=cutout.table.copy())


@pytest.fixture(scope="module")
def trained():
    train, validation = make_blobs(400, seed=1), make_blobs(150, seed=2)
    clf = ClusterClassifier("small_cnn", cutout_size=16, seed=0)
    clf.fit(train, validation, **FIT)
    return clf, train, validation


def fresh(trained):
    clf, _, _ = trained
    copy = ClusterClassifier("small_cnn", cutout_size=16, seed=0)
    copy.model.load_state_dict(clf.model.state_dict())
    copy.threshold = clf.threshold
    return copy


def features(clf, cutout):
    """Inputs of the last linear layer for every stamp (evaluation mode)."""
    captured = []
    hook = feature_layer(clf.model).register_forward_hook(
        lambda module, inputs, output: captured.append(inputs[0].detach())
    )
    try:
        clf.predict_proba(cutout, device="cpu")
    finally:
        hook.remove()
    return torch.cat(captured)


def test_mmd2_is_zero_for_one_set_and_grows_with_the_shift():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 4, generator=g)
    assert float(mmd2(a, a)) == pytest.approx(0.0, abs=1e-6)
    near, far = mmd2(a, a + 0.5), mmd2(a, a + 3.0)
    assert 0 < float(near) < float(far)
    with pytest.raises(ValueError, match="same D"):
        mmd2(a, torch.zeros(3, 5))


def test_adabn_measures_the_target_statistics_and_keeps_the_weights(trained):
    clf = fresh(trained)
    statistics = ("running_mean", "running_var", "num_batches_tracked")
    weights = {
        k: v.clone() for k, v in clf.model.state_dict().items() if not k.endswith(statistics)
    }
    target = shifted(make_blobs(200, seed=3))
    record = clf.adapt(target, method="adabn", batch_size=50, device="cpu")
    assert record["method"] == "adabn" and record["n_target"] == 200
    for name, value in clf.model.state_dict().items():
        if name in weights:
            assert torch.equal(value, weights[name]), name
    # The first layer's running mean is now the mean of the target's convolution output.
    data, mask = clf._arrays(target)
    x = clf.transform(torch.from_numpy(data), torch.from_numpy(mask))
    conv = next(m for m in clf.model.modules() if isinstance(m, torch.nn.Conv2d))
    with torch.no_grad():
        expected = conv(x).mean(dim=(0, 2, 3))
    measured = batchnorm_layers(clf.model)[0].running_mean
    np.testing.assert_allclose(measured.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_adabn_refusals_leave_the_model_as_it_was(trained):
    clf = fresh(trained)
    before = {k: v.clone() for k, v in clf.model.state_dict().items()}
    one = make_blobs(1, seed=4)
    with pytest.raises(ValueError, match="at least two stamps"):
        clf.adapt(one, method="adabn", device="cpu")
    with pytest.raises(ValueError, match="at least two target stamps"):
        adapt_batchnorm(clf.model, [torch.zeros(1, 2, 16, 16)])
    with pytest.raises(ValueError, match="method must be one of"):
        clf.adapt(make_blobs(8, seed=4), method="coral", device="cpu")
    for name, value in clf.model.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert clf.training is None  # fresh() copies the weights only
    with pytest.raises(ValueError, match="no batch-normalisation layer"):
        adapt_batchnorm(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 1)), [])


def test_mmd_aligns_features_and_keeps_classifying(trained):
    clf = fresh(trained)
    _, train, validation = trained
    target = shifted(make_blobs(300, seed=5))
    before = float(mmd2(features(clf, validation), features(clf, target)))
    record = clf.adapt(
        target,
        method="mmd",
        source=train,
        validation=shifted(validation, seed=11),
        epochs=4,
        learning_rate=1e-3,
        device="cpu",
        seed=0,
    )
    after = float(mmd2(features(clf, validation), features(clf, target)))
    assert after < before
    assert record["n_source"] == 400 and len(record["history"]["mmd"]) == 4
    assert record["threshold_from"].startswith("validation")
    labels = np.asarray(target.table["label"]).astype(bool)
    assert (clf.predict(target, device="cpu") == labels).mean() > 0.85


def test_mmd_refusals(trained):
    clf = fresh(trained)
    target = make_blobs(20, seed=6)
    with pytest.raises(ValueError, match="needs source="):
        clf.adapt(target, method="mmd", device="cpu")
    unlabelled = Cutout(target.data, bands=("g", "i"))
    with pytest.raises(ValueError, match="no 'label' column"):
        clf.adapt(target, method="mmd", source=unlabelled, device="cpu")
    with pytest.raises(ValueError, match="mmd_weight"):
        clf.adapt(target, method="mmd", source=target, mmd_weight=-1, device="cpu")
    with pytest.raises(ValueError, match="epochs"):
        clf.adapt(target, method="mmd", source=target, epochs=0, device="cpu")


def test_adaptation_is_saved_with_the_model(trained, tmp_path):
    clf = fresh(trained)
    clf.adapt(
        shifted(make_blobs(40, seed=7)), method="adabn", device="cpu", description="a shifted sky"
    )
    clf.adapt(shifted(make_blobs(40, seed=8)), method="adabn", device="cpu")
    path = clf.save(tmp_path / "adapted")
    loaded = ClusterClassifier.load(path)
    records = loaded.training["adaptation"]
    assert [r["method"] for r in records] == ["adabn", "adabn"]
    assert records[0]["description"] == "a shifted sky"
    target = make_blobs(30, seed=9)
    np.testing.assert_allclose(
        loaded.predict_proba(target, device="cpu"), clf.predict_proba(target, device="cpu")
    )


@pytest.mark.gpu
def test_mmd_and_adabn_on_cuda(trained):
    clf = fresh(trained)
    _, train, _ = trained
    target = shifted(make_blobs(120, seed=12))
    record = clf.adapt(target, method="mmd", source=train, epochs=1, device="cuda", seed=0)
    assert record["device"].startswith("cuda")
    clf.adapt(target, method="adabn", device="cuda")
    labels = np.asarray(target.table["label"]).astype(bool)
    assert (clf.predict(target, device="cuda") == labels).mean() > 0.8
