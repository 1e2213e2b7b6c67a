"""The PSF of each stamp's field, as the extra input channels of a seeing-aware model.

Whether a marginally resolved source is a cluster or a star depends on how much wider
it is than the point-spread function (PSF) of its field: a star in 1" seeing is as wide
as a 2-3 pc cluster in 0.5" seeing. A seeing-aware model
(``InputTransform(psf_channels=True)``) therefore reads, beside each stamp, an image of
its field's PSF in every band. `psf_images` draws those images from the PSF columns of
the stamps' table (see `clusterfinder.psf.attach_psf`) as unit-flux, pixel-integrated
elliptical Moffat profiles, each distinct PSF once.
"""

import astropy.units as u
import numpy as np

from ..psf.columns import missing_psf_columns, psf_column_names, psf_fwhm_arcsec
from ..psf.measure import elliptical_moffat

__all__ = ["distinct_psf_images", "psf_images"]


def psf_images(table, bands, size, pixel_scale):
    """Unit-flux PSF images ``(N, len(bands), size, size)`` for the stamps of ``table``.

    Parameters and errors as for `distinct_psf_images`, which draws each distinct
    PSF once; this function gives every stamp its own copy.
    """
    distinct = distinct_psf_images(table, bands, size, pixel_scale)
    return np.stack([images[inverse] for images, inverse in distinct], axis=1)


def distinct_psf_images(table, bands, size, pixel_scale):
    """Each distinct PSF of the stamps of ``table`` drawn once, per band.

    A scan gives the thousands of stamps of a field one PSF per band, so keeping
    the distinct images and an index is much smaller than a copy per stamp
    (`~clusterfinder.classifier.predict.device_batches` draws the copies of a batch).

    Parameters
    ----------
    table : `~astropy.table.Table`
        The stamps' table with the PSF columns of every band.
    bands : sequence of str
        The bands, in channel order.
    size : int
        Side of the images, pixels.
    pixel_scale : `~astropy.units.Quantity`
        Pixel scale of the stamps (angle per pixel).

    Returns
    -------
    list of tuple
        Per band, in ``bands`` order: ``(images, inverse)``, the distinct unit-flux
        images ``(n_distinct, size, size)`` (float32) and, per stamp, the row of
        its image.

    Raises
    ------
    ValueError
        When a PSF column is missing or a value is not finite (or out of range).

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.table import Table
    >>> from clusterfinder.classifier.psf_input import distinct_psf_images
    >>> table = Table({"psf_fwhm_g": [0.7, 0.7, 0.9] * u.arcsec, "psf_beta_g": [3.0] * 3,
    ...                "psf_ellipticity_g": [0.0] * 3, "psf_theta_g": [0.0] * 3 * u.deg})
    >>> [(images, inverse)] = distinct_psf_images(table, ["g"], 15, 0.186 * u.arcsec / u.pix)
    >>> images.shape, inverse.tolist()
    ((2, 15, 15), [0, 0, 1])
    """
    missing = missing_psf_columns(table, bands)
    if missing:
        raise ValueError(
            f"this model is seeing-aware: it needs the PSF of each stamp's field, but the "
            f"stamps lack the columns {missing}. Measure the PSF of each image with "
            "clusterfinder.psf.measure_psf and add it with clusterfinder.psf.attach_psf"
        )
    if pixel_scale is None:
        raise ValueError(
            "a seeing-aware model needs its pixel scale to draw the PSF channels; load it "
            "with pixel_scale= or give it one when it is made"
        )
    scale = pixel_scale.to_value(u.arcsec / u.pix)
    out = []
    for band in bands:
        _, beta_name, ell_name, theta_name = psf_column_names(band)
        theta = table[theta_name]
        theta = theta.to_value(u.deg) if isinstance(theta, u.Quantity) else theta
        params = np.column_stack(
            [
                psf_fwhm_arcsec(table, band) / scale,
                np.asarray(table[beta_name], dtype=float),
                np.asarray(table[ell_name], dtype=float),
                np.asarray(theta, dtype=float),
            ]
        )
        bad = ~np.isfinite(params).all(axis=1)
        bad |= (
            (params[:, 0] <= 0) | (params[:, 1] <= 1) | ~((params[:, 2] >= 0) & (params[:, 2] < 1))
        )
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{int(bad.sum())} stamp(s) have an invalid PSF in band {band!r} (first: row "
                f"{row}, FWHM {params[row, 0] * scale!r} arcsec, beta {params[row, 1]!r}, "
                f"ellipticity {params[row, 2]!r}); expected a positive FWHM, beta > 1 and "
                "0 <= ellipticity < 1"
            )
        if len(params) and (params == params[0]).all():
            # One PSF for every stamp (a scan's field): no sort needed.
            unique, inverse = params[:1], np.zeros(len(params), dtype=np.intp)
        else:
            unique, inverse = np.unique(params, axis=0, return_inverse=True)
        rendered = np.zeros((len(unique), size, size))  # no stamp: no image
        for k, p in enumerate(unique):
            rendered[k] = elliptical_moffat(size, *p)
        rendered = (rendered / rendered.sum(axis=(1, 2), keepdims=True)).astype(np.float32)
        out.append((rendered, inverse.ravel()))
    return out
