"""Tests of find_candidates: the single-field search."""

import warnings

import astropy.units as u
import numpy as np
import pytest
from _scan_helpers import FakeClassifier, coords_close
from astropy.io import fits
from astropy.table import QTable, Table

from clusterfinder import CandidateCatalog, ClusterClassifier, Cutout
from clusterfinder.scan import find_candidates
from clusterfinder.scan.find import check_sources, model_identity
from clusterfinder.utils import ClusterFinderWarning


def direct_probabilities(clf, paths, sources):
    """The reference: stamps cut from the whole images at once, then classified."""
    cut = Cutout.from_images(paths, sources["coord"], cutout_size=clf.cutout_size)
    return clf.predict_proba(cut)


@pytest.mark.parametrize("tile_size", [16, 48, 4096])
def test_same_probabilities_whatever_the_tiling(one_field, tile_size):
    paths, sources = one_field
    clf = FakeClassifier()
    expected = direct_probabilities(clf, paths, sources)
    cands = find_candidates(clf, paths, sources, keep_all=True, tile_size=tile_size)
    assert isinstance(cands, CandidateCatalog)
    assert len(cands) == len(sources)
    # Rows come back in the order of the sources, with their columns and coordinates.
    assert coords_close(cands["coord"], sources["coord"], 1e-9 * u.arcsec)
    assert np.array_equal(cands["mag_g"], sources["mag_g"])
    assert np.array_equal(cands["prob_cluster"], expected)


def test_threshold_selects_candidates(one_field):
    paths, sources = one_field
    clf = FakeClassifier(threshold=0.5)
    p = direct_probabilities(clf, paths, sources)
    assert 0 < np.sum(p >= 0.5) < len(p)  # the test field has both kinds
    cands = find_candidates(clf, paths, sources)
    assert np.array_equal(cands["prob_cluster"], p[p >= 0.5])
    stricter = find_candidates(clf, paths, sources, threshold=0.9)
    assert np.array_equal(stricter["prob_cluster"], p[p >= 0.9])
    assert stricter.meta["threshold"] == 0.9 and cands.meta["threshold"] == 0.5


def test_provenance_in_meta(one_field):
    paths, sources = one_field
    cands = find_candidates(FakeClassifier(sha256="a" * 64), paths, sources)
    meta = cands.meta
    assert meta["weights"] == "fake" and meta["weights_sha256"] == "a" * 64
    assert meta["images"] == paths
    assert meta["n_sources"] == len(sources)
    for key in ("date_utc", "clusterfinder_version", "astropy_version", "torch_version"):
        assert key in meta


def test_flags_at_the_image_edge(one_field):
    paths, sources = one_field
    cands = find_candidates(FakeClassifier(), paths, sources, keep_all=True)
    half = 15 // 2
    near_edge = (
        (cands["x"] < half - 0.5)
        | (cands["y"] < half - 0.5)
        | (cands["x"] > 159 - half + 0.5)
        | (cands["y"] > 159 - half + 0.5)
    )
    assert np.any(near_edge)
    assert np.array_equal(np.asarray(cands["flag_edge"]), np.asarray(near_edge))
    assert np.array_equal(np.asarray(cands["flag_masked"]), np.asarray(near_edge))


def test_sources_off_the_image_are_skipped(one_field):
    paths, sources = one_field
    far = sources.copy()
    far["coord"] = far["coord"].spherical_offsets_by(0 * u.deg, 1 * u.deg)
    both = Table(
        {
            "ra": np.r_[sources["coord"].ra.deg, far["coord"].ra.deg],
            "dec": np.r_[sources["coord"].dec.deg, far["coord"].dec.deg],
        }
    )
    cands = find_candidates(FakeClassifier(), paths, both, keep_all=True)
    assert len(cands) == len(sources)


def test_empty_field_gives_an_empty_catalogue_and_a_warning(one_field):
    paths, sources = one_field
    with pytest.warns(ClusterFinderWarning, match="none of the sources"):
        cands = find_candidates(FakeClassifier(), paths, sources[:0])
    assert isinstance(cands, CandidateCatalog) and len(cands) == 0
    assert "prob_cluster" in cands.colnames


@pytest.mark.parametrize(
    ("sources", "error", "match"),
    [
        (QTable({"x": [1.0], "y": [2.0]}), ValueError, "needs a SkyCoord column 'coord'"),
        (QTable({"coord": [1.0]}), TypeError, "must be a SkyCoord"),
        ({"ra": [1.0], "dec": [2.0]}, TypeError, "sources must be an astropy Table"),
    ],
)
def test_wrong_source_columns(one_field, sources, error, match):
    paths, _ = one_field
    with pytest.raises(error, match=match):
        find_candidates(FakeClassifier(), paths, sources)


def test_bad_threshold_and_classifier(one_field):
    paths, sources = one_field
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]"):
        find_candidates(FakeClassifier(), paths, sources, threshold=1.5)
    with pytest.raises(TypeError, match="classifier must be a ClusterClassifier"):
        find_candidates(object(), paths, sources)


def test_images_without_wcs(one_field, tmp_path):
    paths, sources = one_field
    with fits.open(paths["i"]) as hdul:
        data = hdul[0].data.copy()
    bare = tmp_path / "bare_i.fits"
    fits.PrimaryHDU(data, header=fits.Header({"PHOTZP": 30.0})).writeto(bare)
    with pytest.raises(ValueError, match=r"band 'i'.*no celestial WCS"):
        find_candidates(FakeClassifier(), {"g": paths["g"], "i": bare}, sources)


def test_check_sources_accepts_ra_dec():
    table = check_sources(Table({"ra": [10.0, 11.0], "dec": [41.0, 42.0], "id": [1, 2]}))
    assert table.colnames == ["coord", "id"]
    assert table["coord"][1].dec.deg == 42.0


def test_real_classifier_matches_predict_proba(one_field):
    paths, sources = one_field
    clf = ClusterClassifier("small_cnn", cutout_size=16, threshold=0.0)
    cut = Cutout.from_images(paths, sources["coord"], cutout_size=16)
    expected = clf.predict_proba(cut, device="cpu", batch_size=64)
    cands = find_candidates(clf, paths, sources, device="cpu", batch_size=64, tile_size=64)
    assert np.allclose(cands["prob_cluster"], expected, rtol=0, atol=1e-6)
    identity = model_identity(clf)
    assert cands.meta["model_fingerprint"] == identity["fingerprint"]
    assert cands.meta["weights"] == "small_cnn"


def test_detected_sources(one_field):
    paths, sources = one_field
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterFinderWarning)  # detection notes
        cands = find_candidates(FakeClassifier(), paths, keep_all=True, tile_size=80)
    assert cands.meta["n_sources"] == len(cands)
    # Most bright sources are found (close pairs blend), with their magnitudes.
    bright = sources[sources["mag_g"] < 21.5]
    index, sep, _ = bright["coord"].match_to_catalog_sky(cands["coord"])
    found = sep < 0.3 * u.arcsec
    assert found.mean() > 0.8
    assert np.allclose(cands["mag_g"][index[found]], bright["mag_g"][found], atol=0.5)
    # No source is detected twice across tile boundaries.
    _, nearest, _ = cands["coord"].match_to_catalog_sky(cands["coord"], nthneighbor=2)
    assert np.all(nearest > 0.5 * u.arcsec)
