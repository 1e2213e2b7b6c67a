"""Tests of CandidateCatalog: construction, validation, table behaviour, selections."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table, vstack
from astropy.utils.exceptions import AstropyDeprecationWarning

from clusterfinder import CandidateCatalog, Cutout
from clusterfinder.catalog import FLAG_COLUMNS, provenance
from clusterfinder.galaxy import M31, M33


def make_catalog(n=5, *, seed=0, threshold=0.669, **columns):
    rng = np.random.default_rng(seed)
    table = QTable(
        {
            "coord": SkyCoord(
                (10.68 + rng.uniform(-0.5, 0.5, n)) * u.deg,
                (41.27 + rng.uniform(-0.5, 0.5, n)) * u.deg,
            ),
            "prob_cluster": rng.uniform(0, 1, n),
            "mag_g": rng.uniform(18, 23, n),
            "mag_i": rng.uniform(17, 22, n),
            "flag_edge": rng.uniform(0, 1, n) < 0.2,
        }
    )
    for name, values in columns.items():
        table[name] = values
    return CandidateCatalog.from_table(table, threshold=threshold, weights="test-weights")


def test_from_table_records_provenance():
    cat = make_catalog(images={"g": "m001_g.fit"}.values())
    assert isinstance(cat, CandidateCatalog)
    for key in ("date_utc", "clusterfinder_version", "astropy_version", "torch_version"):
        assert key in cat.meta
    assert cat.meta["threshold"] == 0.669
    assert cat.meta["weights"] == "test-weights"
    images = CandidateCatalog.from_table(cat, images={"g": "a.fits", "i": "b.fits"})
    assert images.meta["images"] == {"g": "a.fits", "i": "b.fits"}
    # The input meta survives; explicit arguments override it.
    again = CandidateCatalog.from_table(images, threshold=0.5)
    assert again.meta["threshold"] == 0.5 and again.meta["images"]["g"] == "a.fits"


def test_from_table_builds_coord_from_ra_dec():
    table = Table({"ra": [10.0, 11.0], "dec": [41.0, 42.0], "prob_cluster": [0.2, 0.8]})
    cat = CandidateCatalog.from_table(table)
    assert cat.colnames[0] == "coord"
    assert cat["coord"][1].dec.deg == pytest.approx(42.0)


@pytest.mark.parametrize(
    ("table", "error", "match"),
    [
        (QTable({"prob_cluster": [0.5]}), ValueError, "coord"),
        (QTable({"coord": SkyCoord([1] * u.deg, [2] * u.deg)}), ValueError, "prob_cluster"),
        (QTable({"coord": [1.0], "prob_cluster": [0.5]}), TypeError, "SkyCoord"),
        (
            QTable({"coord": SkyCoord([1] * u.deg, [2] * u.deg), "prob_cluster": [1.5]}),
            ValueError,
            r"\[0, 1\]",
        ),
        (
            QTable(
                {"coord": SkyCoord([1] * u.deg, [2] * u.deg), "prob_cluster": [0.5], "flag_x": [1]}
            ),
            ValueError,
            "flag_x",
        ),
        ({"coord": [1]}, TypeError, "Table"),
    ],
)
def test_from_table_rejects_bad_tables(table, error, match):
    with pytest.raises(error, match=match):
        CandidateCatalog.from_table(table)


def test_table_operations_keep_the_class():
    cat = make_catalog(8)
    assert type(cat[2:5]) is CandidateCatalog
    assert type(cat[cat["prob_cluster"] > 0.5]) is CandidateCatalog
    assert type(cat[[0, 3]]) is CandidateCatalog
    assert type(cat.copy()) is CandidateCatalog
    stacked = vstack([cat, cat])
    assert type(stacked) is CandidateCatalog and len(stacked) == 16
    cat.sort("prob_cluster")
    assert np.all(np.diff(cat["prob_cluster"]) >= 0)
    assert cat[:2].meta["threshold"] == 0.669


def test_select_and_above_threshold():
    cat = make_catalog(50, seed=1)
    strong = cat.select(prob_min=0.7)
    assert np.all(strong["prob_cluster"] >= 0.7)
    bright = cat.select(prob_min=0.3, mag_max={"i": 21.0})
    expected = (cat["prob_cluster"] >= 0.3) & (cat["mag_i"] <= 21.0)
    assert len(bright) == expected.sum()
    assert len(cat.select(mag_max={"g": 21 * u.mag})) == np.sum(cat["mag_g"] <= 21)
    assert len(cat.above_threshold()) == np.sum(cat["prob_cluster"] >= 0.669)
    with pytest.raises(ValueError, match="mag_r"):
        cat.select(mag_max={"r": 20})
    with pytest.warns(AstropyDeprecationWarning, match="use select"):
        old = cat.select(prob_min=0.3, mag_max=21.0, band="i")
    assert len(old) == len(bright)
    with pytest.raises(ValueError, match="band= goes only"):
        cat.select(mag_max={"g": 21}, band="g")
    cat.meta.pop("threshold")
    with pytest.raises(ValueError, match="threshold"):
        cat.above_threshold()


def test_select_drops_missing_magnitudes():
    cat = make_catalog(3, mag_g=[19.0, np.nan, 25.0])
    assert len(cat.select(mag_max={"g": 22})) == 1


def test_select_radius_matches_galaxy_geometry():
    offsets = np.array([0.5, 1.5, 2.0, 2.5, 3.0]) * u.deg
    coords = M31.center.directional_offset_by(45 * u.deg, offsets)
    cat = CandidateCatalog.from_table(QTable({"coord": coords, "prob_cluster": [0.9] * 5}))
    inner = cat.select_radius(30 * u.kpc)
    # 30 kpc is 2.19 deg at 785 kpc.
    assert len(inner) == 3
    np.testing.assert_allclose(
        inner["r_proj"].to_value(u.kpc), M31.projected_radius(coords[:3]).to_value(u.kpc)
    )
    ring = cat.select_radius(35 * u.kpc, min_radius=10 * u.kpc)
    assert len(ring) == 3 and ring["r_proj"].unit == u.kpc
    deproj = cat.select_radius(60 * u.kpc, deprojected=True)
    assert "r_deproj" in deproj.colnames
    assert np.all(deproj["r_deproj"] >= deproj["r_proj"] - 1e-9 * u.kpc)
    assert deproj.meta["radius_cut"]["column"] == "r_deproj"
    assert len(cat.select_radius(30 * u.kpc, galaxy=M33)) == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_radius": 30}, TypeError, "max_radius"),
        ({"max_radius": 2 * u.deg}, TypeError, "max_radius"),
        ({"min_radius": -1 * u.kpc}, ValueError, "min_radius"),
        ({"galaxy": "M31"}, TypeError, "galaxy"),
    ],
)
def test_select_radius_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_catalog().select_radius(**kwargs)


def test_empty_catalogue_methods_work():
    cat = make_catalog(4)[:0]
    assert len(cat) == 0 and isinstance(cat, CandidateCatalog)
    assert len(cat.select(prob_min=0.5, mag_max={"g": 20})) == 0
    assert len(cat.above_threshold()) == 0
    assert len(cat.select_radius(30 * u.kpc, deprojected=True)) == 0
    assert len(cat.deduplicate()) == 0
    matched = cat.crossmatch({"known": QTable({"ra": [10.0] * u.deg, "dec": [41.0] * u.deg})})
    assert {"known", "status", "known_known"} <= set(matched.colnames)
    assert len(cat.to_regions()) == 0


def test_inspect_refuses_an_existing_page_unless_overwrite(tmp_path):
    cat = make_catalog(3)
    stamps = Cutout(
        np.random.default_rng(0).normal(size=(3, 2, 16, 16)).astype("float32"), bands=("g", "i")
    )
    page = cat.inspect(cutouts=stamps, output=tmp_path / "page.html")
    first = page.read_text()
    with pytest.raises(FileExistsError, match=r"page\.html' exists; pass overwrite=True"):
        cat.inspect(cutouts=stamps, output=page, title="again")
    assert page.read_text() == first
    assert cat.inspect(cutouts=stamps, output=page, title="again", overwrite=True) == page
    assert page.read_text() != first and "again" in page.read_text()


def test_flag_columns_documented():
    assert set(FLAG_COLUMNS) == {
        "flag_edge",
        "flag_masked",
        "flag_saturated",
        "flag_blended",
        "flag_faint",
    }


def test_provenance_rejects_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        provenance(threshold=1.5)
