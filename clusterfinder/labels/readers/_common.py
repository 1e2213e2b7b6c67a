"""Helpers shared by the catalogue readers: bundled paths, column look-up, output checks.

Internal to `clusterfinder.labels.readers` (and the label and catalogue code that
reads the same columns): use the readers themselves.
"""

from importlib.resources import files
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from astropy.table import MaskedColumn, QTable, Table

__all__ = []

#: Folder of the catalogue files shipped with the package.
CATALOG_DIR = files("clusterfinder") / "data" / "catalogs"


def bundled_path(*parts):
    """Path of a catalogue file shipped in ``clusterfinder/data/catalogs``."""
    return Path(str(CATALOG_DIR.joinpath(*parts)))


def resolve_path(path, default, name="path"):
    """Return ``path`` as a `~pathlib.Path`, or ``default`` when it is `None`."""
    if path is None:
        return default
    if not isinstance(path, (str, Path)):
        raise TypeError(
            f"{name} must be a file path (str or Path) or None; got {type(path).__name__}"
        )
    path = Path(path)
    if not path.is_file():
        raise OSError(f"{name}: no such file: {path}")
    return path


class MissingColumnError(ValueError):
    """A table lacks a column that a reader needs (a `ValueError`)."""


def find_column(table, candidates, *, what, required=True):
    """Name of the first column of ``table`` among ``candidates`` (case-insensitive).

    Raises a `MissingColumnError` (a `ValueError`) that lists the expected and the
    available columns when none is present and ``required`` is true; returns `None`
    otherwise.
    """
    lower = {name.lower(): name for name in table.colnames}
    for candidate in candidates:
        if candidate.lower() in lower:
            return lower[candidate.lower()]
    if required:
        raise MissingColumnError(
            f"the table has no {what} column: expected one of {list(candidates)}; "
            f"found columns {table.colnames}"
        )
    return None


def masked_float(values, mask=None):
    """A float `~astropy.table.MaskedColumn` with NaN and ``mask`` entries masked."""
    data = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    bad = ~np.isfinite(data)
    if mask is not None:
        bad |= np.asarray(mask, dtype=bool)
    if np.ma.isMaskedArray(values):
        bad |= np.ma.getmaskarray(values)
    return MaskedColumn(np.where(bad, np.nan, data), mask=bad)


def strings(values):
    """Stripped strings from a column that may be masked, bytes or numeric."""
    out = []
    for value in np.ma.asarray(values).astype(object).filled(""):
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        out.append(str(value).strip())
    return np.array(out, dtype=str)


def angle_column(table, candidates, unit, *, what):
    """Read an angle column (RA or Dec) given in degrees, hours or sexagesimal strings."""
    return _angle_column(table, candidates, unit, what=what)[1]


def _angle_column(table, candidates, unit, *, what):
    """``(column name, Angle)`` of an RA or Dec column."""
    name = find_column(table, candidates, what=what)
    column = table[name]
    if column.dtype.kind in "USO":
        text = strings(column)
        sexagesimal = any((" " in t.strip()) or (":" in t) for t in text[:20])
        if unit == u.deg and what == "right ascension" and sexagesimal:
            unit = u.hourangle  # VizieR writes sexagesimal RA in hours
        try:
            return name, Angle(text, unit=unit)
        except ValueError as exc:
            raise ValueError(f"column {name!r} does not hold {what}s: {exc}") from None
    values = np.ma.filled(np.ma.asarray(u.Quantity(column).value, dtype=float), np.nan)
    column_unit = getattr(column, "unit", None)
    if column_unit is not None and u.Unit(column_unit).physical_type == "angle":
        return name, Angle(values, unit=column_unit)
    return name, Angle(values, unit=unit)


def _rows(index):
    shown = index[:10].tolist()
    return f"{shown}{f' (and {len(index) - 10} more)' if len(index) > 10 else ''}"


def check_positions(ra_deg, dec_deg, ra_name="RA", dec_name="Dec"):
    """Refuse missing (NaN) positions and declinations beyond +-90 deg, naming the rows."""
    ra_deg = np.asarray(ra_deg, dtype=float)
    dec_deg = np.asarray(dec_deg, dtype=float)
    missing = np.flatnonzero(~(np.isfinite(ra_deg) & np.isfinite(dec_deg)))
    if len(missing):
        raise ValueError(
            f"{len(missing)} row(s) have no valid position ({ra_name} or {dec_name} missing or "
            f"not finite): rows {_rows(missing)}"
        )
    check_declinations(dec_deg, dec_name)


def check_declinations(dec_deg, dec_name="Dec"):
    """Refuse declinations beyond +-90 deg (NaN passes), naming the first such row."""
    dec_deg = np.asarray(dec_deg, dtype=float)
    with np.errstate(invalid="ignore"):
        outside = np.flatnonzero(np.abs(dec_deg) > 90)
    if len(outside):
        raise ValueError(
            f"column {dec_name!r} holds a Dec of {dec_deg[outside[0]]:g} deg at row "
            f"{outside[0]} ({len(outside)} row(s) out of range); a declination lies between "
            "-90 and +90 deg"
        )


def coords_from_table(
    table,
    *,
    ra=("RAdeg", "_RAJ2000", "RAJ2000", "RA_ICRS", "RA", "ra"),
    dec=("DEdeg", "_DEJ2000", "DEJ2000", "DE_ICRS", "DEC", "Dec", "dec"),
):
    """ICRS `~astropy.coordinates.SkyCoord` from the RA/Dec columns of a VizieR-like table."""
    ra_name, ra_angle = _angle_column(table, ra, u.deg, what="right ascension")
    dec_name, dec_angle = _angle_column(table, dec, u.deg, what="declination")
    check_positions(ra_angle.deg, dec_angle.deg, ra_name, dec_name)
    return SkyCoord(ra_angle, dec_angle, frame="icrs")


def check_table(table, name="table"):
    """Check that ``table`` is a non-empty astropy table."""
    if not isinstance(table, Table):
        raise TypeError(f"{name} must be an astropy Table or QTable; got {type(table).__name__}")
    if len(table) == 0:
        raise ValueError(f"{name} is empty: it has no rows")
    return table


def finish(table, *, catalog, reference, bibcode, vizier, origin, description):
    """Attach provenance to a reader's output `~astropy.table.QTable`."""
    table = QTable(table)
    table.meta["catalog"] = catalog
    table.meta["reference"] = reference
    table.meta["bibcode"] = bibcode
    table.meta["vizier"] = vizier
    table.meta["origin"] = str(origin)
    table.meta["description"] = description
    return table


def coords_from_sexagesimal(table):
    """ICRS coordinates from CDS split columns (RAh RAm RAs [DE-] DEd DEm DEs)."""
    ra = [
        np.ma.filled(np.ma.asarray(u.Quantity(table[c]).value, dtype=float), np.nan)
        for c in ("RAh", "RAm", "RAs")
    ]
    dec = [
        np.ma.filled(np.ma.asarray(u.Quantity(table[c]).value, dtype=float), np.nan)
        for c in ("DEd", "DEm", "DEs")
    ]
    sign = np.ones(len(table))
    if "DE-" in table.colnames:
        sign = np.where(strings(table["DE-"]) == "-", -1.0, 1.0)
    ra_deg = 15.0 * (ra[0] + ra[1] / 60.0 + ra[2] / 3600.0)
    dec_deg = sign * (np.abs(dec[0]) + dec[1] / 60.0 + dec[2] / 3600.0)
    check_positions(ra_deg, dec_deg, "RAh/RAm/RAs", "DEd/DEm/DEs")
    return SkyCoord(ra_deg * u.deg, dec_deg * u.deg, frame="icrs")


def any_coords(table):
    """Coordinates from split sexagesimal columns when present, else from RA/Dec columns."""
    if all(c in table.colnames for c in ("RAh", "RAm", "RAs", "DEd", "DEm", "DEs")):
        return coords_from_sexagesimal(table)
    return coords_from_table(table)


def plain_float(column):
    """A masked float column without units (magnitudes, dex and flags stay plain numbers)."""
    values = column.value if isinstance(column, u.Quantity) else column
    if hasattr(values, "unmasked"):  # astropy Masked quantity
        values = np.ma.MaskedArray(values.unmasked, mask=values.mask)
    return masked_float(values)


def standardize(vtable, *, names, mags, extras=None, keep_other=True):
    """Map a catalogue table onto the readers' columns.

    ``names`` lists candidate name columns, ``mags`` maps an output band name to
    candidate magnitude columns and ``extras`` an output name to candidates
    (copied as they are). With ``keep_other`` every other column is copied too,
    under its own name.
    """
    check_table(vtable, "the catalogue table")
    table = QTable()
    used = set()
    name_col = find_column(vtable, names, what="name", required=False)
    if name_col is None:
        table["name"] = np.array([str(k + 1) for k in range(len(vtable))])
    else:
        table["name"] = strings(vtable[name_col])
        used.add(name_col)
    table["coord"] = any_coords(vtable)
    used.update(
        c
        for c in vtable.colnames
        if c.lower()
        in {
            "rah",
            "ram",
            "ras",
            "de-",
            "ded",
            "dem",
            "des",
            "radeg",
            "dedeg",
            "raj2000",
            "dej2000",
            "_raj2000",
            "_dej2000",
            "ra_icrs",
            "de_icrs",
            "ra",
            "dec",
        }
    )
    for band, candidates in mags.items():
        col = find_column(vtable, candidates, what=f"{band} magnitude", required=False)
        if col is not None:
            table[f"mag_{band}"] = plain_float(vtable[col])
            used.add(col)
            err = find_column(vtable, [f"e_{col}"], what="", required=False)
            if err is not None:
                table[f"magerr_{band}"] = plain_float(vtable[err])
                used.add(err)
    for out, candidates in (extras or {}).items():
        col = find_column(vtable, candidates, what=out, required=False)
        if col is not None:
            table[out] = vtable[col]
            used.add(col)
    if keep_other:
        for col in vtable.colnames:
            if col not in used and col not in table.colnames:
                table[col] = vtable[col]
    return table
