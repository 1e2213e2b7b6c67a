"""Candidate catalogues in files, through astropy's unified I/O registry.

`CandidateCatalog.read <clusterfinder.CandidateCatalog.read>` and
`CandidateCatalog.write <clusterfinder.CandidateCatalog.write>` are those of
`~astropy.table.QTable` (``read(*args, **kwargs)``, ``write(*args, **kwargs)`` with
``format=``, ``overwrite=`` and each format's own options), so every table format
astropy knows works. Three formats have a reader, a writer and an identifier
registered for `~clusterfinder.CandidateCatalog` in `astropy.io.registry`, because
they keep the whole catalogue:

- ``ascii.ecsv`` (files ``*.ecsv``): the SkyCoord with its frame, units and the
  metadata, as astropy writes them. The short name ``ecsv``, which astropy lists as
  deprecated, still works, with an `~astropy.utils.exceptions.AstropyDeprecationWarning`.
- ``fits`` (``*.fits``, ``*.fit``, ``*.fts``, ``*.fits.gz``): the SkyCoord through
  astropy's mixin serialisation; the metadata, which a FITS header cannot hold as
  nested values, as one JSON string under the keyword ``CFMETA``.
- ``votable`` (``*.xml``, ``*.vot``, ``*.votable``): the coordinates as ``ra``/``dec``
  columns (degrees, ``pos.eq`` UCDs) in their frame, and the metadata as a JSON
  ``INFO`` element named ``clusterfinder_meta``.

Any other format (``ascii.csv``, ``hdf5``, ``parquet``, ``ascii.ipac``...) goes to
astropy's own reader and writer with the coordinates as ICRS ``ra``/``dec`` columns
in degrees, rebuilt into ``coord`` on reading. Of these, ``hdf5`` (written with
``serialize_meta=True`` unless told otherwise) and ``parquet`` keep the metadata;
the others drop it, and writing to them warns (`METADATA_FORMATS`).

Writing a file goes through a temporary file in the target folder renamed at the
end, and an existing file is refused (`FileExistsError`) unless ``overwrite=True``.
"""

import os
import re
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import registry
from astropy.io.registry.compat import default_registry
from astropy.table import QTable
from astropy.table.connect import TableRead, TableWrite
from astropy.utils.exceptions import AstropyDeprecationWarning

from ..utils import ClusterFinderWarning
from ..utils.files import atomic_write
from ..utils.meta import META_KEYWORD, meta_from_json, meta_to_json
from ..utils.outputs import check_output_file
from .ecsv import write_ecsv

__all__ = [
    "CATALOG_FORMATS",
    "METADATA_FORMATS",
    "CatalogRead",
    "CatalogWrite",
    "register_catalog_formats",
]

#: The formats with a reader, writer and identifier of their own for
#: `~clusterfinder.CandidateCatalog` (format name -> file name endings).
CATALOG_FORMATS = {
    "ascii.ecsv": (".ecsv",),
    "fits": (".fits", ".fit", ".fts", ".fits.gz"),
    "votable": (".xml", ".vot", ".votable"),
}

#: Formats whose files keep a catalogue's ``meta`` (its provenance). Writing to any
#: other format warns that the metadata is not written.
METADATA_FORMATS = frozenset({"ascii.ecsv", "fits", "votable", "hdf5", "parquet"})

_META_INFO = "clusterfinder_meta"
_FORMAT_NAMES = {"ascii.ecsv": "an ECSV", "fits": "a FITS", "votable": "a VOTable"}


# -- the three formats of our own ----------------------------------------------------------


def _plain_columns(table):
    """Undo what FITS, VOTable and text formats do to columns.

    Bytes become str, masked values become NaN (floats) or "" (text), and flag
    columns read back as the text ``True``/``False`` become booleans.
    """
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
            column = table[name]
        if name.startswith("flag_") and column.dtype.kind == "U":
            text = np.char.lower(np.char.strip(np.asarray(column)))
            if np.all(np.isin(text, ("true", "false"))):
                table[name] = text == "true"
    return table


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
    votable.to_xml(path)


def _read_votable(source):
    from astropy.io.votable import parse

    votable = parse(source)
    first = votable.get_first_table()
    meta = {}
    for info in first.infos:
        if info.name == _META_INFO:
            meta = meta_from_json(info.value)
    table = _plain_columns(QTable(first.to_table(use_names_over_ids=True)))
    frame = meta.pop("_coord_frame", "icrs")
    if {"ra", "dec"} <= set(table.colnames):
        coord = SkyCoord(table["ra"], table["dec"], frame=frame)
        index = table.colnames.index("ra")
        table.remove_columns(["ra", "dec"])
        table.add_column(coord, name="coord", index=index)
    table.meta = meta
    return table


def _load(source, fmt, kwargs):
    if fmt == "ascii.ecsv":
        return _plain_columns(QTable.read(source, format="ascii.ecsv", **kwargs))
    if fmt == "fits":
        table = _plain_columns(QTable.read(source, format="fits", **kwargs))
        meta = {key: value for key, value in table.meta.items() if key != META_KEYWORD}
        stored = table.meta.get(META_KEYWORD)
        table.meta = meta_from_json(stored) if stored else meta
        return table
    return _read_votable(source)


#: astropy warnings that mean a file is cut short or damaged.
_DAMAGED = re.compile(r"truncated|corrupted|missing END card", re.IGNORECASE)


def _one_line(exc):
    """The message of ``exc`` on one line, without astropy's indents."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _describe(source):
    if isinstance(source, str) and "\n" in source:
        return "the text given"
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else type(source).__name__


def _read_table(source, fmt, kwargs):
    """The table of a catalogue file; unreadable files raise one sentence naming them."""
    what = f"cannot read {_describe(source)} as {_FORMAT_NAMES[fmt]} candidate catalogue"
    # A FITS file cut short may only warn; the warnings are recorded and checked.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            table = _load(source, fmt, kwargs)
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


def _reader(fmt):
    def read(source, **kwargs):
        from .catalog import CandidateCatalog

        source = os.fspath(source) if isinstance(source, os.PathLike) else source
        return CandidateCatalog(_read_table(source, fmt, kwargs), copy=False)

    read.__name__ = f"read_{fmt.replace('.', '_')}"
    read.__doc__ = f"Read a {fmt} candidate catalogue (registered for CandidateCatalog)."
    return read


def _write_ecsv(catalog, output, *, overwrite=False, **kwargs):
    """Write a candidate catalogue as ECSV (registered for CandidateCatalog).

    Without options of astropy's writer (``delimiter=``...), `write_ecsv` writes the
    same file faster.
    """
    table = QTable(catalog, copy=False)
    if kwargs:
        table.write(output, format="ascii.ecsv", overwrite=overwrite, **kwargs)
    else:
        write_ecsv(table, output, overwrite=overwrite)


def _write_fits(catalog, output, *, overwrite=False, **kwargs):
    """Write a candidate catalogue as FITS, ``meta`` as JSON in ``CFMETA``."""
    out = QTable(catalog, copy=False)
    out.meta = {META_KEYWORD: meta_to_json(catalog.meta)}
    out.write(output, format="fits", overwrite=overwrite, **kwargs)


def _write_votable_file(catalog, output, *, overwrite=False):
    """Write a candidate catalogue as a VOTable, ``meta`` as a JSON INFO element."""
    if isinstance(output, (str, os.PathLike)):
        output = os.fspath(output)
        if os.path.exists(output) and not overwrite:
            raise FileExistsError(f"{output} exists; pass overwrite=True to replace it")
    _write_votable(catalog, output)


def _identifier(fmt):
    endings = CATALOG_FORMATS[fmt]

    def identify(origin, path, fileobj, *args, **kwargs):
        name = os.fspath(path).lower() if isinstance(path, (str, os.PathLike)) else ""
        if not name and args and isinstance(args[0], (str, os.PathLike)):
            name = os.fspath(args[0]).lower()
        return name.endswith(endings)

    identify.__name__ = f"identify_{fmt.replace('.', '_')}"
    return identify


def register_catalog_formats(cls):
    """Register the reader, writer and identifier of each of `CATALOG_FORMATS` for ``cls``.

    `clusterfinder.catalog` does it once for `~clusterfinder.CandidateCatalog` when it is
    imported; registering again does nothing.

    Examples
    --------
    >>> from astropy.io import registry
    >>> from clusterfinder import CandidateCatalog
    >>> register_catalog_formats(CandidateCatalog)
    >>> registry.get_reader("votable", CandidateCatalog).__name__
    'read_votable'
    """
    writers = {"ascii.ecsv": _write_ecsv, "fits": _write_fits, "votable": _write_votable_file}
    for fmt in CATALOG_FORMATS:
        if (fmt, cls) in default_registry._readers:
            continue
        registry.register_reader(fmt, cls, _reader(fmt))
        registry.register_writer(fmt, cls, writers[fmt])
        registry.register_identifier(fmt, cls, _identifier(fmt))


# -- every other format: astropy's readers and writers ---------------------------------------


def _flat(catalog):
    """``catalog`` as a QTable with ICRS ``ra``/``dec`` (deg) in place of ``coord``."""
    out = QTable(catalog, copy=False)
    if "coord" in out.colnames and isinstance(out["coord"], SkyCoord):
        clash = [name for name in ("ra", "dec") if name in out.colnames]
        if clash:
            raise ValueError(
                f"the catalogue has column(s) {', '.join(clash)} besides 'coord': this format "
                "stores the coordinates as 'ra' and 'dec'; rename them first, or write "
                "'ascii.ecsv' or 'fits'"
            )
        coord = out["coord"].icrs
        index = out.colnames.index("coord")
        out.remove_column("coord")
        out.add_column(coord.ra.to(u.deg), name="ra", index=index)
        out.add_column(coord.dec.to(u.deg), name="dec", index=index + 1)
    out.meta = dict(catalog.meta)
    return out


def _with_coord(table):
    """``table`` with ``coord`` rebuilt from ICRS ``ra``/``dec`` columns (degrees)."""
    table = _plain_columns(table)
    if "coord" in table.colnames and isinstance(table["coord"], SkyCoord):
        return table
    for ra, dec in (("ra", "dec"), ("coord.ra", "coord.dec")):
        if {ra, dec} <= set(table.colnames) and "coord" not in table.colnames:
            lon, lat = (
                table[n] if isinstance(table[n], u.Quantity) else np.asarray(table[n]) * u.deg
                for n in (ra, dec)
            )
            index = table.colnames.index(ra)
            table.remove_columns([ra, dec])
            table.add_column(SkyCoord(lon, lat, frame="icrs"), name="coord", index=index)
    stored = table.meta.pop(META_KEYWORD, None)
    if isinstance(stored, str):
        table.meta.update(meta_from_json(stored))
    return table


# -- the read and write methods ----------------------------------------------------------------


def _moved_path(args, kwargs, method):
    """Move a ``path=`` keyword (the spelling before the unified I/O) to the first argument.

    Only when no file is given first: after one, ``path=`` is an option of the format
    (e.g. the table's path inside an HDF5 file) and passes through.
    """
    if "path" not in kwargs or args:
        return args, kwargs
    warnings.warn(
        f"CandidateCatalog.{method}(path=...) is deprecated: give the file as the first "
        f"argument, CandidateCatalog.{method}(path, ...), as for QTable.{method}",
        AstropyDeprecationWarning,
        stacklevel=3,
    )
    kwargs = dict(kwargs)
    return (kwargs.pop("path"), *args), kwargs


def _check_format(cls, format, mode):
    """Refuse a format name that no reader or writer handles, with a sentence."""
    if not isinstance(format, str):
        raise TypeError(f"format must be a format name (str); got {type(format).__name__}")
    if format == "ecsv":
        warnings.warn(
            f"format='ecsv' is deprecated for CandidateCatalog.{mode} (astropy lists the "
            "short name as deprecated): use format='ascii.ecsv'",
            AstropyDeprecationWarning,
            stacklevel=3,
        )
        return "ascii.ecsv"
    get = registry.get_reader if mode == "read" else registry.get_writer
    try:
        get(format, cls)
    except registry.IORegistryError:
        raise ValueError(
            f"format={format!r} is not a table format astropy can {mode}; use e.g. "
            f"'ascii.ecsv', 'fits', 'votable', 'ascii.csv' or 'hdf5' "
            f"(CandidateCatalog.{mode}.list_formats() lists them all)"
        ) from None
    return format


def _identify(cls, mode, path):
    """The format of ``path``: from the catalogue's own formats, else from astropy's."""
    reg = default_registry
    path = os.fspath(path)
    fileobj = None
    try:
        if mode == "read":
            fileobj = open(path, "rb")
        found = reg.identify_format(mode, cls, path, fileobj, [path], {})
        if not found:
            found = reg.identify_format(mode, QTable, path, fileobj, [path], {})
    finally:
        if fileobj is not None:
            fileobj.close()
    if len(found) == 1:
        return found[0]
    if not found:
        endings = ", ".join(e for fmt in CATALOG_FORMATS.values() for e in fmt)
        raise ValueError(
            f"cannot tell the format of {str(path)!r} from its name or contents (known endings: "
            f"{endings}, .csv, .hdf5, .parquet...); pass format=, e.g. format='ascii.ecsv'"
        )
    raise ValueError(f"the format of {str(path)!r} is ambiguous ({', '.join(found)}); pass format=")


class _ListFormats:
    """``list_formats`` showing the catalogue's own formats, then the other table formats."""

    def list_formats(self, out=None):
        """Print the formats (to ``out``, a file object; by default the console).

        The catalogue's own formats (`CATALOG_FORMATS`) come first, then every other
        format astropy can read or write tables in.
        """
        from astropy.table import vstack

        mode = self._method_name.capitalize()
        own = default_registry.get_formats(self._cls, mode)
        others = default_registry.get_formats(QTable, mode)
        others = others[[name not in own["Format"] for name in others["Format"]]]
        table = vstack([own, others]) if len(others) else own
        del table["Data class"]
        if table.has_masked_values:
            table = table.filled("")
        lines = table.pformat(max_lines=-1, max_width=-1)
        if out is None:
            print("\n".join(lines))
        else:
            out.write("\n".join(lines))
        return out


class CatalogRead(_ListFormats, TableRead):
    """Read a `~clusterfinder.CandidateCatalog` from a file, in any astropy table format.

    This is `QTable.read <astropy.table.QTable.read>` (the astropy unified I/O
    layer) with what a candidate catalogue needs on top: a missing file or a folder
    raises `FileNotFoundError` or `IsADirectoryError`; the format follows the file
    name (see `clusterfinder.catalog.io`) unless ``format=`` is given; the
    coordinates come back as the SkyCoord column ``coord`` whatever the format; and
    the result is checked (`CandidateCatalog.validate
    <clusterfinder.CandidateCatalog.validate>`), so a table that is not a
    candidate catalogue is refused with the reason.

    ``CandidateCatalog.read.help("fits")`` and
    ``CandidateCatalog.read.list_formats()`` describe the formats.

    Parameters
    ----------
    *args
        The file first (a path, a file object, or the text of a table), then what
        the format's reader takes after it.
    format : str, optional
        The format name (``"ascii.ecsv"``, ``"fits"``, ``"votable"``, ``"ascii.csv"``,
        ``"hdf5"``...); by default it follows the file name.
    **kwargs
        The options of the format's reader (see ``CandidateCatalog.read.help(format)``).

    Returns
    -------
    `~clusterfinder.CandidateCatalog`
        The candidates with the ``coord`` column and, for the formats that keep it
        (`METADATA_FORMATS`), the ``meta`` that was written.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    IsADirectoryError
        If the path is a folder.
    OSError
        If the file is truncated, damaged, or not FITS where FITS is expected.
    ValueError
        If the format cannot be told or is unknown, or the file is not a candidate
        catalogue (no ``coord`` or ``prob_cluster``, probabilities outside 0-1).
    TypeError
        If ``format`` is not a string, or the ``coord`` read back is not a SkyCoord.

    Examples
    --------
    >>> import io
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder import CandidateCatalog
    >>> cands = CandidateCatalog.from_table(QTable({
    ...     "coord": SkyCoord([10.6, 10.7] * u.deg, [41.2, 41.3] * u.deg),
    ...     "prob_cluster": [0.9, 0.4]}), threshold=0.669)
    >>> text = io.StringIO()
    >>> cands.write(text, format="ascii.ecsv")
    >>> back = CandidateCatalog.read(text.getvalue(), format="ascii.ecsv")
    >>> type(back).__name__, back.meta["threshold"], back["coord"].dec.deg.tolist()
    ('CandidateCatalog', 0.669, [41.2, 41.3])
    """

    def __call__(self, *args, **kwargs):
        args, kwargs = _moved_path(args, kwargs, "read")
        cls = self._cls
        format = kwargs.pop("format", None)
        source = args[0] if args else None
        path = Path(source) if isinstance(source, (str, os.PathLike)) else None
        if path is not None and isinstance(source, str) and "\n" in source:
            path = None  # the text of a table, not a file name
        if path is not None:
            if not path.exists():
                raise FileNotFoundError(f"no such catalogue file: {path}")
            if path.is_dir():
                raise IsADirectoryError(f"{path} is a folder; give a catalogue file")
            args = (str(path), *args[1:])
        if format is None and path is not None:
            format = _identify(cls, "read", path)
        if format is not None:
            format = _check_format(cls, format, "read")
        where = str(path) if path is not None else "the input"
        try:
            out = super().__call__(*args, format=format, **kwargs)
        except registry.IORegistryError as exc:
            raise ValueError(f"cannot read {where}: {_one_line(exc)}") from None
        if format not in CATALOG_FORMATS:
            out = cls(_with_coord(QTable(out, copy=False)), copy=False)
        try:
            out.validate()
        except TypeError as exc:
            raise TypeError(f"{where} is not a candidate catalogue: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{where} is not a candidate catalogue: {exc}") from None
        return out


class CatalogWrite(_ListFormats, TableWrite):
    """Write a `~clusterfinder.CandidateCatalog` to a file, in any astropy table format.

    This is `QTable.write <astropy.table.QTable.write>` (the astropy unified I/O
    layer) with what a candidate catalogue needs on top: the catalogue is checked
    first (`CandidateCatalog.validate <clusterfinder.CandidateCatalog.validate>`);
    a file that exists is refused with `FileExistsError` unless ``overwrite=True``,
    as are a missing folder and a folder given as the file; the file is written
    to a temporary name in its folder and renamed at the end, so that an
    interrupted write never leaves a file that looks whole. Formats that cannot keep
    the metadata (see `METADATA_FORMATS`) warn that it is not written.

    Parameters
    ----------
    *args
        The file first (a path or an open file object), then what the format's
        writer takes after it.
    format : str, optional
        The format name; by default it follows the file name. Needed for a file
        object.
    overwrite : bool, optional
        Replace an existing file. Otherwise an existing file is refused and left as
        it is.
    **kwargs
        The options of the format's writer (see ``CandidateCatalog.write.help(format)``).

    Returns
    -------
    `~pathlib.Path` or None
        The file written (None for an open file object).

    Raises
    ------
    FileExistsError
        If the file exists and ``overwrite`` is False (the message names
        ``overwrite=True``).
    IsADirectoryError, FileNotFoundError, NotADirectoryError, PermissionError
        If the path is a folder, or its folder is missing, not a folder or not
        writable.
    ValueError
        If the format cannot be told or is unknown, the catalogue fails
        `CandidateCatalog.validate <clusterfinder.CandidateCatalog.validate>`, or a
        format that stores ``ra``/``dec`` meets columns of those names.
    TypeError
        If ``format`` is not a string, or ``coord`` is not a SkyCoord.

    Warns
    -----
    `~clusterfinder.utils.ClusterFinderWarning`
        When the format cannot hold the catalogue's ``meta``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder import CandidateCatalog
    >>> cands = CandidateCatalog.from_table(QTable({
    ...     "coord": SkyCoord([10.6, 10.7] * u.deg, [41.2, 41.3] * u.deg),
    ...     "prob_cluster": [0.9, 0.4]}))
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> cands.write(folder / "cands.fits").name
    'cands.fits'
    >>> cands.write(folder / "cands.fits")
    Traceback (most recent call last):
    ...
    FileExistsError: CandidateCatalog.write: '.../cands.fits' exists; pass overwrite=True ...
    """

    def __call__(self, *args, **kwargs):
        args, kwargs = _moved_path(args, kwargs, "write")
        catalog = self._instance
        cls = type(catalog)
        format = kwargs.pop("format", None)
        overwrite = kwargs.pop("overwrite", False)
        catalog.validate()
        target = args[0] if args else None
        if not isinstance(target, (str, os.PathLike)):
            if format is None:
                raise ValueError("pass format= to write to a file object, e.g. format='ascii.ecsv'")
            format = _check_format(cls, format, "write")
            self._write(*args, format=format, stacklevel=3, **kwargs)
            return None
        path = check_output_file(
            Path(os.path.expanduser(os.fspath(target))),
            overwrite=overwrite,
            name="CandidateCatalog.write",
        )
        format = _identify(cls, "write", path) if format is None else format
        format = _check_format(cls, format, "write")

        def write(tmp):
            self._write(tmp, *args[1:], format=format, overwrite=True, stacklevel=5, **kwargs)

        return atomic_write(path, write, suffix="".join(path.suffixes) or ".tmp")

    def _write(self, *args, format, stacklevel, **kwargs):
        catalog = self._instance
        if format in CATALOG_FORMATS:
            super().__call__(*args, format=format, **kwargs)
            return
        flat = _flat(catalog)
        if format not in METADATA_FORMATS and catalog.meta:
            warnings.warn(
                f"format {format!r} cannot hold the catalogue's metadata (its provenance: "
                f"{', '.join(list(catalog.meta)[:4])}...); it is not written. Use "
                "'ascii.ecsv', 'fits', 'votable', 'hdf5' or 'parquet' to keep it",
                ClusterFinderWarning,
                stacklevel=stacklevel,
            )
        if format == "hdf5":
            kwargs.setdefault("serialize_meta", True)
        elif format not in METADATA_FORMATS:
            flat.meta = {}
        flat.write(*args, format=format, **kwargs)
