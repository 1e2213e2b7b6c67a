"""Saving a `Cutout` to one FITS file and reading it back.

The file holds, in order:

- a primary HDU without pixels whose header names the content (``CFTYPE =
  'CUTOUT'``), the format version, the stamp size and the bands (``BAND1``,
  ``BAND2``...);
- ``DATA``: the pixels, float32, shape (N, bands, H, W) (FITS writes the axes in the
  reverse order);
- ``MASK``: the mask as uint8 (1 = invalid);
- ``TABLE``: the per-stamp table, when it has columns, with its ``SkyCoord`` column
  stored by astropy's mixin serialisation (``coord.ra``, ``coord.dec`` + metadata);
- ``WCSMAP`` and one ``WCSBASE`` header per base WCS, when stamps have a WCS: the
  table gives each stamp's base (-1 for none) and pixel origin on it.

The file is first written under a temporary name in the same folder, then renamed.
"""

import io
import os
import warnings

import numpy as np
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS, FITSFixedWarning

from ..utils.files import atomic_write
from ..utils.meta import META_KEYWORD, meta_from_json, meta_to_json
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
    path : str or path-like
    overwrite : bool, optional
        Replace an existing file. Otherwise an existing ``path`` is an error.

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
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"path {path!r} is a folder; give a file name")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path!r} exists; pass overwrite=True to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"the folder of {path!r} does not exist")

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


def read_cutout(path):
    """Read a `~clusterfinder.Cutout` written by `write_cutout`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    `~clusterfinder.Cutout`

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
    try:
        hdul = fits.open(path, memmap=False)
    except OSError as exc:
        raise OSError(f"cannot read {path!r} as FITS: {exc}") from exc
    with hdul:
        header = hdul[0].header
        if header.get("CFTYPE") != "CUTOUT":
            raise ValueError(f"{path!r} is not a clusterfinder Cutout file (no CFTYPE='CUTOUT')")
        if int(header.get("CFVERS", 0)) > FORMAT_VERSION:
            raise ValueError(
                f"{path!r} uses Cutout file format {header['CFVERS']}; this clusterfinder "
                f"reads up to {FORMAT_VERSION}: upgrade clusterfinder"
            )
        n, size, nbands = int(header["NSTAMP"]), int(header["STAMPSZ"]), int(header["NBANDS"])
        bands = tuple(str(header[f"BAND{k}"]) for k in range(1, nbands + 1))
        names = [hdu.name for hdu in hdul]
        if n:
            data = np.ascontiguousarray(hdul["DATA"].data, dtype=np.float32)
            mask = np.ascontiguousarray(hdul["MASK"].data != 0)
        else:
            data = np.zeros((0, nbands, size, size), dtype=np.float32)
            mask = np.zeros(data.shape, dtype=bool)
        if data.shape != (n, nbands, size, size):
            raise ValueError(f"{path!r}: DATA has shape {data.shape}, header says {n} stamps")
        table = QTable.read(hdul["TABLE"]) if "TABLE" in names else QTable()
        table.meta.pop("EXTNAME", None)
        if META_KEYWORD in table.meta:
            table.meta = meta_from_json(table.meta[META_KEYWORD])
        if "WCSMAP" in names:
            wcs_map = hdul["WCSMAP"].data
            bases = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                for hdu in hdul:
                    if hdu.name == "WCSBASE":
                        bases.append(WCS(hdu.header))
            stamp_wcs = StampWCS(
                bases,
                np.asarray(wcs_map["BASE"], dtype=np.intp),
                np.stack([wcs_map["X0"], wcs_map["Y0"]], axis=1),
                size,
            )
        else:
            stamp_wcs = StampWCS.from_list(None, n)
    return Cutout(data, bands=bands, mask=mask, table=table, wcs=stamp_wcs)
