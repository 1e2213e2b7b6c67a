"""Round trips of CandidateCatalog through ECSV, FITS and VOTable, and region files."""

import os

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from regions import CircleSkyRegion, Regions

from clusterfinder import CandidateCatalog


def sample_catalog(n=4):
    table = QTable(
        {
            "coord": SkyCoord(
                np.linspace(10.5, 10.9, n) * u.deg, np.linspace(41.0, 41.4, n) * u.deg
            ),
            "prob_cluster": np.linspace(0.1, 0.95, n),
            "mag_g": np.linspace(19.0, 22.0, n),
            "magerr_g": np.full(n, 0.02),
            "mag_i": np.array([18.5, np.nan, 20.0, 21.0][:n]),
            "reff": np.linspace(0.5, 1.2, n) * u.arcsec,
            "flag_edge": np.array([False, True, False, False][:n]),
            "name": np.array(["c1", "c22", "c333", ""][:n]),
            "n_detections": np.arange(1, n + 1),
        }
    )
    return CandidateCatalog.from_table(
        table,
        threshold=0.669,
        weights="resnet50-pandas",
        weights_sha256="ab" * 32,
        images={"g": "m001_g.fit", "i": "m001_i.fit"},
    )


@pytest.mark.parametrize("suffix", [".ecsv", ".fits", ".fit", ".xml", ".vot"])
def test_round_trip(tmp_path, suffix):
    cat = sample_catalog()
    path = cat.write(tmp_path / f"cands{suffix}")
    back = CandidateCatalog.read(path)
    assert type(back) is CandidateCatalog
    assert back.colnames == cat.colnames
    assert isinstance(back["coord"], SkyCoord)
    assert np.all(back["coord"].separation(cat["coord"]) < 1 * u.marcsec)
    np.testing.assert_allclose(back["prob_cluster"], cat["prob_cluster"])
    np.testing.assert_array_equal(back["mag_i"], cat["mag_i"])  # NaN kept as NaN
    assert back["reff"].unit == u.arcsec
    np.testing.assert_allclose(back["reff"].value, cat["reff"].value)
    assert back["flag_edge"].dtype == bool
    assert list(back["flag_edge"]) == list(cat["flag_edge"])
    assert [str(s) for s in back["name"]] == ["c1", "c22", "c333", ""]
    assert back["name"].dtype.kind == "U"
    assert list(back["n_detections"]) == [1, 2, 3, 4]
    for key in ("threshold", "weights", "weights_sha256", "images", "date_utc"):
        assert back.meta[key] == cat.meta[key]
    # No temporary file is left behind.
    assert sorted(os.listdir(tmp_path)) == [f"cands{suffix}"]


@pytest.mark.parametrize("suffix", [".ecsv", ".fits", ".xml"])
def test_empty_round_trip(tmp_path, suffix):
    cat = sample_catalog()[:0]
    back = CandidateCatalog.read(cat.write(tmp_path / f"empty{suffix}"))
    assert len(back) == 0 and isinstance(back["coord"], SkyCoord)
    assert "prob_cluster" in back.colnames


def test_galactic_frame_survives_votable(tmp_path):
    cat = sample_catalog()
    cat["coord"] = cat["coord"].galactic
    back = CandidateCatalog.read(cat.write(tmp_path / "gal.xml"))
    assert back["coord"].frame.name == "galactic"
    assert np.all(back["coord"].separation(cat["coord"]) < 1 * u.marcsec)


def test_write_refuses_to_overwrite_and_bad_formats(tmp_path):
    cat = sample_catalog()
    path = cat.write(tmp_path / "c.ecsv")
    with pytest.raises(FileExistsError, match="overwrite"):
        cat.write(path)
    cat[:2].write(path, overwrite=True)
    assert len(CandidateCatalog.read(path)) == 2
    with pytest.raises(ValueError, match="format"):
        cat.write(tmp_path / "c.txt")
    with pytest.raises(ValueError, match="format"):
        cat.write(tmp_path / "c.ecsv2", format="csv")
    cat.write(tmp_path / "c.dat", format="fits")
    assert len(CandidateCatalog.read(tmp_path / "c.dat", format="fits")) == 4
    with pytest.raises(FileNotFoundError):
        CandidateCatalog.read(tmp_path / "missing.ecsv")


def test_read_rejects_a_table_that_is_not_a_catalogue(tmp_path):
    QTable({"a": [1, 2]}).write(tmp_path / "t.ecsv")
    with pytest.raises(ValueError, match="coord"):
        CandidateCatalog.read(tmp_path / "t.ecsv")


@pytest.mark.parametrize("fmt", ["ds9", "crtf"])
def test_regions_round_trip(tmp_path, fmt):
    cat = sample_catalog()
    path = cat.write_regions(tmp_path / f"c.{fmt}", format=fmt, radius=1.5 * u.arcsec)
    regions = Regions.read(path, format=fmt)
    assert len(regions) == len(cat)
    assert all(isinstance(r, CircleSkyRegion) for r in regions)
    # CRTF writes degrees with six decimals: 1.5" comes back within 0.1 %.
    np.testing.assert_allclose([r.radius.to_value(u.arcsec) for r in regions], 1.5, rtol=2e-3)
    centers = SkyCoord([r.center.icrs for r in regions])
    assert np.all(centers.separation(cat["coord"]) < 0.1 * u.arcsec)
    key = "text" if fmt == "ds9" else "label"
    labels = [r.meta[key] for r in regions]
    assert labels[0] == "c1 p=0.100" and labels[3] == "p=0.950"
    with pytest.raises(FileExistsError):
        cat.write_regions(path, format=fmt)


def test_regions_colour_by_status_and_bad_input(tmp_path):
    cat = sample_catalog()
    cat["status"] = ["known", "new", "new", "known"]
    colors = [r.visual["color"] for r in cat.to_regions()]
    assert colors == ["cyan", "red", "red", "cyan"]
    with pytest.raises(ValueError, match="format"):
        cat.to_regions(format="reg")
    with pytest.raises(TypeError, match="radius"):
        cat.to_regions(radius=1.0)
    empty = cat[:0].write_regions(tmp_path / "empty.reg")
    assert len(Regions.read(empty, format="ds9")) == 0
