"""Tests of the catalogue readers on the real bundled files, and of their online parsing."""

from collections import OrderedDict
from typing import ClassVar

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import MaskedColumn, Table
from astroquery.utils.commons import TableList

from clusterfinder.labels import vizier
from clusterfinder.labels.readers import (
    PHAT_BANDS,
    cluster_aliases,
    read_caldwell2011,
    read_cr16,
    read_phat_ap,
    read_quasars_m31,
    read_rbc,
    read_wang2022,
    read_zhang2025,
)
from clusterfinder.labels.readers._common import bundled_path

PHAT_FILE = bundled_path("phat_ap_johnson2015", "table2_pages.dat")


# -- PHAT Andromeda Project ----------------------------------------------------------


def test_phat_counts_match_the_transcription_readme():
    phat = read_phat_ap()
    assert len(phat) == 1477
    # README: measured / upper limit / blank per band.
    expected = {
        "f275w": (943, 478, 56),
        "f336w": (1333, 89, 55),
        "f475w": (1453, 17, 7),
        "f814w": (1045, 426, 6),
        "f110w": (674, 682, 121),
        "f160w": (570, 791, 116),
    }
    for band, (measured, limits, blank) in expected.items():
        mag = phat[f"mag_{band}"]
        assert int((~mag.mask).sum()) == measured, band
        assert int(phat[f"uplim_{band}"].sum()) == limits, band
        assert int(mag.mask.sum()) == limits + blank, band
        # A measured magnitude is a real number in a plausible range.
        values = mag.compressed()
        assert np.all((values > 10) & (values < 30)), band
    flags, counts = np.unique(np.asarray(phat["flag"]), return_counts=True)
    assert dict(zip(flags.tolist(), counts.tolist(), strict=True)) == {"": 1416, "B": 26, "E": 35}


def test_phat_columns_units_and_first_rows():
    phat = read_phat_ap()
    assert isinstance(phat["coord"], SkyCoord)
    assert phat["reff"].unit == u.arcsec and phat["aperture_radius"].unit == u.arcsec
    assert phat.meta["vizier"] == "J/ApJ/802/127"
    assert phat.meta["bibcode"] == "2015ApJ...802..127J"
    first = phat[0]
    assert first["name"] == "1" and first["alt_name"] == "B374-G306"
    assert first["coord"].ra.deg == pytest.approx(11.435516)
    assert first["coord"].dec.deg == pytest.approx(41.698562)
    assert first["reff"].unmasked.to_value(u.arcsec) == pytest.approx(0.60)
    assert first["cluster_fraction"] == pytest.approx(1.0)
    assert first["mag_f475w"] == pytest.approx(18.77)
    assert first["magerr_f475w"] == pytest.approx(0.01)
    assert first["mag_f160w"] == pytest.approx(16.59)
    # Row 2 has upper limits in F110W and F160W: masked, flagged, no error.
    second = phat[1]
    assert second["uplim_f110w"] and second["uplim_f160w"] and not second["uplim_f814w"]
    assert np.ma.is_masked(second["mag_f110w"]) and np.ma.is_masked(second["magerr_f160w"])
    assert second["cluster_fraction"] == pytest.approx(0.9894)
    # APIDs strictly increase, positions lie in the PHAT footprint.
    apid = np.array(phat["name"], dtype=int)
    assert np.all(np.diff(apid) > 0)
    assert np.all((phat["coord"].ra.deg > 10.5) & (phat["coord"].ra.deg < 12.0))
    assert np.all((phat["coord"].dec.deg > 41.0) & (phat["coord"].dec.deg < 42.5))
    # Short rows (no Reff, no photometry): masked, not zero.
    short = phat[phat["name"] == "54266"][0]
    assert np.ma.is_masked(short["reff"]) and short["flag"] == "B"
    assert all(np.ma.is_masked(short[f"mag_{band}"]) for band in PHAT_BANDS)
    # The approximate MegaCam magnitudes follow the stated offsets.
    assert first["mag_g"] == pytest.approx(18.77 - 0.10)
    assert first["mag_i"] == pytest.approx(17.69 + 0.42)


def test_phat_reff_distribution_is_marginally_resolved():
    reff = read_phat_ap()["reff"]
    median = np.median(reff.unmasked[~reff.mask].to_value(u.arcsec))
    # DESIGN: Reff mostly 2-3 pc = 0.5-0.8 arcsec at M31.
    assert 0.4 < median < 1.0


def test_phat_reads_a_given_file(tmp_path):
    lines = PHAT_FILE.read_text().splitlines()[:5]
    path = tmp_path / "few.dat"
    path.write_text("\n".join(lines) + "\n")
    phat = read_phat_ap(path)
    assert len(phat) == 5 and phat.meta["origin"] == str(path)


def test_phat_bad_input(tmp_path):
    with pytest.raises(OSError, match="no such file"):
        read_phat_ap(tmp_path / "missing.dat")
    with pytest.raises(TypeError, match="file path"):
        read_phat_ap(3)
    bad = tmp_path / "bad.dat"
    bad.write_text("  abc 11.4 41.7\n")
    with pytest.raises(ValueError, match="line 1"):
        read_phat_ap(bad)
    empty = tmp_path / "empty.dat"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="no catalogue rows"):
        read_phat_ap(empty)
    with pytest.raises(ValueError, match="not both"):
        read_phat_ap(PHAT_FILE, online=True)


# -- Caldwell 2011, CR16, RBC, quasars ------------------------------------------------------


def test_caldwell2011_tables():
    both = read_caldwell2011()
    old = read_caldwell2011(which="old")
    young = read_caldwell2011(which="young")
    assert (len(old), len(young), len(both)) == (323, 37, 360)
    assert set(old["population"]) == {"old"} and set(young["population"]) == {"young"}
    row = old[old["name"] == "B225-G280"][0]
    # 0 44 29.55 +41 21 35.8
    assert row["coord"].ra.deg == pytest.approx(15 * (44 / 60 + 29.55 / 3600))
    assert row["coord"].dec.deg == pytest.approx(41 + 21 / 60 + 35.8 / 3600)
    assert row["velocity"] == pytest.approx(-158.6) and row["feh"] == pytest.approx(-0.5)
    assert row["age"] == pytest.approx(10.7)
    # Blank fields are masked, not zero.
    bh09 = young[young["name"] == "BH09"][0]
    assert np.ma.is_masked(bh09["ebv"]) and np.ma.is_masked(bh09["age"])
    with pytest.raises(ValueError, match="which"):
        read_caldwell2011(which="all")


def test_cr16():
    cr16 = read_cr16()
    assert len(cr16) == 441
    assert cr16.meta["bibcode"] == "2016ApJ...824...42C"
    row = cr16[cr16["name"] == "PAndAS-01"][0]
    assert row["coord"].ra.deg == pytest.approx(15 * (23 + 57 / 60 + 12.0 / 3600))
    assert row["r_proj"] == pytest.approx(117.9)


def test_cr16_projected_radius_agrees_with_galaxy_geometry():
    """CR16's own projected radii against ours: an independent check of coordinates."""
    from clusterfinder.galaxy import M31

    cr16 = read_cr16()
    ours = M31.projected_radius(cr16["coord"]).to_value(u.kpc)
    theirs = np.asarray(cr16["r_proj"])
    # Same radii up to the distance adopted (CR16 used a slightly different one).
    ratio = np.median(theirs / ours)
    assert 0.9 < ratio < 1.1
    assert np.allclose(theirs, ratio * ours, rtol=0.03, atol=0.2)


def test_rbc():
    rbc = read_rbc()
    assert len(rbc) == 625
    assert set(rbc["type"]) == {"GC"}
    row = rbc[rbc["name"] == "Bol225/SKHB280"][0]
    # RA in decimal hours: 0.741544447 h.
    assert row["coord"].ra.deg == pytest.approx(0.741544447 * 15)
    assert row["coord"].dec.deg == pytest.approx(41.3597972)
    assert row["mag_v"] == pytest.approx(14.2)
    # Two objects have no magnitude.
    assert int(rbc["mag_v"].mask.sum()) == 2
    # Same cluster as Caldwell's B225-G280, within 1 arcsec.
    c11 = read_caldwell2011(which="old")
    b225 = c11[c11["name"] == "B225-G280"][0]["coord"]
    assert b225.separation(row["coord"]) < 1 * u.arcsec


def test_rbc_parses_sexagesimal_and_signs(tmp_path):
    path = tmp_path / "x.sup"
    path.write_text("; comment\n1,30,0,-10,30,0,155,A1/B2,GC,999\n\n0.5,,,20.5,,,,C3,GC,999\n")
    table = read_rbc(path)
    assert table["coord"][0].ra.deg == pytest.approx(22.5)
    assert table["coord"][0].dec.deg == pytest.approx(-10.5)
    assert table["mag_v"][0] == pytest.approx(15.5) and np.ma.is_masked(table["mag_v"][1])
    bad = tmp_path / "bad.sup"
    bad.write_text("1,2,3\n")
    with pytest.raises(ValueError, match="8 comma-separated"):
        read_rbc(bad)


def test_cluster_aliases():
    assert cluster_aliases("B225-G280") == cluster_aliases("Bol225/SKHB280") == {"B225", "G280"}
    assert cluster_aliases("B001-G039") == {"B1", "G39"}
    assert cluster_aliases("BH04") == cluster_aliases("[BH2001b]04")
    assert cluster_aliases("NB18") == cluster_aliases("NBol18")
    with pytest.raises(TypeError):
        cluster_aliases(5)


def test_quasars():
    qso = read_quasars_m31()
    assert len(qso) == 125
    assert {"mag_g", "mag_i", "magerr_i", "gaia_dr3_id", "zQ"} <= set(qso.colnames)
    assert np.all(qso["coord"].separation(SkyCoord(10.68, 41.27, unit="deg")) < 5 * u.deg)


def test_candidate_catalogues_need_a_source():
    with pytest.raises(ValueError, match="no copy of J/ApJS/278/16"):
        read_zhang2025()
    with pytest.raises(ValueError, match="no copy of J/A\\+A/658/A51"):
        read_wang2022()


def test_candidate_catalogue_from_a_saved_file(tmp_path):
    table = Table(
        {
            "Name": ["PA-1", "PA-2"],
            "RAdeg": [10.1, 10.2] * u.deg,
            "DEdeg": [41.1, 41.2] * u.deg,
            "gmag": [20.5, 21.5] * u.mag,
            "e_gmag": [0.02, 0.03] * u.mag,
            "imag": [19.9, 20.8] * u.mag,
            "Prob": [0.9, 0.7],
        }
    )
    path = tmp_path / "zhang.fits"
    table.write(path)
    out = read_zhang2025(path)
    assert list(out["name"]) == ["PA-1", "PA-2"]
    assert out["mag_g"][1] == pytest.approx(21.5) and out["magerr_g"][0] == pytest.approx(0.02)
    assert out["mag_i"][0] == pytest.approx(19.9) and "Prob" in out.colnames
    assert out["coord"][1].dec.deg == pytest.approx(41.2)


# -- online paths, offline: VizieR answers built like VizieR's ---------------------------


class FakeVizier:
    """Stands in for astroquery's Vizier: records its settings, returns canned tables."""

    answers: ClassVar[dict] = {}
    calls: ClassVar[list] = []

    def __init__(self, *, row_limit, columns):
        FakeVizier.calls.append({"row_limit": row_limit, "columns": columns})

    def get_catalogs(self, catalog):
        return TableList(OrderedDict(FakeVizier.answers[catalog]))


@pytest.fixture
def fake_vizier(monkeypatch):
    import astroquery.vizier

    FakeVizier.answers = {}
    FakeVizier.calls = []
    monkeypatch.setattr(astroquery.vizier, "Vizier", FakeVizier)
    return FakeVizier


def test_vizier_query_settings_and_table_choice(fake_vizier):
    one = Table({"a": [1]})
    fake_vizier.answers["J/X/1"] = [("J/X/1/table1", one), ("J/X/1/table2", Table({"b": [2]}))]
    assert vizier.get_vizier_table("J/X/1", table="table2").colnames == ["b"]
    assert fake_vizier.calls[-1] == {"row_limit": -1, "columns": ["**"]}
    with pytest.raises(ValueError, match="several tables"):
        vizier.get_vizier_table("J/X/1")
    with pytest.raises(ValueError, match="no table 'table9'"):
        vizier.get_vizier_table("J/X/1", table="table9")
    fake_vizier.answers["J/X/2"] = []
    with pytest.raises(ValueError, match="no table"):
        vizier.get_vizier_table("J/X/2")
    with pytest.raises(OSError, match="could not fetch"):
        vizier.get_vizier_table("J/unknown")  # KeyError inside the fake -> OSError


def test_phat_online_parsing(fake_vizier):
    n = 3
    table = Table()
    table["APID"] = [1, 2, 5]
    table["RAdeg"] = [11.435516, 11.366514, 10.991636] * u.deg
    table["DEdeg"] = [41.698562, 41.701013, 41.359328] * u.deg
    table["Rap"] = [2.19, 1.86, 1.46] * u.arcsec
    table["Reff"] = MaskedColumn([0.60, 0.61, 0.0], mask=[False, False, True], unit=u.arcsec)
    table["fcw"] = [1.0, 0.9894, 1.0]
    for k, band in enumerate(PHAT_BANDS):
        upper = band.upper()
        table[f"l_{upper}"] = MaskedColumn(["", ">", ""], mask=[True, False, True])
        table[upper] = MaskedColumn([18.0 + k, 19.0, 20.0], unit=u.mag)
        table[f"e_{upper}"] = MaskedColumn([0.01, 0.0, 0.03], mask=[False, True, False])
    table["OName"] = ["B374-G306", "M085", ""]
    fake_vizier.answers["J/ApJ/802/127"] = [("J/ApJ/802/127/table2", table)]
    phat = read_phat_ap(online=True)
    assert len(phat) == n and list(phat["name"]) == ["1", "2", "5"]
    assert phat.meta["origin"] == "VizieR J/ApJ/802/127/table2"
    assert phat["coord"][2].ra.deg == pytest.approx(10.991636)
    assert phat["mag_f475w"][0] == pytest.approx(20.0)
    assert phat["uplim_f475w"].tolist() == [False, True, False]
    assert np.ma.is_masked(phat["mag_f475w"][1])
    assert np.ma.is_masked(phat["reff"][2]) and phat["reff"].unit == u.arcsec
    assert phat["alt_name"][0] == "B374-G306"
    assert phat["mag_g"][0] == pytest.approx(19.9)


def test_caldwell_online_parsing(fake_vizier):
    def table(names, ra, dec):
        t = Table()
        t["Name"] = names
        t["RAJ2000"] = ra
        t["DEJ2000"] = dec
        t["E(B-V)"] = MaskedColumn([0.12] * len(names), unit=u.mag)
        t["Vel"] = [-158.6] * len(names) * u.km / u.s
        t["Age"] = MaskedColumn([10.7] * len(names), mask=[False] * (len(names) - 1) + [True])
        return t

    old = table(
        ["B225-G280", "B001-G039"], ["00 44 29.55", "00 39 32.65"], ["+41 21 35.8", "+40 31 14.6"]
    )
    young = table(["B305-D024"], ["00 38 58.85"], ["+40 16 32.1"])
    fake_vizier.answers["J/AJ/141/61"] = [
        ("J/AJ/141/61/table1", old),
        ("J/AJ/141/61/table2", young),
    ]
    c11 = read_caldwell2011(online=True)
    assert len(c11) == 3 and list(c11["population"]) == ["old", "old", "young"]
    local = read_caldwell2011(which="old")
    b225 = local[local["name"] == "B225-G280"][0]["coord"]
    assert c11["coord"][0].separation(b225) < 0.01 * u.arcsec
    assert c11["velocity"][0] == pytest.approx(-158.6) and np.ma.is_masked(c11["age"][1])


def test_rbc_online_parsing(fake_vizier):
    table = Table()
    table["Name"] = ["B225", "B001"]
    table["_RAJ2000"] = [11.1231, 9.8860] * u.deg
    table["_DEJ2000"] = [41.3600, 40.5207] * u.deg
    table["Vmag"] = MaskedColumn([14.15, 0.0], mask=[False, True], unit=u.mag)
    table["f"] = [1, 1]
    fake_vizier.answers["V/143"] = [("V/143/m31_rbc", table)]
    rbc = read_rbc(online=True)
    assert rbc["mag_v"][0] == pytest.approx(14.15) and np.ma.is_masked(rbc["mag_v"][1])
    assert "f" in rbc.colnames and rbc["coord"][1].dec.deg == pytest.approx(40.5207)


def test_zhang_and_wang_online_parsing(fake_vizier):
    table = Table()
    table["ID"] = [101, 102]
    table["RAJ2000"] = ["00 42 44.35", "00 43 00.00"]
    table["DEJ2000"] = ["+41 16 08.6", "+41 20 00.0"]
    table["gmag"] = [20.1, 20.9] * u.mag
    table["imag"] = [19.2, 20.0] * u.mag
    table["P"] = [0.95, 0.71]
    fake_vizier.answers["J/ApJS/278/16"] = [("J/ApJS/278/16/table1", table)]
    fake_vizier.answers["J/A+A/658/A51"] = [("J/A+A/658/A51/table3", table)]
    for reader, bibcode in (
        (read_zhang2025, "2025ApJS..278...16Z"),
        (read_wang2022, "2022A&A...658A..51W"),
    ):
        out = reader(online=True)
        assert out.meta["bibcode"] == bibcode
        assert list(out["name"]) == ["101", "102"]
        # Sexagesimal RA strings are hours: M31's centre is at RA 10.68 deg.
        assert out["coord"][0].ra.deg == pytest.approx(10.684792, abs=1e-5)
        assert out["mag_i"][1] == pytest.approx(20.0) and "P" in out.colnames


def test_missing_columns_are_named(fake_vizier):
    table = Table({"Name": ["a"], "foo": [1.0]})
    fake_vizier.answers["J/ApJS/278/16"] = [("J/ApJS/278/16/table1", table)]
    with pytest.raises(ValueError, match=r"right ascension column: expected one of .* found"):
        read_zhang2025(online=True)


# -- real VizieR ----------------------------------------------------------------------------


@pytest.mark.remote_data
def test_phat_online_matches_local_copy():
    online = read_phat_ap(online=True)
    assert len(online) == 2753
    local = read_phat_ap()
    common = np.isin(online["name"], local["name"])
    assert common.sum() == len(local)


@pytest.mark.remote_data
@pytest.mark.parametrize("reader", [read_caldwell2011, read_rbc, read_zhang2025, read_wang2022])
def test_online_readers(reader):
    table = reader(online=True)
    assert len(table) > 10 and isinstance(table["coord"], SkyCoord)
