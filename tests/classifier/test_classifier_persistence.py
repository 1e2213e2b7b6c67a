"""Saving and loading: round trip, metadata, refusals, corrupt files."""

import json

import astropy.units as u
import numpy as np
import pytest
import torch
from classifier_helpers import make_blobs

from clusterfinder import ClusterClassifier
from clusterfinder.classifier import InputTransform, persistence


@pytest.fixture(scope="module")
def stamps():
    return make_blobs(40, seed=11)


@pytest.fixture
def model():
    transform = InputTransform(bands=("g", "i"), softening=3.0, mask_channel=True)
    return ClusterClassifier(
        "small_cnn",
        cutout_size=16,
        transform=transform,
        threshold=0.42,
        seed=4,
        architecture_options={"widths": (8, 16, 16, 24)},
    )


def test_round_trip_same_probabilities(model, stamps, tmp_path):
    path = model.save(tmp_path / "m")
    assert path == tmp_path / "m.safetensors"
    loaded = ClusterClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(stamps), model.predict_proba(stamps))
    assert loaded.threshold == 0.42 and loaded.bands == ("g", "i") and loaded.cutout_size == 16
    assert loaded.transform == model.transform
    assert loaded.pixel_scale == 0.186 * u.arcsec / u.pix
    # Any of the files, or the base name, can be given.
    for name in ("m.json", "m.safetensors"):
        assert ClusterClassifier.load(tmp_path / name).threshold == 0.42


def test_metadata_sidecar(model, tmp_path):
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["architecture"] == "small_cnn"
    assert meta["bands"] == ["g", "i"] and meta["cutout_size"] == 16
    assert meta["pixel_scale"] == 0.186 and meta["pixel_scale_unit"] == "arcsec / pix"
    assert meta["transform"]["softening"] == 3.0 and meta["transform"]["mask_channel"]
    assert meta["threshold"] == 0.42
    assert set(meta["versions"]) == {"clusterfinder", "torch", "torchvision"}
    assert meta["sha256"] == persistence.file_sha256(tmp_path / "m.safetensors")
    assert meta["architecture_options"]["widths"] == [8, 16, 16, 24]
    assert "date" in meta


def test_trained_model_keeps_history_and_metrics(tmp_path):
    train, val = make_blobs(64, seed=1), make_blobs(32, seed=2)
    clf = ClusterClassifier("small_cnn", cutout_size=16)
    clf.fit(train, val, epochs=1, batch_size=32, description="blobs")
    clf.save(tmp_path / "t")
    loaded = ClusterClassifier.load(tmp_path / "t")
    assert loaded.training["description"] == "blobs"
    assert loaded.history["epoch"] == [1]
    assert loaded.metrics["n"] == 32
    assert loaded.threshold == pytest.approx(clf.threshold)


def test_safetensors_file_alone_is_enough(model, stamps, tmp_path):
    model.save(tmp_path / "m")
    (tmp_path / "m.json").unlink()
    loaded = ClusterClassifier.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.predict_proba(stamps), model.predict_proba(stamps))
    meta = loaded.source_metadata
    assert meta["sha256"] == persistence.file_sha256(tmp_path / "m.safetensors")
    assert meta["architecture"] == "small_cnn" and meta["threshold"] == 0.42


def test_pt_fallback_is_loaded_without_pickle(model, stamps, tmp_path, monkeypatch):
    monkeypatch.setattr(persistence, "_have_safetensors", lambda: False)
    path = model.save(tmp_path / "m")
    assert path.suffix == ".pt"
    loaded = ClusterClassifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(stamps), model.predict_proba(stamps))


class Evil:
    """Stands for an arbitrary pickled object."""


def test_pickled_object_is_refused(tmp_path):
    torch.save({"weight": Evil()}, tmp_path / "x.pt")
    (tmp_path / "x.json").write_text(json.dumps({"bands": ["g"]}))
    with pytest.raises(ValueError, match="cannot read model weights"):
        ClusterClassifier.load(tmp_path / "x.pt")


def test_refusals_with_reasons(model, tmp_path):
    model.save(tmp_path / "m")
    with pytest.raises(ValueError, match=r"trained on bands \('g', 'i'\), not \('g', 'r'\)"):
        ClusterClassifier.load(tmp_path / "m", bands=("g", "r"))
    with pytest.raises(ValueError, match=r"trained at 0\.186 arcsec/pix, not 0\.168"):
        ClusterClassifier.load(tmp_path / "m", pixel_scale=0.168 * u.arcsec / u.pix)
    with pytest.raises(ValueError, match="16-pixel stamps; 12-pixel stamps are too small"):
        ClusterClassifier.load(tmp_path / "m", cutout_size=12)
    with pytest.raises(ValueError, match="arcsec/pix"):
        ClusterClassifier.load(tmp_path / "m", pixel_scale=3 * u.m)
    # What fits is accepted: band order does not matter, scale within 2%.
    ok = ClusterClassifier.load(
        tmp_path / "m", bands=("i", "g"), pixel_scale=0.1861, cutout_size=32
    )
    assert ok.bands == ("g", "i")


def test_corrupt_files(model, tmp_path):
    path = model.save(tmp_path / "m")
    data = bytearray(path.read_bytes())
    data[-10:] = b"\x00" * 10
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match the sha256"):
        ClusterClassifier.load(path)
    (tmp_path / "m.json").unlink()
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="corrupt or not in the safetensors format"):
        ClusterClassifier.load(path)
    model.save(tmp_path / "n")
    (tmp_path / "n.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt model metadata"):
        ClusterClassifier.load(tmp_path / "n.json")


def test_missing_file_and_overwrite(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="no model weights"):
        ClusterClassifier.load(tmp_path / "absent")
    model.save(tmp_path / "m")
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        model.save(tmp_path / "m")  # the default, as for every write
    with pytest.raises(OSError, match="does not exist"):
        model.save(tmp_path / "no" / "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]


def test_weights_of_another_architecture_are_refused(model, tmp_path):
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    meta["architecture_options"] = {"stem": "auto"}
    meta.pop("sha256")
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="do not fit a small_cnn model"):
        ClusterClassifier.load(tmp_path / "m")


def test_loaded_trained_model_saves_again(model, stamps, tmp_path):
    """A model loaded from disk (history included) saves again and reloads the same (#13)."""
    val = make_blobs(20, seed=12)
    model.fit(stamps, val, epochs=2, batch_size=16, seed=0)
    loaded = ClusterClassifier.load(model.save(tmp_path / "trained"))
    loaded.threshold = 0.3
    again = ClusterClassifier.load(loaded.save(tmp_path / "again"))
    assert again.threshold == 0.3
    assert again.history.colnames and len(again.history) == len(model.history)
    np.testing.assert_allclose(
        np.asarray(again.history["train_loss"]), np.asarray(model.history["train_loss"])
    )
    np.testing.assert_array_equal(again.predict_proba(stamps), model.predict_proba(stamps))
