"""A minimal loader of survey images for source detection.

`load_images` turns what a user passes (a dict band -> FITS path, HDU, HDUList,
`~astropy.nddata.NDData` or ``(array, WCS)``) into `BandImage` records: the pixel
array (memory-mapped for FITS files, so that tiles are read on demand), its
celestial WCS, the AB zero point and, where the header gives them, the saturation
level and the gain.

.. note:: `clusterfinder.cutout` has its own, fuller image normalisation (multi-extension
   mosaics); the two are meant to be merged.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales

from ..utils.photometry import read_zero_point

__all__ = ["BandImage", "load_images"]

_SATURATION_KEYWORDS = ("SATURATE", "SATLEVEL", "SATURATION")
_GAIN_KEYWORDS = ("GAIN", "EGAIN")


@dataclass
class BandImage:
    """One band of a survey image, as the detection code uses it.

    Attributes
    ----------
    band : str
        Band name.
    data : array-like
        Two-dimensional pixel array (often a `numpy.memmap`); only the slices that a
        tile needs are read.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of ``data``.
    zero_point : float
        AB zero point: AB = -2.5 log10(counts) + zero_point.
    saturation : float or None
        Counts at which pixels saturate.
    gain : float or None
        Electrons per count, for the Poisson part of the errors.
    source : str
        A description of where the image came from (file name or type).
    hdulist : `~astropy.io.fits.HDUList` or None
        The file this module opened for the image, closed by `close`.
    """

    band: str
    data: object
    wcs: WCS
    zero_point: float
    saturation: float | None = None
    gain: float | None = None
    source: str = ""
    hdulist: object = None

    def close(self):
        """Close the FITS file opened for this image, if any."""
        if self.hdulist is not None:
            self.data = None
            self.hdulist.close()
            self.hdulist = None

    @property
    def shape(self):
        """The (ny, nx) shape of the image."""
        return tuple(self.data.shape)

    @property
    def pixel_scale(self):
        """Mean pixel scale in arcsec per pixel."""
        return float(np.mean(proj_plane_pixel_scales(self.wcs)) * 3600.0)

    def same_grid(self, other, tolerance=1e-3):
        """True if ``other`` has the same shape and pixel-to-sky mapping as this image."""
        if self.shape != other.shape:
            return False
        ny, nx = self.shape
        x = np.array([0.0, nx - 1.0, 0.0, nx - 1.0, (nx - 1) / 2])
        y = np.array([0.0, 0.0, ny - 1.0, ny - 1.0, (ny - 1) / 2])
        sky = self.wcs.pixel_to_world(x, y)
        x2, y2 = other.wcs.world_to_pixel(sky)
        return bool(np.all(np.hypot(x2 - x, y2 - y) < tolerance))


def _first_image_hdu(hdulist, name):
    for hdu in hdulist:
        if hdu.is_image and hdu.header.get("NAXIS", 0) == 2:
            return hdu
    raise ValueError(f"images[{name!r}] holds no two-dimensional image HDU")


def _header_value(header, keywords):
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


def _unpack(value, band):
    """Return (data, wcs, header, source, opened HDUList or None) for one image."""
    if isinstance(value, (str, Path)):
        path = Path(value)
        if not path.exists():
            raise FileNotFoundError(f"images[{band!r}]: no such file {path}")
        hdulist = fits.open(path, memmap=True)
        try:
            hdu = _first_image_hdu(hdulist, band)
            return hdu.data, WCS(hdu.header), hdu.header, path.name, hdulist
        except BaseException:
            hdulist.close()
            raise
    if isinstance(value, fits.HDUList):
        hdu = _first_image_hdu(value, band)
        return hdu.data, WCS(hdu.header), hdu.header, "HDUList", None
    if isinstance(value, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        return value.data, WCS(value.header), value.header, type(value).__name__, None
    if isinstance(value, NDData):
        header = value.meta if isinstance(value.meta, fits.Header) else value.meta.get("header")
        if header is None and any(k in value.meta for k in ("PHOTZP", "MAGZPT")):
            header = value.meta
        return value.data, value.wcs, header, type(value).__name__, None
    if isinstance(value, tuple) and len(value) == 2:
        return value[0], value[1], None, "array", None
    raise TypeError(
        f"images[{band!r}] must be a FITS path, an HDU, an HDUList, an NDData or an "
        f"(array, WCS) pair; got {type(value).__name__}"
    )


def _per_band(value, band, name):
    if isinstance(value, dict):
        return value.get(band)
    return value


def load_images(images, *, bands=None, zero_points=None, saturation=None, gain=None):
    """Normalise a dict of images into `BandImage` records.

    Parameters
    ----------
    images : dict
        Band -> FITS path, `~astropy.io.fits` HDU or HDUList (the first 2-D image HDU
        is used), `~astropy.nddata.NDData` (with ``.wcs``) or ``(array, WCS)``.
    bands : sequence of str, optional
        Bands to use, in this order; all keys of ``images`` by default.
    zero_points : float or dict, optional
        AB zero points (one for all bands, or band -> value); read from the header
        (``PHOTZP``, ``MAGZPT``...) otherwise. Required for arrays without header.
    saturation, gain : float or dict, optional
        Saturation level (counts) and gain (e-/count); read from the header
        (``SATURATE``, ``GAIN``) otherwise, or left unknown.

    Returns
    -------
    dict
        Band -> `BandImage`, in the order of ``bands``. Files opened here stay open
        (memory-mapped) until `BandImage.close` is called.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> from clusterfinder.detection import load_images
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    >>> loaded = load_images({"i": (np.zeros((8, 8)), wcs)}, zero_points=30)
    >>> loaded["i"].zero_point, round(loaded["i"].pixel_scale, 3)
    (30.0, 0.186)
    """
    if not isinstance(images, dict) or not images:
        raise TypeError(
            f"images must be a non-empty dict of band -> image; got {type(images).__name__}"
        )
    if bands is None:
        bands = tuple(images)
    elif isinstance(bands, str):
        raise TypeError(f"bands must be a sequence of band names, not a string; got {bands!r}")
    bands = tuple(bands)
    missing = [band for band in bands if band not in images]
    if missing:
        raise ValueError(
            f"bands {missing} are not in images (which has {', '.join(map(str, images))})"
        )
    loaded = {}
    try:
        for band in bands:
            loaded[band] = _load_one(images[band], band, zero_points, saturation, gain)
    except BaseException:
        for image in loaded.values():
            image.close()
        raise
    return loaded


def _load_one(value, band, zero_points, saturation, gain):
    data, wcs, header, source, hdulist = _unpack(value, band)
    try:
        if data is None or np.ndim(data) != 2:
            raise ValueError(
                f"images[{band!r}] must be a two-dimensional image; got shape {np.shape(data)}"
            )
        if not isinstance(wcs, WCS) or not wcs.has_celestial:
            raise TypeError(f"images[{band!r}] needs a celestial astropy WCS")
        zp = _per_band(zero_points, band, "zero_points")
        if zp is None:
            if header is None:
                raise ValueError(
                    f"images[{band!r}] has no header to read a zero point from; pass "
                    f"zero_points={{'{band}': ...}}"
                )
            zp = read_zero_point(header)
        sat = _per_band(saturation, band, "saturation")
        if sat is None:
            sat = _header_value(header, _SATURATION_KEYWORDS)
        band_gain = _per_band(gain, band, "gain")
        if band_gain is None:
            band_gain = _header_value(header, _GAIN_KEYWORDS)
        return BandImage(
            band=band,
            data=data,
            wcs=wcs.celestial,
            zero_point=float(zp),
            saturation=None if sat is None else float(sat),
            gain=None if band_gain is None else float(band_gain),
            source=source,
            hdulist=hdulist,
        )
    except BaseException:
        if hdulist is not None:
            hdulist.close()
        raise
