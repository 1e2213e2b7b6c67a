"""The point-spread functions of an outside-rendered field.

This module belongs to `clusterfinder.outside_renderer`, a renderer of PAndAS-like
*g*/*i* fields written independently of `clusterfinder.simulate`. It exists to test
models on a rendering they were not trained on. It must never be used to train the
bundled models.

The PSF of each band is a GalSim profile: a Kolmogorov or Moffat core, a faint wide
halo (a Moffat of index 2 with 2.5-4 times the FWHM of the core and 2-6 % of the
light), sheared to an ellipticity of up to 0.1 at a random angle. Its FWHM is
*measured*: the profile is drawn on a fine grid and the FWHM is that of the circle
with the area of the half-maximum isophote (for an elliptical PSF, the geometric
mean of the FWHM along its axes). The core is rescaled until the measured FWHM is the
one asked for. The FWHM is that of the PSF before integration over the pixels, as a
fit of a pixel-integrated profile to the stars of the image measures it.
"""

import galsim
import numpy as np
from scipy.ndimage import correlate1d

__all__ = [
    "PIXEL_SCALE",
    "PSF_FAMILIES",
    "STAMP_RADIUS",
    "PointStamps",
    "draw_psfs",
    "make_psf",
    "measured_fwhm",
]

#: Arcsec per pixel of the rendered images.
PIXEL_SCALE = 0.186
#: The shapes a PSF core can have.
PSF_FAMILIES = ("kolmogorov", "moffat")
#: Point sources are drawn on stamps of (2 STAMP_RADIUS + 1) pixels a side.
STAMP_RADIUS = 64

_OVERSAMPLE = 12  # sub-pixel phases per pixel and axis of the point-source stamps
_TRUNCATION = STAMP_RADIUS * PIXEL_SCALE  # arcsec: the Moffat parts end at the stamp edge
_HALO_BETA = 2.0


def measured_fwhm(profile, guess):
    """FWHM (arcsec) of the circle with the area of the half-maximum isophote of ``profile``.

    Parameters
    ----------
    profile : `galsim.GSObject`
        A centred profile in arcsec.
    guess : float
        A rough FWHM in arcsec; the profile is drawn (without pixel response) on a
        grid of ``guess / 60`` out to 1.6 times ``guess``.

    Returns
    -------
    float

    Examples
    --------
    >>> import galsim
    >>> round(measured_fwhm(galsim.Gaussian(fwhm=0.8), 0.8), 2)
    0.8
    """
    step = guess / 60.0
    side = 2 * int(1.6 * 60) + 1
    values = profile.drawImage(nx=side, ny=side, scale=step, method="no_pixel").array
    area = np.count_nonzero(values >= 0.5 * values.max()) * step**2
    return float(2.0 * np.sqrt(area / np.pi))


def make_psf(rng, family, fwhm):
    """A PSF of ``family`` whose measured FWHM is ``fwhm`` arcsec to within 0.2 %.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        Draws the Moffat index of the core (2.2-4.5), the width (2.5-4 times the core)
        and share (2-6 %) of the halo, and the ellipticity (0-0.1) and its angle. They
        are drawn in the same order whatever the family, so that a change of family
        does not change the other draws.
    family : {"kolmogorov", "moffat"}
        Shape of the core.
    fwhm : float
        FWHM in arcsec of the whole PSF (core, halo and shear), see `measured_fwhm`.

    Returns
    -------
    psf : `galsim.GSObject`
        The PSF, unit flux, in arcsec, its axes along the image axes.
    description : dict
        ``family``, ``fwhm_arcsec`` (measured), ``core_fwhm_arcsec``, ``beta`` (Moffat
        only), ``halo_beta``, ``halo_fwhm_arcsec``, ``halo_fraction``, ``ellipticity``
        and ``shear_angle_deg`` (from +x toward +y).

    Examples
    --------
    >>> import numpy as np
    >>> psf, about = make_psf(np.random.default_rng(0), "kolmogorov", 0.7)
    >>> abs(about["fwhm_arcsec"] / 0.7 - 1) < 0.002, about["family"]
    (True, 'kolmogorov')
    """
    if family not in PSF_FAMILIES:
        raise ValueError(f"family must be one of {PSF_FAMILIES}; got {family!r}")
    beta = rng.uniform(2.2, 4.5)
    halo_ratio = rng.uniform(2.5, 4.0)
    halo_fraction = rng.uniform(0.02, 0.06)
    ellipticity = rng.uniform(0.0, 0.1)
    angle = rng.uniform(0.0, 180.0)

    def build(core_fwhm):
        if family == "kolmogorov":
            core = galsim.Kolmogorov(fwhm=core_fwhm)
        else:
            core = galsim.Moffat(beta=beta, fwhm=core_fwhm, trunc=_TRUNCATION)
        halo = galsim.Moffat(beta=_HALO_BETA, fwhm=halo_ratio * core_fwhm, trunc=_TRUNCATION)
        psf = galsim.Add([core.withFlux(1.0 - halo_fraction), halo.withFlux(halo_fraction)])
        return psf.shear(e=ellipticity, beta=angle * galsim.degrees)

    core_fwhm = fwhm
    for _ in range(10):
        psf = build(core_fwhm)
        width = measured_fwhm(psf, fwhm)
        if abs(width / fwhm - 1.0) < 2e-3:
            break
        core_fwhm *= fwhm / width
    description = {"family": family, "fwhm_arcsec": width, "core_fwhm_arcsec": float(core_fwhm)}
    if family == "moffat":
        description["beta"] = float(beta)
    description.update(
        halo_beta=_HALO_BETA,
        halo_fwhm_arcsec=float(halo_ratio * core_fwhm),
        halo_fraction=float(halo_fraction),
        ellipticity=float(ellipticity),
        shear_angle_deg=float(angle),
    )
    return psf, description


def draw_psfs(rng, *, family="random", fwhm=None):
    """The PSFs of the *g* and *i* bands of one field.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        The source of every draw.
    family : {"random", "kolmogorov", "moffat"}, optional
        Shape of the cores; ``"random"`` picks one for the field (both bands).
    fwhm : dict, optional
        Band -> FWHM in arcsec, or None for a band whose seeing is drawn: *i* from a
        lognormal around 0.62 arcsec clipped to 0.45-1.0 arcsec, *g* 3-15 % worse and
        at most 1.05 arcsec (the seeing of PAndAS).

    Returns
    -------
    psfs, descriptions : dict
        Band -> `galsim.GSObject` and band -> dict (see `make_psf`).
    """
    fwhm = {} if fwhm is None else fwhm
    drawn_family = PSF_FAMILIES[int(rng.integers(len(PSF_FAMILIES)))]
    family = drawn_family if family == "random" else family
    seeing_i = float(np.clip(np.exp(rng.normal(np.log(0.62), 0.2)), 0.45, 1.0))
    seeing = {"g": min(seeing_i * rng.uniform(1.03, 1.15), 1.05), "i": seeing_i}
    psfs, descriptions = {}, {}
    for band in ("g", "i"):
        target = seeing[band] if fwhm.get(band) is None else fwhm[band]
        psfs[band], descriptions[band] = make_psf(rng, family, target)
    return psfs, descriptions


class PointStamps:
    """Pixel-integrated images of a PSF at any sub-pixel position.

    The PSF is drawn once without pixel response on a grid 12 times finer than the
    pixels and integrated over a pixel with the trapezoid rule. Read with a stride of
    12, that grid gives the PSF at the sub-pixel phases ``k / 12``; the stamp of a star
    is interpolated linearly between the two nearest phases in each axis. It agrees
    with GalSim's own pixel-integrated drawing to a few 0.1 % of the peak.

    Parameters
    ----------
    psf : `galsim.GSObject`
        A unit-flux PSF in arcsec.

    Attributes
    ----------
    peak : float
        The brightest pixel of a unit-flux star centred on a pixel.

    Examples
    --------
    >>> import galsim
    >>> stamps = PointStamps(galsim.Moffat(beta=3.0, fwhm=0.7, trunc=10.0))
    >>> stamp = stamps.stamp(0.25, -0.5)
    >>> stamp.shape, round(float(stamp.sum()), 4)
    ((129, 129), 1.0)
    """

    def __init__(self, psf):
        n, radius = _OVERSAMPLE, STAMP_RADIUS
        centre = n * (radius + 1)
        side = 2 * centre + 1
        fine = psf.drawImage(nx=side, ny=side, scale=PIXEL_SCALE / n, method="no_pixel").array
        weights = np.ones(n + 1)
        weights[[0, -1]] = 0.5
        fine = correlate1d(fine.astype(float), weights, axis=0, mode="constant")
        fine = correlate1d(fine, weights, axis=1, mode="constant")
        # bank[j, i]: the PSF centred (i - n/2) / n pixel right of and (j - n/2) / n
        # pixel above the centre of the stamp.
        span = n * 2 * radius + 1
        phases = range(-(n // 2), n - n // 2 + 1)
        self._bank = np.empty((n + 1, n + 1, 2 * radius + 1, 2 * radius + 1))
        for j, my in enumerate(phases):
            for i, mx in enumerate(phases):
                x0, y0 = centre - n * radius - mx, centre - n * radius - my
                self._bank[j, i] = fine[y0 : y0 + span : n, x0 : x0 + span : n]
        self.peak = float(self.stamp(0.0, 0.0).max())

    def stamp(self, fx, fy):
        """The unit-flux PSF centred ``fx, fy`` pixels (each in [-0.5, 0.5]) off the centre.

        Parameters
        ----------
        fx, fy : float
            Offset of the star from the central pixel along x (columns) and y (rows).

        Returns
        -------
        `numpy.ndarray`
            ``(2 * STAMP_RADIUS + 1)`` pixels a side.
        """
        tx = (fx + 0.5) * _OVERSAMPLE
        ty = (fy + 0.5) * _OVERSAMPLE
        i = min(int(tx), _OVERSAMPLE - 1)
        j = min(int(ty), _OVERSAMPLE - 1)
        wx, wy = tx - i, ty - j
        bank = self._bank
        low = (1 - wx) * bank[j, i] + wx * bank[j, i + 1]
        high = (1 - wx) * bank[j + 1, i] + wx * bank[j + 1, i + 1]
        return (1 - wy) * low + wy * high
