"""Decisions of visual inspection: identify the catalogue, read, apply and merge them.

An inspection page exports a JSON file holding the id of the catalogue it was made
from, the inspector's name and one decision per inspected candidate::

    {"format": "clusterfinder-inspection", "version": 1,
     "catalog_id": "<sha256>", "inspector": "ana", "exported": "2026-...Z",
     "n_candidates": 5000,
     "decisions": {"<candidate id>": {"decision": "cluster", "time": "2026-...Z"}}}

The catalogue id is the SHA-256 digest of the candidates' ids and coordinates, so a
file made on one catalogue is refused on another.
"""

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import Table

from ..crossmatch import check_finite_coords
from ..utils.files import atomic_write_text

__all__ = [
    "DECISIONS",
    "FORMAT",
    "Decisions",
    "apply_decisions",
    "candidate_ids",
    "catalog_id",
    "fleiss_kappa",
    "merge_decisions",
    "read_decisions",
    "write_decisions",
]

#: The decisions an inspector can make, in the order of the vote columns.
DECISIONS = ("cluster", "not_cluster", "unsure")

#: The ``format`` field of a decision file.
FORMAT = "clusterfinder-inspection"


def candidate_ids(catalog):
    """Return the id of each candidate as a string: ``id``, else ``name``, else the row.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
        The candidates.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from astropy.table import QTable
    >>> from clusterfinder.inspect import candidate_ids
    >>> candidate_ids(QTable({"name": ["A", "B"]})), candidate_ids(QTable({"x": [1, 2]}))
    (['A', 'B'], ['0', '1'])
    """
    if not isinstance(catalog, Table):
        raise TypeError(f"catalog must be an astropy Table; got {type(catalog).__name__}")
    for column in ("id", "name"):
        if column in catalog.colnames:
            ids = [str(value).strip() for value in np.asarray(catalog[column]).tolist()]
            if len(set(ids)) != len(ids):
                raise ValueError(f"catalog column {column!r} must hold unique candidate ids")
            if any(not value for value in ids):
                raise ValueError(f"catalog column {column!r} holds an empty candidate id")
            return ids
    return [str(index) for index in range(len(catalog))]


def _coords(catalog):
    if "coord" not in catalog.colnames or not isinstance(catalog["coord"], SkyCoord):
        raise ValueError("catalog must have a SkyCoord column 'coord'")
    coords = catalog["coord"].icrs
    check_finite_coords(coords, "the inspected catalogue (column 'coord')", rows="candidates")
    return coords


def catalog_id(catalog):
    """Return the catalogue id: SHA-256 of the candidates' ids and ICRS coordinates.

    Coordinates enter rounded to 1e-7 deg (0.36 mas), so the id survives a round
    trip through any table format but changes when a candidate is added, removed,
    moved or renamed.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
        The candidates, with a `~astropy.coordinates.SkyCoord` column ``coord``.

    Returns
    -------
    str
        64 hexadecimal digits.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder.inspect import catalog_id
    >>> table = QTable({"coord": SkyCoord([10.68, 10.70] * u.deg, [41.27, 41.30] * u.deg)})
    >>> len(catalog_id(table)), catalog_id(table) == catalog_id(table[::-1])
    (64, False)
    """
    ids = candidate_ids(catalog)
    coords = _coords(catalog)
    ra = np.atleast_1d(coords.ra.deg)
    dec = np.atleast_1d(coords.dec.deg)
    lines = [f"{key}\t{r:.7f}\t{d:+.7f}" for key, r, d in zip(ids, ra, dec, strict=True)]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class Decisions:
    """One inspector's decisions on one catalogue.

    Attributes
    ----------
    catalog_id : str
        The `catalog_id` of the catalogue inspected.
    inspector : str
        The inspector's name (may be empty).
    decisions : dict
        Candidate id -> ``{"decision": ..., "time": ...}``, the decision one of
        `DECISIONS` and the time an ISO 8601 string.
    exported : str
        When the file was written (ISO 8601), or empty.

    Examples
    --------
    >>> from clusterfinder.inspect import Decisions
    >>> d = Decisions("abc", "ana", {"7": {"decision": "cluster", "time": ""}})
    >>> d.labels()
    {'7': 'cluster'}
    """

    catalog_id: str
    inspector: str
    decisions: dict
    exported: str = ""

    def labels(self):
        """Return candidate id -> decision.

        Examples
        --------
        >>> from clusterfinder.inspect import Decisions
        >>> Decisions("abc", "", {"3": {"decision": "not_cluster", "time": ""}}).labels()
        {'3': 'not_cluster'}
        """
        return {key: value["decision"] for key, value in self.decisions.items()}

    def to_json(self, *, n_candidates=None):
        """Return the decisions as a JSON-compatible dict in the export format.

        Parameters
        ----------
        n_candidates : int, optional
            Number of candidates on the page, recorded so that readers can tell how
            many are still undecided.

        Returns
        -------
        dict
            ``format``, ``version``, ``catalog_id``, ``inspector``, ``exported``,
            ``decisions`` (and ``n_candidates`` when given): what
            `write_decisions` writes and `read_decisions` reads.

        Examples
        --------
        >>> from clusterfinder.inspect import Decisions
        >>> d = Decisions("abc", "ana", {"7": {"decision": "cluster", "time": ""}})
        >>> record = d.to_json(n_candidates=10)
        >>> record["inspector"], record["n_candidates"], record["decisions"]["7"]["decision"]
        ('ana', 10, 'cluster')
        """
        record = {
            "format": FORMAT,
            "version": 1,
            "catalog_id": self.catalog_id,
            "inspector": self.inspector,
            "exported": self.exported,
            "decisions": self.decisions,
        }
        if n_candidates is not None:
            record["n_candidates"] = int(n_candidates)
        return record


def _validate(record, source):
    """Check the structure of a decision record and return it as `Decisions`."""
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{source} is not a clusterfinder inspection decision file")
    if record.get("version") != 1:
        raise ValueError(f"{source} has unsupported version {record.get('version')!r}")
    cat_id = record.get("catalog_id")
    if not isinstance(cat_id, str) or len(cat_id) != 64:
        raise ValueError(f"{source} has no valid catalog_id")
    entries = record.get("decisions")
    if not isinstance(entries, dict):
        raise ValueError(f"{source}: 'decisions' must be an object keyed by candidate id")
    clean = {}
    for key, value in entries.items():
        if isinstance(value, str):  # tolerate the short form {"id": "cluster"}
            value = {"decision": value, "time": ""}
        if not isinstance(value, dict) or value.get("decision") not in DECISIONS:
            raise ValueError(
                f"{source}: decision for candidate {key!r} must be one of {DECISIONS}; "
                f"got {value!r}"
            )
        clean[str(key)] = {"decision": value["decision"], "time": str(value.get("time", ""))}
    return Decisions(
        cat_id, str(record.get("inspector") or ""), clean, str(record.get("exported") or "")
    )


def _load(item):
    if isinstance(item, Decisions):
        return item
    if isinstance(item, dict):
        return _validate(item, "decision record")
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder; give a decision file (.json)")
        if not path.exists():
            raise FileNotFoundError(f"no such decision file: {path}")
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ValueError(
                f"{path} is not a decision file: it is not text (a binary file?); expected the "
                "JSON file exported by an inspection page"
            ) from None
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{path} is not a decision file: it is not valid JSON ({exc}; a truncated or "
                "foreign file?); expected the JSON file exported by an inspection page"
            ) from None
        return _validate(record, str(path))
    raise TypeError(
        f"decisions must be a path, a dict or a Decisions object; got {type(item).__name__}"
    )


def read_decisions(path, catalog=None):
    """Read a decision file exported by an inspection page, and check it.

    Parameters
    ----------
    path : str, path-like, dict or `Decisions`
        The JSON file (or its parsed content).
    catalog : `~astropy.table.Table`, optional
        The catalogue the page was made from. When given, the file must carry its
        `catalog_id` and name only its candidates.

    Returns
    -------
    Decisions

    Raises
    ------
    ValueError
        If the file is malformed or made from another catalogue.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder.inspect import catalog_id, read_decisions
    >>> table = QTable({"coord": SkyCoord([10.68, 10.70] * u.deg, [41.27, 41.30] * u.deg)})
    >>> record = {"format": "clusterfinder-inspection", "version": 1,
    ...           "catalog_id": catalog_id(table), "inspector": "ana",
    ...           "decisions": {"1": {"decision": "unsure", "time": "2026-01-01T00:00:00Z"}}}
    >>> read_decisions(record, table).labels()
    {'1': 'unsure'}
    """
    decisions = _load(path)
    if catalog is not None:
        expected = catalog_id(catalog)
        if decisions.catalog_id != expected:
            raise ValueError(
                f"catalogue id mismatch: the decisions were made on catalogue "
                f"{decisions.catalog_id[:12]}..., not on this one ({expected[:12]}...)"
            )
        known = set(candidate_ids(catalog))
        unknown = sorted(set(decisions.decisions) - known)
        if unknown:
            raise ValueError(f"decisions name candidates not in the catalogue: {unknown[:5]}")
    return decisions


def write_decisions(decisions, path, *, n_candidates=None):
    """Write decisions to a JSON file atomically (temporary file, then rename).

    Parameters
    ----------
    decisions : `Decisions`
        What to write.
    path : str or path-like
        The JSON file.
    n_candidates : int, optional
        Number of candidates in the catalogue, stored for information.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from clusterfinder.inspect import Decisions, read_decisions, write_decisions
    >>> d = Decisions("0" * 64, "ana", {"3": {"decision": "cluster", "time": ""}})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_decisions(d, pathlib.Path(tmp) / "d.json")
    ...     read_decisions(path).labels()
    {'3': 'cluster'}
    """
    if not isinstance(decisions, Decisions):
        raise TypeError(f"decisions must be a Decisions object; got {type(decisions).__name__}")
    text = json.dumps(decisions.to_json(n_candidates=n_candidates), indent=1, sort_keys=True)
    return atomic_write_text(path, text + "\n")


def apply_decisions(catalog, decisions):
    """Return a copy of the catalogue with an ``inspection`` column.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
        The candidates the decisions were made on.
    decisions : str, path-like, dict or `Decisions`
        One inspector's decisions (checked with `read_decisions`).

    Returns
    -------
    `~astropy.table.Table`
        Same class as ``catalog``, with ``inspection`` = ``"cluster"``,
        ``"not_cluster"``, ``"unsure"`` or ``""`` (not inspected).

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder.inspect import Decisions, apply_decisions, catalog_id
    >>> table = QTable({"coord": SkyCoord([10.68, 10.70] * u.deg, [41.27, 41.30] * u.deg)})
    >>> d = Decisions(catalog_id(table), "ana", {"0": {"decision": "cluster", "time": ""}})
    >>> apply_decisions(table, d)["inspection"].tolist()
    ['cluster', '']
    """
    decisions = read_decisions(decisions, catalog)
    labels = decisions.labels()
    out = catalog.copy()
    values = [labels.get(key, "") for key in candidate_ids(catalog)]
    out["inspection"] = np.array(values, dtype="U11")
    return out


def fleiss_kappa(counts):
    """Fleiss' kappa of agreement from a table of vote counts.

    Parameters
    ----------
    counts : array-like, shape (n_subjects, n_categories)
        Votes per subject and category; every subject must have the same number
        (at least two) of votes.

    Returns
    -------
    float
        1 for perfect agreement, 0 for agreement at chance level; NaN when
        chance agreement is already perfect (all votes in one category).

    Examples
    --------
    The example of Fleiss (1971) as given on Wikipedia (14 raters, 10 subjects):

    >>> from clusterfinder.inspect import fleiss_kappa
    >>> counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
    ...           [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
    ...           [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    >>> round(fleiss_kappa(counts), 3)
    0.21
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[0] == 0:
        raise ValueError(f"counts must be a non-empty 2-D table; got shape {counts.shape}")
    raters = counts.sum(axis=1)
    if np.any(raters != raters[0]) or raters[0] < 2:
        raise ValueError("every subject must have the same number (>= 2) of votes")
    n = raters[0]
    agreement = ((counts**2).sum(axis=1) - n) / (n * (n - 1))
    proportions = counts.sum(axis=0) / counts.sum()
    chance = float((proportions**2).sum())
    if np.isclose(chance, 1.0):
        return float("nan")
    return float((agreement.mean() - chance) / (1 - chance))


def merge_decisions(decisions, catalog=None):
    """Merge the decisions of several inspectors into votes and agreement.

    Parameters
    ----------
    decisions : sequence of (str, path-like, dict or `Decisions`)
        One entry per inspector; all must come from the same catalogue.
    catalog : `~astropy.table.Table`, optional
        The catalogue; when given, every decision set is checked against it and
        the result has one row per candidate in catalogue order (else one row per
        candidate decided by anybody, sorted by id).

    Returns
    -------
    `~astropy.table.Table`
        Columns ``id``, ``n_votes``, ``votes_cluster``, ``votes_not_cluster``,
        ``votes_unsure``, ``majority`` (the decision with strictly most votes; ""
        when tied or undecided) and ``agreement`` (fraction of the votes that
        went to the most voted decision; NaN without votes). ``meta`` holds the
        overall agreement: ``inspectors``, ``n_complete`` (candidates decided by
        every inspector), ``fraction_unanimous`` and ``fleiss_kappa`` over them.

    Examples
    --------
    >>> from clusterfinder.inspect import Decisions, merge_decisions
    >>> def d(name, **votes):
    ...     return Decisions("0" * 64, name, {k: {"decision": v, "time": ""}
    ...                                       for k, v in votes.items()})
    >>> merged = merge_decisions([d("ana", a="cluster", b="not_cluster"),
    ...                           d("bob", a="cluster", b="unsure")])
    >>> merged["majority"].tolist(), merged["agreement"].tolist()
    (['cluster', ''], [1.0, 0.5])
    >>> merged.meta["fraction_unanimous"]
    0.5
    """
    if isinstance(decisions, (str, os.PathLike, dict, Decisions)):
        raise TypeError("decisions must be a sequence of decision files or objects")
    sets = [
        read_decisions(item, catalog) if catalog is not None else _load(item) for item in decisions
    ]
    if not sets:
        raise ValueError("decisions must hold at least one decision file")
    ids_of_catalogs = {item.catalog_id for item in sets}
    if len(ids_of_catalogs) > 1:
        raise ValueError(
            "catalogue id mismatch: the decision files come from "
            f"{len(ids_of_catalogs)} different catalogues"
        )
    if catalog is not None:
        ids = candidate_ids(catalog)
    else:
        ids = sorted(set().union(*(item.decisions for item in sets)))
    votes = np.zeros((len(ids), len(DECISIONS)), dtype=int)
    position = {key: index for index, key in enumerate(ids)}
    for item in sets:
        for key, label in item.labels().items():
            votes[position[key], DECISIONS.index(label)] += 1
    n_votes = votes.sum(axis=1)
    top = votes.max(axis=1) if len(ids) else np.zeros(0, dtype=int)
    tied = (votes == top[:, None]).sum(axis=1) > 1
    majority = np.array(
        [
            "" if n == 0 or tie else DECISIONS[int(np.argmax(row))]
            for row, n, tie in zip(votes, n_votes, tied, strict=True)
        ],
        dtype="U11",
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(n_votes > 0, top / np.maximum(n_votes, 1), np.nan)
    table = Table()
    table["id"] = np.array(ids, dtype=str)
    table["n_votes"] = n_votes
    for index, label in enumerate(DECISIONS):
        table[f"votes_{label}"] = votes[:, index]
    table["majority"] = majority
    table["agreement"] = agreement
    complete = n_votes == len(sets)
    table.meta["inspectors"] = [item.inspector for item in sets]
    table.meta["n_complete"] = int(complete.sum())
    if complete.any() and len(sets) >= 2:
        table.meta["fraction_unanimous"] = float(np.mean(top[complete] == len(sets)))
        table.meta["fleiss_kappa"] = fleiss_kappa(votes[complete])
    else:
        table.meta["fraction_unanimous"] = float("nan")
        table.meta["fleiss_kappa"] = float("nan")
    return table
