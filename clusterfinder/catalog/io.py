"""Reading and writing candidate catalogues as ECSV, FITS and VOTable files.

ECSV keeps a catalogue whole. FITS keeps the `~astropy.coordinates.SkyCoord`
through astropy's mixin serialisation but cannot hold nested metadata in its header,
so the meta travels as one JSON string under the keyword ``CFMETA``. VOTable cannot
store mixin columns: the coordinates are written as ``ra``/``dec`` (deg) with their
frame, and the meta as a JSON ``INFO`` element named ``clusterfinder_meta``.
Every writer goes through a temporary file in the target folder renamed at the end.
"""

import re
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from ..utils.files import atomic_write
from ..utils.meta import META_KEYWORD, meta_from_json, meta_to_json

__all__ = ["read_catalog", "write_catalog"]

_EXTENSIONS = {
    ".ecsv": "ecsv",
    ".fits": "fits",
    ".fit": "fits",
    ".fits.gz": "fits",
    ".fts": "fits",
    ".xml": "votable",
    ".vot": "votable",
    ".votable": "votable",
}
_FORMAT_ALIASES = {"ecsv": "ecsv", "ascii.ecsv": "ecsv", "fits": "fits", "votable": "votable"}
_META_INFO = "clusterfinder_meta"


def _resolve_format(path, format):
    if format is not None:
        if format not in _FORMAT_ALIASES:
            raise ValueError(
                f"format must be one of {', '.join(sorted(set(_FORMAT_ALIASES.values())))}; "
                f"got {format!r}"
            )
        return _FORMAT_ALIASES[format]
    name = Path(path).name.lower()
    for extension, fmt in sorted(_EXTENSIONS.items(), key=lambda item: -len(item[0])):
        if name.endswith(extension):
            return fmt
    raise ValueError(
        f"cannot tell the format of {str(path)!r} from its extension (expected one of "
        f"{', '.join(_EXTENSIONS)}); pass format='ecsv', 'fits' or 'votable'"
    )


def _write_votable(table, path):
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Info

    out = QTable(table, copy=False)
    coord = out["coord"]
    frame = coord.frame.name
    index = out.colnames.index("coord")
    out.remove_column("coord")
    sph = coord.spherical
    out.add_column(sph.lon.to(u.deg), name="ra", index=index)
    out.add_column(sph.lat.to(u.deg), name="dec", index=index + 1)
    meta = dict(table.meta)
    meta["_coord_frame"] = frame
    out.meta = {}
    votable = from_table(out)
    first = votable.get_first_table()
    first.infos.append(Info(name=_META_INFO, value=meta_to_json(meta)))
    for field in first.fields:
        if field.name == "ra":
            field.ucd = "pos.eq.ra;meta.main"
        elif field.name == "dec":
            field.ucd = "pos.eq.dec;meta.main"
    votable.to_xml(str(path))


def write_catalog(catalog, path, *, format=None, overwrite=False):
    """Write ``catalog`` to ``path`` atomically; see `CandidateCatalog.write`.

    Returns
    -------
    `~pathlib.Path`
    """
    path = Path(path)
    fmt = _resolve_format(path, format)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder {path.parent} does not exist")
    catalog.validate()

    def write(tmp):
        if fmt == "ecsv":
            QTable(catalog, copy=False).write(tmp, format="ascii.ecsv", overwrite=True)
        elif fmt == "fits":
            out = QTable(catalog, copy=False)
            out.meta = {META_KEYWORD: meta_to_json(catalog.meta)}
            out.write(tmp, format="fits", overwrite=True)
        else:
            _write_votable(catalog, tmp)

    return atomic_write(path, write, suffix="".join(path.suffixes) or ".tmp")


def _plain_columns(table):
    """Undo what FITS and VOTable do to columns: bytes to str, masks to plain arrays."""
    for name in table.colnames:
        column = table[name]
        if isinstance(column, SkyCoord):
            continue
        mask = getattr(column, "mask", None)
        if mask is not None:
            if isinstance(column, u.Quantity):
                values = column.unmasked
                if np.any(mask) and values.dtype.kind == "f":
                    values = values.copy()
                    values[mask] = np.nan
                table[name] = u.Quantity(values, copy=False)
            else:
                values = np.array(np.ma.getdata(column))
                mask = np.asarray(mask)
                if np.any(mask) and values.dtype.kind == "f":
                    values[mask] = np.nan
                elif np.any(mask) and values.dtype.kind in "US":
                    values[mask] = ""
                table[name] = values
            column = table[name]
        if getattr(column, "dtype", None) is not None and column.dtype.kind == "S":
            table[name] = np.char.decode(np.asarray(column), "utf-8")
    return table


def _read_votable(path):
    from astropy.io.votable import parse

    votable = parse(str(path))
    first = votable.get_first_table()
    meta = {}
    for info in first.infos:
        if info.name == _META_INFO:
            meta = meta_from_json(info.value)
    table = QTable(first.to_table(use_names_over_ids=True))
    table = _plain_columns(table)
    frame = meta.pop("_coord_frame", "icrs")
    if {"ra", "dec"} <= set(table.colnames):
        coord = SkyCoord(table["ra"], table["dec"], frame=frame)
        index = table.colnames.index("ra")
        table.remove_columns(["ra", "dec"])
        table.add_column(coord, name="coord", index=index)
    table.meta = meta
    return table


#: astropy warnings that mean a file is cut short or damaged.
_DAMAGED = re.compile(r"truncated|corrupted|missing END card", re.IGNORECASE)

_FORMAT_NAMES = {"ecsv": "an ECSV", "fits": "a FITS", "votable": "a VOTable"}


def _one_line(exc):
    """The message of ``exc`` on one line, without astropy's indents."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _load(path, fmt):
    if fmt == "ecsv":
        return _plain_columns(QTable.read(path, format="ascii.ecsv"))
    if fmt == "fits":
        table = _plain_columns(QTable.read(path, format="fits"))
        meta = {key: value for key, value in table.meta.items() if key != META_KEYWORD}
        stored = table.meta.get(META_KEYWORD)
        table.meta = meta_from_json(stored) if stored else meta
        return table
    return _read_votable(path)


def _read_table(path, fmt):
    """The table of a catalogue file; unreadable files raise one sentence naming them."""
    what = f"cannot read {path} as {_FORMAT_NAMES[fmt]} candidate catalogue"
    # A FITS file cut short may only warn; the warnings are recorded and checked.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            table = _load(path, fmt)
            failure = None
        except UnicodeDecodeError:
            raise ValueError(
                f"{what}: it is not text (a binary file?); expected an ECSV table written by "
                "CandidateCatalog.write"
            ) from None
        except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
            failure = exc
    damage = next((w.message for w in caught if _DAMAGED.search(str(w.message))), None)
    if damage is not None or (isinstance(failure, OSError) and "END card" in str(failure)):
        reason = _one_line(damage if damage is not None else failure)
        raise OSError(f"{what}: the file is truncated or damaged ({reason})")
    if isinstance(failure, OSError):
        raise OSError(f"{what}: it is not a FITS file ({_one_line(failure)})")
    if failure is not None:
        reason = _one_line(failure)
        if fmt == "fits" and "No table found" in reason:
            reason = "it holds no table extension (an image or a Cutout file?)"
        raise ValueError(f"{what}: {reason}; expected a file written by CandidateCatalog.write")
    for item in caught:
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    return table


def read_catalog(cls, path, *, format=None):
    """Read a catalogue file into ``cls``; see `CandidateCatalog.read`."""
    path = Path(path)
    fmt = _resolve_format(path, format)
    if not path.exists():
        raise FileNotFoundError(f"no such catalogue file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a catalogue file")
    table = _read_table(path, fmt)
    try:
        catalog = cls(table, copy=False)
        catalog.validate()
    except TypeError as exc:
        raise TypeError(f"{path} is not a candidate catalogue: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not a candidate catalogue: {exc}") from None
    return catalog
