"""The images of a detection run: one `~clusterfinder.images.BandImage` per band.

`load_images` turns what a user passes (a dict band -> FITS path, HDU, HDUList,
`~astropy.nddata.NDData` or ``(array, WCS)``) into `BandImage` records through the
package's one image loader, `clusterfinder.images`: the pixel array (memory-mapped
for FITS files, so that tiles are read on demand), its celestial WCS, the AB zero
point and, where the header gives them, the saturation level and the gain.
Detection works on one image per band: a multi-extension mosaic is refused with a
clear message (give one extension, or one file per CCD).
"""

from ..images import BandImage, load_band, zero_points_by_band

__all__ = ["BandImage", "load_images"]


def _per_band(value, band):
    if isinstance(value, dict):
        return value.get(band)
    return value


def load_images(images, *, bands=None, zero_points=None, saturation=None, gain=None):
    """Normalise a dict of images into `BandImage` records.

    Parameters
    ----------
    images : dict
        Band -> FITS path, `~astropy.io.fits` HDU or HDUList (with one science
        image), `~astropy.nddata.NDData` (with ``.wcs``) or ``(array, WCS)``.
    bands : sequence of str, optional
        Bands to use, in this order; all keys of ``images`` by default.
    zero_points : float or dict, optional
        AB zero points (one for all bands, or band -> value, see
        `clusterfinder.images.zero_points_by_band`); read from the header
        (``PHOTZP``, ``MAGZPT``...) or NDData ``meta`` otherwise. An image without a
        zero point is an error (arrays without a header always need one).
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
    given = zero_points_by_band(zero_points, tuple(images))
    loaded = {}
    try:
        for band in bands:
            loaded[band] = load_band(
                images[band],
                band,
                zero_point=given[band],
                saturation=_per_band(saturation, band),
                gain=_per_band(gain, band),
            )
    except BaseException:
        for image in loaded.values():
            image.close()
        raise
    return loaded
