"""De-duplication and cross-matching of candidate catalogues.

Both rest on `clusterfinder.crossmatch`: `deduplicate` groups detections with the
friends-of-friends rule, `crossmatch` finds each candidate's nearest counterpart in
known catalogues.
"""

import re

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import Table

from ..crossmatch import check_finite_coords, friends_of_friends, match_nearest
from ..labels.readers._common import check_declinations
from ..utils.validation import check_radius

__all__ = ["crossmatch", "deduplicate", "known_coords"]

_RA_DEC_NAMES = (
    ("ra", "dec"),
    ("RA", "DEC"),
    ("RA", "Dec"),
    ("RAdeg", "DEdeg"),
    ("RA_ICRS", "DE_ICRS"),
    ("RAJ2000", "DEJ2000"),
    ("_RAJ2000", "_DEJ2000"),
)
_NAME_COLUMNS = ("name", "Name", "NAME", "id", "ID", "APID", "OName", "designation")
_VALID_KEY = re.compile(r"^[A-Za-z0-9_]+$")


def deduplicate(catalog, radius=0.5 * u.arcsec, *, keep="max_prob"):
    """Merge detections of one source into one row.

    Candidates closer than ``radius``, directly or through a chain of neighbours
    (friends of friends), form one group, e.g. a source seen on two overlapping
    fields or tiles. Each group keeps one row; ``n_detections`` counts the rows
    merged into it (summing earlier counts when the catalogue was de-duplicated
    before).

    Parameters
    ----------
    catalog : `~clusterfinder.CandidateCatalog`
        The candidates.
    radius : `~astropy.units.Quantity`, optional
        Linking length, an angle.
    keep : {"max_prob", "first"}, optional
        Keep the row with the highest ``prob_cluster`` (NaN counts as lowest) or the
        first row of each group.

    Returns
    -------
    `~clusterfinder.CandidateCatalog`
        One row per group, in the order in which groups first appear.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder import CandidateCatalog
    >>> cands = CandidateCatalog.from_table(QTable({
    ...     "coord": SkyCoord([10.0, 10.00005, 10.1] * u.deg, [41.0] * 3 * u.deg),
    ...     "prob_cluster": [0.7, 0.9, 0.4]}))
    >>> merged = cands.deduplicate(0.5 * u.arcsec)
    >>> merged["prob_cluster"].tolist(), merged["n_detections"].tolist()
    ([0.9, 0.4], [2, 1])
    """
    radius = check_radius(radius)
    if keep not in ("max_prob", "first"):
        raise ValueError(f"keep must be 'max_prob' or 'first'; got {keep!r}")
    n = len(catalog)
    if "n_detections" in catalog.colnames:
        counts = np.asarray(catalog["n_detections"], dtype=int)
    else:
        counts = np.ones(n, dtype=int)
    if n == 0:
        out = catalog.copy()
        out["n_detections"] = counts
        return out
    check_finite_coords(catalog["coord"], "the catalogue to deduplicate (column 'coord')")
    groups = friends_of_friends(catalog["coord"], radius)
    if keep == "max_prob":
        prob = np.asarray(getattr(catalog["prob_cluster"], "value", catalog["prob_cluster"]))
        prob = np.nan_to_num(prob.astype(float), nan=-np.inf)
        order = np.lexsort((np.arange(n), -prob, groups))
    else:
        order = np.lexsort((np.arange(n), groups))
    sorted_groups = groups[order]
    first = np.ones(n, dtype=bool)
    first[1:] = sorted_groups[1:] != sorted_groups[:-1]
    chosen = order[first]
    out = catalog[chosen]
    out["n_detections"] = np.bincount(groups, weights=counts).astype(int)
    out.meta["deduplicate"] = {"radius_arcsec": float(radius.to_value(u.arcsec)), "keep": keep}
    return out


def _column_values(column):
    return column.value if isinstance(column, u.Quantity) else np.asarray(column)


def known_coords(catalog, *, name="catalog"):
    """Positions and names of a known catalogue, whatever its form.

    Parameters
    ----------
    catalog : table, `~astropy.coordinates.SkyCoord` or object with ``.table``
        A table with a ``coord`` SkyCoord column or RA/Dec columns (``ra``/``dec``,
        ``RAdeg``/``DEdeg``, ``RAJ2000``/``DEJ2000``... in degrees, or sexagesimal
        strings), a `~clusterfinder.LabelSet`-like object, or bare positions.
    name : str, optional
        The catalogue's name, for messages.

    Returns
    -------
    coords : `~astropy.coordinates.SkyCoord`
    names : `numpy.ndarray` of str
        From the first of the columns name, Name, NAME, id, ID, APID, OName,
        designation; the row number otherwise.

    Examples
    --------
    >>> from astropy.table import Table
    >>> from clusterfinder.catalog.matching import known_coords
    >>> coords, names = known_coords(Table({"RAdeg": [10.5], "DEdeg": [41.0], "ID": [7]}))
    >>> float(coords[0].ra.deg), names.tolist()
    (10.5, ['7'])
    """
    if isinstance(catalog, SkyCoord):
        coords = catalog.reshape((1,)) if catalog.isscalar else catalog
        return coords, np.array([str(i) for i in range(len(coords))])
    table = getattr(catalog, "table", catalog)
    if not isinstance(table, Table):
        raise TypeError(
            f"catalogue {name!r} must be a Table/QTable, a SkyCoord or an object with a "
            f".table; got {type(catalog).__name__}"
        )
    if "coord" in table.colnames and isinstance(table["coord"], SkyCoord):
        coords = table["coord"]
    else:
        for ra_name, dec_name in _RA_DEC_NAMES:
            if ra_name in table.colnames and dec_name in table.colnames:
                coords = _radec_coords(table, ra_name, dec_name, name)
                break
        else:
            raise ValueError(
                f"catalogue {name!r} has no 'coord' SkyCoord column and no RA/Dec columns "
                f"(looked for {', '.join('/'.join(p) for p in _RA_DEC_NAMES)})"
            )
    for column in _NAME_COLUMNS:
        if column in table.colnames:
            names = np.array([str(value).strip() for value in table[column]])
            break
    else:
        names = np.array([str(i) for i in range(len(table))])
    return coords, names


def _radec_coords(table, ra_name, dec_name, name):
    """SkyCoord of the RA/Dec columns of a known catalogue; a Dec beyond +-90 deg is named."""
    ra, dec = table[ra_name], table[dec_name]
    if np.asarray(_column_values(ra)).dtype.kind in "US":
        try:
            return SkyCoord(
                np.asarray(ra, dtype=str), np.asarray(dec, dtype=str), unit=(u.hourangle, u.deg)
            )
        except ValueError as exc:
            raise ValueError(
                f"catalogue {name!r}: cannot read positions from its columns {ra_name!r} and "
                f"{dec_name!r}: {exc}"
            ) from None
    ra = ra if getattr(ra, "unit", None) else np.asarray(ra, dtype=float) * u.deg
    dec = dec if getattr(dec, "unit", None) else np.asarray(dec, dtype=float) * u.deg
    try:
        dec_deg = np.asarray(u.Quantity(dec).to_value(u.deg), dtype=float)
    except u.UnitConversionError:
        raise ValueError(
            f"catalogue {name!r}: column {dec_name!r} must hold angles; got unit {dec.unit}"
        ) from None
    try:
        check_declinations(dec_deg, dec_name)
    except ValueError as exc:
        raise ValueError(f"catalogue {name!r}: {exc}") from None
    return SkyCoord(u.Quantity(ra), u.Quantity(dec), frame="icrs")


def crossmatch(catalog, catalogs, *, radius=1 * u.arcsec):
    """Cross-match candidates against several known catalogues at once.

    For each catalogue ``NAME`` the result gains ``known_NAME`` (bool), ``name_NAME``
    (the nearest counterpart's name, "" if none within the radius) and ``sep_NAME``
    (its separation in arcsec, NaN if none); then ``known`` (in any catalogue) and
    ``status`` ("known" or "new").

    Parameters
    ----------
    catalog : `~clusterfinder.CandidateCatalog`
        The candidates.
    catalogs : dict
        Catalogue name (letters, digits, underscores) -> catalogue, in any form that
        `known_coords` accepts.
    radius : `~astropy.units.Quantity` or dict, optional
        Largest separation of a match, an angle; or a dict name -> angle.

    Returns
    -------
    `~clusterfinder.CandidateCatalog`
        A new catalogue; the input is left unchanged.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder import CandidateCatalog
    >>> cands = CandidateCatalog.from_table(QTable({
    ...     "coord": SkyCoord([10.0, 10.5] * u.deg, [41.0, 41.0] * u.deg),
    ...     "prob_cluster": [0.9, 0.8]}))
    >>> known = QTable({"ra": [10.0001] * u.deg, "dec": [41.0] * u.deg, "name": ["B001"]})
    >>> out = cands.crossmatch({"rbc": known}, radius=1 * u.arcsec)
    >>> out["name_rbc"].tolist(), out["status"].tolist()
    (['B001', ''], ['known', 'new'])
    """
    if not isinstance(catalogs, dict) or not catalogs:
        raise TypeError(
            f"catalogs must be a non-empty dict of name -> catalogue; got {type(catalogs).__name__}"
        )
    radii = {}
    for key in catalogs:
        if not isinstance(key, str) or not _VALID_KEY.match(key):
            raise ValueError(
                f"catalogue names must be letters, digits or underscores (they name "
                f"columns); got {key!r}"
            )
        value = radius[key] if isinstance(radius, dict) and key in radius else radius
        if isinstance(value, dict):
            raise ValueError(f"radius has no entry for catalogue {key!r}")
        radii[key] = check_radius(
            value, f"radius[{key!r}]" if isinstance(radius, dict) else "radius"
        )
    out = catalog.copy()
    known_any = np.zeros(len(out), dtype=bool)
    record = dict(out.meta.get("crossmatch", {}))
    coords = check_finite_coords(out["coord"], "the candidates (column 'coord')")
    for key, known in catalogs.items():
        known_positions, names = known_coords(known, name=key)
        check_finite_coords(known_positions, f"catalogue {key!r}")
        index, separation, matched = match_nearest(coords, known_positions, radii[key])
        width = max([len(name) for name in names] + [1])
        matched_names = np.full(len(out), "", dtype=f"<U{width}")
        matched_names[matched] = names[index[matched]]
        sep = separation.to_value(u.arcsec).astype(float)
        sep[~matched] = np.nan
        out[f"known_{key}"] = matched
        out[f"name_{key}"] = matched_names
        out[f"sep_{key}"] = sep * u.arcsec
        known_any |= matched
        record[key] = {
            "radius_arcsec": float(radii[key].to_value(u.arcsec)),
            "n_rows": len(known_positions),
            "n_matched": int(matched.sum()),
        }
    out["known"] = known_any
    out["status"] = np.where(known_any, "known", "new").astype("<U5")
    out.meta["crossmatch"] = record
    return out
