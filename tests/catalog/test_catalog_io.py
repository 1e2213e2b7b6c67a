"""Round trips of CandidateCatalog through astropy's unified I/O (ECSV, FITS, VOTable, CSV...)
and region files."""

import io
import os
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import registry
from astropy.table import QTable
from astropy.utils.exceptions import AstropyDeprecationWarning
from regions import CircleSkyRegion, Regions

from clusterfinder import CandidateCatalog
from clusterfinder.utils import ClusterFinderWarning


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
    with pytest.raises(FileExistsError, match="overwrite=True"):
        cat.write(path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        cat.write(path, format="ascii.csv")  # refused before any warning about the format
    cat[:2].write(path, overwrite=True)
    assert len(CandidateCatalog.read(path)) == 2
    with pytest.raises(ValueError, match="format"):
        cat.write(tmp_path / "c.txt")
    with pytest.raises(ValueError, match="format='nonsense' is not a table format"):
        cat.write(tmp_path / "c.ecsv2", format="nonsense")
    with pytest.raises(ValueError, match="format='nonsense' is not a table format"):
        CandidateCatalog.read(path, format="nonsense")
    with pytest.raises(FileNotFoundError, match="folder"):
        cat.write(tmp_path / "missing" / "c.ecsv")
    with pytest.raises(IsADirectoryError):
        cat.write(tmp_path)
    cat.write(tmp_path / "c.dat", format="fits")
    assert len(CandidateCatalog.read(tmp_path / "c.dat", format="fits")) == 4
    with pytest.raises(FileNotFoundError):
        CandidateCatalog.read(tmp_path / "missing.ecsv")
    with pytest.raises(IsADirectoryError):
        CandidateCatalog.read(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["c.dat", "c.ecsv"]


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


# -- astropy's unified I/O registry ------------------------------------------------------------

LEGACY = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    "name", ["legacy_candidates.ecsv", "legacy_candidates.fits", "legacy_candidates.xml"]
)
def test_files_written_before_the_registry_still_read(name):
    # Written by CandidateCatalog.write before it went through astropy's registry.
    back = CandidateCatalog.read(LEGACY / name)
    assert type(back) is CandidateCatalog
    assert back.colnames == ["coord", "prob_cluster", "mag_g", "flag_edge", "name"]
    np.testing.assert_allclose(back["coord"].dec.deg, [41.2, 41.3, 41.25])
    np.testing.assert_array_equal(back["mag_g"], [19.5, 20.25, np.nan])
    assert back["flag_edge"].tolist() == [False, True, False]
    assert back["name"].tolist() == ["a", "bb", ""]
    assert back.meta["threshold"] == 0.669
    assert back.meta["images"] == {"g": "m001_g.fit", "i": "m001_i.fit"}
    assert back.meta["date_utc"] == "2026-12-01T00:00:00+00:00"


def test_catalogue_formats_are_registered():
    for fmt in ("ascii.ecsv", "fits", "votable"):
        assert registry.get_reader(fmt, CandidateCatalog).__name__.startswith("read_")
        assert registry.get_writer(fmt, CandidateCatalog) is not None
    # The identifiers: one format per file name, ".votable" included.
    for name, fmt in [
        ("c.ecsv", "ascii.ecsv"),
        ("c.fits.gz", "fits"),
        ("c.fts", "fits"),
        ("c.votable", "votable"),
        ("c.vot", "votable"),
    ]:
        assert registry.identify_format("write", CandidateCatalog, name, None, [name], {}) == [fmt]
    # QTable itself is left alone.
    assert registry.get_reader("fits", QTable) is not registry.get_reader("fits", CandidateCatalog)
    out = io.StringIO()
    CandidateCatalog.read.list_formats(out)
    assert "votable" in out.getvalue() and "ascii.csv" in out.getvalue()


@pytest.mark.parametrize("fmt", ["ascii.csv", "csv", "ascii.ipac", "ascii.fixed_width"])
def test_other_astropy_formats_round_trip_without_metadata(tmp_path, fmt):
    cat = sample_catalog()
    cat["coord"] = cat["coord"].galactic  # text formats get ICRS ra/dec in degrees
    path = tmp_path / "cands.txt"
    with pytest.warns(ClusterFinderWarning, match=rf"'{fmt}' cannot hold the catalogue's meta"):
        assert cat.write(path, format=fmt) == path
    back = CandidateCatalog.read(path, format=fmt)
    assert type(back) is CandidateCatalog
    assert back.colnames[0] == "coord" and back["coord"].frame.name == "icrs"
    assert np.all(back["coord"].separation(cat["coord"]) < 1 * u.marcsec)
    np.testing.assert_allclose(back["prob_cluster"], cat["prob_cluster"])
    np.testing.assert_array_equal(back["mag_i"], cat["mag_i"])
    assert back["flag_edge"].dtype == bool
    assert back["flag_edge"].tolist() == cat["flag_edge"].tolist()
    assert "threshold" not in back.meta
    assert sorted(os.listdir(tmp_path)) == ["cands.txt"]


def test_own_ra_dec_columns_are_not_overwritten_in_text_formats(tmp_path):
    cat = sample_catalog()
    cat["ra"] = np.zeros(len(cat))
    with pytest.raises(ValueError, match="column\\(s\\) ra besides 'coord'"):
        cat.write(tmp_path / "c.csv")
    assert not (tmp_path / "c.csv").exists()
    assert np.all(CandidateCatalog.read(cat.write(tmp_path / "c.ecsv"))["ra"] == 0)


def test_csv_is_recognised_by_its_name(tmp_path):
    cat = sample_catalog()
    with pytest.warns(ClusterFinderWarning, match="metadata") as caught:
        path = cat.write(tmp_path / "cands.csv")
    assert caught[0].filename == __file__
    assert path.read_text().splitlines()[0].startswith("ra,dec,prob_cluster")
    back = CandidateCatalog.read(path)
    assert len(back) == 4 and isinstance(back["coord"], SkyCoord)


def test_hdf5_keeps_the_metadata(tmp_path):
    pytest.importorskip("h5py")
    cat = sample_catalog()
    path = cat.write(tmp_path / "cands.hdf5", path="catalog")
    back = CandidateCatalog.read(path, path="catalog")
    assert back.meta["images"] == cat.meta["images"]
    assert np.all(back["coord"].separation(cat["coord"]) < 1 * u.marcsec)


def test_qtable_signature_and_file_objects(tmp_path):
    cat = sample_catalog()
    text = io.StringIO()
    assert cat.write(text, format="ascii.ecsv") is None
    back = CandidateCatalog.read(text.getvalue(), format="ascii.ecsv")
    assert back.meta["weights"] == "resnet50-pandas" and len(back) == 4
    with pytest.raises(ValueError, match="format="):
        cat.write(io.StringIO())
    # Options of astropy's writers and readers pass through.
    path = cat.write(tmp_path / "c.ecsv", format="ascii.ecsv", delimiter=",")
    assert "coord.ra,coord.dec,prob_cluster" in path.read_text()
    assert len(CandidateCatalog.read(path)) == 4
    path = cat.write(tmp_path / "c.fits", format="fits")
    assert len(CandidateCatalog.read(path, hdu=1)) == 4
    # The write method checks the catalogue first.
    broken = cat.copy()
    broken.remove_column("prob_cluster")
    with pytest.raises(ValueError, match="prob_cluster"):
        broken.write(tmp_path / "broken.ecsv")
    assert not (tmp_path / "broken.ecsv").exists()


def test_a_csv_that_is_not_a_catalogue_is_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"t.csv is not a candidate catalogue: .*coord"):
        CandidateCatalog.read(path)


def test_path_keyword_is_deprecated(tmp_path):
    cat = sample_catalog()
    target = tmp_path / "c.ecsv"
    with pytest.warns(AstropyDeprecationWarning, match=r"CandidateCatalog.write\(path, ...\)") as w:
        cat.write(path=target)
    assert w[0].filename == __file__  # the warning points at the caller
    with pytest.warns(AstropyDeprecationWarning, match=r"CandidateCatalog.read\(path, ...\)"):
        back = CandidateCatalog.read(path=target)
    assert len(back) == 4


def test_short_ecsv_format_name_is_deprecated(tmp_path):
    cat = sample_catalog()
    with pytest.warns(AstropyDeprecationWarning, match="format='ascii.ecsv'") as caught:
        path = cat.write(tmp_path / "c.dat", format="ecsv")
    assert caught[0].filename == __file__
    with pytest.warns(AstropyDeprecationWarning, match="format='ascii.ecsv'"):
        back = CandidateCatalog.read(path, format="ecsv")
    assert back.meta["images"] == cat.meta["images"]
