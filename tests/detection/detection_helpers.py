"""Synthetic images for the detection tests: Gaussian stars of known flux on a TAN grid."""

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

PIXEL_SCALE = 0.186  # arcsec per pixel
SIGMA = 1.5  # Gaussian PSF sigma, pixels (FWHM 0.66")
NOISE = 1.0  # sky noise per pixel, counts


def make_wcs(shape, *, center=(10.68, 41.27), scale=PIXEL_SCALE):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(center)
    wcs.wcs.crpix = [(shape[1] + 1) / 2, (shape[0] + 1) / 2]
    wcs.wcs.cdelt = [-scale / 3600, scale / 3600]
    return wcs


def render_stars(shape, x, y, flux, *, sigma=SIGMA):
    """Sum of circular Gaussians of total ``flux`` centred at (x, y), zero-based pixels."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    image = np.zeros(shape)
    for xi, yi, fi in zip(x, y, flux, strict=True):
        x0, x1 = int(max(xi - 8 * sigma, 0)), int(min(xi + 8 * sigma + 1, shape[1]))
        y0, y1 = int(max(yi - 8 * sigma, 0)), int(min(yi + 8 * sigma + 1, shape[0]))
        dx = xx[y0:y1, x0:x1] - xi
        dy = yy[y0:y1, x0:x1] - yi
        image[y0:y1, x0:x1] += (
            fi / (2 * np.pi * sigma**2) * np.exp(-(dx**2 + dy**2) / (2 * sigma**2))
        )
    return image


def star_field(*, shape=(300, 300), n=60, seed=0, sky=5.0, noise=NOISE, mag_range=(20.0, 23.5)):
    """A field of isolated stars with a positive sky; returns image, WCS and truth."""
    rng = np.random.default_rng(seed)
    # Stars on a jittered grid so that none overlaps another.
    side = int(np.ceil(np.sqrt(n)))
    step = (shape[0] - 30) / side
    gx, gy = np.meshgrid(np.arange(side), np.arange(side))
    x = 15 + (gx.ravel()[:n] + 0.5) * step + rng.uniform(-0.3, 0.3, n) * step
    y = 15 + (gy.ravel()[:n] + 0.5) * step + rng.uniform(-0.3, 0.3, n) * step
    mag = rng.uniform(*mag_range, n)
    flux = 10 ** (-0.4 * (mag - 30.0))
    image = render_stars(shape, x, y, flux) + sky + rng.normal(0, noise, shape)
    return image, make_wcs(shape), {"x": x, "y": y, "mag": mag, "flux": flux}


def to_hdu(image, wcs, *, zero_point=30.0, **keywords):
    header = wcs.to_header()
    header["PHOTZP"] = zero_point
    for key, value in keywords.items():
        header[key] = value
    return fits.PrimaryHDU(image.astype(np.float32), header=header)
