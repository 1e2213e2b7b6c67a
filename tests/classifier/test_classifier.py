"""ClusterClassifier: training, prediction, input checks, evaluation."""

import numpy as np
import pytest
import torch
from astropy.table import QTable
from classifier_helpers import make_blobs

from clusterfinder import ClusterClassifier, Cutout
from clusterfinder.utils import ClusterFinderWarning

FIT = dict(epochs=3, batch_size=64, learning_rate=3e-3, device="cpu")


@pytest.fixture(scope="module")
def trained(blobs):
    train, validation, _ = blobs
    clf = ClusterClassifier("small_cnn", cutout_size=16, seed=0)
    history = clf.fit(train, validation, **FIT)
    return clf, history


def test_learns_blob_widths(trained, blobs):
    clf, history = trained
    test = blobs[2]
    accuracy = (clf.predict(test) == test.table["label"].astype(bool)).mean()
    assert accuracy > 0.9
    assert history.colnames == [
        "epoch",
        "train_loss",
        "val_loss",
        "val_f1",
        "val_auc",
        "learning_rate",
        "time",
    ]
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert 0 < clf.threshold < 1
    assert clf.metrics["f1"] > 0.9
    assert clf.training["n_train"] == 400 and clf.training["best_epoch"] >= 1


def test_same_seed_same_weights_bit_for_bit(blobs):
    train, validation, _ = blobs
    states = []
    for _ in range(2):
        clf = ClusterClassifier("small_cnn", cutout_size=16, seed=7)
        clf.fit(train[:128], validation[:32], **{**FIT, "epochs": 2})
        states.append(clf.model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    other = ClusterClassifier("small_cnn", cutout_size=16, seed=7)
    other.fit(train[:128], validation[:32], **{**FIT, "epochs": 2}, seed=8)
    assert not all(torch.equal(states[0][k], other.model.state_dict()[k]) for k in states[0])


def test_fit_leaves_global_rng_alone(blobs):
    train, validation, _ = blobs
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ClusterClassifier("small_cnn", cutout_size=16).fit(train[:64], validation[:32], epochs=1)
    assert torch.equal(torch.rand(3), expected)


def test_threshold_targets(blobs):
    train, validation, _ = blobs
    clf = ClusterClassifier("small_cnn", cutout_size=16)
    clf.fit(train[:128], validation, **{**FIT, "epochs": 1}, target_recall=0.99)
    p = clf.predict_proba(validation)
    labels = validation.table["label"] == 1
    assert (p[labels] >= clf.threshold).mean() >= 0.99
    assert clf.training["threshold_strategy"]["target_recall"] == 0.99


def test_checkpoints_and_patience(blobs, tmp_path):
    train, validation, _ = blobs
    clf = ClusterClassifier("small_cnn", cutout_size=16)
    history = clf.fit(
        train[:64],
        validation[:32],
        epochs=2,
        batch_size=32,
        checkpoint_dir=tmp_path / "ck",
        patience=None,
    )
    assert len(history) == 2
    files = sorted(p.name for p in (tmp_path / "ck").iterdir())
    assert files == ["epoch_001.pt", "epoch_002.pt"]
    state = torch.load(tmp_path / "ck" / files[0], weights_only=True)
    assert set(state) == set(clf.model.state_dict())


def test_bands_are_reordered_and_extra_bands_ignored(trained, blobs):
    clf, _ = trained
    test = blobs[2][:20]
    p = clf.predict_proba(test)
    swapped = Cutout(test.data[:, ::-1], bands=("i", "g"))
    np.testing.assert_array_equal(clf.predict_proba(swapped), p)
    extra = Cutout(np.concatenate([test.data, test.data[:, :1]], axis=1), bands=("g", "i", "r"))
    np.testing.assert_array_equal(clf.predict_proba(extra), p)


def test_missing_band_and_small_stamps_are_refused(trained, blobs):
    clf, _ = trained
    test = blobs[2][:4]
    with pytest.raises(ValueError, match=r"reads bands \('g', 'i'\).*missing: i"):
        clf.predict_proba(Cutout(test.data[:, :1], bands=("g",)))
    with pytest.raises(ValueError, match="16x16 pixel stamps but cutout has 12x12"):
        clf.predict_proba(Cutout(test.data[..., 2:14, 2:14], bands=("g", "i")))
    with pytest.raises(TypeError, match="must be a clusterfinder Cutout"):
        clf.predict_proba(test.data)


def test_larger_stamps_are_centre_cropped(trained):
    clf, _ = trained
    big = make_blobs(10, size=24, seed=9)
    crop = Cutout(big.data[..., 4:20, 4:20], bands=("g", "i"))
    np.testing.assert_array_equal(clf.predict_proba(big), clf.predict_proba(crop))


def test_nan_stamp_gives_finite_probability_and_warning(trained, blobs):
    clf, _ = trained
    data = blobs[2].data[:3].copy()
    data[1] = np.nan
    with pytest.warns(ClusterFinderWarning, match="1 stamp"):
        p = clf.predict_proba(Cutout(data, bands=("g", "i")))
    assert np.isfinite(p).all()


def test_prediction_is_deterministic_and_batch_independent(trained, blobs):
    clf, _ = trained
    test = blobs[2][:60]
    a = clf.predict_proba(test, batch_size=7)
    b = clf.predict_proba(test, batch_size=60)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(clf.predict_proba(test, batch_size=7), a)
    np.testing.assert_array_equal(clf.predict(test), a >= clf.threshold)
    assert clf.predict_proba(test[:0]).shape == (0,)


def test_evaluate(trained, blobs):
    clf, _ = trained
    test = blobs[2]
    ev = clf.evaluate(test, mag_limits=(20, 21, 22))
    assert ev.threshold == clf.threshold and ev.n == len(test)
    assert ev.accuracy > 0.9 and ev.roc_auc > 0.95
    assert len(ev.grid) == 3 * 19
    assert set(ev.grid["mag_limit"]) == {20.0, 21.0, 22.0}
    ev = clf.evaluate(test, labels=np.zeros(len(test), int), threshold=0.5, mag_column="nope")
    assert ev.grid is None and ev.n_positive == 0


def test_bad_arguments(blobs):
    train, validation, _ = blobs
    with pytest.raises(ValueError, match="architecture must be one of"):
        ClusterClassifier("alexnet")
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]"):
        ClusterClassifier("small_cnn", threshold=1.5)
    with pytest.raises(ValueError, match="differ from the bands of the transform"):
        from clusterfinder.classifier import InputTransform

        ClusterClassifier("small_cnn", bands=("g",), transform=InputTransform(bands=("i",)))
    clf = ClusterClassifier("small_cnn", cutout_size=16)
    unlabelled = Cutout(train.data[:4], bands=("g", "i"))
    with pytest.raises(ValueError, match="no 'label' column"):
        clf.fit(unlabelled, validation)
    one_class = Cutout(train.data[:4], bands=("g", "i"), table=QTable({"label": [0] * 4}))
    with pytest.raises(ValueError, match="both clusters"):
        clf.fit(one_class, validation)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        clf.fit(train, validation, epochs=0)
    with pytest.raises(ValueError, match=r"no CUDA device|device"):
        if torch.cuda.is_available():
            raise ValueError("device")
        clf.predict_proba(validation, device="cuda")
    with pytest.raises(TypeError, match="batch_size"):
        clf.predict_proba(validation, batch_size=2.5)


@pytest.mark.gpu
def test_cuda_training_and_prediction(blobs):
    train, validation, test = blobs
    clf = ClusterClassifier("small_cnn", cutout_size=16)
    clf.fit(train, validation, **{**FIT, "device": "cuda"})
    p_gpu = clf.predict_proba(test, device="cuda")
    p_cpu = clf.predict_proba(test, device="cpu")
    assert (clf.predict(test, device="cuda") == test.table["label"].astype(bool)).mean() > 0.9
    np.testing.assert_allclose(p_gpu, p_cpu, atol=0.02)


def test_find_candidates_shortcut():
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval, wcs.wcs.crpix = [10.68, 41.27], [50.5, 50.5]
    wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    images = {b: (np.zeros((100, 100), np.float32), wcs) for b in ("g", "i")}
    sources = QTable({"coord": wcs.pixel_to_world([20, 70], [30, 60]), "mag_g": [20.1, 21.5]})
    clf = ClusterClassifier("small_cnn", cutout_size=16, threshold=0.0)
    cands = clf.find_candidates(images, sources, device="cpu", zero_points=30)
    assert len(cands) == 2
    stamps = Cutout.from_images(images, sources["coord"], cutout_size=16, zero_points=30)
    expected = clf.predict_proba(stamps)
    np.testing.assert_allclose(np.sort(cands["prob_cluster"]), np.sort(expected), rtol=1e-6)
