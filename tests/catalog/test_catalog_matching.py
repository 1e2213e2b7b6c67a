"""De-duplication and cross-matching of candidate catalogues, on synthetic and real data."""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import ascii
from astropy.table import QTable, Table

import clusterfinder
from clusterfinder import CandidateCatalog
from clusterfinder.catalog import known_coords

# Real catalogues bundled with the package (copied from the project's shared data).
CATALOGS = Path(clusterfinder.__file__).parent / "data" / "catalogs"


def catalog_from(coords, prob, **columns):
    table = QTable({"coord": coords, "prob_cluster": prob, **columns})
    return CandidateCatalog.from_table(table)


def test_deduplicate_keeps_highest_probability():
    base = SkyCoord([10.0, 10.5, 11.0] * u.deg, [41.0, 41.0, 41.0] * u.deg)
    # Second copy of each source offset by 0.2", as from an overlapping tile.
    shifted = base.spherical_offsets_by(0.2 * u.arcsec, 0 * u.arcsec)
    coords = SkyCoord([*base, *shifted])
    prob = [0.5, 0.9, 0.3, 0.6, 0.2, np.nan]
    cat = catalog_from(coords, prob, tile=[1, 1, 1, 2, 2, 2])
    merged = cat.deduplicate(0.5 * u.arcsec)
    assert len(merged) == 3
    assert list(merged["tile"]) == [2, 1, 1]
    assert list(merged["prob_cluster"]) == [0.6, 0.9, 0.3]
    assert list(merged["n_detections"]) == [2, 2, 2]
    assert merged.meta["deduplicate"]["radius_arcsec"] == 0.5
    first = cat.deduplicate(0.5 * u.arcsec, keep="first")
    assert list(first["tile"]) == [1, 1, 1]
    # A smaller radius leaves them apart; de-duplicating twice sums the counts.
    assert len(cat.deduplicate(0.1 * u.arcsec)) == 6
    twice = vstack_self(merged).deduplicate(0.5 * u.arcsec)
    assert list(twice["n_detections"]) == [4, 4, 4]


def vstack_self(cat):
    from astropy.table import vstack

    return vstack([cat, cat])


def test_deduplicate_chains_friends_of_friends():
    coords = SkyCoord([10.0, 10.0001, 10.0002, 10.0003] * u.deg, [41.0] * 4 * u.deg)
    merged = catalog_from(coords, [0.1, 0.2, 0.8, 0.3]).deduplicate(0.4 * u.arcsec)
    assert len(merged) == 1 and merged["n_detections"][0] == 4
    assert merged["prob_cluster"][0] == 0.8


@pytest.mark.parametrize(
    ("radius", "keep", "error"),
    [
        (0.5, "max_prob", TypeError),
        (1 * u.m, "max_prob", TypeError),
        (1 * u.arcsec, "x", ValueError),
    ],
)
def test_deduplicate_bad_input(radius, keep, error):
    cat = catalog_from(SkyCoord([1] * u.deg, [1] * u.deg), [0.5])
    with pytest.raises(error, match=r"radius|keep"):
        cat.deduplicate(radius, keep=keep)


def test_crossmatch_several_catalogues():
    coords = SkyCoord([10.0, 10.5, 11.0, 11.5] * u.deg, [41.0] * 4 * u.deg)
    cat = catalog_from(coords, [0.9, 0.8, 0.7, 0.95])
    near = coords[[0, 2]].spherical_offsets_by([0.3, 0.6] * u.arcsec, [0, 0] * u.arcsec)
    first = QTable({"coord": near, "name": ["A1", "A2"]})
    second = Table(
        {"RAdeg": [10.5 + 0.2 / 3600, 11.5 + 5 / 3600], "DEdeg": [41.0, 41.0], "ID": [7, 8]}
    )

    class LabelSetLike:
        table = QTable({"coord": coords[[2]]})

    out = cat.crossmatch(
        {"first": first, "second": second, "labels": LabelSetLike()}, radius=1 * u.arcsec
    )
    assert list(out["known_first"]) == [True, False, True, False]
    assert list(out["name_first"]) == ["A1", "", "A2", ""]
    np.testing.assert_allclose(out["sep_first"].to_value(u.arcsec)[[0, 2]], [0.3, 0.6], atol=1e-3)
    assert np.isnan(out["sep_first"][1])
    assert list(out["name_second"]) == ["", "7", "", ""]  # 5" is beyond 1"
    assert list(out["name_labels"]) == ["", "", "0", ""]
    assert list(out["known"]) == [True, True, True, False]
    assert list(out["status"]) == ["known", "known", "known", "new"]
    assert out.meta["crossmatch"]["second"]["n_matched"] == 1
    assert "known" not in cat.colnames  # the input is unchanged
    wide = cat.crossmatch({"second": second}, radius={"second": 10 * u.arcsec})
    assert list(wide["name_second"]) == ["", "7", "", "8"]


def test_crossmatch_bad_input():
    cat = catalog_from(SkyCoord([1] * u.deg, [1] * u.deg), [0.5])
    known = QTable({"ra": [1.0] * u.deg, "dec": [1.0] * u.deg})
    with pytest.raises(TypeError, match="catalogs"):
        cat.crossmatch([known])
    with pytest.raises(ValueError, match="letters"):
        cat.crossmatch({"bad name": known})
    with pytest.raises(TypeError, match="radius"):
        cat.crossmatch({"k": known}, radius=1.0)
    with pytest.raises(ValueError, match="RA/Dec"):
        cat.crossmatch({"k": QTable({"x": [1.0]})})
    with pytest.raises(TypeError, match="catalogue 'k'"):
        cat.crossmatch({"k": [1, 2]})
    with pytest.raises(ValueError, match="radius has no entry"):
        cat.crossmatch({"k": known}, radius={"other": 1 * u.arcsec})


def test_known_coords_sexagesimal_strings():
    table = Table({"RA": ["00h42m44.35s"], "DEC": ["+41d16m08.6s"], "Name": ["M31"]})
    coords, names = known_coords(table)
    assert coords[0].separation(SkyCoord(10.684792 * u.deg, 41.269056 * u.deg)) < 0.1 * u.arcsec
    assert list(names) == ["M31"]


def _read_caldwell():
    folder = CATALOGS / "caldwell2011"
    table = ascii.read(str(folder / "table1.dat"), readme=str(folder / "ReadMe"))
    ra = [f"{h}h{m}m{s}s" for h, m, s in zip(table["RAh"], table["RAm"], table["RAs"], strict=True)]
    signs = np.ma.filled(table["DE-"].astype(str), "+")
    dec = [
        f"{sign}{d}d{m}m{s}s"
        for sign, d, m, s in zip(signs, table["DEd"], table["DEm"], table["DEs"], strict=True)
    ]
    return QTable({"coord": SkyCoord(ra, dec, unit=(u.hourangle, u.deg)), "name": table["Name"]})


def _read_rbc():
    rows = []
    path = CATALOGS / "rbc_v5" / "M31_RBC_v5_GC.sup"
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        # RA in decimal hours, Dec in degrees, V x 10, names: "0.54626,,,39.57,,,138,B1/M2,GC,999"
        fields = line.split(",")
        rows.append((float(fields[0]) * 15.0, float(fields[3]), fields[7].strip()))
    ra, dec, names = zip(*rows, strict=True)
    return QTable({"ra": np.array(ra) * u.deg, "dec": np.array(dec) * u.deg, "name": names})


def test_real_catalogues_crossmatch():
    """Caldwell et al. 2011 old clusters against the RBC v5: the same objects."""
    caldwell = _read_caldwell()
    rbc = _read_rbc()
    assert len(caldwell) == 323
    # Pretend the Caldwell clusters are our candidates.
    cands = CandidateCatalog.from_table(
        QTable({"coord": caldwell["coord"], "prob_cluster": np.full(len(caldwell), 0.9)})
    )
    out = cands.crossmatch({"rbc": rbc}, radius=1 * u.arcsec)
    # Nearly every spectroscopically confirmed old cluster is in the RBC.
    assert out["known_rbc"].mean() > 0.9
    # A hand-checked pair: Caldwell's B225-G280 is the RBC's "Bol225/SKHB280".
    row = np.flatnonzero(caldwell["name"] == "B225-G280")[0]
    assert out["name_rbc"][row] == "Bol225/SKHB280"
    # Matching the RBC with itself, de-duplication finds no pairs within 0.5".
    self_cat = CandidateCatalog.from_table(
        QTable({"coord": SkyCoord(rbc["ra"], rbc["dec"]), "prob_cluster": np.full(len(rbc), 0.5)})
    )
    assert len(self_cat.deduplicate(0.5 * u.arcsec)) > 0.98 * len(rbc)
