"""The PSF of each stamp's field, carried in the stamps' table.

A PSF measured on an image (`measure_psf`) belongs to every stamp cut from that image.
It travels with the stamps as columns of the `~clusterfinder.Cutout` table, one set per
band ``b``, so that it follows them through indexing, concatenation and files:

``psf_fwhm_<b>``
    FWHM (an angle Quantity; plain numbers are read as arcsec);
``psf_beta_<b>``
    Moffat index;
``psf_ellipticity_<b>``
    ``1 - b/a``;
``psf_theta_<b>``
    position angle of the major axis (degrees from +x toward +y).

`attach_psf` fills them; seeing-aware classifiers read them
(`clusterfinder.classifier.psf_input`). Given a `~clusterfinder.psf.PSFGrid` (a PSF
measured zone by zone, `~clusterfinder.psf.measure_local_psf`) instead of one
measurement, each stamp gets the PSF of the zone it was cut from.
"""

import astropy.units as u
import numpy as np

from .local import PSFGrid

__all__ = ["PSF_QUANTITIES", "attach_psf", "psf_column_names", "psf_columns", "psf_fwhm_arcsec"]

#: What is stored per band, in the column names ``psf_<quantity>_<band>``.
PSF_QUANTITIES = ("fwhm", "beta", "ellipticity", "theta")


def psf_column_names(band):
    """The names of the PSF columns of ``band``, in the order of `PSF_QUANTITIES`."""
    return tuple(f"psf_{quantity}_{band}" for quantity in PSF_QUANTITIES)


def psf_columns(psfs, n, *, positions=None):
    """The PSF columns (name -> array of length ``n``) of measured PSFs.

    Parameters
    ----------
    psfs : dict
        Band -> measured PSF (`~clusterfinder.psf.PSFMeasurement`, or anything with
        ``fwhm`` (angle), ``beta``, ``ellipticity`` and ``theta`` (angle) attributes),
        or a `~clusterfinder.psf.PSFGrid`.
    n : int
        Number of rows.
    positions : dict, optional
        Band -> ``(x, y)`` pixel positions of the rows on that band's image; needed for
        the bands given a `~clusterfinder.psf.PSFGrid`.
    """
    out = {}
    for band, psf in psfs.items():
        if isinstance(psf, PSFGrid):
            if positions is None or band not in positions:
                raise ValueError(f"the PSFGrid of band {band!r} needs the rows' pixel positions")
            iy, ix = psf.zone_of(*positions[band])
            pick = np.ravel(iy) * psf.grid + np.ravel(ix)
            if pick.size != n:
                raise ValueError(f"positions[{band!r}] has {pick.size} positions for {n} rows")
            zones = [_values(zone, 1) for row in psf.zones for zone in row]
            values = [np.concatenate(column)[pick] for column in zip(*zones, strict=True)]
        else:
            values = _values(psf, n)
        for name, value in zip(psf_column_names(band), values, strict=True):
            out[name] = value
    return out


def _values(psf, n):
    """FWHM, beta, ellipticity and angle of one PSF, each repeated ``n`` times."""
    return (
        np.full(n, psf.fwhm.to_value(u.arcsec)) * u.arcsec,
        np.full(n, float(psf.beta)),
        np.full(n, float(psf.ellipticity)),
        np.full(n, u.Quantity(psf.theta, u.deg).value) * u.deg,
    )


def attach_psf(cutout, psfs):
    """Add the PSF columns of measured PSFs to every stamp of ``cutout`` (in place).

    Parameters
    ----------
    cutout : `~clusterfinder.Cutout`
        Stamps that all come from the images whose PSFs are given.
    psfs : dict
        Band -> measured PSF (see `psf_columns`), or a `~clusterfinder.psf.PSFGrid`
        measured on that band's image (`~clusterfinder.psf.measure_local_psf`): each
        stamp then gets the PSF of the zone that holds its position ``x_<band>``,
        ``y_<band>`` (or ``x``, ``y`` when the bands share one pixel grid).

    Returns
    -------
    `~clusterfinder.Cutout`
        ``cutout`` itself.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder import Cutout
    >>> from clusterfinder.simulate import simulate_field
    >>> from clusterfinder.psf import attach_psf, measure_psf
    >>> field = simulate_field(size=512, seed=4)
    >>> stamps = Cutout.from_images(field.images, field.truth["coord"][:3], cutout_size=16)
    >>> psfs = {band: measure_psf(image) for band, image in field.images.items()}
    >>> attach_psf(stamps, psfs).table["psf_fwhm_i"].round(2)
    <Quantity [0.6, 0.6, 0.6] arcsec>
    """
    if not isinstance(psfs, dict) or not psfs:
        raise TypeError(f"psfs must be a non-empty dict band -> measured PSF; got {psfs!r}")
    unknown = [band for band in psfs if band not in tuple(cutout.bands)]
    if unknown:
        raise ValueError(
            f"psfs has band(s) {unknown} that the stamps lack; their bands are {cutout.bands}"
        )
    positions = {}
    for band, psf in psfs.items():
        if isinstance(psf, PSFGrid):
            names = [f"x_{band}", f"y_{band}"]
            if not all(name in cutout.table.colnames for name in names):
                names = ["x", "y"]
            missing = [name for name in names if name not in cutout.table.colnames]
            if missing:
                raise ValueError(
                    f"psfs[{band!r}] is a PSFGrid, which needs the stamps' pixel positions, "
                    f"but their table lacks the column(s) {missing} (Cutout.from_images "
                    "makes them)"
                )
            positions[band] = tuple(np.asarray(cutout.table[name], dtype=float) for name in names)
    for name, column in psf_columns(psfs, len(cutout), positions=positions).items():
        cutout.table[name] = column
    return cutout


def psf_fwhm_arcsec(table, band):
    """The ``psf_fwhm_<band>`` column in arcsec (plain numbers are taken as arcsec)."""
    column = table[f"psf_fwhm_{band}"]
    if isinstance(column, u.Quantity):
        return column.to_value(u.arcsec)
    return np.asarray(column, dtype=float)


def missing_psf_columns(table, bands):
    """The PSF columns of ``bands`` that ``table`` lacks."""
    columns = getattr(table, "colnames", ())
    return [name for band in bands for name in psf_column_names(band) if name not in columns]
