"""Turn the many ways of giving an image into a list of planes with pixels, WCS and mask.

`Cutout.from_images` accepts, for each band, a FITS path, an HDU, an `HDUList`
(several image extensions, e.g. one per CCD of a MegaCam stack), an
`~astropy.nddata.NDData` / `~astropy.nddata.CCDData`, an ``(array, WCS)`` pair, or a
bare 2-d array (pixel positions only). Each becomes one or more `Plane` objects: a 2-d
pixel array (memory-mapped when read from a file), its celestial WCS, an optional
mask of flagged pixels and its photometric zero point.

Mask extensions of an `HDUList` are recognised by their ``EXTNAME`` (``MASK``,
``DQ``, ``BPM``, ``FLAGS``; non-zero means flagged) and paired with the science
extension of the same ``EXTVER`` (or with the only one). Extensions named like
uncertainty or weight maps (``ERR``, ``WHT``, ``WEIGHT``, ``VAR``, ``IVAR``, ``RMS``,
``EXP``...) are skipped.
"""

import mmap
import os
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS, FITSFixedWarning

from ..utils.photometry import ZERO_POINT_KEYWORDS, read_zero_point

__all__ = ["Plane", "load_planes"]

MASK_EXTNAMES = frozenset({"MASK", "DQ", "BPM", "FLAGS", "FLAG", "BADPIX"})
SKIP_EXTNAMES = frozenset(
    {"ERR", "ERROR", "SIGMA", "NOISE", "RMS", "VAR", "IVAR", "WHT", "WEIGHT", "EXP", "EXPMAP"}
)


@dataclass
class Plane:
    """One 2-d image: pixels, celestial WCS, mask of flagged pixels and zero point.

    Attributes
    ----------
    data : `numpy.ndarray`
        The pixels (possibly a read-only memory map), shape (ny, nx).
    wcs : `~astropy.wcs.WCS` or None
        Its 2-d celestial WCS.
    mask : `numpy.ndarray` or None
        Non-zero where a pixel is flagged, shape (ny, nx).
    zero_point : float or None
        AB zero point read from the header or metadata.
    label : str
        Where the plane came from, for messages (e.g. ``"g.fits[3]"``).
    extension : int
        Index of the extension in its `HDUList` (0 for single images).
    release : bool
        True when the pixels are a memory map that clusterfinder opened itself, so
        that pages already read may be given back to the system.
    """

    data: np.ndarray
    wcs: WCS | None
    mask: np.ndarray | None
    zero_point: float | None
    label: str
    extension: int = 0
    release: bool = False

    @property
    def shape(self):
        """(ny, nx)."""
        return self.data.shape

    def same_grid(self, other):
        """True if ``other`` has this plane's shape and WCS (pixel for pixel)."""
        if self.data.shape != other.data.shape:
            return False
        if self.wcs is None or other.wcs is None:
            return self.wcs is None and other.wcs is None
        ny, nx = self.data.shape
        x = np.array([0.0, nx - 1.0, 0.0, nx - 1.0, nx / 2])
        y = np.array([0.0, 0.0, ny - 1.0, ny - 1.0, ny / 2])
        try:
            world = self.wcs.pixel_to_world(x, y)
            xo, yo = other.wcs.world_to_pixel(world)
        except Exception:  # any failure means "not provably the same grid"
            return False
        return bool(np.all(np.abs(xo - x) < 1e-6) and np.all(np.abs(yo - y) < 1e-6))

    def release_pages(self):
        """Drop the pages of a memory map opened by clusterfinder from the resident set.

        The file stays mapped; pages come back from the page cache when read again.
        This keeps the memory of a long scan over a large file well under its size.
        """
        if not self.release:
            return
        base = self.data
        while base is not None and not isinstance(base, mmap.mmap):
            base = getattr(base, "base", None)
        if base is not None and hasattr(base, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            try:
                base.madvise(mmap.MADV_DONTNEED)
            except (OSError, ValueError):  # pragma: no cover - platform dependent
                pass


def _celestial_wcs(wcs, label):
    """Return the 2-d celestial part of ``wcs`` or raise a clear error."""
    if wcs is None:
        return None
    if not isinstance(wcs, WCS):
        raise TypeError(f"the WCS of {label} must be an astropy.wcs.WCS; got {type(wcs).__name__}")
    if not wcs.has_celestial:
        raise ValueError(
            f"{label} has no celestial WCS (ctype {list(wcs.wcs.ctype)}); cutouts at sky "
            "positions need RA/Dec axes"
        )
    return wcs.celestial if wcs.naxis != 2 else wcs


def _as_2d(data, label):
    data = np.asarray(data) if not isinstance(data, np.ndarray) else data
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    if data.ndim != 2:
        raise ValueError(f"{label} must be a 2-d image; got pixel array of shape {data.shape}")
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{label} must hold real numbers; got dtype {data.dtype}")
    return data


def _header_wcs(header, label):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header)
    if not wcs.has_celestial:
        return None, label
    return wcs.celestial, label


def _zero_point_from(*headers):
    for header in headers:
        if header is not None and any(key in header for key in ZERO_POINT_KEYWORDS):
            return read_zero_point(header)
    return None


def _planes_from_hdulist(hdul, label, release):
    image_hdus, mask_hdus = [], []
    primary_header = hdul[0].header if len(hdul) else None
    for k, hdu in enumerate(hdul):
        if not isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
            continue
        if hdu.header.get("NAXIS", 0) == 0 or hdu.data is None:
            continue
        name = str(hdu.header.get("EXTNAME", "")).strip().upper()
        if name in SKIP_EXTNAMES:
            continue
        (mask_hdus if name in MASK_EXTNAMES else image_hdus).append((k, hdu))
    if not image_hdus:
        raise ValueError(f"{label} holds no image extension with pixels")
    planes = []
    for k, hdu in image_hdus:
        where = f"{label}[{k}]"
        wcs, _ = _header_wcs(hdu.header, where)
        zp = _zero_point_from(hdu.header, primary_header if k != 0 else None)
        data = _as_2d(hdu.data, where)
        planes.append(Plane(data, wcs, None, zp, where, k, release))
    for k, hdu in mask_hdus:
        extver = hdu.header.get("EXTVER", 1)
        if len(image_hdus) == 1:
            target = 0
        else:
            matches = [
                j for j, (_, h) in enumerate(image_hdus) if h.header.get("EXTVER", 1) == extver
            ]
            if len(matches) != 1:
                raise ValueError(
                    f"cannot pair mask extension {label}[{k}] (EXTVER {extver}) with one "
                    "science extension; give EXTVER to each pair"
                )
            target = matches[0]
        mask = np.asarray(hdu.data)
        if mask.shape != planes[target].shape:
            raise ValueError(
                f"mask extension {label}[{k}] has shape {mask.shape} but its image "
                f"{planes[target].label} has shape {planes[target].shape}"
            )
        planes[target].mask = mask
    return planes


def load_planes(image, label, stack):
    """Return the list of `Plane` objects of one band's ``image``.

    Parameters
    ----------
    image : str, path-like, HDU, `HDUList`, `NDData`, (array, WCS) or array
        The image of one band.
    label : str
        Name used in error messages (e.g. ``"images['g']"``).
    stack : `contextlib.ExitStack`
        Files opened here are registered on it, to be closed by the caller.

    Returns
    -------
    list of `Plane`

    Examples
    --------
    >>> import contextlib, numpy as np
    >>> with contextlib.ExitStack() as stack:
    ...     planes = load_planes(np.zeros((4, 5)), "g", stack)
    >>> planes[0].shape, planes[0].wcs
    ((4, 5), None)
    """
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{label}: no such file {path!r}")
        try:
            hdul = fits.open(path, memmap=True, mode="readonly")
        except OSError as exc:
            raise OSError(f"{label}: cannot read {path!r} as FITS: {exc}") from exc
        stack.callback(hdul.close)
        return _planes_from_hdulist(hdul, os.path.basename(path), release=True)
    if isinstance(image, fits.HDUList):
        return _planes_from_hdulist(image, label, release=False)
    if isinstance(image, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        if image.data is None:
            raise ValueError(f"{label} is an HDU without pixels")
        wcs, _ = _header_wcs(image.header, label)
        return [Plane(_as_2d(image.data, label), wcs, None, _zero_point_from(image.header), label)]
    if isinstance(image, NDData):
        data = _as_2d(image.data, label)
        wcs = _celestial_wcs(image.wcs, label) if image.wcs is not None else None
        mask = None
        if image.mask is not None:
            mask = np.asarray(image.mask)
            if mask.shape != data.shape:
                raise ValueError(
                    f"{label}.mask has shape {mask.shape} but the image has shape {data.shape}"
                )
        meta = image.meta if image.meta is not None else {}
        return [Plane(data, wcs, mask, _zero_point_from(meta), label)]
    if isinstance(image, tuple):
        if len(image) != 2:
            raise TypeError(f"{label} as a tuple must be (array, WCS); got {len(image)} items")
        data, wcs = image
        zp = None
        if isinstance(wcs, fits.Header):
            zp = _zero_point_from(wcs)
            wcs, _ = _header_wcs(wcs, label)
            if wcs is None:
                raise ValueError(f"the header given with {label} has no celestial WCS")
        else:
            wcs = _celestial_wcs(wcs, label)
        return [Plane(_as_2d(data, label), wcs, None, zp, label)]
    if isinstance(image, np.ndarray):
        return [Plane(_as_2d(image, label), None, None, None, label)]
    raise TypeError(
        f"{label} must be a FITS path, an HDU or HDUList, an NDData/CCDData, an (array, WCS) "
        f"tuple or a 2-d array; got {type(image).__name__}"
    )
