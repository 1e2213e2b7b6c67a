"""One loader for survey images, shared by cutouts, source detection and scans.

Every part of clusterfinder that reads pixels accepts, for each band, a FITS path,
an HDU, an `~astropy.io.fits.HDUList` (several image extensions, e.g. one per CCD
of a MegaCam stack), an `~astropy.nddata.NDData` / `~astropy.nddata.CCDData`, an
``(array, WCS)`` pair (or ``(array, Header)``), or a bare 2-d array (pixel positions
only). `load_planes` turns one of them into `Plane` objects: a 2-d pixel array
(memory-mapped when read from a file, so that only the slices used are read), its
celestial WCS, an optional mask of flagged pixels, its header and its photometric
zero point. `load_band` returns the one image of a band as a `BandImage`, with a
celestial WCS and a zero point, as detection and scans need.

Mask extensions of an `HDUList` are recognised by their ``EXTNAME`` (``MASK``,
``DQ``, ``BPM``, ``FLAGS``; non-zero means flagged) and paired with the science
extension of the same ``EXTVER`` (or with the only one). Extensions named like
uncertainty or weight maps (``ERR``, ``WHT``, ``WEIGHT``, ``VAR``, ``IVAR``, ``RMS``,
``EXP``...) are skipped.
"""

import contextlib
import mmap
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales

from .utils.photometry import ZERO_POINT_KEYWORDS, read_zero_point

__all__ = ["BandImage", "Plane", "load_band", "load_plane", "load_planes", "release_pages"]

MASK_EXTNAMES = frozenset({"MASK", "DQ", "BPM", "FLAGS", "FLAG", "BADPIX"})
SKIP_EXTNAMES = frozenset(
    {"ERR", "ERROR", "SIGMA", "NOISE", "RMS", "VAR", "IVAR", "WHT", "WEIGHT", "EXP", "EXPMAP"}
)
SATURATION_KEYWORDS = ("SATURATE", "SATLEVEL", "SATURATION")
GAIN_KEYWORDS = ("GAIN", "EGAIN")
_IMAGE_HDUS = (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)


def release_pages(data):
    """Drop the pages of a memory-mapped array from this process's resident set.

    The file stays mapped and pages read again come back from the system's cache;
    this keeps the memory of a long pass over a large file well under its size.
    Arrays that are not memory maps are left alone.

    Examples
    --------
    >>> import numpy as np
    >>> release_pages(np.zeros(3))  # not a memory map: nothing happens
    """
    base = data
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    if base is not None and hasattr(base, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        try:
            base.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):  # pragma: no cover - platform dependent
            pass


def _header_number(header, keywords):
    """First of ``keywords`` in ``header`` holding a finite positive number, else None."""
    if header is None:
        return None
    for key in keywords:
        if key in header:
            try:
                value = float(header[key])
            except (TypeError, ValueError):
                continue
            if np.isfinite(value) and value > 0:
                return value
    return None


def _grids_match(a, b, tolerance):
    """True if the (data, wcs) of ``a`` and ``b`` share shape and pixel-to-sky mapping."""
    if tuple(a.data.shape) != tuple(b.data.shape):
        return False
    if a.wcs is None or b.wcs is None:
        return a.wcs is None and b.wcs is None
    ny, nx = a.data.shape
    x = np.array([0.0, nx - 1.0, 0.0, nx - 1.0, (nx - 1) / 2])
    y = np.array([0.0, 0.0, ny - 1.0, ny - 1.0, (ny - 1) / 2])
    try:
        xo, yo = b.wcs.world_to_pixel(a.wcs.pixel_to_world(x, y))
    except Exception:  # any failure means "not provably the same grid"
        return False
    return bool(np.all(np.hypot(xo - x, yo - y) < tolerance))


@dataclass
class Plane:
    """One 2-d image: pixels, celestial WCS, mask of flagged pixels, header, zero point.

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
    header : `~astropy.io.fits.Header` or dict-like or None
        The header of the extension (or the metadata of an NDData).
    kind : str
        ``"fits"`` (file, HDU or HDUList), ``"nddata"`` or ``"array"``.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.io import fits
    >>> hdu = fits.ImageHDU(np.zeros((4, 5)), header=fits.Header({"GAIN": 2.0}))
    >>> plane = Plane(hdu.data, None, None, None, "g", header=hdu.header)
    >>> plane.shape, plane.gain, plane.saturation
    ((4, 5), 2.0, None)
    """

    data: np.ndarray
    wcs: WCS | None
    mask: np.ndarray | None
    zero_point: float | None
    label: str
    extension: int = 0
    release: bool = False
    header: object = None
    kind: str = "fits"

    @property
    def shape(self):
        """(ny, nx)."""
        return tuple(self.data.shape)

    @property
    def saturation(self):
        """Saturation level (counts) from ``SATURATE``/``SATLEVEL``, or None."""
        return _header_number(self.header, SATURATION_KEYWORDS)

    @property
    def gain(self):
        """Gain (electrons per count) from ``GAIN``/``EGAIN``, or None."""
        return _header_number(self.header, GAIN_KEYWORDS)

    def same_grid(self, other, tolerance=1e-6):
        """True if ``other`` has this plane's shape and WCS (to ``tolerance`` pixel)."""
        return _grids_match(self, other, tolerance)

    def release_pages(self):
        """Give back the pages read so far, if clusterfinder mapped the file itself."""
        if self.release:
            release_pages(self.data)


@dataclass
class BandImage:
    """One band of a field, as detection and scans use it.

    Attributes
    ----------
    band : str
        Band name.
    data : array-like
        Two-dimensional pixel array (often a memory map); only the slices used are read.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of ``data``.
    zero_point : float
        AB zero point: AB = -2.5 log10(counts) + zero_point.
    saturation : float or None
        Counts at which pixels saturate.
    gain : float or None
        Electrons per count, for the Poisson part of the errors.
    source : str
        Where the image came from (file name or type), for messages and metadata.
    header : `~astropy.io.fits.Header` or None
        Its header, where it has one.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    >>> image = load_band((np.zeros((8, 8)), wcs), "i", zero_point=30)
    >>> image.shape, image.zero_point, round(image.pixel_scale, 3)
    ((8, 8), 30.0, 0.186)
    """

    band: str
    data: object
    wcs: WCS
    zero_point: float
    saturation: float | None = None
    gain: float | None = None
    source: str = ""
    header: object = None
    _files: object = field(default=None, repr=False, compare=False)

    def close(self):
        """Close the FITS file opened for this image, if any."""
        if self._files is not None:
            self.data = None
            self._files.close()
            self._files = None

    @property
    def shape(self):
        """The (ny, nx) shape of the image."""
        return tuple(self.data.shape)

    @property
    def pixel_scale(self):
        """Mean pixel scale in arcsec per pixel."""
        return float(np.mean(proj_plane_pixel_scales(self.wcs)) * 3600.0)

    def same_grid(self, other, tolerance=1e-3):
        """True if ``other`` has the same shape and pixel-to-sky mapping (to ``tolerance``)."""
        return self is other or _grids_match(self, other, tolerance)


def _celestial_wcs(wcs, label):
    """Return the 2-d celestial part of ``wcs`` (None stays None) or raise a clear error."""
    if wcs is None:
        return None
    if not isinstance(wcs, WCS):
        raise TypeError(f"the WCS of {label} must be an astropy.wcs.WCS; got {type(wcs).__name__}")
    if not wcs.has_celestial:
        raise ValueError(
            f"{label} has no celestial WCS (ctype {list(wcs.wcs.ctype)}); sky positions "
            "need RA/Dec axes"
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


def _header_wcs(header):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FITSFixedWarning about harmless header fixes
        wcs = WCS(header)
    return wcs.celestial if wcs.has_celestial else None


def _zero_point_from(*headers):
    for header in headers:
        if header is not None and any(key in header for key in ZERO_POINT_KEYWORDS):
            return read_zero_point(header)
    return None


def _pixels(hdu, label):
    try:
        return _as_2d(hdu.data, label)
    except (TypeError, ValueError) as exc:
        if "2-d image" in str(exc) or "real numbers" in str(exc):
            raise
        raise OSError(f"cannot read the pixels of {label}: {exc}") from None


def _planes_from_hdulist(hdul, label, name, release):
    image_hdus, mask_hdus = [], []
    primary_header = hdul[0].header if len(hdul) else None
    for k, hdu in enumerate(hdul):
        if not isinstance(hdu, _IMAGE_HDUS) or hdu.header.get("NAXIS", 0) == 0:
            continue
        extname = str(hdu.header.get("EXTNAME", "")).strip().upper()
        if extname in SKIP_EXTNAMES:
            continue
        (mask_hdus if extname in MASK_EXTNAMES else image_hdus).append((k, hdu))
    if not image_hdus:
        raise ValueError(f"{label} ({name}) holds no image extension with pixels")
    planes = []
    for k, hdu in image_hdus:
        where = f"{name}[{k}]"
        data = _pixels(hdu, f"{label} ({where})")
        zp = _zero_point_from(hdu.header, primary_header if k != 0 else None)
        planes.append(Plane(data, _header_wcs(hdu.header), None, zp, where, k, release, hdu.header))
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
                    f"cannot pair mask extension {name}[{k}] of {label} (EXTVER {extver}) "
                    "with one science extension; give EXTVER to each pair"
                )
            target = matches[0]
        mask = np.asarray(hdu.data)
        if mask.shape != planes[target].shape:
            raise ValueError(
                f"mask extension {name}[{k}] of {label} has shape {mask.shape} but its "
                f"image {planes[target].label} has shape {planes[target].shape}"
            )
        planes[target].mask = mask
    return planes


def _open_fits(path, label, stack):
    """Open ``path`` memory-mapped (closed by ``stack``); file problems raise OSError."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{label}: no such file {path!r}")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hdul = fits.open(path, memmap=True, mode="readonly", lazy_load_hdus=False)
    except OSError as exc:
        raise OSError(f"{label}: cannot read {path!r} as FITS: {exc}") from None
    stack.callback(hdul.close)
    for item in caught:
        if "truncated" in str(item.message):
            raise OSError(f"{label}: the FITS file {path!r} is truncated: {item.message}")
    return hdul


def _nddata_header(image):
    """The header-like metadata of an NDData: ``meta`` or ``meta['header']``."""
    meta = image.meta if image.meta is not None else {}
    if isinstance(meta, fits.Header):
        return meta
    header = meta.get("header") if hasattr(meta, "get") else None
    return header if header is not None else meta


def _source(image):
    """A short description of where ``image`` comes from: file name or type."""
    if isinstance(image, (str, os.PathLike)):
        return os.path.basename(os.fspath(image))
    return type(image).__name__


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
        One per science extension (one for everything but a multi-extension file).

    Raises
    ------
    FileNotFoundError, OSError
        For a missing, unreadable or truncated file.
    TypeError, ValueError
        For input of the wrong type, not 2-d, or with a non-celestial WCS.

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
        hdul = _open_fits(path, label, stack)
        return _planes_from_hdulist(hdul, label, os.path.basename(path), release=True)
    if isinstance(image, fits.HDUList):
        return _planes_from_hdulist(image, label, "HDUList", release=False)
    if isinstance(image, _IMAGE_HDUS):
        if image.data is None:
            raise ValueError(f"{label} is an HDU without pixels")
        data = _pixels(image, label)
        zp = _zero_point_from(image.header)
        return [Plane(data, _header_wcs(image.header), None, zp, label, header=image.header)]
    if isinstance(image, NDData):
        data = _as_2d(image.data, label)
        wcs = _celestial_wcs(image.wcs, label)
        mask = None
        if image.mask is not None:
            mask = np.asarray(image.mask)
            if mask.shape != data.shape:
                raise ValueError(
                    f"{label}.mask has shape {mask.shape} but the image has shape {data.shape}"
                )
        header = _nddata_header(image)
        zp = _zero_point_from(header)
        return [Plane(data, wcs, mask, zp, label, header=header, kind="nddata")]
    if isinstance(image, tuple):
        if len(image) != 2:
            raise TypeError(f"{label} as a tuple must be (array, WCS); got {len(image)} items")
        data, wcs = image
        zp, header = None, None
        if isinstance(wcs, fits.Header):
            zp, header = _zero_point_from(wcs), wcs
            wcs = _header_wcs(wcs)
            if wcs is None:
                raise ValueError(f"the header given with {label} has no celestial WCS")
        else:
            wcs = _celestial_wcs(wcs, label)
        return [Plane(_as_2d(data, label), wcs, None, zp, label, header=header, kind="array")]
    if isinstance(image, np.ndarray):
        return [Plane(_as_2d(image, label), None, None, None, label, kind="array")]
    raise TypeError(
        f"{label} must be a FITS path, an HDU or HDUList, an NDData/CCDData, an (array, WCS) "
        f"tuple or a 2-d array; got {type(image).__name__}"
    )


def load_plane(image, label, stack):
    """Return the single `Plane` of ``image``; several science extensions are an error.

    Takes the same inputs as `load_planes`. Code that works on one image per band
    (source detection, scans) uses this, so that a mosaic of many extensions is
    refused rather than silently reduced to its first CCD.

    Examples
    --------
    >>> import contextlib, numpy as np
    >>> from astropy.io import fits
    >>> mosaic = fits.HDUList([fits.PrimaryHDU()] + [fits.ImageHDU(np.zeros((3, 3)))] * 2)
    >>> with contextlib.ExitStack() as stack:
    ...     load_plane(mosaic, "images['g']", stack)
    Traceback (most recent call last):
    ...
    ValueError: images['g'] holds 2 image extensions (HDUList[1], HDUList[2]); ...
    """
    planes = load_planes(image, label, stack)
    if len(planes) > 1:
        names = ", ".join(p.label for p in planes[:4]) + (", ..." if len(planes) > 4 else "")
        raise ValueError(
            f"{label} holds {len(planes)} image extensions ({names}); give one extension "
            "(e.g. hdulist[1]) or split the mosaic into one file per CCD"
        )
    return planes[0]


def load_band(
    image,
    band,
    *,
    label=None,
    zero_point=None,
    default_zero_point=None,
    saturation=None,
    gain=None,
    stack=None,
):
    """Open the one image of ``band`` as a `BandImage` with a celestial WCS and zero point.

    Parameters
    ----------
    image : str, path-like, HDU, `HDUList`, `NDData` or (array, WCS)
        The image (see `load_planes`); it must hold one science image.
    band : str
        Band name.
    label : str, optional
        Name used in error messages (default ``"images['<band>']"``).
    zero_point : float, optional
        AB zero point; read from the header (``PHOTZP``, ``MAGZPT``...) otherwise.
    default_zero_point : float, optional
        Zero point for arrays and NDData that carry none; without it they are an error.
        FITS images must always state theirs.
    saturation, gain : float, optional
        Saturation level (counts) and gain (e-/count); read from the header
        (``SATURATE``, ``GAIN``) otherwise, or left unknown.
    stack : `contextlib.ExitStack`, optional
        Where to register a file opened here; by default the `BandImage` keeps it
        and `BandImage.close` closes it.

    Returns
    -------
    `BandImage`

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> load_band((np.zeros((8, 8)), wcs), "g", default_zero_point=30).zero_point
    30.0
    >>> load_band(np.zeros((8, 8)), "g", zero_point=30)
    Traceback (most recent call last):
    ...
    TypeError: images['g'] has no WCS: give (array, WCS) so that sources can be placed on the sky
    """
    label = f"images[{band!r}]" if label is None else label
    own = contextlib.ExitStack() if stack is None else None
    try:
        plane = load_plane(image, label, stack if own is None else own)
        if plane.wcs is None:
            if plane.kind == "array" and plane.header is None:
                raise TypeError(
                    f"{label} has no WCS: give (array, WCS) so that sources can be placed on "
                    "the sky"
                )
            raise ValueError(
                f"{label} ({plane.label}) has no celestial WCS: sources cannot be placed on "
                "it (add CTYPE/CRVAL/CRPIX/CD keywords to its header)"
            )
        if zero_point is None:
            zero_point = plane.zero_point
        if zero_point is None:
            if plane.kind == "fits":
                raise ValueError(
                    f"{label} ({plane.label}) has no photometric zero point in its header "
                    f"(none of {', '.join(ZERO_POINT_KEYWORDS)}); add one or pass it "
                    f"explicitly (zero_points={{{band!r}: ...}})"
                )
            if default_zero_point is None:
                raise ValueError(
                    f"{label} has no header to read a zero point from; pass "
                    f"zero_points={{{band!r}: ...}}"
                )
            zero_point = default_zero_point
        result = BandImage(
            band=band,
            data=plane.data,
            wcs=plane.wcs,
            zero_point=float(zero_point),
            saturation=float(saturation) if saturation is not None else plane.saturation,
            gain=float(gain) if gain is not None else plane.gain,
            source=_source(image),
            header=plane.header,
            _files=own,
        )
    except BaseException:
        if own is not None:
            own.close()
        raise
    return result
