"""Merging catalogues of clusters and non-clusters into one labelled list.

`merge_catalogs` stacks catalogues of positives (label 1) and negatives
(label 0), groups entries that lie within ``radius`` of each other
(friends of friends, so one object listed in several catalogues, or twice in
one, becomes one row), and resolves groups whose members disagree on the label
by a stated rule. Each merged row keeps its provenance: the names and
catalogues of every entry merged into it.

Within a group the first entry, in the order the catalogues were given
(positives first), gives the position, the ``name`` and ``source``; each
magnitude comes from the first entry that has it.
"""

import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table
from astropy.utils.decorators import deprecated_renamed_argument

from ..crossmatch import check_finite_coords, friends_of_friends
from ..utils import ClusterFinderWarning
from .readers._common import MissingColumnError, any_coords, plain_float, strings

__all__ = ["CONFLICT_RULES", "merge_catalogs"]

#: How a group with both labels is resolved: dropped, or labelled 1 or 0.
CONFLICT_RULES = ("drop", "positive", "negative")


def _as_list(catalogs, name):
    if catalogs is None:
        return []
    if isinstance(catalogs, Table):
        return [catalogs]
    if isinstance(catalogs, dict):
        return list(catalogs.items())
    try:
        return list(catalogs)
    except TypeError:
        raise TypeError(
            f"{name} must be a table, a list of tables or a dict name -> table; "
            f"got {type(catalogs).__name__}"
        ) from None


def _entries(catalogs, label, kind):
    """Rows of each catalogue as a QTable with coord, label, name, source and mags."""
    parts = []
    for k, item in enumerate(_as_list(catalogs, kind)):
        source, table = item if isinstance(item, tuple) else (None, item)
        where = f"{kind}[{k}]" if source is None else f"{kind}[{source!r}]"
        if not isinstance(table, Table):
            raise TypeError(
                f"{where} must be an astropy Table or QTable; got {type(table).__name__}"
            )
        if len(table) == 0:
            raise ValueError(f"{where} is empty: a catalogue needs at least one row")
        if source is None:
            source = table.meta.get("catalog") or f"{kind}[{k}]"
        if "coord" in table.colnames:
            coord = table["coord"]
            if not isinstance(coord, SkyCoord):
                raise TypeError(
                    f"{where}: column 'coord' must be a SkyCoord; got {type(coord).__name__}"
                )
            check_finite_coords(coord, f"{where} (column 'coord')")
        else:
            try:
                coord = any_coords(table)
            except MissingColumnError:
                raise ValueError(
                    f"{where} has no positions: it needs a SkyCoord column 'coord' or RA/Dec "
                    f"columns (RAdeg/DEdeg, RAJ2000/DEJ2000, ra/dec...); found {table.colnames}"
                ) from None
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        part = QTable()
        part["coord"] = coord.icrs
        part["label"] = np.full(len(table), label, dtype=np.int8)
        if "name" in table.colnames:
            part["name"] = strings(table["name"])
        else:
            part["name"] = np.array([f"{source}:{i}" for i in range(len(table))])
        part["source"] = np.full(len(table), str(source))
        part.meta["reference"] = {
            key: table.meta[key] for key in ("reference", "bibcode", "vizier") if key in table.meta
        }
        for col in table.colnames:
            if col.startswith("mag_") or col.startswith("magerr_"):
                part[col] = plain_float(table[col])
        parts.append(part)
    return parts


def _stack(parts):
    """Stack parts whose magnitude columns may differ (missing ones are masked)."""
    mag_cols = []
    for part in parts:
        mag_cols.extend(c for c in part.colnames if c.startswith("mag") and c not in mag_cols)
    coord = SkyCoord([part["coord"] for part in parts]) if len(parts) > 1 else parts[0]["coord"]
    out = QTable()
    out["coord"] = coord
    for col in ("label", "name", "source"):
        out[col] = np.concatenate([np.asarray(part[col]) for part in parts])
    for col in mag_cols:
        pieces = [
            np.ma.asarray(part[col]) if col in part.colnames else np.ma.masked_all(len(part))
            for part in parts
        ]
        out[col] = plain_float(np.ma.concatenate(pieces))
    return out


def _float_values(column):
    """Plain float ndarray (NaN where masked) from a possibly masked table column."""
    data = np.array(np.ma.getdata(column), dtype=float)
    data[np.ma.getmaskarray(column)] = np.nan
    return data


@deprecated_renamed_argument("match_radius", "radius", "0.1")
def merge_catalogs(positives, negatives, *, radius=1 * u.arcsec, conflict="drop"):
    """Cross-match catalogues of positives and negatives into one labelled table.

    Parameters
    ----------
    positives, negatives : table, list of tables or dict name -> table
        Catalogues of clusters (label 1) and of non-clusters (label 0). Each
        needs a `~astropy.coordinates.SkyCoord` column ``coord`` (or RA/Dec
        columns as VizieR gives them); ``name`` and ``mag_*`` columns are used
        when present. A catalogue's source name is its dict key, else its
        ``meta["catalog"]`` (set by the readers), else its position in the list.
    radius : `~astropy.units.Quantity`
        Entries closer than this (an angle) are one object (``match_radius`` before
        version 0.1, still accepted with a deprecation warning).
    conflict : {'drop', 'positive', 'negative'}
        What to do with an object listed both as a positive and a negative:
        drop it, or keep it with label 1 or 0.

    Returns
    -------
    table : `~astropy.table.QTable`
        ``coord``, ``label``, ``name``, ``source`` (of the first entry),
        ``names`` and ``sources`` (of all merged entries, joined by ``"; "``),
        ``n_merged`` and every ``mag_*`` column of the inputs; ``meta["catalogs"]``
        records each input catalogue's label, row count and reference.
    conflicts : `~astropy.table.QTable`
        One row per object with both labels: ``coord``, ``names``,
        ``sources``, ``n_positive``, ``n_negative`` and ``resolution``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder.labels.merge import merge_catalogs
    >>> a = QTable({"coord": SkyCoord([10.0, 10.1] * u.deg, [41.0, 41.0] * u.deg),
    ...             "name": ["A1", "A2"]})
    >>> b = QTable({"coord": SkyCoord([10.0001] * u.deg, [41.0] * u.deg), "name": ["B1"]})
    >>> table, conflicts = merge_catalogs({"A": a, "B": b}, None, radius=1 * u.arcsec)
    >>> table["name", "names", "sources", "n_merged"]
    <QTable length=2>
    name  names  sources n_merged
    str2   str6    str4   int64
    ---- ------ ------- --------
      A1 A1; B1    A; B        2
      A2     A2       A        1
    >>> len(conflicts)
    0
    """
    if conflict not in CONFLICT_RULES:
        raise ValueError(f"conflict must be one of {CONFLICT_RULES}; got {conflict!r}")
    parts = _entries(positives, 1, "positives") + _entries(negatives, 0, "negatives")
    if not parts:
        raise ValueError("no catalogues given: pass at least one table in positives or negatives")
    entries = _stack(parts)
    groups = friends_of_friends(entries["coord"], radius)
    order = np.argsort(groups, kind="stable")  # members in input order within a group
    starts = np.flatnonzero(np.r_[True, np.diff(groups[order]) != 0])
    bounds = np.r_[starts, len(order)]
    labels = np.array(entries["label"], dtype=np.int8)
    names = np.array(entries["name"], dtype=str)
    sources = np.array(entries["source"], dtype=str)
    mag_cols = [c for c in entries.colnames if c.startswith("mag")]
    mag_values = {c: _float_values(entries[c]) for c in mag_cols}

    sizes = np.diff(bounds)
    first = order[starts]  # first member of each group, in input order
    n_pos = np.add.reduceat(labels[order], starts) if len(order) else np.zeros(0, int)
    group_label = labels[first].astype(np.int8)
    joined_names = names[first].astype(object)
    joined_sources = sources[first].astype(object)
    group_mags = {c: mag_values[c][first].copy() for c in mag_cols}
    # Only groups of several entries need a closer look; singletons stay as they are.
    for g in np.flatnonzero(sizes > 1):
        members = order[bounds[g] : bounds[g + 1]]
        joined_names[g] = "; ".join(dict.fromkeys(names[members]))
        joined_sources[g] = "; ".join(dict.fromkeys(sources[members]))
        for c in mag_cols:
            values = mag_values[c][members]
            finite = np.flatnonzero(np.isfinite(values))
            group_mags[c][g] = values[finite[0]] if len(finite) else np.nan
    is_conflict = (n_pos > 0) & (n_pos < sizes)
    resolution = {"drop": "dropped", "positive": "label 1", "negative": "label 0"}[conflict]
    conflicts = QTable()
    conflicts["coord"] = entries["coord"][first[is_conflict]]
    conflicts["names"] = np.array(joined_names[is_conflict].tolist(), dtype=str)
    conflicts["sources"] = np.array(joined_sources[is_conflict].tolist(), dtype=str)
    conflicts["n_positive"] = n_pos[is_conflict].astype(int)
    conflicts["n_negative"] = (sizes - n_pos)[is_conflict].astype(int)
    conflicts["resolution"] = np.full(int(is_conflict.sum()), resolution)
    if conflict != "drop":
        rule_label = 1 if conflict == "positive" else 0
        for g in np.flatnonzero(is_conflict):
            members = order[bounds[g] : bounds[g + 1]]
            first[g] = members[labels[members] == rule_label][0]
            group_label[g] = rule_label
    keep = ~is_conflict if conflict == "drop" else np.ones(len(starts), dtype=bool)

    table = QTable()
    table["coord"] = entries["coord"][first[keep]]
    table["label"] = group_label[keep]
    table["name"] = names[first[keep]]
    table["source"] = sources[first[keep]]
    table["names"] = np.array(joined_names[keep].tolist(), dtype=str)
    table["sources"] = np.array(joined_sources[keep].tolist(), dtype=str)
    table["n_merged"] = sizes[keep].astype(int)
    for c in mag_cols:
        table[c] = plain_float(group_mags[c][keep])

    if len(conflicts):
        warnings.warn(
            f"{len(conflicts)} object(s) are listed both as clusters and as non-clusters "
            f"within {radius}; conflict={conflict!r}: "
            + {"drop": "dropped", "positive": "kept as label 1", "negative": "kept as label 0"}[
                conflict
            ]
            + " (see the conflicts table)",
            ClusterFinderWarning,
            stacklevel=2,
        )
    table.meta["catalogs"] = {
        str(part["source"][0]): {
            "label": int(part["label"][0]),
            "rows": len(part),
            **part.meta["reference"],
        }
        for part in parts
    }
    table.meta["radius"] = str(u.Quantity(radius))
    table.meta["conflict_rule"] = conflict
    table.meta["n_conflicts"] = len(conflicts)
    return table, conflicts
