"""Tests of the ``clusterfinder simulate`` command."""

import importlib.util

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable

import clusterfinder.cli as cli
from clusterfinder.simulate import simulate_field


@pytest.fixture(autouse=True)
def _only_existing_subcommands(monkeypatch):
    # Sub-commands written by others may not exist yet in a partial checkout.
    present = {
        name: module
        for name, module in cli.SUBCOMMANDS.items()
        if importlib.util.find_spec(f"clusterfinder.cli.{module}") is not None
    }
    monkeypatch.setattr(cli, "SUBCOMMANDS", present)


def test_cli_writes_field(tmp_path, capsys):
    out = tmp_path / "sim"
    status = cli.main(["simulate", str(out), "--size", "96", "--seed", "4", "--no-progress"])
    assert status == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "m31_star" in line and "objects" in line
    assert sorted(p.name for p in out.iterdir()) == ["field_g.fits", "field_i.fits", "truth.ecsv"]
    expected = simulate_field(size=96, seed=4)
    for band in ("g", "i"):
        with fits.open(out / f"field_{band}.fits") as hdul:
            assert np.array_equal(hdul[0].data, expected.images[band].data)
            assert hdul[0].header["PHOTZP"] == 30
    truth = QTable.read(out / "truth.ecsv")
    assert {"coord", "kind", "mag_g", "mag_i"} <= set(truth.colnames)


def test_cli_options(tmp_path, capsys):
    status = cli.main(
        [
            "simulate", str(tmp_path), "--size", "48", "--seed", "1", "--config", "hsc",
            "--fwhm", "0.8", "--center", "10.9 41.4", "--name", "hsc", "--no-progress",
        ]
    )  # fmt: skip
    assert status == 0
    header = fits.getheader(tmp_path / "hsc_i.fits")
    assert header["SURVEY"] == "HSC" and header["FWHM"] == pytest.approx(0.8)
    assert header["CRVAL1"] == pytest.approx(10.9) and header["CRVAL2"] == pytest.approx(41.4)
    status = cli.main(
        ["simulate", str(tmp_path / "b"), "--size", "32", "--center", "0:43:00 +41:30:00",
         "--fwhm", "random", "--no-progress"]
    )  # fmt: skip
    assert status == 0
    assert fits.getheader(tmp_path / "b" / "field_g.fits")["CRVAL1"] == pytest.approx(10.75)


def test_cli_errors(tmp_path, capsys):
    args = ["simulate", str(tmp_path), "--size", "32", "--no-progress"]
    assert cli.main(args) == 0
    capsys.readouterr()
    assert cli.main(args) == 2
    assert "field_g.fits' exists; pass --overwrite to replace it" in capsys.readouterr().err
    assert cli.main([*args, "--overwrite"]) == 0
    assert cli.main(["simulate", str(tmp_path), "--size", "0", "--overwrite"]) == 2
    assert "size" in capsys.readouterr().err
    assert cli.main(["simulate", str(tmp_path), "--size", "8", "--center", "xx"]) == 2
    assert "--center" in capsys.readouterr().err
    assert cli.main(["simulate", str(tmp_path), "--size", "8", "--fwhm", "wide"]) == 2
    assert "--fwhm" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["simulate", str(blocker), "--size", "8"]) == 2
    assert "OUTDIR: " in capsys.readouterr().err
