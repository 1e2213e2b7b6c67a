"""Test stand-ins for the scan tests: synthetic FITS fields and a fake classifier."""

import time
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS

PIXEL_SCALE = 0.186 / 3600  # deg / pix


def field_wcs(crval, size):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(crval)
    wcs.wcs.crpix = [(size + 1) / 2, (size + 1) / 2]
    wcs.wcs.cdelt = [-PIXEL_SCALE, PIXEL_SCALE]
    return wcs


def make_field(folder, name, *, size=160, seed=0, crval=(10.68, 41.27), n_sources=40, zp=30.0):
    """Write NAME_g.fits and NAME_i.fits (Gaussian sources on noise); return the sources."""
    rng = np.random.default_rng(seed)
    wcs = field_wcs(crval, size)
    x = rng.uniform(2, size - 3, n_sources)
    y = rng.uniform(2, size - 3, n_sources)
    mag_g = rng.uniform(18.0, 23.0, n_sources)
    mag_i = mag_g - rng.uniform(-0.3, 1.0, n_sources)
    yy, xx = np.mgrid[:size, :size]
    sigma = 1.5
    paths = {}
    for band, mags in (("g", mag_g), ("i", mag_i)):
        image = rng.normal(0.0, 0.5, (size, size))
        flux = 10 ** (-0.4 * (mags - zp))
        for xs, ys, f in zip(x, y, flux, strict=True):
            r2 = (xx - xs) ** 2 + (yy - ys) ** 2
            near = r2 < 100
            image[near] += f * np.exp(-r2[near] / (2 * sigma**2)) / (2 * np.pi * sigma**2)
        header = wcs.to_header()
        header["PHOTZP"] = zp
        path = Path(folder) / f"{name}_{band}.fits"
        fits.PrimaryHDU(image.astype(np.float32), header=header).writeto(path, overwrite=True)
        paths[band] = str(path)
    sources = QTable({"coord": wcs.pixel_to_world(x, y), "mag_g": mag_g, "mag_i": mag_i})
    return paths, sources


class FakeClassifier:
    """Deterministic stand-in: P(cluster) from the central pixels of the g stamp."""

    def __init__(self, *, threshold=0.5, cutout_size=15, delay=0.0, sha256="f" * 64):
        self.bands = ("g", "i")
        self.cutout_size = cutout_size
        self.threshold = threshold
        self.delay = delay
        self.source_metadata = {"name": "fake", "sha256": sha256}
        self.calls = 0

    def predict_proba(self, cutout, *, batch_size=256, device="auto", progress_bar=False):
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        assert cutout.bands == self.bands
        c = cutout.stamp_size // 2
        centre = cutout.data[:, 0, c - 1 : c + 2, c - 1 : c + 2].sum(axis=(1, 2)).astype(float)
        colour = cutout.data[:, 1, c, c].astype(float)
        return 1.0 / (1.0 + np.exp(-(centre - 2000.0) / 500.0 - 0.0001 * colour))


def coords_close(a, b, tol=1e-6 * u.arcsec):
    return bool(np.all(a.separation(b) < tol))
