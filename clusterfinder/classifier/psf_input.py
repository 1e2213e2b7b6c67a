"""The PSF of each stamp's field, as the extra input channels of a seeing-aware model.

Whether a marginally resolved source is a cluster or a star depends on how much wider
it is than the point-spread function (PSF) of its field: a star in 1" seeing is as wide
as a 2-3 pc cluster in 0.5" seeing. A seeing-aware model
(``InputTransform(psf_channels=True)``) therefore reads, beside each stamp, an image of
its field's PSF in every band. The PSF travels with the stamps as columns of the
`~clusterfinder.Cutout` table, one set per band ``b``:

``psf_fwhm_<b>``
    FWHM (an angle Quantity, or arcsec);
``psf_beta_<b>``
    Moffat index;
``psf_ellipticity_<b>``
    ``1 - b/a``;
``psf_theta_<b>``
    position angle of the major axis (degrees from +x toward +y).

`clusterfinder.psf.attach_psf` fills them from measured PSFs; `psf_images` renders
them as unit-flux elliptical Moffat images (pixel-integrated), each distinct PSF once.
"""

import math

import astropy.units as u
import numpy as np

__all__ = [
    "PSF_QUANTITIES",
    "attach_psf",
    "psf_column_names",
    "psf_columns",
    "psf_fwhm_arcsec",
    "psf_images",
]

#: What is stored per band, in the column names ``psf_<quantity>_<band>``.
PSF_QUANTITIES = ("fwhm", "beta", "ellipticity", "theta")


def psf_column_names(band):
    """The names of the PSF columns of ``band``, in the order of `PSF_QUANTITIES`."""
    return tuple(f"psf_{quantity}_{band}" for quantity in PSF_QUANTITIES)


def psf_columns(psfs, n):
    """The PSF columns (name -> array of length ``n``) of measured PSFs.

    Parameters
    ----------
    psfs : dict
        Band -> measured PSF (`~clusterfinder.psf.PSFMeasurement`, or anything with
        ``fwhm`` (angle), ``beta``, ``ellipticity`` and ``theta`` (angle) attributes).
    n : int
        Number of rows.
    """
    out = {}
    for band, psf in psfs.items():
        fwhm_name, beta_name, ell_name, theta_name = psf_column_names(band)
        out[fwhm_name] = np.full(n, psf.fwhm.to_value(u.arcsec)) * u.arcsec
        out[beta_name] = np.full(n, float(psf.beta))
        out[ell_name] = np.full(n, float(psf.ellipticity))
        out[theta_name] = np.full(n, u.Quantity(psf.theta, u.deg).value) * u.deg
    return out


def attach_psf(cutout, psfs):
    """Add the PSF columns of measured PSFs to every stamp of ``cutout`` (in place).

    Parameters
    ----------
    cutout : `~clusterfinder.Cutout`
        Stamps that all come from the images whose PSFs are given.
    psfs : dict
        Band -> measured PSF (see `psf_columns`).

    Returns
    -------
    `~clusterfinder.Cutout`
        ``cutout`` itself.
    """
    if not isinstance(psfs, dict) or not psfs:
        raise TypeError(f"psfs must be a non-empty dict band -> measured PSF; got {psfs!r}")
    unknown = [band for band in psfs if band not in tuple(cutout.bands)]
    if unknown:
        raise ValueError(
            f"psfs has band(s) {unknown} that the stamps lack; their bands are {cutout.bands}"
        )
    for name, column in psf_columns(psfs, len(cutout)).items():
        cutout.table[name] = column
    return cutout


def psf_fwhm_arcsec(table, band):
    """The ``psf_fwhm_<band>`` column in arcsec (plain numbers are taken as arcsec)."""
    column = table[f"psf_fwhm_{band}"]
    if isinstance(column, u.Quantity):
        return column.to_value(u.arcsec)
    return np.asarray(column, dtype=float)


def _missing(table, bands):
    columns = getattr(table, "colnames", ())
    return [name for band in bands for name in psf_column_names(band) if name not in columns]


def elliptical_moffat(size, fwhm, beta, ellipticity, theta, *, oversample=5):
    """A centred, pixel-integrated, unit-flux elliptical Moffat image.

    Parameters
    ----------
    size : int
        Side of the (square) image, pixels.
    fwhm : float
        Geometric-mean FWHM, pixels.
    beta : float
        Moffat index (> 1).
    ellipticity : float
        ``1 - b/a``.
    theta : float
        Major-axis angle, degrees from +x toward +y.
    oversample : int, optional
        Sub-pixels per pixel along each axis.

    Examples
    --------
    >>> image = elliptical_moffat(25, 3.6, 3.0, 0.0, 0.0)
    >>> image.shape, round(float(image.sum()), 6)
    ((25, 25), 1.0)
    """
    alpha = fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))
    n = size * oversample
    u_ = (np.arange(n) + 0.5) / oversample - size / 2.0
    x, y = u_[None, :], u_[:, None]
    q = 1.0 - ellipticity
    t = math.radians(theta)
    major = x * math.cos(t) + y * math.sin(t)
    minor = -x * math.sin(t) + y * math.cos(t)
    image = (1.0 + (major**2 * q + minor**2 / q) / alpha**2) ** (-beta)
    image = image.reshape(size, oversample, size, oversample).sum(axis=(1, 3))
    return image / image.sum()


def psf_images(table, bands, size, pixel_scale):
    """Unit-flux PSF images ``(N, len(bands), size, size)`` for the stamps of ``table``.

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

    Raises
    ------
    ValueError
        When a PSF column is missing or a value is not finite (or out of range).
    """
    missing = _missing(table, bands)
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
    n = len(table)
    out = np.empty((n, len(bands), size, size), dtype=np.float32)
    for k, band in enumerate(bands):
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
        unique, inverse = np.unique(params, axis=0, return_inverse=True)
        rendered = np.stack([elliptical_moffat(size, *p) for p in unique]).astype(np.float32)
        out[:, k] = rendered[inverse.ravel()]
    return out
