"""The shared checks of clusterfinder.utils.validation, and that every entry point uses them.

Each kind of option (radius, threshold, batch size, seed) is refused with one exception
type per kind of mistake and one wording, whichever function is given it.
"""

import re
from typing import ClassVar

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle, SkyCoord
from astropy.table import QTable

from clusterfinder import CandidateCatalog, ClusterClassifier, Cutout
from clusterfinder.catalog import provenance
from clusterfinder.crossmatch import friends_of_friends, match_nearest
from clusterfinder.utils.validation import (
    check_batch_size,
    check_radius,
    check_seed,
    check_threshold,
)

# -- the functions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1 * u.arcsec, 1.0),
        (0.5 * u.arcmin, 30.0),
        (Angle(1, u.deg), 3600.0),
        (1e-6 * u.deg, 0.0036),
    ],
)
def test_check_radius_good(value, expected):
    out = check_radius(value)
    assert out.unit == u.arcsec
    assert out.value == pytest.approx(expected)


@pytest.mark.parametrize("value", [1.0, 1, "1 arcsec", None, 1 * u.m, 1 * u.dimensionless_unscaled])
def test_check_radius_bad_type(value):
    with pytest.raises(TypeError, match=r"^radius must be a positive angle Quantity .*; got "):
        check_radius(value)


@pytest.mark.parametrize(
    "value",
    [0 * u.arcsec, -1 * u.arcsec, np.nan * u.arcsec, np.inf * u.deg, [1, 2] * u.arcsec],
)
def test_check_radius_bad_value(value):
    with pytest.raises(ValueError, match=r"^radius must be a positive angle Quantity .*; got "):
        check_radius(value)


def test_check_radius_message_names_parameter_and_value():
    with pytest.raises(TypeError) as info:
        check_radius(1.0, "match_radius")
    assert str(info.value) == (
        "match_radius must be a positive angle Quantity (one finite value), "
        "e.g. 1 * u.arcsec; got 1.0"
    )
    with pytest.raises(ValueError, match=r"got -2\.0 arcsec$"):
        check_radius(-2 * u.arcsec)


@pytest.mark.parametrize("value", [0, 1, 0.0, 0.5, 1.0, np.float32(0.25), np.int64(1)])
def test_check_threshold_good(value):
    out = check_threshold(value)
    assert type(out) is float and out == float(value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True), "0.5", None, [0.5], 0.5 * u.one])
def test_check_threshold_bad_type(value):
    with pytest.raises(TypeError, match=r"^threshold must be a number in \[0, 1\]; got "):
        check_threshold(value)


@pytest.mark.parametrize("value", [-0.1, 1.5, 2, np.nan, np.inf])
def test_check_threshold_bad_value(value):
    with pytest.raises(ValueError, match=r"^threshold must be a number in \[0, 1\]; got "):
        check_threshold(value)


def test_check_threshold_names_parameter():
    with pytest.raises(ValueError, match=r"^prob_min must be a number in \[0, 1\]; got 1\.5$"):
        check_threshold(1.5, "prob_min")


@pytest.mark.parametrize("value", [1, 256, np.int32(8), np.int64(1)])
def test_check_batch_size_good(value):
    out = check_batch_size(value)
    assert type(out) is int and out == value


@pytest.mark.parametrize("value", [2.5, 2.0, "8", None, True, np.bool_(True)])
def test_check_batch_size_bad_type(value):
    with pytest.raises(TypeError, match=r"^batch_size must be a positive integer; got "):
        check_batch_size(value)


@pytest.mark.parametrize("value", [0, -1, np.int64(0)])
def test_check_batch_size_bad_value(value):
    with pytest.raises(ValueError, match=r"^batch_size must be a positive integer; got "):
        check_batch_size(value)


def test_check_seed_good():
    rng = np.random.default_rng(1)
    assert check_seed(None) is None
    assert check_seed(rng) is rng
    assert check_seed(0) == 0 and type(check_seed(np.int64(3))) is int


@pytest.mark.parametrize(
    "value", [1.5, 1.0, "1", True, np.random.SeedSequence(1), np.random.RandomState(1)]
)
def test_check_seed_bad_type(value):
    with pytest.raises(
        TypeError,
        match=r"^seed must be None, a non-negative integer or a numpy.random.Generator; got ",
    ):
        check_seed(value)


def test_check_seed_bad_value():
    with pytest.raises(ValueError, match=r"^seed must be None, .*; got -1$"):
        check_seed(-1)


# -- every entry point uses them ---------------------------------------------------------


def _message(call):
    """(exception type, message) that ``call`` raises."""
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    return type(info.value), str(info.value)


@pytest.fixture
def catalog():
    coords = SkyCoord([10.0, 10.0001, 11.0] * u.deg, [41.0] * 3 * u.deg)
    return CandidateCatalog.from_table(QTable({"coord": coords, "prob_cluster": [0.9, 0.5, 0.2]}))


class _FakeClassifier:
    bands = ("g", "i")
    cutout_size = 16
    threshold = 0.5
    source_metadata: ClassVar[dict] = {"name": "fake", "sha256": "f" * 64}

    def predict_proba(self, cutout, *, batch_size=256, device="auto", progress_bar=False):
        raise AssertionError("not reached: the options are refused first")


def _radius_calls(catalog, tmp_path, radius):
    from clusterfinder.catalog import crossmatch, deduplicate, to_regions, write_regions
    from clusterfinder.scan import scan

    coords = catalog["coord"]
    return {
        "friends_of_friends": lambda: friends_of_friends(coords, radius),
        "match_nearest": lambda: match_nearest(coords, coords, radius),
        "deduplicate": lambda: deduplicate(catalog, radius),
        "CandidateCatalog.deduplicate": lambda: catalog.deduplicate(radius),
        "crossmatch": lambda: crossmatch(
            catalog, {"known": QTable({"coord": coords})}, radius=radius
        ),
        "CandidateCatalog.crossmatch": lambda: catalog.crossmatch(
            {"known": QTable({"coord": coords})}, radius=radius
        ),
        "to_regions": lambda: to_regions(catalog, radius=radius),
        "write_regions": lambda: write_regions(catalog, tmp_path / "c.reg", radius=radius),
        "scan": lambda: scan(_FakeClassifier(), [], tmp_path / "out", radius=radius),
    }


@pytest.mark.parametrize(
    ("radius", "error"), [(1.0, TypeError), (1 * u.m, TypeError), (0 * u.arcsec, ValueError)]
)
def test_radius_refused_alike_everywhere(catalog, tmp_path, radius, error):
    expected = (error, str(_message(lambda: check_radius(radius))[1]))
    for name, call in _radius_calls(catalog, tmp_path, radius).items():
        assert _message(call) == expected, name
    assert not (tmp_path / "out").exists() and not (tmp_path / "c.reg").exists()


def test_crossmatch_radius_per_catalogue_names_the_entry(catalog):
    known = {"known": QTable({"coord": catalog["coord"]})}
    with pytest.raises(TypeError, match=re.escape("radius['known'] must be a positive angle")):
        catalog.crossmatch(known, radius={"known": 1.0})


@pytest.mark.parametrize(("value", "error"), [(1.5, ValueError), ("0.5", TypeError)])
def test_threshold_refused_alike_everywhere(catalog, tmp_path, value, error):
    from clusterfinder.scan import find_candidates, scan

    clf = ClusterClassifier("small_cnn", cutout_size=16)
    cutout = Cutout(
        np.ones((2, 2, 16, 16), np.float32), bands=("g", "i"), table=QTable({"label": [0, 1]})
    )

    def set_threshold():
        clf.threshold = value

    calls = {
        "ClusterClassifier": lambda: ClusterClassifier("small_cnn", threshold=value),
        "ClusterClassifier.threshold": set_threshold,
        "ClusterClassifier.evaluate": lambda: clf.evaluate(cutout, threshold=value),
        "find_candidates": lambda: find_candidates(_FakeClassifier(), {}, None, threshold=value),
        "scan": lambda: scan(_FakeClassifier(), [], tmp_path / "out", threshold=value),
        "CandidateCatalog.from_table": lambda: CandidateCatalog.from_table(
            QTable(catalog), threshold=value
        ),
        "provenance": lambda: provenance(threshold=value),
    }
    expected = (error, _message(lambda: check_threshold(value))[1])
    for name, call in calls.items():
        assert _message(call) == expected, name
    # select's prob_min is a threshold too, named as such
    assert _message(lambda: catalog.select(prob_min=value)) == (
        error,
        _message(lambda: check_threshold(value, "prob_min"))[1],
    )


@pytest.mark.parametrize(("value", "error"), [(2.5, TypeError), (True, TypeError), (0, ValueError)])
def test_batch_size_refused_alike_everywhere(tmp_path, value, error):
    from clusterfinder.scan import find_candidates, scan

    clf = ClusterClassifier("small_cnn", cutout_size=16)
    rng = np.random.default_rng(0)
    stamps = Cutout(
        rng.normal(size=(4, 2, 16, 16)).astype(np.float32),
        bands=("g", "i"),
        table=QTable({"label": [0, 1, 0, 1]}),
    )
    calls = {
        "predict_proba": lambda: clf.predict_proba(stamps, batch_size=value),
        "predict": lambda: clf.predict(stamps, batch_size=value),
        "evaluate": lambda: clf.evaluate(stamps, batch_size=value),
        "fit": lambda: clf.fit(stamps, stamps, epochs=1, batch_size=value),
        "find_candidates": lambda: find_candidates(_FakeClassifier(), {}, None, batch_size=value),
        "scan": lambda: scan(_FakeClassifier(), [], tmp_path / "out", batch_size=value),
    }
    expected = (error, _message(lambda: check_batch_size(value))[1])
    for name, call in calls.items():
        assert _message(call) == expected, name


@pytest.mark.parametrize(("value", "error"), [(1.5, TypeError), ("1", TypeError), (-1, ValueError)])
def test_seed_refused_alike_everywhere(value, error):
    clf = ClusterClassifier("small_cnn", cutout_size=16)
    rng = np.random.default_rng(0)
    stamps = Cutout(
        rng.normal(size=(4, 2, 16, 16)).astype(np.float32),
        bands=("g", "i"),
        table=QTable({"label": [0, 1, 0, 1]}),
    )
    expected = (error, _message(lambda: check_seed(value))[1])
    assert _message(lambda: ClusterClassifier("small_cnn", seed=value)) == expected
    assert _message(lambda: clf.fit(stamps, stamps, epochs=1, seed=value)) == expected


def test_classifier_seed_accepts_a_generator():
    a = ClusterClassifier("small_cnn", cutout_size=16, seed=np.random.default_rng(5))
    b = ClusterClassifier("small_cnn", cutout_size=16, seed=np.random.default_rng(5))
    assert isinstance(a.metadata()["seed"], int) and a.metadata()["seed"] == b.metadata()["seed"]
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
