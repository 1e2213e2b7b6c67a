"""Tests of scan: many fields, resumable output, bad input."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from _scan_helpers import FakeClassifier, coords_close
from astropy.table import QTable, vstack

from clusterfinder import CandidateCatalog
from clusterfinder.scan import fields_from_folder, find_candidates, scan
from clusterfinder.scan.journal import ScanJournal
from clusterfinder.utils import ClusterFinderWarning

HERE = Path(__file__).parent


def same_catalogue(a, b):
    assert a.colnames == b.colnames
    assert len(a) == len(b)
    assert coords_close(a["coord"], b["coord"], 1e-9 * u.arcsec)
    for name in a.colnames:
        if name != "coord":
            assert np.array_equal(np.asarray(a[name]), np.asarray(b[name])), name


def test_scan_equals_per_field_search_without_duplicates(two_fields, tmp_path):
    folder, paths, sources = two_fields
    clf = FakeClassifier()
    out = tmp_path / "out"
    cands = scan(clf, folder, out, sources=sources, tile_size=48, keep_all=True)
    assert isinstance(cands, CandidateCatalog)
    # Every source once, in the order of the source list; overlap sources seen twice.
    assert cands["source_index"].tolist() == list(range(len(sources)))
    assert coords_close(cands["coord"], sources["coord"], 1e-9 * u.arcsec)
    assert np.any(cands["n_detections"] == 2) and set(cands["n_detections"]) <= {1, 2}
    # Probabilities equal those of a search of each field (the best of both fields).
    per_field = [find_candidates(clf, p, sources, keep_all=True) for p in paths]
    best = np.full(len(sources), -1.0)
    for table in per_field:
        index = np.asarray(
            [np.flatnonzero(coords_close_one(c, sources["coord"]))[0] for c in table["coord"]]
        )
        best[index] = np.maximum(best[index], table["prob_cluster"])
    assert np.array_equal(cands["prob_cluster"], best)
    # The catalogue on disk is the one returned; the manifest says what was done.
    same_catalogue(CandidateCatalog.read(out / "candidates.ecsv"), cands)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["failed"] == []
    assert manifest["model_sha256"] == "f" * 64 and manifest["threshold"] == 0.5
    assert manifest["bands"] == ["g", "i"] and [f["name"] for f in manifest["fields"]] == ["a", "b"]
    assert manifest["n_sources_classified"] == sum(len(t) for t in per_field)


def coords_close_one(coord, coords):
    return coord.separation(coords) < 1e-9 * u.arcsec


def test_threshold_applies_and_resume_reuses_parts(two_fields, tmp_path):
    folder, _, sources = two_fields
    out = tmp_path / "out"
    first = scan(FakeClassifier(), folder, out, sources=sources, tile_size=64)
    assert np.all(first["prob_cluster"] >= 0.5) and 0 < len(first) < len(sources)
    stamp = {p: p.stat().st_mtime_ns for p in (out / "parts").glob("*.fits")}
    written = (out / "candidates.ecsv").read_bytes()
    clf = FakeClassifier()
    again = scan(clf, folder, out, sources=sources, tile_size=64)
    assert clf.calls == 0  # nothing recomputed
    assert {p: p.stat().st_mtime_ns for p in (out / "parts").glob("*.fits")} == stamp
    same_catalogue(first, again)
    # The first run merged the parts it held; the second read them all from the files.
    assert (out / "candidates.ecsv").read_bytes() == written


def test_resume_with_other_model_or_threshold_is_refused(two_fields, tmp_path):
    folder, _, sources = two_fields
    out = tmp_path / "out"
    scan(FakeClassifier(), folder, out, sources=sources, tile_size=64)
    with pytest.raises(ValueError, match=r"cannot resume.*threshold 0.5, not 0.7"):
        scan(FakeClassifier(), folder, out, sources=sources, tile_size=64, threshold=0.7)
    with pytest.raises(ValueError, match=r"cannot resume.*model weights"):
        scan(FakeClassifier(sha256="0" * 64), folder, out, sources=sources, tile_size=64)
    with pytest.raises(ValueError, match=r"cannot resume.*tile size"):
        scan(FakeClassifier(), folder, out, sources=sources, tile_size=32)
    with pytest.raises(ValueError, match=r"cannot resume.*source list"):
        scan(FakeClassifier(), folder, out, sources=sources[:10], tile_size=64)
    # resume=False starts over with the new settings.
    fresh = scan(
        FakeClassifier(), folder, out, sources=sources, tile_size=64, threshold=0.7, resume=False
    )
    assert np.all(fresh["prob_cluster"] >= 0.7)
    assert json.loads((out / "manifest.json").read_text())["threshold"] == 0.7


def test_killed_scan_resumes_to_the_same_catalogue(two_fields, tmp_path):
    folder, _, sources = two_fields
    sources.write(folder / "sources.ecsv")
    reference = scan(FakeClassifier(), folder, tmp_path / "ref", sources=sources, tile_size=32)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    child = subprocess.Popen(
        [sys.executable, str(HERE / "_scan_child.py"), str(folder), str(out), "0.15"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    parts = out / "parts"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if parts.is_dir() and len(list(parts.glob("*.fits"))) >= 4:
                break
            if child.poll() is not None:
                pytest.fail(f"the scan ended before it was killed: {child.stderr.read()!r}")
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        child.stderr.close()
    n_units = 2 * 25  # two fields of 5x5 tiles of 32 px, every tile holds sources or not
    done_at_kill = len(list(parts.glob("*.fits")))
    assert 4 <= done_at_kill < n_units
    assert not (out / "candidates.ecsv").exists()
    clf = FakeClassifier()
    resumed = scan(clf, folder, out, sources=sources, tile_size=32)
    total = len(list(parts.glob("*.fits")))
    assert 0 < clf.calls <= total - done_at_kill + 1
    same_catalogue(resumed, reference)
    assert not list(parts.glob(".*.tmp"))  # no half-written part left behind as a part


def test_corrupt_file_among_many_is_skipped(two_fields, tmp_path):
    folder, _, sources = two_fields
    raw = (folder / "b_g.fits").read_bytes()
    (folder / "b_g.fits").write_bytes(raw[: len(raw) // 3])
    out = tmp_path / "out"
    with pytest.warns(ClusterFinderWarning, match=r"skipped field 'b'.*truncated"):
        cands = scan(FakeClassifier(), folder, out, sources=sources, tile_size=64, keep_all=True)
    assert set(cands["field"]) == {"a"} and len(cands) > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["field"] for f in manifest["failed"]] == ["b"]
    assert "truncated" in manifest["failed"][0]["reason"] and not manifest["complete"]
    assert cands.meta["failed"][0]["field"] == "b"


def test_field_without_wcs_is_skipped(two_fields, tmp_path):
    from astropy.io import fits

    folder, _, sources = two_fields
    with fits.open(folder / "a_i.fits") as hdul:
        data = hdul[0].data.copy()
    fits.PrimaryHDU(data, header=fits.Header({"PHOTZP": 30.0})).writeto(
        folder / "a_i.fits", overwrite=True
    )
    with pytest.warns(ClusterFinderWarning, match=r"skipped field 'a'.*no celestial WCS"):
        cands = scan(FakeClassifier(), folder, tmp_path / "out", sources=sources, tile_size=64)
    assert set(cands["field"]) <= {"b"}


def test_empty_scan_gives_an_empty_catalogue(two_fields, tmp_path):
    folder, _, sources = two_fields
    far = QTable({"coord": sources["coord"][:3].spherical_offsets_by(0 * u.deg, 2 * u.deg)})
    with pytest.warns(ClusterFinderWarning) as record:
        cands = scan(FakeClassifier(), folder, tmp_path / "out", sources=far)
    messages = " ".join(str(w.message) for w in record)
    assert "holds none of the sources" in messages and "catalogue is empty" in messages
    assert isinstance(cands, CandidateCatalog) and len(cands) == 0
    assert CandidateCatalog.read(tmp_path / "out" / "candidates.ecsv").colnames == cands.colnames


def test_fields_argument_forms(two_fields, tmp_path):
    _, paths, sources = two_fields
    clf = FakeClassifier()
    from_list = scan(clf, paths, tmp_path / "l", sources=sources, tile_size=64)
    from_dict = scan(
        clf, {"a": paths[0], "b": paths[1]}, tmp_path / "d", sources=sources, tile_size=64
    )
    same_catalogue(from_list, from_dict)
    with pytest.raises(TypeError, match="must be a path"):
        scan(clf, [{"g": 1, "i": 2}], tmp_path / "x", sources=sources)
    with pytest.raises(ValueError, match="no image for band"):
        scan(clf, [{"g": paths[0]["g"]}], tmp_path / "x", sources=sources)
    with pytest.raises(ValueError, match="needs a SkyCoord column"):
        scan(clf, paths, tmp_path / "x", sources=QTable({"x": [1.0]}))
    with pytest.raises(TypeError, match="radius must be a positive angle Quantity"):
        scan(clf, paths, tmp_path / "x", sources=sources, radius=0.5)


def test_fields_from_folder_warns_on_incomplete_fields(tmp_path):
    for name in ("m1_g.fits", "m1_i.fits", "m2_g.fits.fz", "m2_i.fits.fz", "m3_g.fits", "x.txt"):
        (tmp_path / name).write_bytes(b"")
    with pytest.warns(ClusterFinderWarning, match=r"'m3'.*band\(s\) i"):
        fields = fields_from_folder(tmp_path)
    assert list(fields) == ["m1", "m2"]
    assert fields["m2"]["i"].endswith("m2_i.fits.fz")
    with pytest.raises(ValueError, match="not a folder"):
        fields_from_folder(tmp_path / "m1_g.fits")


def test_detected_sources_in_overlapping_fields_are_merged(two_fields, tmp_path):
    import warnings

    folder, _, _ = two_fields
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterFinderWarning)
        cands = scan(FakeClassifier(), folder, tmp_path / "out", tile_size=4096, keep_all=True)
    assert "source_index" not in cands.colnames
    # Sources of the overlap are detected on both fields and kept once.
    assert np.any(cands["n_detections"] == 2)
    _, nearest, _ = cands["coord"].match_to_catalog_sky(cands["coord"], nthneighbor=2)
    assert np.all(nearest > 0.5 * u.arcsec)


def test_journal_clear_and_corrupt_manifest(tmp_path):
    journal = ScanJournal.start(tmp_path, {"threshold": 0.5})
    journal.write_part((0, 0), QTable({"prob_cluster": [0.9]}), n_sources=1)
    (tmp_path / "notes.txt").write_text("mine")
    ScanJournal.start(tmp_path, {"threshold": 0.6}, resume=False)
    assert not list((tmp_path / "parts").glob("*_*.*"))
    assert (tmp_path / "notes.txt").read_text() == "mine"  # only the scan's files go
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(ValueError, match=r"manifest .* is corrupt"):
        ScanJournal.start(tmp_path, {"threshold": 0.6})


def test_merge_is_independent_of_part_order():
    from clusterfinder.scan.journal import merge_rows

    rng = np.random.default_rng(3)
    tables = [
        QTable({"source_index": rng.integers(0, 20, 15), "prob_cluster": rng.random(15)})
        for _ in range(4)
    ]
    merged = merge_rows(tables)
    expected = {}
    for table in tables:
        for index, p in zip(table["source_index"], table["prob_cluster"], strict=True):
            expected[int(index)] = max(expected.get(int(index), -1), float(p))
    assert merged["source_index"].tolist() == sorted(expected)
    assert merged["prob_cluster"].tolist() == [expected[k] for k in sorted(expected)]
    assert merge_rows([t[:0] for t in tables]) is None
    assert len(vstack(tables)) == merged["n_detections"].sum()


def test_scan_with_the_seeing_aware_default_equals_find_candidates(tmp_path):
    """The bundled seeing-aware model gets each field's measured PSF in a scan too."""
    from clusterfinder import ClusterClassifier
    from clusterfinder.simulate import simulate_field

    folder = tmp_path / "fields"
    paths = simulate_field(size=768, seed=21, fwhm=0.8 * u.arcsec).write(folder, name="f1")
    clf = ClusterClassifier.from_pretrained()
    assert clf.transform.psf_channels
    direct = find_candidates(clf, paths, keep_all=True, tile_size=256)
    scanned = scan(clf, folder, tmp_path / "out", tile_size=256, keep_all=True)
    assert len(scanned) == len(direct)
    order = np.argsort(direct["coord"].ra.deg)
    again = np.argsort(scanned["coord"].ra.deg)
    assert np.allclose(scanned["prob_cluster"][again], direct["prob_cluster"][order])
    assert np.allclose(scanned["psf_fwhm_g"][again].to_value(u.arcsec), 0.8, rtol=0.05)


def test_parts_of_earlier_versions_in_ecsv_are_resumed(two_fields, tmp_path):
    """A scan begun when parts were ECSV resumes from them; new parts are FITS."""
    from astropy.table import QTable

    folder, _, sources = two_fields
    out = tmp_path / "out"
    first = scan(FakeClassifier(), folder, out, sources=sources, tile_size=64)
    parts = sorted((out / "parts").glob("*.fits"))
    assert len(parts) >= 2
    old = parts[0]
    table = QTable.read(old, format="fits", character_as_bytes=False)
    table.meta = {"n_sources": int(table.meta["NSOURCES"])}
    table.write(old.with_suffix(".ecsv"), format="ascii.ecsv")
    old.unlink()
    parts[1].unlink()  # one unit to do again
    clf = FakeClassifier()
    again = scan(clf, folder, out, sources=sources, tile_size=64)
    assert clf.calls == 1
    assert old.with_suffix(".ecsv").exists() and parts[1].exists()
    same_catalogue(first, again)
