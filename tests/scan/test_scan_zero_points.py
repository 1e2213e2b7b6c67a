"""One zero-point policy for scans (#14 item 3): ``zero_points=``, refusals and records."""

import json
import warnings

import numpy as np
import pytest
from _scan_helpers import FakeClassifier
from astropy.io import fits
from astropy.nddata import NDData
from astropy.utils.exceptions import AstropyDeprecationWarning
from astropy.wcs import WCS

from clusterfinder import Cutout
from clusterfinder.scan import TiledImages, find_candidates, scan


def _arrays(paths, scale=1.0):
    """The images of ``paths`` as (array, WCS) pairs, pixels times ``scale``: no zero point."""
    out = {}
    for band, path in paths.items():
        with fits.open(path) as hdul:
            out[band] = (hdul[0].data.astype(np.float32) * np.float32(scale), WCS(hdul[0].header))
    return out


def _without_zero_point(paths, folder):
    """Copies of the FITS files of ``paths`` without their PHOTZP keyword."""
    out = {}
    for band, path in paths.items():
        with fits.open(path) as hdul:
            header = hdul[0].header.copy()
            del header["PHOTZP"]
            target = folder / f"nozp_{band}.fits"
            fits.PrimaryHDU(hdul[0].data, header=header).writeto(target)
        out[band] = str(target)
    return out


def test_header_zero_points_are_recorded(one_field):
    paths, sources = one_field
    cands = find_candidates(FakeClassifier(), paths, sources, keep_all=True)
    assert cands.meta["zero_points"] == {"g": 30.0, "i": 30.0}
    assert cands.meta["zero_point_origins"] == {"g": "header", "i": "header"}


def test_zero_points_put_arrays_on_the_right_flux_scale(one_field):
    paths, sources = one_field
    clf = FakeClassifier()
    reference = find_candidates(clf, paths, sources, keep_all=True)
    # The same pixels in units 10x smaller: zero point 27.5 brings them back to 30.
    scaled = _arrays(paths, scale=0.1)
    cands = find_candidates(clf, scaled, sources, keep_all=True, zero_points=27.5)
    np.testing.assert_allclose(cands["prob_cluster"], reference["prob_cluster"], rtol=1e-5)
    assert cands.meta["zero_points"] == {"g": 27.5, "i": 27.5}
    assert cands.meta["zero_point_origins"] == {"g": "zero_points", "i": "zero_points"}
    # One band given, the other from its header; NDData works the same way.
    mixed = {"g": NDData(scaled["g"][0], wcs=scaled["g"][1]), "i": paths["i"]}
    cands = find_candidates(clf, mixed, sources, keep_all=True, zero_points={"g": 27.5})
    np.testing.assert_allclose(cands["prob_cluster"], reference["prob_cluster"], rtol=1e-5)
    assert cands.meta["zero_point_origins"] == {"g": "zero_points", "i": "header"}


def test_the_silent_default_is_deprecated_and_recorded(one_field):
    paths, sources = one_field
    clf = FakeClassifier()
    reference = find_candidates(clf, paths, sources, keep_all=True)
    spelling = r"band\(s\) 'g' \(tuple\), 'i' \(tuple\) .* pass zero_points=\{'g': 30, 'i': 30\}"
    with pytest.warns(AstropyDeprecationWarning, match=spelling) as caught:
        cands = find_candidates(clf, _arrays(paths), sources, keep_all=True)
    assert len(caught) == 1 and caught[0].filename == __file__  # points at the caller
    np.testing.assert_allclose(cands["prob_cluster"], reference["prob_cluster"], rtol=1e-6)
    assert cands.meta["zero_points"] == {"g": 30.0, "i": 30.0}
    assert cands.meta["zero_point_origins"] == {"g": "default", "i": "default"}
    # The new spelling gives the same result without a warning.
    same = find_candidates(clf, _arrays(paths), sources, keep_all=True, zero_points=30)
    np.testing.assert_array_equal(same["prob_cluster"], cands["prob_cluster"])


def test_fits_without_zero_point_refused_everywhere_unless_given(one_field, tmp_path):
    paths, sources = one_field
    bare = _without_zero_point(paths, tmp_path)
    clf = FakeClassifier()
    for call in (
        lambda: find_candidates(clf, bare, sources),
        lambda: TiledImages(bare),
        lambda: Cutout.from_images(bare, sources["coord"], cutout_size=15),
    ):
        with pytest.raises(ValueError, match=r"no photometric zero point .*zero_points=\{'g'"):
            call()
    given = find_candidates(clf, bare, sources, keep_all=True, zero_points={"g": 30, "i": 30})
    reference = find_candidates(clf, paths, sources, keep_all=True)
    np.testing.assert_array_equal(given["prob_cluster"], reference["prob_cluster"])


@pytest.mark.parametrize(
    "zero_points, error, match",
    [
        ({"r": 30.0}, ValueError, r"zero_points names band\(s\) \['r'\]"),
        (-99.0, ValueError, r"given for band 'g' = -99.0 is not a plausible AB zero point"),
        ({"i": "abc"}, ValueError, r"given for band 'i' = 'abc' is not a number"),
        ("30", TypeError, r"zero_points must be None, a number .* got str"),
        (True, TypeError, r"zero_points must be None, a number"),
    ],
)
def test_bad_zero_points_are_refused(one_field, zero_points, error, match):
    paths, sources = one_field
    with pytest.raises(error, match=match):
        find_candidates(FakeClassifier(), paths, sources, zero_points=zero_points)


def test_scan_takes_zero_points_and_records_them(one_field, tmp_path):
    paths, sources = one_field
    bare = _without_zero_point(paths, tmp_path)
    clf = FakeClassifier(threshold=0.0)
    # Without a zero point, the field cannot be read: it is listed as failed.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        failed = scan(clf, [bare], tmp_path / "out1", sources=sources)
    assert any("skipped field 'nozp': no photometric zero point" in str(w.message) for w in caught)
    assert len(failed) == 0
    assert "zero_points={'g': ...}" in failed.meta["failed"][0]["reason"]
    cands = scan(clf, [bare], tmp_path / "out2", sources=sources, zero_points=30)
    assert len(cands) == len(sources)
    assert cands.meta["field_zero_points"] == {"nozp": {"g": 30.0, "i": 30.0}}
    manifest = json.loads((tmp_path / "out2" / "manifest.json").read_text())
    assert manifest["zero_points"] == {"g": 30.0, "i": 30.0}
    # Resuming with other zero points would mix flux scales: refused.
    with pytest.raises(ValueError, match=r"cannot resume .* zero_points"):
        scan(clf, [bare], tmp_path / "out2", sources=sources, zero_points=29)
    # A scan started without zero_points resumes without them.
    plain = scan(clf, [paths], tmp_path / "out3", sources=sources)
    again = scan(clf, [paths], tmp_path / "out3", sources=sources)
    assert "zero_points" not in json.loads((tmp_path / "out3" / "manifest.json").read_text())
    assert plain.meta["field_zero_points"] == {"a": {"g": 30.0, "i": 30.0}}
    np.testing.assert_array_equal(plain["prob_cluster"], again["prob_cluster"])
