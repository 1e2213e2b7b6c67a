"""Tests of the decision files: catalogue id, reading, applying and merging."""

import json

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from clusterfinder.inspect import (
    Decisions,
    apply_decisions,
    candidate_ids,
    catalog_id,
    fleiss_kappa,
    merge_decisions,
    read_decisions,
    write_decisions,
)


def record(catalog, inspector="ana", **labels):
    return {
        "format": "clusterfinder-inspection",
        "version": 1,
        "catalog_id": catalog_id(catalog),
        "inspector": inspector,
        "exported": "2026-11-25T21:00:00Z",
        "decisions": {
            key: {"decision": value, "time": "2026-11-25T20:59:00Z"}
            for key, value in labels.items()
        },
    }


def test_candidate_ids(catalog):
    assert candidate_ids(catalog)[:2] == ["C0000", "C0001"]
    table = catalog.copy()
    table["id"] = np.arange(100, 100 + len(table))
    assert candidate_ids(table)[0] == "100"  # "id" wins over "name"
    del table["id"], table["name"]
    assert candidate_ids(table)[-1] == str(len(table) - 1)
    table["name"] = ["same"] * len(table)
    with pytest.raises(ValueError, match="unique"):
        candidate_ids(table)


def test_catalog_id_survives_a_file_round_trip(catalog, tmp_path):
    path = tmp_path / "c.ecsv"
    catalog.write(path)
    assert catalog_id(QTable.read(path)) == catalog_id(catalog)


def test_catalog_id_changes_with_the_candidates(catalog):
    reference = catalog_id(catalog)
    moved = catalog.copy()
    moved["coord"][3] = moved["coord"][3].spherical_offsets_by(1 * u.arcsec, 0 * u.arcsec)
    renamed = catalog.copy()
    renamed["name"][0] = "other"
    ids = {reference, catalog_id(moved), catalog_id(renamed), catalog_id(catalog[:-1])}
    assert len(ids) == 4
    with pytest.raises(ValueError, match="coord"):
        catalog_id(QTable({"name": ["a"]}))


def test_read_decisions_validates(catalog, tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(record(catalog, C0001="cluster", C0003="unsure")))
    decisions = read_decisions(path, catalog)
    assert decisions.inspector == "ana"
    assert decisions.labels() == {"C0001": "cluster", "C0003": "unsure"}

    other = catalog.copy()
    other["coord"] = SkyCoord(other["coord"].ra + 1 * u.deg, other["coord"].dec)
    with pytest.raises(ValueError, match="catalogue id mismatch"):
        read_decisions(path, other)
    with pytest.raises(ValueError, match="not in the catalogue"):
        read_decisions(record(catalog, XXX="cluster"), catalog)
    with pytest.raises(ValueError, match="must be one of"):
        read_decisions(record(catalog, C0001="maybe"), catalog)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_decisions(path)
    with pytest.raises(ValueError, match="not a clusterfinder inspection"):
        read_decisions({"decisions": {}})
    with pytest.raises(TypeError, match="path"):
        read_decisions(42)


def test_apply_decisions(catalog):
    out = apply_decisions(catalog, record(catalog, C0000="not_cluster", C0002="cluster"))
    assert out["inspection"].tolist()[:4] == ["not_cluster", "", "cluster", ""]
    assert "inspection" not in catalog.colnames  # the input is left alone
    assert type(out) is type(catalog)


def test_apply_decisions_keeps_candidate_catalog(catalog):
    from clusterfinder.catalog import CandidateCatalog

    cands = CandidateCatalog.from_table(catalog)
    out = apply_decisions(cands, record(cands, C0005="unsure"))
    assert isinstance(out, CandidateCatalog)
    assert out["inspection"][5] == "unsure"


def test_write_decisions_is_atomic(tmp_path):
    decisions = Decisions("a" * 64, "bob", {"1": {"decision": "cluster", "time": "t"}})
    path = write_decisions(decisions, tmp_path / "d.json", n_candidates=10)
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]
    assert json.loads(path.read_text())["n_candidates"] == 10
    assert read_decisions(path) == Decisions(decisions.catalog_id, "bob", decisions.decisions)


def test_fleiss_kappa():
    # Fleiss (1971) example as tabulated on Wikipedia: kappa = 0.210
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(counts) == pytest.approx(0.20993, abs=1e-4)
    assert fleiss_kappa([[3, 0], [0, 3]]) == pytest.approx(1.0)
    assert np.isnan(fleiss_kappa([[3, 0], [3, 0]]))
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([[3, 0], [1, 0]])


def test_merge_decisions(catalog, tmp_path):
    ana = record(catalog, "ana", C0000="cluster", C0001="cluster", C0002="unsure")
    bob = record(catalog, "bob", C0000="cluster", C0001="not_cluster")
    cat = record(catalog, "cat", C0000="cluster", C0001="not_cluster", C0002="not_cluster")
    path = tmp_path / "bob.json"
    path.write_text(json.dumps(bob))
    merged = merge_decisions([ana, path, cat], catalog)
    assert len(merged) == len(catalog)
    assert merged["id"][0] == "C0000"
    row = merged[1]
    assert (row["votes_cluster"], row["votes_not_cluster"], row["n_votes"]) == (1, 2, 3)
    assert row["majority"] == "not_cluster"
    assert row["agreement"] == pytest.approx(2 / 3)
    assert merged["majority"][2] == ""  # tied: unsure vs not_cluster
    assert merged["n_votes"][3] == 0 and np.isnan(merged["agreement"][3])
    assert merged.meta["inspectors"] == ["ana", "bob", "cat"]
    assert merged.meta["n_complete"] == 2
    assert merged.meta["fraction_unanimous"] == 0.5
    assert merged.meta["fleiss_kappa"] == pytest.approx(fleiss_kappa([[3, 0, 0], [1, 2, 0]]))

    # without the catalogue: only decided candidates, sorted by id
    assert merge_decisions([ana, bob])["id"].tolist() == ["C0000", "C0001", "C0002"]


def test_merge_refuses_mixed_catalogues(catalog):
    ana = record(catalog, "ana", C0000="cluster")
    bob = record(catalog[:5], "bob", C0000="cluster")
    with pytest.raises(ValueError, match="catalogue id mismatch"):
        merge_decisions([ana, bob])
    with pytest.raises(TypeError, match="sequence"):
        merge_decisions(ana)
    with pytest.raises(ValueError, match="at least one"):
        merge_decisions([])
