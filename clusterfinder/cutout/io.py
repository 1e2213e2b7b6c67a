"""Saving a `Cutout` to one FITS file and reading it back.

The file holds, in order:

- a primary HDU without pixels whose header names the content (``CFTYPE =
  'CUTOUT'``), the format version, the stamp size and the bands (``BAND1``,
  ``BAND2``...);
- ``DATA``: the pixels, float32, shape (N, bands, H, W) (FITS writes the axes in the
  reverse order);
- ``MASK``: the mask as uint8 (1 = invalid);
- ``TABLE``: the per-stamp table, when it has columns, with its ``SkyCoord`` column
  stored by astropy's mixin serialisation (``coord.ra``, ``coord.dec`` + metadata) and
  its ``meta`` as JSON under the keyword ``CFMETA`` (in the primary header when the
  table has no columns);
- ``WCSMAP`` and one ``WCSBASE`` header per base WCS, when stamps have a WCS: the
  table gives each stamp's base (-1 for none) and pixel origin on it.

The file is first written under a temporary name in the same folder, then renamed.
"""

import io
import os
import re
import warnings

import numpy as np
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS, FITSFixedWarning

from ..images import check_wcs
from ..utils.files import atomic_write
from ..utils.meta import META_KEYWORD, meta_from_json, meta_to_json
from ..utils.outputs import check_output_file
from .core import Cutout
from .wcs import StampWCS

__all__ = ["read_cutout", "write_cutout"]

FORMAT_VERSION = 1


def _table_hdu(table):
    """A binary-table HDU of ``table``, mixin columns (SkyCoord...) serialised by astropy."""
    buffer = io.BytesIO()
    flat = QTable(table, copy=False)
    # astropy writes int8 columns in a form that reads back as bool (labels 0/1 would
    # come back as False/True): store them as int16 instead.
    for name in flat.colnames:
        if getattr(flat[name], "dtype", None) == np.int8:
            flat[name] = np.asarray(flat[name], dtype=np.int16)
    # Nested metadata (dicts, lists) cannot be FITS keywords: it travels as JSON.
    flat.meta = {META_KEYWORD: meta_to_json(table.meta)} if table.meta else {}
    flat.write(buffer, format="fits")
    buffer.seek(0)
    with fits.open(buffer) as hdul:
        hdu = fits.BinTableHDU(data=hdul[1].data.copy(), header=hdul[1].header.copy())
    hdu.name = "TABLE"
    return hdu


def write_cutout(cutout, path, *, overwrite=False):
    """Write ``cutout`` to the FITS file ``path`` (atomically).

    Parameters
    ----------
    cutout : `~clusterfinder.Cutout`
        The stamps; their pixels, mask, table (with its ``meta``) and stamp WCS are
        written.
    path : str or path-like
        The file to write.
    overwrite : bool, optional
        Replace an existing file. Otherwise an existing ``path`` is refused and left
        as it is.

    Raises
    ------
    TypeError
        If ``cutout`` is not a `~clusterfinder.Cutout`.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False (the message names
        ``overwrite=True``).
    IsADirectoryError, FileNotFoundError, NotADirectoryError, PermissionError
        If ``path`` is a folder, or its folder is missing, not a folder or not
        writable.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from clusterfinder import Cutout
    >>> cut = Cutout(np.ones((2, 1, 5, 5)), bands="g")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_cutout(cut, os.path.join(tmp, "c.fits"))
    ...     read_cutout(os.path.join(tmp, "c.fits")).bands
    ('g',)
    """
    if not isinstance(cutout, Cutout):
        raise TypeError(f"cutout must be a Cutout; got {type(cutout).__name__}")
    path = check_output_file(os.fspath(path), overwrite=overwrite, name="Cutout.write")

    primary = fits.PrimaryHDU()
    header = primary.header
    header["CFTYPE"] = ("CUTOUT", "clusterfinder Cutout file")
    header["CFVERS"] = (FORMAT_VERSION, "format version")
    header["NSTAMP"] = (len(cutout), "number of stamps")
    header["STAMPSZ"] = (cutout.stamp_size, "stamp width and height (pix)")
    header["NBANDS"] = (len(cutout.bands), "number of bands")
    for k, band in enumerate(cutout.bands, start=1):
        header[f"BAND{k}"] = (band, f"band of channel {k - 1}")
    hdus = [primary]
    if len(cutout):
        hdus.append(fits.ImageHDU(cutout.data, name="DATA"))
        hdus.append(fits.ImageHDU(cutout.mask.astype(np.uint8), name="MASK"))
    if not cutout.table.colnames and cutout.table.meta:
        # no table to carry the metadata: the primary header holds it, as JSON
        header[META_KEYWORD] = meta_to_json(cutout.table.meta)
    if cutout.table.colnames:
        with warnings.catch_warnings():
            # long metadata keys become HIERARCH cards, which is fine
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            table_hdu = _table_hdu(cutout.table)
        hdus.append(table_hdu)
    stamp_wcs = cutout._wcs
    if stamp_wcs.any():
        used = np.unique(stamp_wcs.index[stamp_wcs.index >= 0])
        remap = np.full(len(stamp_wcs.bases), -1)
        remap[used] = np.arange(len(used))
        index = np.where(stamp_wcs.index >= 0, remap[np.maximum(stamp_wcs.index, 0)], -1)
        columns = [
            fits.Column(name="BASE", format="J", array=index.astype(np.int32)),
            fits.Column(name="X0", format="D", array=stamp_wcs.origin[:, 0]),
            fits.Column(name="Y0", format="D", array=stamp_wcs.origin[:, 1]),
        ]
        hdus.append(fits.BinTableHDU.from_columns(columns, name="WCSMAP"))
        for k, base in enumerate(used, start=1):
            wcs_header = stamp_wcs.bases[base].to_header(relax=True)
            hdu = fits.ImageHDU(header=wcs_header, name="WCSBASE")
            hdu.header["EXTVER"] = k
            hdus.append(hdu)

    atomic_write(path, lambda tmp: fits.HDUList(hdus).writeto(tmp, overwrite=True), suffix=".fits")


#: astropy warnings that mean a file is cut short or damaged.
_DAMAGED = re.compile(r"truncated|corrupted|missing END card", re.IGNORECASE)


def _damage(caught):
    """The first recorded warning that says the file is cut short or damaged, or None."""
    for item in caught:
        if _DAMAGED.search(str(item.message)):
            return item.message
    return None


def _pass_on(caught):
    """Emit again the recorded warnings that are not about damage."""
    for item in caught:
        if not _DAMAGED.search(str(item.message)):
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


def read_cutout(path):
    """Read a `~clusterfinder.Cutout` written by `write_cutout`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    `~clusterfinder.Cutout`

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    OSError
        If the file is not FITS, or is truncated or damaged.
    ValueError
        If it is FITS but not a complete clusterfinder Cutout file.

    Examples
    --------
    >>> read_cutout("no-such-file.fits")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file 'no-such-file.fits'
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a folder; give a Cutout FITS file")
    what = f"cannot read {path!r} as a clusterfinder Cutout file"
    # A file cut short only warns while its HDUs are read, then fails further on (a
    # missing extension, a reshape): the warnings are recorded and turned into one error.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
        except (OSError, ValueError) as exc:
            damaged = _damage(caught) is not None or "END card" in str(exc)
            reason = "it is truncated or damaged" if damaged else "it is not a FITS file"
            raise OSError(f"{what}: {reason} ({_one_line(exc)})") from None
        with hdul:
            try:
                cutout = _read_hdul(hdul, path)
                problem = _damage(caught)
            except (OSError, ValueError, KeyError):
                problem = _damage(caught)
                if problem is None:
                    raise
            if problem is not None:
                raise OSError(
                    f"{what}: it is truncated or damaged ({_one_line(problem)})"
                ) from None
    _pass_on(caught)
    return cutout


def _one_line(exc):
    """The message of ``exc`` on one line (astropy's span several, with indents)."""
    return " ".join(str(exc).split())


def _keyword(header, key, path, kind=int):
    """Header keyword ``key`` of the primary HDU of a Cutout file, or a clear error."""
    if key not in header:
        raise ValueError(
            f"{path!r} is not a complete clusterfinder Cutout file: its primary header lacks "
            f"the keyword {key}"
        )
    try:
        value = kind(header[key])
    except (TypeError, ValueError):
        raise ValueError(
            f"{path!r} is not a valid clusterfinder Cutout file: header keyword {key} = "
            f"{header[key]!r} is not {'an integer' if kind is int else 'a string'}"
        ) from None
    if kind is int and value < 0:
        raise ValueError(
            f"{path!r} is not a valid clusterfinder Cutout file: header keyword {key} = "
            f"{value} is negative"
        )
    return value


def _read_hdul(hdul, path):
    header = hdul[0].header
    if header.get("CFTYPE") != "CUTOUT":
        raise ValueError(f"{path!r} is not a clusterfinder Cutout file (no CFTYPE='CUTOUT')")
    version = header.get("CFVERS", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"{path!r}: header keyword CFVERS = {version!r} is not an integer")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path!r} uses Cutout file format {version}; this clusterfinder "
            f"reads up to {FORMAT_VERSION}: upgrade clusterfinder"
        )
    n = _keyword(header, "NSTAMP", path)
    size = _keyword(header, "STAMPSZ", path)
    nbands = _keyword(header, "NBANDS", path)
    bands = tuple(_keyword(header, f"BAND{k}", path, str) for k in range(1, nbands + 1))
    names = [hdu.name for hdu in hdul]
    shape = (n, nbands, size, size)
    if n:
        missing = [name for name in ("DATA", "MASK") if name not in names]
        if missing:
            raise ValueError(
                f"{path!r} is not a complete clusterfinder Cutout file: the header says {n} "
                f"stamps but it has no {' or '.join(missing)} extension (a truncated file?)"
            )
        try:
            data = np.ascontiguousarray(hdul["DATA"].data, dtype=np.float32)
            mask = np.ascontiguousarray(hdul["MASK"].data != 0)
        except (TypeError, ValueError) as exc:
            raise OSError(
                f"cannot read the stamps of {path!r}: the file is truncated or damaged "
                f"({_one_line(exc)})"
            ) from None
    else:
        data = np.zeros(shape, dtype=np.float32)
        mask = np.zeros(shape, dtype=bool)
    if data.shape != shape or mask.shape != shape:
        raise ValueError(
            f"{path!r}: DATA has shape {data.shape} and MASK {mask.shape}; the header says "
            f"{n} stamps of {nbands} band(s), {size} x {size} pixels: {shape}"
        )
    try:
        if "TABLE" in names:
            table = QTable.read(hdul["TABLE"])
            table.meta.pop("EXTNAME", None)
        else:
            table = QTable()
            if META_KEYWORD in header:
                table.meta[META_KEYWORD] = header[META_KEYWORD]
        if META_KEYWORD in table.meta:
            table.meta = meta_from_json(table.meta[META_KEYWORD])
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path!r}: cannot read its TABLE extension of stamps: {exc}") from None
    if len(table.colnames) and len(table) != n:
        raise ValueError(f"{path!r}: TABLE has {len(table)} rows; the header says {n} stamps")
    if "WCSMAP" in names:
        wcs_map = hdul["WCSMAP"].data
        if wcs_map is None or len(wcs_map) != n:
            raise ValueError(
                f"{path!r}: WCSMAP has {0 if wcs_map is None else len(wcs_map)} rows; the "
                f"header says {n} stamps"
            )
        bases = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            for k, hdu in enumerate(hdul):
                if hdu.name == "WCSBASE":
                    label = f"{path!r} (extension {k}, WCSBASE {len(bases) + 1})"
                    try:
                        base = WCS(hdu.header)
                    except ValueError as exc:
                        raise ValueError(f"cannot read the WCS of {label}: {exc}") from None
                    bases.append(check_wcs(base, label))
        index = np.asarray(wcs_map["BASE"], dtype=np.intp)
        if index.size and (index.max() >= len(bases) or index.min() < -1):
            raise ValueError(
                f"{path!r}: WCSMAP refers to WCS base {int(index.max())} but the file holds "
                f"{len(bases)} WCSBASE extension(s)"
            )
        stamp_wcs = StampWCS(
            bases,
            index,
            np.stack([wcs_map["X0"], wcs_map["Y0"]], axis=1),
            size,
        )
    else:
        stamp_wcs = StampWCS.from_list(None, n)
    return Cutout(data, bands=bands, mask=mask, table=table, wcs=stamp_wcs)
