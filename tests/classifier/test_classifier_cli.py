"""Smoke tests of ``clusterfinder train`` and ``clusterfinder evaluate``."""

import pytest
from astropy.table import QTable
from classifier_helpers import make_blobs

from clusterfinder import ClusterClassifier, cli


@pytest.fixture
def main(monkeypatch):
    """The command line with the train and evaluate sub-commands registered."""
    monkeypatch.setitem(cli.SUBCOMMANDS, "train", "train")
    monkeypatch.setitem(cli.SUBCOMMANDS, "evaluate", "evaluate")
    return cli.main


@pytest.fixture
def stamp_files(tmp_path):
    train = tmp_path / "train.fits"
    test = tmp_path / "test.fits"
    make_blobs(160, seed=1).write(train)
    make_blobs(80, seed=3).write(test)
    return train, test


def test_train_then_evaluate(main, stamp_files, tmp_path, capsys):
    train, test = stamp_files
    model = tmp_path / "model"
    status = main(
        [
            "train",
            str(train),
            "-o",
            str(model),
            "--cutout-size",
            "16",
            "--epochs",
            "2",
            "--batch-size",
            "32",
            "--seed",
            "1",
            "--learning-rate",
            "3e-3",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "trained small_cnn on 128 stamps" in out and "threshold" in out
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "model.json").is_file()
    clf = ClusterClassifier.load(model)
    assert clf.cutout_size == 16 and clf.training["n_validation"] == 32

    grid_path = tmp_path / "grid.ecsv"
    status = main(
        [
            "evaluate",
            str(model) + ".safetensors",
            str(test),
            "--mag-limits",
            "21",
            "22",
            "--output",
            str(grid_path),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "purity" in out and "ROC-AUC" in out and "mag_limit" in out
    grid = QTable.read(grid_path)
    assert len(grid) == 2 * 19 and set(grid["mag_limit"]) == {21.0, 22.0}


def test_train_input_errors(main, stamp_files, tmp_path, capsys):
    train, _ = stamp_files
    assert main(["train", "-o", str(tmp_path / "m")]) == 2
    assert "exactly one of them" in capsys.readouterr().err
    status = main(["train", str(train), "-o", str(tmp_path / "m"), "--cutout-size", "64"])
    assert status == 2
    assert "64x64 pixel stamps" in capsys.readouterr().err


def test_evaluate_errors(main, stamp_files, tmp_path, capsys):
    _, test = stamp_files
    assert main(["evaluate", str(tmp_path / "absent.safetensors"), str(test)]) == 2
    assert "no model weights" in capsys.readouterr().err
    ClusterClassifier("small_cnn", cutout_size=16).save(tmp_path / "m")
    status = main(["evaluate", str(tmp_path / "m"), str(test), "--output", str(tmp_path / "g.txt")])
    assert status == 2
    assert "--output must end in one of" in capsys.readouterr().err


@pytest.mark.slow
def test_train_on_simulated_fields(main, tmp_path, capsys):
    status = main(
        [
            "train",
            "--simulated",
            "4",
            "--field-size",
            "512",
            "--validation-fraction",
            "0.34",
            "-o",
            str(tmp_path / "sim"),
            "--epochs",
            "1",
            "--batch-size",
            "64",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    clf = ClusterClassifier.load(tmp_path / "sim")
    assert clf.bands == ("g", "i") and "simulated" in clf.training["description"]
    # Whole fields go to validation: no field contributes to both sets.
    assert 0 < clf.training["n_validation"] < clf.training["n_train"]


def test_train_a_seeing_aware_model_on_simulated_fields(main, tmp_path, capsys):
    status = main(
        ["train", "--simulated", "3", "--field-size", "1024", "--psf-input", "-o",
         str(tmp_path / "aware"), "--epochs", "1", "--batch-size", "64",
         "--validation-fraction", "0.34"]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().out
    clf = ClusterClassifier.load(tmp_path / "aware")
    assert clf.transform.psf_channels and clf.transform.in_channels == 4
    low, high = clf.training["psf_fwhm_range"]["i"]
    assert 0.44 <= low <= high <= 1.05


def test_train_seeing_aware_refuses_stamps_without_psf(main, tmp_path, capsys):
    from classifier_helpers import make_blobs

    make_blobs(40, seed=3).write(tmp_path / "blobs.fits")
    status = main(
        ["train", str(tmp_path / "blobs.fits"), "--psf-input", "-o", str(tmp_path / "m"),
         "--epochs", "1", "--cutout-size", "16"]
    )  # fmt: skip
    assert status != 0
    assert "psf_fwhm_g" in capsys.readouterr().err
