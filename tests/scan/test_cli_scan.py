"""Tests of the ``clusterfinder scan`` command."""

import argparse
import json
import warnings

import pytest
from astropy.table import QTable

from clusterfinder import CandidateCatalog, ClusterClassifier
from clusterfinder.cli import scan as scan_cli


def run_cli(argv):
    parser = argparse.ArgumentParser(prog="clusterfinder")
    subparsers = parser.add_subparsers(dest="command")
    scan_cli.add_parser(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def model(tmp_path):
    clf = ClusterClassifier(
        "small_cnn", cutout_size=16, threshold=0.0, architecture_options={"widths": (4, 4, 4, 4)}
    )
    return str(clf.save(tmp_path / "model"))


def test_scan_command_folder_and_resume(two_fields, model, tmp_path, capsys):
    folder, _, sources = two_fields
    sources.write(tmp_path / "sources.ecsv")
    out = tmp_path / "out"
    argv = [
        "scan",
        model,
        "--images",
        str(folder),
        "--output",
        str(out),
        "--sources",
        str(tmp_path / "sources.ecsv"),
        "--tile-size",
        "80",
        "--device",
        "cpu",
        "--batch-size",
        "64",
        "--no-progress",
    ]
    assert run_cli(argv) == 0
    first = CandidateCatalog.read(out / "candidates.ecsv")
    assert len(first) == len(sources)
    assert f"{len(sources)} rows ->" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["model_path"] == model
    # Same command again: resumes (nothing to do) and gives the same catalogue.
    assert run_cli(argv) == 0
    again = CandidateCatalog.read(out / "candidates.ecsv")
    assert (again["prob_cluster"] == first["prob_cluster"]).all()
    # A different threshold is refused unless --no-resume.
    with pytest.raises(ValueError, match="cannot resume"):
        run_cli([*argv, "--threshold", "0.9"])
    assert run_cli([*argv, "--threshold", "0.9", "--no-resume"]) == 0


def test_scan_command_files_and_failures(two_fields, model, tmp_path, capsys):
    folder, paths, sources = two_fields
    raw = (folder / "b_i.fits").read_bytes()
    (folder / "b_i.fits").write_bytes(raw[:2880])
    files = [paths[0]["g"], paths[0]["i"], paths[1]["g"], paths[1]["i"]]
    sources.write(tmp_path / "s.ecsv")
    argv = [
        "scan",
        model,
        "--images",
        *files,
        "--output",
        str(tmp_path / "o"),
        "--sources",
        str(tmp_path / "s.ecsv"),
        "--device",
        "cpu",
        "--no-progress",
    ]
    with pytest.warns(UserWarning, match="skipped field 'b'"):
        status = run_cli(argv)
    assert status == 1
    assert "skipped b" in capsys.readouterr().err


def test_scan_command_bad_input(model, tmp_path):
    with pytest.raises(ValueError, match="neither a folder nor a FITS file"):
        run_cli(["scan", model, "--images", str(tmp_path / "x.txt"), "--output", str(tmp_path)])
    (tmp_path / "f_g.fits").write_bytes(b"")
    with pytest.raises(ValueError, match="no file for band"):
        run_cli(["scan", model, "--images", str(tmp_path / "f_g.fits"), "--output", str(tmp_path)])
    QTable({"a": [1]}).write(tmp_path / "t.ecsv")
    with pytest.raises(FileNotFoundError):
        run_cli(["scan", str(tmp_path / "nomodel.safetensors"), "--images", ".", "--output", "o"])


def test_scan_command_zero_points(one_field, model, tmp_path, capsys):
    from astropy.io import fits

    paths, sources = one_field
    folder = tmp_path / "bare"
    folder.mkdir()
    for band, path in paths.items():  # the same images without PHOTZP
        with fits.open(path) as hdul:
            header = hdul[0].header.copy()
            del header["PHOTZP"]
            fits.PrimaryHDU(hdul[0].data, header=header).writeto(folder / f"f_{band}.fits")
    sources.write(tmp_path / "s.ecsv")
    argv = ["scan", model, "--images", str(folder), "--sources", str(tmp_path / "s.ecsv")]
    argv += ["--device", "cpu", "--no-progress"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run_cli([*argv, "--output", str(tmp_path / "o1")]) == 1
    assert any("skipped field 'f': no photometric zero point" in str(w.message) for w in caught)
    assert "zero_points" in capsys.readouterr().err
    assert run_cli([*argv, "--output", str(tmp_path / "o2"), "--zero-points", "30"]) == 0
    one = CandidateCatalog.read(tmp_path / "o2" / "candidates.ecsv")
    assert one.meta["field_zero_points"] == {"f": {"g": 30.0, "i": 30.0}}
    out = str(tmp_path / "o3")
    assert run_cli([*argv, "--output", out, "--zero-points", "g=30", "i=30"]) == 0
    per_band = CandidateCatalog.read(tmp_path / "o3" / "candidates.ecsv")
    assert (per_band["prob_cluster"] == one["prob_cluster"]).all()
    for bad, match in [
        (["thirty"], "not a number"),
        (["g30", "i=30"], "not BAND=ZP"),
        (["g=30", "g=29"], "given twice"),
        (["r=30"], r"band\(s\) \['r'\]"),
    ]:
        with pytest.raises(ValueError, match=match):
            run_cli([*argv, "--output", str(tmp_path / "o4"), "--zero-points", *bad])


def test_scan_command_workers(one_field, model, tmp_path):
    paths, _ = one_field
    argv = ["scan", model, "--images", paths["g"], paths["i"], "--device", "cpu", "--no-progress"]
    argv += ["--tile-size", "96", "--keep-all"]
    assert run_cli([*argv, "--output", str(tmp_path / "serial")]) == 0
    assert run_cli([*argv, "--output", str(tmp_path / "ahead"), "--workers", "2"]) == 0
    serial = CandidateCatalog.read(tmp_path / "serial" / "candidates.ecsv")
    ahead = CandidateCatalog.read(tmp_path / "ahead" / "candidates.ecsv")
    assert len(serial) > 0
    assert sorted(ahead["prob_cluster"]) == sorted(serial["prob_cluster"])
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        run_cli([*argv, "--output", str(tmp_path / "bad"), "--workers", "0"])


def test_scan_command_precision(one_field, model, tmp_path):
    paths, sources = one_field
    sources.write(tmp_path / "s.ecsv")
    argv = [
        "scan",
        model,
        "--images",
        paths["g"],
        paths["i"],
        "--sources",
        str(tmp_path / "s.ecsv"),
    ]
    argv += ["--device", "cpu", "--no-progress", "--output", str(tmp_path / "out")]
    assert run_cli([*argv, "--precision", "bfloat16"]) == 0
    catalog = CandidateCatalog.read(tmp_path / "out" / "candidates.ecsv")
    assert catalog.meta["precision"] == "bfloat16"
    with pytest.raises(SystemExit):
        run_cli([*argv, "--precision", "half"])
