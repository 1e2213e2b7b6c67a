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

Integer images scaled by ``BSCALE``/``BZERO`` (with ``BLANK`` for missing pixels), as
archives deliver them (uint16 is stored as int16 with ``BZERO = 32768``), are
memory-mapped as the raw integers and scaled as they are read (`ScaledPixels`):
float32 ``BZERO + BSCALE * raw``, NaN where ``raw == BLANK``. Zero points outside
`ZERO_POINT_RANGE` and world coordinate systems that cannot place a pixel on the
sky (non-finite reference, declination beyond +-90 deg, singular CD/CDELT matrix)
are refused with a message that names the image.
"""

import contextlib
import mmap
import os
import re
import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales

from .utils import photometry as _photometry
from .utils.photometry import REFERENCE_ZEROPOINT, ZERO_POINT_KEYWORDS, check_zero_point

__all__ = [
    "ZERO_POINT_RANGE",
    "BandImage",
    "Plane",
    "ScaledPixels",
    "check_wcs",
    "check_zero_point",
    "load_band",
    "load_plane",
    "load_planes",
    "release_pages",
    "zero_points_by_band",
]

MASK_EXTNAMES = frozenset({"MASK", "DQ", "BPM", "FLAGS", "FLAG", "BADPIX"})
SKIP_EXTNAMES = frozenset(
    {"ERR", "ERROR", "SIGMA", "NOISE", "RMS", "VAR", "IVAR", "WHT", "WEIGHT", "EXP", "EXPMAP"}
)
SATURATION_KEYWORDS = ("SATURATE", "SATLEVEL", "SATURATION")
GAIN_KEYWORDS = ("GAIN", "EGAIN")
_IMAGE_HDUS = (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)

#: AB zero points accepted for an image in counts (``AB = -2.5 log10(counts) + ZP``), by
#: `check_zero_point` (both are defined in ``clusterfinder.utils.photometry``, whose
#: ``read_zero_point`` checks the same way).
#: Survey images in ADU or electrons have zero points of about 22-34 (PAndAS/MegaPipe
#: and the simulator: 30); a value outside this range is a wrong or placeholder keyword
#: (e.g. ``PHOTZP = -99`` or ``0``), or an image not in counts.
ZERO_POINT_RANGE = _photometry.ZERO_POINT_RANGE

#: `ScaledPixels` converts whole arrays in row blocks of about this many pixels.
_SCALE_BLOCK_PIXELS = 1 << 22


#: The memory maps of the files clusterfinder opened itself (held weakly): their pages
#: may be given back whatever array of clusterfinder's views them (see `load_planes`).
_OWN_MAPS = weakref.WeakSet()


def _memory_map(data):
    """The `mmap.mmap` under ``data`` (following ``base``), or None."""
    base = data
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    return base


def _own_map(data):
    """True when ``data`` views a memory map of a file clusterfinder opened."""
    base = _memory_map(data)
    return base is not None and base in _OWN_MAPS


def release_pages(data):
    """Drop the pages of a memory-mapped array from this process's resident set.

    The file stays mapped and pages read again come back from the system's cache;
    this keeps the memory of a long pass over a large file well under its size.
    Arrays that are not memory maps are left alone.

    Parameters
    ----------
    data : array-like
        An array, possibly a view of a memory map (as `Plane.data` of a file).

    Examples
    --------
    >>> import numpy as np
    >>> release_pages(np.zeros(3))  # not a memory map: nothing happens
    """
    base = _memory_map(data)
    if base is not None and hasattr(base, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        try:
            base.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):  # pragma: no cover - platform dependent
            pass


class ScaledPixels:
    """The pixels of an integer FITS image, scaled by ``BSCALE``/``BZERO`` as they are read.

    astropy cannot memory-map an image whose header holds ``BSCALE``, ``BZERO`` or
    ``BLANK`` and still scale it; clusterfinder maps the raw integers instead (the file
    opened with ``do_not_scale_image_data=True``) and scales only the pixels read.
    Indexing returns float32 ``bzero + bscale * raw`` (computed in float64, so uint16
    stored as int16 with ``BZERO = 32768`` comes back exact), with NaN where
    ``raw == blank``. `numpy.asarray` converts the whole image, in row blocks.

    Parameters
    ----------
    raw : `numpy.ndarray`
        The raw 2-d integers (usually a read-only memory map).
    bscale, bzero : float, optional
        The header's ``BSCALE`` and ``BZERO``.
    blank : int, optional
        The header's ``BLANK``: raw value of a missing pixel.

    Examples
    --------
    >>> import numpy as np
    >>> raw = np.array([[-32768, 0], [32767, 5]], dtype=np.int16)
    >>> pixels = ScaledPixels(raw, bzero=32768)  # uint16 as FITS stores it
    >>> pixels[0], pixels.dtype
    (array([    0., 32768.], dtype=float32), dtype('float32'))
    >>> ScaledPixels(raw, bscale=0.5, blank=-32768)[:, 0]
    array([     nan, 16383.5], dtype=float32)
    """

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, raw, *, bscale=1.0, bzero=0.0, blank=None):
        if raw.ndim != 2:
            raise ValueError(f"raw must be a 2-d array; got shape {raw.shape}")
        self.raw = raw
        self.bscale = float(bscale)
        self.bzero = float(bzero)
        self.blank = None if blank is None else int(blank)

    @property
    def shape(self):
        """(ny, nx)."""
        return tuple(self.raw.shape)

    @property
    def size(self):
        """Number of pixels."""
        return int(self.raw.size)

    @property
    def base(self):
        """The raw array: `release_pages` follows ``base`` to the file's memory map."""
        return self.raw

    def __len__(self):
        return len(self.raw)

    def scale(self, raw):
        """Physical float32 values of raw integers ``raw`` (NaN where ``raw == blank``).

        Parameters
        ----------
        raw : array-like of int
            Raw values as stored in the file.

        Returns
        -------
        `numpy.ndarray` of float32 (a 0-d input gives a scalar)

        Examples
        --------
        >>> import numpy as np
        >>> pixels = ScaledPixels(np.zeros((2, 2), np.int16), bscale=2.0, bzero=1.0)
        >>> pixels.scale(np.array([0, 3]))
        array([1., 7.], dtype=float32)
        """
        raw = np.asarray(raw)
        values = np.asarray(np.multiply(raw, self.bscale, dtype=np.float64))
        if self.bzero:
            values += self.bzero
        out = values.astype(np.float32)
        if self.blank is not None:
            out[raw == self.blank] = np.nan
        return out[()] if out.ndim == 0 else out

    def __getitem__(self, key):
        return self.scale(self.raw[key])

    def __array__(self, dtype=None, copy=None):
        ny, nx = self.shape
        out = np.empty((ny, nx), dtype=np.float32)
        rows = max(1, _SCALE_BLOCK_PIXELS // max(nx, 1))
        for y0 in range(0, ny, rows):
            out[y0 : y0 + rows] = self[y0 : y0 + rows]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self):
        blank = "" if self.blank is None else f", blank={self.blank}"
        return (
            f"<ScaledPixels {self.shape[0]}x{self.shape[1]} {self.raw.dtype} -> float32: "
            f"bscale={self.bscale:g}, bzero={self.bzero:g}{blank}>"
        )


_WCS_NUMBER_KEY = re.compile(r"^(CRVAL|CRPIX|CDELT)[12]$|^(CD|PC)[12]_[12]$")


def _latitude_axes(ctype):
    """Indices of the latitude (Dec-like) axes among the ``CTYPE`` values ``ctype``."""
    out = []
    for k, name in enumerate(ctype):
        name = str(name).upper()
        if name.startswith("DEC") or name[1:4] == "LAT" or name[2:4] == "LT":
            out.append(k)
    return out


def _check_wcs_header(header, label):
    """Refuse WCS keywords that astropy would silently replace (e.g. an all-zero CD matrix)."""
    for key in header:
        if not _WCS_NUMBER_KEY.match(str(key)):
            continue
        value = header[key]
        if isinstance(value, (bool, str)) or not np.isfinite(_as_float(value)):
            raise ValueError(
                f"the WCS of {label} is invalid: header keyword {key} = {value!r} is not a "
                "finite number"
            )
    ctype = [header.get(f"CTYPE{i}", "") for i in (1, 2)]
    for k in _latitude_axes(ctype):
        key = f"CRVAL{k + 1}"
        if key in header and abs(float(header[key])) > 90:
            raise ValueError(
                f"the WCS of {label} puts its reference point at Dec {float(header[key]):g} "
                f"deg (header keyword {key}); a declination lies between -90 and +90 deg"
            )
    cd_keys = [f"CD{i}_{j}" for i in (1, 2) for j in (1, 2)]
    if not any(key in header for key in cd_keys):
        for key in ("CDELT1", "CDELT2"):
            if key in header and float(header[key]) == 0:
                raise ValueError(
                    f"the WCS of {label} is singular: header keyword {key} = 0 (a pixel scale "
                    "of zero) cannot map pixels to the sky"
                )
    else:
        cd = np.array([[float(header.get(f"CD{i}_{j}", 0.0)) for j in (1, 2)] for i in (1, 2)])
        if not _invertible(cd):
            raise ValueError(
                f"the WCS of {label} is singular: its CD matrix {cd.tolist()} (header keywords "
                "CD1_1, CD1_2, CD2_1, CD2_2) cannot map pixels to the sky; it needs a non-zero "
                "determinant (pixel scale and orientation)"
            )


def _as_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _invertible(matrix):
    scale = np.max(np.abs(matrix)) if matrix.size else 0.0
    if not np.all(np.isfinite(matrix)) or scale == 0:
        return False
    return abs(np.linalg.det(matrix / scale)) > 1e-10


def check_wcs(wcs, label):
    """Return ``wcs`` if it can map pixels to the sky; else raise a `ValueError` naming ``label``.

    Refused: a reference position (``CRVAL``) or pixel (``CRPIX``) that is not finite, a
    declination beyond +-90 deg, and a singular linear part (a zero ``CDELT``, an all-zero
    or degenerate ``CD``/``PC`` matrix), which wcslib would only report as a
    ``SingularMatrixError`` from deep inside a later transformation.

    Parameters
    ----------
    wcs : `~astropy.wcs.WCS`
        The WCS to check.
    label : str
        The image it belongs to, for the message.

    Returns
    -------
    `~astropy.wcs.WCS`

    Examples
    --------
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.cdelt = [0.0, 5e-5]
    >>> check_wcs(wcs, "images['g']")
    Traceback (most recent call last):
    ...
    ValueError: the WCS of images['g'] is singular: its linear part (CDELT x PC) ...
    """
    if not isinstance(wcs, WCS):
        raise TypeError(f"the WCS of {label} must be an astropy.wcs.WCS; got {type(wcs).__name__}")
    w = wcs.wcs
    crval = np.array(w.crval, dtype=float)
    crpix = np.array(w.crpix, dtype=float)
    if not np.all(np.isfinite(crval)):
        raise ValueError(
            f"the WCS of {label} is invalid: its reference position CRVAL = {crval.tolist()} "
            "is not finite"
        )
    if not np.all(np.isfinite(crpix)):
        raise ValueError(
            f"the WCS of {label} is invalid: its reference pixel CRPIX = {crpix.tolist()} is "
            "not finite"
        )
    ctype = list(w.ctype)
    for k in _latitude_axes(ctype):
        if abs(crval[k]) > 90:
            raise ValueError(
                f"the WCS of {label} puts its reference point at Dec {crval[k]:g} deg "
                f"(CRVAL{k + 1}); a declination lies between -90 and +90 deg"
            )
    if w.has_cd():
        matrix, what = np.array(w.cd, dtype=float), "CD"
    else:
        matrix = np.array(w.cdelt, dtype=float)[:, None] * np.array(w.pc, dtype=float)
        what = "CDELT x PC"
    typed = [k for k, name in enumerate(ctype) if str(name).strip()]
    sub = matrix[np.ix_(typed, typed)] if len(typed) >= 2 else matrix
    if not _invertible(sub):
        raise ValueError(
            f"the WCS of {label} is singular: its linear part ({what}) {matrix.tolist()} "
            "cannot map pixels to the sky (a zero CDELT, an all-zero CD matrix or "
            "proportional rows); it needs a non-zero pixel scale on both axes"
        )
    try:
        w.set()
    except ValueError as exc:  # wcslib's WcsError and its subclasses
        raise ValueError(f"the WCS of {label} is invalid: {_wcslib_reason(exc)}") from None
    return wcs


def _wcslib_reason(exc):
    """The line of a wcslib error that says what is wrong (not where in its C code)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("ERROR"):
        return lines[1]
    return lines[0] if lines else type(exc).__name__


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
        AB zero point read from the header or metadata (None without one, or when
        the header's value is refused: see ``zero_point_problem``). Use
        `resolve_zero_point` to get the zero point of the pixels.
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
    zero_point_problem : str or None
        Why the zero point keyword of the header was refused (`check_zero_point`'s
        message, naming the image, keyword and value), or None. The header's value
        is then not used, and it is an error only if no zero point is given
        explicitly: `resolve_zero_point` raises it.

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
    zero_point_problem: str | None = None

    @property
    def shape(self):
        """(ny, nx)."""
        return tuple(self.data.shape)

    def resolve_zero_point(self, given=None, *, band, label=None, default=None):
        """The AB zero point of these pixels: ``given``, else the header's, else ``default``.

        Every zero point that clusterfinder applies to pixels comes from here. One
        given explicitly is checked (`check_zero_point`) and replaces the header's,
        so that a header value refused when the image was opened
        (``zero_point_problem``) is an error only when nothing replaces it. FITS
        images must state their zero point (``default`` is for arrays and NDData,
        which may carry no header).

        Parameters
        ----------
        given : float, optional
            A zero point given explicitly (``zero_points=``).
        band : str
            The band, for the messages.
        label : str, optional
            How the messages name the image (e.g. ``"images['g']"``); the plane's
            ``label`` (its file and extension) is added when it differs.
        default : float, optional
            The zero point of pixels without a header or metadata holding one.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            For an implausible zero point (given, in the header or ``default``), or
            none at all; the message names the image, the keyword or parameter and
            the value.

        Examples
        --------
        >>> import contextlib
        >>> import numpy as np
        >>> from astropy.io import fits
        >>> hdu = fits.PrimaryHDU(np.zeros((4, 4)), header=fits.Header({"PHOTZP": -99.0}))
        >>> with contextlib.ExitStack() as stack:
        ...     plane = load_planes(hdu, "images['g']", stack)[0]
        >>> plane.resolve_zero_point(27.5, band="g")
        27.5
        >>> plane.resolve_zero_point(band="g")
        Traceback (most recent call last):
        ...
        ValueError: images['g']: header keyword PHOTZP = -99.0 is not a plausible AB zero point: ...
        """
        if given is not None:
            return check_zero_point(given, f"the zero point given for band {band!r}")
        if self.zero_point_problem is not None:
            raise ValueError(
                f"{self.zero_point_problem}; fix the header or give the zero point explicitly "
                f"(zero_points={{{band!r}: ...}})"
            )
        if self.zero_point is not None:
            return float(self.zero_point)
        who = self.label if label is None or label == self.label else f"{label} ({self.label})"
        keywords = ", ".join(ZERO_POINT_KEYWORDS)
        if self.kind == "fits":
            why = f"none of the header keywords {keywords} is set"
        elif default is not None:
            return check_zero_point(default, "default_zero_point")
        elif self.header is None:
            why = "it comes without a header to read one from"
        else:
            why = f"none of the keywords {keywords} is in its metadata"
        raise ValueError(
            f"no photometric zero point for band {band!r} ({who}): {why}; pass "
            f"zero_points={{{band!r}: ...}} (use {REFERENCE_ZEROPOINT:g} if the image is "
            "already on the reference zero point)"
        )

    @property
    def saturation(self):
        """Saturation level (counts) from ``SATURATE``/``SATLEVEL``, or None."""
        return _header_number(self.header, SATURATION_KEYWORDS)

    @property
    def gain(self):
        """Gain (electrons per count) from ``GAIN``/``EGAIN``, or None."""
        return _header_number(self.header, GAIN_KEYWORDS)

    def same_grid(self, other, tolerance=1e-6):
        """True if ``other`` has this plane's shape and WCS (to ``tolerance`` pixel).

        Parameters
        ----------
        other : `Plane` or `BandImage`
            Another image.
        tolerance : float, optional
            Largest difference, in pixels, between the two pixel-to-sky mappings.

        Returns
        -------
        bool

        Examples
        --------
        >>> import contextlib
        >>> import numpy as np
        >>> from astropy.wcs import WCS
        >>> wcs = WCS(naxis=2)
        >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        >>> wcs.wcs.crval, wcs.wcs.cdelt = [10.0, 41.0], [-5e-5, 5e-5]
        >>> with contextlib.ExitStack() as stack:
        ...     g = load_plane((np.zeros((8, 8)), wcs), "g", stack)
        ...     i = load_plane((np.zeros((8, 9)), wcs), "i", stack)
        >>> g.same_grid(g), g.same_grid(i)
        (True, False)
        """
        return _grids_match(self, other, tolerance)

    def require_wcs(self, label, *, what="sources"):
        """Refuse a plane without a celestial WCS: ``what`` could not be placed on it.

        A bare array (no header) is a `TypeError` (give ``(array, WCS)``); an image whose
        header holds no celestial WCS a `ValueError`.

        Parameters
        ----------
        label : str
            The image, as the message names it (e.g. ``"images['g']"``).
        what : str, optional
            What needs the WCS, for the message.

        Raises
        ------
        TypeError
            For a bare array.
        ValueError
            For an image whose header or metadata hold no celestial WCS.

        Examples
        --------
        >>> import contextlib
        >>> import numpy as np
        >>> with contextlib.ExitStack() as stack:
        ...     plane = load_plane(np.zeros((4, 4)), "images['g']", stack)
        >>> plane.require_wcs("images['g']")
        Traceback (most recent call last):
        ...
        TypeError: images['g'] has no WCS: give (array, WCS) so that sources can be placed ...
        """
        if self.wcs is not None:
            return
        if self.kind == "array" and self.header is None:
            raise TypeError(
                f"{label} has no WCS: give (array, WCS) so that {what} can be placed on the sky"
            )
        raise ValueError(
            f"{label} ({self.label}) has no celestial WCS: {what} cannot be placed on it "
            "(add CTYPE/CRVAL/CRPIX/CD keywords to its header)"
        )

    def release_pages(self):
        """Give back the pages read so far, if clusterfinder mapped the file itself.

        See `clusterfinder.images.release_pages`; arrays given by the user are left
        alone.

        Examples
        --------
        >>> import contextlib
        >>> import numpy as np
        >>> with contextlib.ExitStack() as stack:
        ...     plane = load_plane(np.zeros((4, 4)), "g", stack)
        >>> plane.release, plane.release_pages()
        (False, None)
        """
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
    zero_point_origin : str
        Where ``zero_point`` came from: ``"zero_points"`` (given by the caller),
        ``"header"`` (the header or NDData metadata) or ``"default"``
        (``default_zero_point`` of `load_band`, for pixels that state none).

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    >>> image = load_band((np.zeros((8, 8)), wcs), "i", zero_point=30)
    >>> image.shape, image.zero_point, round(image.pixel_scale, 3), image.zero_point_origin
    ((8, 8), 30.0, 0.186, 'zero_points')
    """

    band: str
    data: object
    wcs: WCS
    zero_point: float
    saturation: float | None = None
    gain: float | None = None
    source: str = ""
    header: object = None
    zero_point_origin: str = ""
    _files: object = field(default=None, repr=False, compare=False)

    def close(self):
        """Close the FITS file opened for this image, if any.

        The pixels of a file are no longer readable afterwards (``data`` is None);
        an image given as an array is left as it is.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import numpy as np
        >>> from astropy.io import fits
        >>> from astropy.wcs import WCS
        >>> wcs = WCS(naxis=2)
        >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "g.fits"
        ...     fits.writeto(path, np.zeros((4, 4), np.float32), wcs.to_header())
        ...     image = load_band(path, "g", zero_point=30)
        ...     shape = image.shape
        ...     image.close()
        >>> shape, image.data
        ((4, 4), None)
        """
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
        """True if ``other`` has the same shape and pixel-to-sky mapping (to ``tolerance``).

        Parameters
        ----------
        other : `BandImage` or `Plane`
            Another image.
        tolerance : float, optional
            Largest difference, in pixels, between the two pixel-to-sky mappings.

        Returns
        -------
        bool

        Examples
        --------
        >>> import numpy as np
        >>> from astropy.wcs import WCS
        >>> wcs = WCS(naxis=2)
        >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        >>> wcs.wcs.crval, wcs.wcs.cdelt = [10.0, 41.0], [-5e-5, 5e-5]
        >>> g = load_band((np.zeros((8, 8)), wcs), "g", zero_point=30)
        >>> i = load_band((np.zeros((8, 8)), wcs), "i", zero_point=30)
        >>> g.same_grid(i)
        True
        """
        return self is other or _grids_match(self, other, tolerance)


def _celestial_wcs(wcs, label):
    """Return the 2-d celestial part of ``wcs`` (None stays None) or raise a clear error."""
    if wcs is None:
        return None
    if not isinstance(wcs, WCS):
        raise TypeError(f"the WCS of {label} must be an astropy.wcs.WCS; got {type(wcs).__name__}")
    check_wcs(wcs, label)
    if not wcs.has_celestial:
        raise ValueError(
            f"{label} has no celestial WCS (ctype {list(wcs.wcs.ctype)}); sky positions "
            "need RA/Dec axes"
        )
    return wcs.celestial if wcs.naxis != 2 else wcs


def _as_2d(data, label):
    if isinstance(data, ScaledPixels):
        return data
    data = np.asarray(data) if not isinstance(data, np.ndarray) else data
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    if data.ndim != 2:
        raise ValueError(f"{label} must be a 2-d image; got pixel array of shape {data.shape}")
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{label} must hold real numbers; got dtype {data.dtype}")
    return data


def _header_wcs(header, label):
    """The celestial WCS of ``header`` (None without one); invalid ones are refused."""
    _check_wcs_header(header, label)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FITSFixedWarning about harmless header fixes
        try:
            wcs = WCS(header)
        except (ValueError, KeyError, MemoryError) as exc:
            raise ValueError(
                f"cannot read the WCS of {label} from its header: {_wcslib_reason(exc)}"
            ) from None
    check_wcs(wcs, label)
    return wcs.celestial if wcs.has_celestial else None


def _zero_point_from(label, *headers):
    """``(zero point, problem)`` from the first of ``headers`` that holds a zero point keyword.

    ``(None, None)`` when none does; ``(None, message)`` when `check_zero_point` refuses
    the value (see `Plane.resolve_zero_point`).
    """
    for header in headers:
        if header is None:
            continue
        for key in ZERO_POINT_KEYWORDS:
            if key in header:
                try:
                    return check_zero_point(header[key], f"{label}: header keyword {key}"), None
                except ValueError as exc:
                    return None, str(exc)
    return None, None


def _scaling(hdu, label):
    """``(bscale, bzero, blank)`` when ``hdu.data`` holds raw integers still to be scaled."""
    if not getattr(hdu, "_do_not_scale_image_data", False):
        return None  # astropy scaled the pixels itself (or there is nothing to scale)
    header = hdu.header
    values = {}
    for key, default in (("BSCALE", 1.0), ("BZERO", 0.0)):
        value = header.get(key, default)
        if isinstance(value, (bool, str)) or not np.isfinite(_as_float(value)):
            raise ValueError(f"{label}: header keyword {key} = {value!r} is not a finite number")
        values[key] = float(value)
    if values["BSCALE"] == 0:
        raise ValueError(
            f"{label}: header keyword BSCALE = 0 would make every pixel equal to BZERO; "
            "expected a non-zero scale"
        )
    blank = header.get("BLANK") if int(header.get("BITPIX", 0)) > 0 else None
    if blank is not None and (isinstance(blank, bool) or not isinstance(blank, (int, np.integer))):
        blank = None  # astropy ignores a BLANK that is not an integer too
    if values["BSCALE"] == 1 and values["BZERO"] == 0 and blank is None:
        return None
    return values["BSCALE"], values["BZERO"], blank


def _pixels(hdu, label):
    try:
        data = hdu.data
        scaling = _scaling(hdu, label) if data is not None else None
        if scaling is not None:
            raw = np.asarray(data) if not isinstance(data, np.ndarray) else data
            while raw.ndim > 2 and raw.shape[0] == 1:
                raw = raw[0]
            if raw.ndim == 2:
                bscale, bzero, blank = scaling
                data = ScaledPixels(raw, bscale=bscale, bzero=bzero, blank=blank)
        return _as_2d(data, label)
    except (TypeError, ValueError) as exc:
        text = str(exc)
        if "2-d image" in text or "real numbers" in text or text.startswith(label):
            raise
        if "memory-mapped" in text and "BZERO/BSCALE/BLANK" in text:
            raise OSError(
                f"cannot read the pixels of {label}: it was opened with memmap=True, which "
                "astropy cannot combine with its BZERO/BSCALE/BLANK scaling; pass the file "
                "path instead (clusterfinder memory-maps the raw integers and scales them as "
                "it reads) or open it with do_not_scale_image_data=True"
            ) from None
        raise OSError(f"cannot read the pixels of {label}: {exc}") from None


def _mask_pixels(hdu, label):
    """The mask of a mask extension: a memory map, or booleans for a scaled one."""
    data = _pixels(hdu, label)
    if not isinstance(data, ScaledPixels):
        return data
    ny, nx = data.shape
    mask = np.empty((ny, nx), dtype=bool)
    rows = max(1, _SCALE_BLOCK_PIXELS // max(nx, 1))
    for y0 in range(0, ny, rows):
        block = data[y0 : y0 + rows]
        mask[y0 : y0 + rows] = block != 0  # NaN (BLANK) counts as flagged
    return mask


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
        if release and (own := _memory_map(data)) is not None:
            _OWN_MAPS.add(own)
        zp, problem = _zero_point_from(f"{label} ({where})", hdu.header)
        if zp is None and problem is None and k != 0:
            zp, problem = _zero_point_from(f"{label} ({name}[0])", primary_header)
        wcs = _header_wcs(hdu.header, f"{label} ({where})")
        planes.append(
            Plane(data, wcs, None, zp, where, k, release, hdu.header, zero_point_problem=problem)
        )
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
        mask = _mask_pixels(hdu, f"mask extension {name}[{k}] of {label}")
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
            # Integer images with BSCALE/BZERO/BLANK stay memory-mapped as raw integers;
            # _pixels wraps them in ScaledPixels, which scales what is read.
            hdul = fits.open(
                path,
                memmap=True,
                mode="readonly",
                lazy_load_hdus=False,
                do_not_scale_image_data=True,
            )
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
        zp, problem = _zero_point_from(label, image.header)
        wcs = _header_wcs(image.header, label)
        return [Plane(data, wcs, None, zp, label, header=image.header, zero_point_problem=problem)]
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
        zp, problem = _zero_point_from(f"{label}.meta", header)
        kind = "nddata"
        return [
            Plane(data, wcs, mask, zp, label, header=header, kind=kind, zero_point_problem=problem)
        ]
    if isinstance(image, tuple):
        if len(image) != 2:
            raise TypeError(f"{label} as a tuple must be (array, WCS); got {len(image)} items")
        data, wcs = image
        zp, problem, header = None, None, None
        if isinstance(wcs, fits.Header):
            zp, problem = _zero_point_from(f"the header given with {label}", wcs)
            header = wcs
            wcs = _header_wcs(wcs, label)
            if wcs is None:
                raise ValueError(f"the header given with {label} has no celestial WCS")
        else:
            wcs = _celestial_wcs(wcs, label)
        data = _as_2d(data, label)
        kind = "array"
        # A view of a file clusterfinder mapped itself (a scan's block) may release pages.
        return [
            Plane(
                data,
                wcs,
                None,
                zp,
                label,
                release=_own_map(data),
                header=header,
                kind=kind,
                zero_point_problem=problem,
            )
        ]
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
    `Plane`

    Raises
    ------
    ValueError
        If ``image`` holds several science extensions, and for the inputs that
        `load_planes` refuses (TypeError, OSError and FileNotFoundError too).

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


def zero_points_by_band(zero_points, bands, *, name="zero_points"):
    """The ``zero_points=`` option of a function that reads images, checked, band by band.

    Every function that takes images (`clusterfinder.detection.detect_sources`,
    `clusterfinder.scan.find_candidates`, `clusterfinder.scan.scan`,
    `clusterfinder.scan.TiledImages`; `Cutout.from_images
    <clusterfinder.Cutout.from_images>` the same way) takes ``zero_points=``: None
    (every zero point read from the headers), one number for every band, or a dict
    band -> number for some bands (the others read from their headers). A zero
    point given replaces the header's.

    Parameters
    ----------
    zero_points : None, float or dict
        The option as given.
    bands : sequence of str
        The bands of the images; a dict naming another band is refused (a typo, or
        the images of another field).
    name : str, optional
        The option's name, for the messages.

    Returns
    -------
    dict
        Band -> AB zero point (float), or None where the header is to be read.

    Raises
    ------
    TypeError
        For a value that is neither None, a number nor a dict.
    ValueError
        For a dict naming a band not among ``bands``, or an implausible zero point
        (`~clusterfinder.utils.photometry.check_zero_point`; the message names the
        band, as `Plane.resolve_zero_point` does).

    Examples
    --------
    >>> zero_points_by_band(None, ("g", "i"))
    {'g': None, 'i': None}
    >>> zero_points_by_band(30, ("g", "i"))
    {'g': 30.0, 'i': 30.0}
    >>> zero_points_by_band({"i": 29.8}, ("g", "i"))
    {'g': None, 'i': 29.8}
    >>> zero_points_by_band({"r": 30}, ("g", "i"))
    Traceback (most recent call last):
    ...
    ValueError: zero_points names band(s) ['r'] that are not among ('g', 'i')
    """
    bands = tuple(bands)
    if zero_points is None:
        return dict.fromkeys(bands)
    if isinstance(zero_points, Mapping):
        unknown = [band for band in zero_points if band not in bands]
        if unknown:
            raise ValueError(f"{name} names band(s) {sorted(unknown)} that are not among {bands}")
        return {
            band: None
            if zero_points.get(band) is None
            else check_zero_point(zero_points[band], f"the zero point given for band {band!r}")
            for band in bands
        }
    if isinstance(zero_points, (bool, np.bool_)) or not isinstance(
        zero_points, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"{name} must be None, a number or a dict band -> zero point; got "
            f"{type(zero_points).__name__}"
        )
    return {
        band: check_zero_point(zero_points, f"the zero point given for band {band!r}")
        for band in bands
    }


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
        FITS images must always state theirs. The `BandImage` records which was used
        (``zero_point_origin``).
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
        plane.require_wcs(label)
        if zero_point is not None:
            origin = "zero_points"
        elif plane.zero_point is not None or plane.zero_point_problem is not None:
            origin = "header"
        else:
            origin = "default"
        zero_point = plane.resolve_zero_point(
            zero_point, band=band, label=label, default=default_zero_point
        )
        result = BandImage(
            band=band,
            data=plane.data,
            wcs=plane.wcs,
            zero_point=zero_point,
            saturation=float(saturation) if saturation is not None else plane.saturation,
            gain=float(gain) if gain is not None else plane.gain,
            source=_source(image),
            header=plane.header,
            zero_point_origin=origin,
            _files=own,
        )
    except BaseException:
        if own is not None:
            own.close()
        raise
    return result
