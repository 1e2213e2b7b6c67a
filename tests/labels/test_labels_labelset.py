"""Tests of LabelSet: construction, selection, balance, merging catalogues, input/output."""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table
from regions import CircleSkyRegion, PolygonSkyRegion

from clusterfinder import LabelSet as LazyLabelSet
from clusterfinder.labels import LabelSet
from clusterfinder.labels.readers import (
    cluster_aliases,
    read_caldwell2011,
    read_cr16,
    read_phat_ap,
    read_quasars_m31,
    read_rbc,
)
from clusterfinder.simulate import CLUSTER_KINDS
from clusterfinder.utils import ClusterFinderWarning


def make_table(n=10, seed=0, positives=3):
    rng = np.random.default_rng(seed)
    table = QTable()
    table["coord"] = SkyCoord((10 + rng.random(n)) * u.deg, (41 + rng.random(n)) * u.deg)
    table["label"] = np.r_[np.ones(positives, int), np.zeros(n - positives, int)]
    table["mag_g"] = np.linspace(18, 23, n)
    table["mag_i"] = np.linspace(17, 22, n)
    table["name"] = [f"obj{k}" for k in range(n)]
    return table


def haversine_deg(ra1, dec1, ra2, dec2):
    """Great-circle separation (deg) by the haversine formula, all pairs, in plain numpy."""
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(a, dtype=float)) for a in (ra1, dec1, ra2, dec2))
    dra = ra2[None, :] - ra1[:, None]
    ddec = dec2[None, :] - dec1[:, None]
    a = np.sin(ddec / 2) ** 2 + np.cos(dec1)[:, None] * np.cos(dec2)[None, :] * np.sin(dra / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(a, 0, 1))))


# -- construction and access -----------------------------------------------------------


def test_basic_access_and_repr():
    labels = LabelSet(make_table())
    assert len(labels) == 10 and labels.n_positive == 3 and labels.n_negative == 7
    assert repr(labels) == "<LabelSet: 10 objects (3 clusters, 7 non-clusters)>"
    assert labels.labels.dtype == np.int8
    assert isinstance(labels.coords, SkyCoord) and len(labels.coords) == 10
    assert isinstance(labels.table, QTable)
    one = labels[0]
    assert isinstance(one, LabelSet) and len(one) == 1 and one.labels.tolist() == [1]
    assert labels[-1].table["name"][0] == "obj9"
    assert len(labels[2:5]) == 3 and len(labels[labels.labels == 0]) == 7
    assert len(labels[[0, 0, 1]]) == 3
    assert list(labels["name"][:2]) == ["obj0", "obj1"]
    assert [len(x) for x in labels] == [1] * 10
    with pytest.raises(IndexError):
        labels[10]
    assert LazyLabelSet is LabelSet


def test_construction_copies_and_accepts_bool_labels():
    table = make_table()
    table["label"] = table["label"].astype(bool)
    labels = LabelSet(table)
    assert labels.labels.tolist() == [1, 1, 1] + [0] * 7
    table["mag_g"][0] = 99
    assert labels.table["mag_g"][0] != 99
    assert len(LabelSet(Table(make_table()))) == 10


def test_bad_input():
    table = make_table()
    with pytest.raises(TypeError, match="QTable or Table"):
        LabelSet({"coord": 1})
    with pytest.raises(ValueError, match=r"missing \['label'\]; found columns"):
        LabelSet(table[["coord", "mag_g"]])
    bad = make_table()
    bad["label"][0] = 2
    with pytest.raises(ValueError, match=r"only 0 .* and 1"):
        LabelSet(bad)
    bad = make_table()
    bad["label"] = ["yes"] * 10
    with pytest.raises(TypeError, match="integers 0 or 1"):
        LabelSet(bad)
    bad = make_table()
    bad["coord"] = np.zeros(10)
    with pytest.raises(TypeError, match="'coord' must be a SkyCoord"):
        LabelSet(bad)


def test_split_column_in_repr():
    table = make_table()
    table["split"] = ["train"] * 6 + ["test"] * 4
    assert repr(LabelSet(table)).endswith("; split test: 4, train: 6>")


# -- from_truth --------------------------------------------------------------------------


def truth_table():
    kinds = ["young_cluster", "old_cluster", "mw_star", "galaxy", "young_cluster", "asterism"]
    truth = QTable()
    truth["coord"] = SkyCoord(np.linspace(10, 10.5, 6) * u.deg, [41.0] * 6 * u.deg)
    truth["x"] = np.arange(6.0)
    truth["y"] = np.arange(6.0)
    truth["kind"] = kinds
    truth["mag_g"] = [20.0, 19.0, 18.0, 22.0, 23.0, 21.0]
    truth["mag_i"] = [19.8, 18.0, 17.0, 21.0, 22.8, 20.0]
    return truth


def test_from_truth():
    labels = LabelSet.from_truth(truth_table(), positive_kinds=("young_cluster",))
    assert labels.labels.tolist() == [1, 0, 0, 0, 1, 0]
    assert set(labels.table["source"]) == {"truth"}
    assert {"x", "y", "kind", "mag_g", "mag_i", "name"} <= set(labels.table.colnames)
    both = LabelSet.from_truth(truth_table(), positive_kinds=CLUSTER_KINDS)
    assert both.labels.tolist() == [1, 1, 0, 0, 1, 0]
    some = LabelSet.from_truth(truth_table(), kinds=["young_cluster", "galaxy"])
    assert list(some.table["kind"]) == ["young_cluster", "galaxy", "young_cluster"]
    assert some.labels.tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="no object of kinds"):
        LabelSet.from_truth(truth_table(), kinds=["hii_region"])
    with pytest.raises(ValueError, match=r"missing \['kind'\]"):
        LabelSet.from_truth(truth_table()[["coord", "mag_g"]])
    with pytest.raises(TypeError):
        LabelSet.from_truth([1, 2])


def test_from_truth_default_is_the_one_list_of_cluster_kinds():
    """Young and old clusters by default, with a warning where that changed a result."""
    import clusterfinder.datasets

    assert clusterfinder.datasets.CLUSTER_KINDS is CLUSTER_KINDS
    with pytest.warns(FutureWarning, match="young and old clusters 1 by default"):
        labels = LabelSet.from_truth(truth_table())
    assert labels.labels.tolist() == [1, 1, 0, 0, 1, 0]
    young_only = truth_table()[[0, 2, 3]]
    assert LabelSet.from_truth(young_only).labels.tolist() == [1, 0, 0]  # no warning


def test_match_radius_still_accepted_with_a_deprecation_warning():
    from astropy.utils.exceptions import AstropyDeprecationWarning

    a = QTable({"coord": SkyCoord([10.0, 10.1] * u.deg, [41.0] * 2 * u.deg), "name": ["A", "B"]})
    b = QTable({"coord": SkyCoord([10.0001] * u.deg, [41.0] * u.deg), "name": ["C"]})
    with pytest.warns(AstropyDeprecationWarning, match='"match_radius" was deprecated'):
        old = LabelSet.from_catalogs({"a": a, "b": b}, match_radius=1 * u.arcsec)
    new = LabelSet.from_catalogs({"a": a, "b": b}, radius=1 * u.arcsec)
    assert len(old) == len(new) == 2
    assert old.table.meta["radius"] == new.table.meta["radius"] == "1.0 arcsec"


# -- select ----------------------------------------------------------------------------------


def test_select_magnitudes():
    labels = LabelSet(make_table())
    mags = np.asarray(labels.table["mag_g"])
    assert len(labels.select(mag_max={"g": 21})) == int((mags <= 21).sum())
    sel = labels.select(mag_max={"g": 21}, mag_min={"i": 18})
    mag_i = np.asarray(labels.table["mag_i"])
    assert len(sel) == int(((mags <= 21) & (mag_i >= 18)).sum())
    assert sel.meta["selection"] == ["mag_g <= 21.0", "mag_i >= 18.0"]
    assert labels.select(label=1).labels.tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="no column 'mag_r'"):
        labels.select(mag_max={"r": 21})
    with pytest.raises(TypeError, match="dicts band"):
        labels.select(mag_max=21)
    with pytest.raises(ValueError, match="label must be 0 or 1"):
        labels.select(label=2)


def test_select_unknown_magnitudes():
    table = make_table()
    table["mag_g"] = np.ma.MaskedArray(table["mag_g"], mask=[True] + [False] * 9)
    labels = LabelSet(table)
    assert len(labels.select(mag_max={"g": 30})) == 9
    assert len(labels.select(mag_max={"g": 30}, keep_unknown=True)) == 10


def test_select_region_against_direct_separations():
    labels = LabelSet(make_table(n=200, seed=3))
    center = SkyCoord(10.5 * u.deg, 41.5 * u.deg)
    inside = labels.select(region=CircleSkyRegion(center, 20 * u.arcmin))
    expected = labels.coords.separation(center) < 20 * u.arcmin
    assert len(inside) == int(expected.sum()) > 10
    # A footprint as SkyCoord vertices, and the same as a PolygonSkyRegion.
    vertices = SkyCoord([10.2, 10.8, 10.8, 10.2] * u.deg, [41.2, 41.2, 41.6, 41.6] * u.deg)
    by_vertices = labels.select(region=vertices)
    by_region = labels.select(region=PolygonSkyRegion(vertices))
    ra, dec = labels.coords.ra.deg, labels.coords.dec.deg
    # Away from the edges (great-circle sides bow slightly), the box test is exact.
    box = (ra > 10.2) & (ra < 10.8) & (dec > 41.2) & (dec < 41.6)
    margin = (np.abs(dec - 41.6) < 0.01) | (np.abs(dec - 41.2) < 0.01)
    got = np.isin(labels.table["name"], by_vertices.table["name"])
    assert np.array_equal(got[~margin], box[~margin])
    assert list(by_vertices.table["name"]) == list(by_region.table["name"])
    with pytest.raises(ValueError, match="at least 3"):
        labels.select(region=vertices[:2])
    with pytest.raises(TypeError, match="SkyRegion"):
        labels.select(region="circle")


# -- balance -----------------------------------------------------------------------------------


def test_balance_strategies():
    labels = LabelSet(make_table(n=40, positives=8))
    under = labels.balance("undersample", ratio=1.0, seed=1)
    assert (under.n_positive, under.n_negative) == (8, 8)
    under2 = labels.balance("undersample", ratio=2.0, seed=1)
    assert (under2.n_positive, under2.n_negative) == (8, 16)
    # Fewer negatives than the ratio asks for: positives are dropped instead.
    under5 = labels.balance("undersample", ratio=8.0, seed=1)
    assert (under5.n_positive, under5.n_negative) == (4, 32)
    over = labels.balance("oversample", ratio=1.0, seed=1)
    assert (over.n_positive, over.n_negative) == (32, 32)
    assert set(over.table["name"]) == set(labels.table["name"])
    weights = labels.balance("weights", ratio=1.0)
    w = np.asarray(weights.table["weight"])
    assert len(weights) == 40 and w.mean() == pytest.approx(1.0)
    assert w[weights.labels == 1].sum() == pytest.approx(w[weights.labels == 0].sum())
    assert weights.meta["balance"] == {"strategy": "weights", "ratio": 1.0}


def test_balance_is_seeded():
    labels = LabelSet(make_table(n=40, positives=8))
    a = labels.balance("undersample", seed=5).table["name"]
    b = labels.balance("undersample", seed=5).table["name"]
    c = labels.balance("undersample", seed=6).table["name"]
    assert list(a) == list(b) and list(a) != list(c)


def test_balance_bad_input():
    labels = LabelSet(make_table())
    with pytest.raises(ValueError, match="strategy must be one of"):
        labels.balance("smote")
    with pytest.raises(ValueError, match="positive number"):
        labels.balance(ratio=0)
    with pytest.raises(TypeError, match="positive number"):
        labels.balance(ratio="1")
    with pytest.raises(ValueError, match="both classes"):
        labels.select(label=1).balance()


# -- from_catalogs ---------------------------------------------------------------------------


def catalog(ra, dec, names, **columns):
    table = QTable({"coord": SkyCoord(np.array(ra) * u.deg, np.array(dec) * u.deg), "name": names})
    for key, value in columns.items():
        table[key] = value
    return table


def test_from_catalogs_merges_and_keeps_provenance():
    one_arcsec = 1 / 3600
    a = catalog([10.0, 10.1], [41.0, 41.0], ["A1", "A2"], mag_g=[19.0, 20.0])
    b = catalog(
        [10.0 + 0.5 * one_arcsec / np.cos(np.radians(41)), 10.3], [41.0, 41.0], ["B1", "B2"]
    )
    neg = catalog([10.5], [41.0], ["N1"], mag_i=[18.0])
    labels = LabelSet.from_catalogs({"A": a, "B": b}, {"N": neg}, radius=1 * u.arcsec)
    t = labels.table
    assert list(t["name"]) == ["A1", "A2", "B2", "N1"]
    assert list(t["names"]) == ["A1; B1", "A2", "B2", "N1"]
    assert list(t["sources"]) == ["A; B", "A", "B", "N"]
    assert list(t["n_merged"]) == [2, 1, 1, 1]
    assert labels.labels.tolist() == [1, 1, 1, 0]
    assert t["mag_g"][0] == pytest.approx(19.0) and np.ma.is_masked(t["mag_g"][2])
    assert t["mag_i"][3] == pytest.approx(18.0)
    assert len(labels.conflicts) == 0
    # The first catalogue's position is kept.
    assert t["coord"][0].separation(a["coord"][0]) < 1e-6 * u.arcsec


@pytest.mark.parametrize(
    ("rule", "n", "label", "resolution"),
    [("drop", 1, None, "dropped"), ("positive", 2, 1, "label 1"), ("negative", 2, 0, "label 0")],
)
def test_from_catalogs_conflicts(rule, n, label, resolution):
    pos = catalog([10.0, 10.2], [41.0, 41.0], ["P1", "P2"])
    neg = catalog([10.0], [41.0001], ["N1"])
    with pytest.warns(ClusterFinderWarning, match="1 object.* both as clusters"):
        labels = LabelSet.from_catalogs([pos], [neg], radius=1 * u.arcsec, conflict=rule)
    assert len(labels) == n
    conflicts = labels.conflicts
    assert len(conflicts) == 1 and conflicts["resolution"][0] == resolution
    assert conflicts["names"][0] == "P1; N1"
    assert (conflicts["n_positive"][0], conflicts["n_negative"][0]) == (1, 1)
    assert labels.meta["n_conflicts"] == 1 and labels.meta["conflict_rule"] == rule
    if label is not None:
        row = labels[labels["names"] == "P1; N1"]
        assert row.labels.tolist() == [label]
        assert row.table["name"][0] == ("P1" if label == 1 else "N1")


def test_from_catalogs_bad_input():
    good = catalog([10.0], [41.0], ["A"])
    with pytest.raises(ValueError, match="no catalogues given"):
        LabelSet.from_catalogs()
    with pytest.raises(ValueError, match=r"positives\[0\] is empty"):
        LabelSet.from_catalogs([good[:0]])
    with pytest.raises(TypeError, match=r"negatives\[0\] must be an astropy Table"):
        LabelSet.from_catalogs([good], [np.zeros(3)])
    with pytest.raises(ValueError, match=r"has no positions: .* found"):
        LabelSet.from_catalogs([QTable({"name": ["a"], "x": [1.0]})])
    bad = Table({"coord": [1.0], "name": ["a"]})
    with pytest.raises(TypeError, match="'coord' must be a SkyCoord"):
        LabelSet.from_catalogs([bad])
    with pytest.raises(ValueError, match="conflict must be one of"):
        LabelSet.from_catalogs([good], conflict="keep")
    with pytest.raises(TypeError, match="angle"):
        LabelSet.from_catalogs([good], radius=1.0)


def test_from_catalogs_accepts_vizier_like_tables():
    raw = Table({"Name": ["x", "y"], "RAdeg": [10.0, 10.1], "DEdeg": [41.0, 41.1]})
    labels = LabelSet.from_catalogs(negatives=[raw])
    assert labels.labels.tolist() == [0, 0] and labels.table["source"][0] == "negatives[0]"


# -- real catalogues ---------------------------------------------------------------------------


def brute_force_matches(coords_a, coords_b, radius_deg):
    separation = haversine_deg(coords_a.ra.deg, coords_a.dec.deg, coords_b.ra.deg, coords_b.dec.deg)
    return separation <= radius_deg


def test_caldwell_rbc_cr16_crossmatch_against_brute_force():
    c11, rbc, cr16 = read_caldwell2011(), read_rbc(), read_cr16()
    radius = 2 * u.arcsec
    labels = LabelSet.from_catalogs({"C11": c11, "RBC": rbc, "CR16": cr16}, radius=radius)
    # Independent count: objects = entries minus links, valid while every group is a
    # chain with no loops; check group sizes by brute force instead.
    r = radius.to_value(u.deg)
    c_r = brute_force_matches(c11["coord"], rbc["coord"], r)
    c_cr = brute_force_matches(c11["coord"], cr16["coord"], r)
    r_cr = brute_force_matches(rbc["coord"], cr16["coord"], r)
    for name, pairs in (("C11", c11), ("RBC", rbc), ("CR16", cr16)):
        self_pairs = brute_force_matches(pairs["coord"], pairs["coord"], r)
        np.fill_diagonal(self_pairs, False)
        assert not self_pairs.any(), f"{name} has internal duplicates within {radius}"
    # Each entry has at most one counterpart in another catalogue at this radius.
    for m in (c_r, c_cr, r_cr):
        assert m.sum(axis=0).max() <= 1 and m.sum(axis=1).max() <= 1
    sources = labels.table["sources"]
    n_all3 = int(np.sum(sources == "C11; RBC; CR16"))
    n_c_r = int(np.sum(sources == "C11; RBC"))
    n_c_cr = int(np.sum(sources == "C11; CR16"))
    n_r_cr = int(np.sum(sources == "RBC; CR16"))
    # Triples: C11 entries matched in both others whose partners match each other.
    i_c, j_r = np.nonzero(c_r)
    triple = np.array([c_cr[i].any() and r_cr[j].any() for i, j in zip(i_c, j_r, strict=True)])
    assert n_all3 == int(triple.sum())
    assert n_c_r == int(c_r.sum()) - n_all3
    assert n_c_cr == int(c_cr.sum()) - n_all3
    assert n_r_cr == int(r_cr.sum()) - n_all3
    assert len(labels) == len(c11) + len(rbc) + len(cr16) - (
        int(c_r.sum()) + int(c_cr.sum()) + int(r_cr.sum()) - n_all3
    )
    assert labels.n_negative == 0
    # Named checks: B225 = G280 in all three, with its RBC V magnitude.
    row = labels[labels["name"] == "B225-G280"]
    assert row.table["sources"][0] == "C11; RBC; CR16"
    assert row.table["names"][0] == "B225-G280; Bol225/SKHB280"
    assert row.table["mag_v"][0] == pytest.approx(14.2)
    # A PAndAS halo cluster is only in CR16; B001 is in all three under two spellings.
    assert labels[labels["name"] == "PAndAS-01"].table["sources"][0] == "CR16"
    b001 = labels[labels["name"] == "B001-G039"].table
    assert b001["sources"][0] == "C11; RBC; CR16" and "Bol1/SKHB39" in b001["names"][0]
    assert labels.meta["catalogs"]["RBC"] == {
        "label": 1,
        "rows": 625,
        "reference": rbc.meta["reference"],
        "bibcode": rbc.meta["bibcode"],
        "vizier": "V/143",
    }
    # Merged names agree for most pairs (different naming schemes aside).
    merged = labels.table[labels.table["n_merged"] > 1]
    agree = [
        bool(set.intersection(*(cluster_aliases(n) for n in names.split("; "))))
        for names in merged["names"]
        if "; " in names
    ]
    assert np.mean(agree) > 0.9


def test_phat_clusters_against_quasars_have_no_conflicts():
    phat, qso = read_phat_ap(), read_quasars_m31()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels = LabelSet.from_catalogs([phat], [qso], radius=1 * u.arcsec)
    assert (labels.n_positive, labels.n_negative) == (len(phat), len(qso))
    assert len(labels.select(mag_max={"g": 21})) == int(
        np.sum(np.ma.filled(phat["mag_g"], np.inf) <= 21)
        + np.sum(np.ma.filled(qso["mag_g"], np.inf) <= 21)
    )


# -- input/output ---------------------------------------------------------------------------


def test_write_read_roundtrip(tmp_path):
    labels = LabelSet.from_catalogs([read_caldwell2011()], [read_quasars_m31()])
    path = tmp_path / "labels.ecsv"
    labels.write(path)
    back = LabelSet.read(path)
    assert len(back) == len(labels) and back.labels.tolist() == labels.labels.tolist()
    assert back.coords.separation(labels.coords).max() < 1e-6 * u.arcsec
    assert list(back.table["names"]) == list(labels.table["names"])
    assert back.meta["conflict_rule"] == "drop"
    with pytest.raises(OSError, match="exists"):
        labels.write(path)
    labels[:3].write(path, overwrite=True)
    assert len(LabelSet.read(path)) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["labels.ecsv"]  # no temporary left
    with pytest.raises(OSError, match="no such file"):
        LabelSet.read(tmp_path / "none.ecsv")


def test_concatenate():
    real = LabelSet(make_table(n=4, positives=2))
    simulated = LabelSet.from_truth(truth_table(), positive_kinds=("young_cluster",))
    both = LabelSet.concatenate([real, simulated])
    assert len(both) == 10 and both.n_positive == 4
    assert np.ma.is_masked(both.table["kind"][0]) and both.table["kind"][4] == "young_cluster"
    with pytest.raises(ValueError, match="empty"):
        LabelSet.concatenate([])
    with pytest.raises(TypeError, match=r"items\[1\] must be a LabelSet"):
        LabelSet.concatenate([real, real.table])
