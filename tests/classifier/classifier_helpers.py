"""Synthetic labelled stamps for the classifier tests: Gaussian blobs of two widths."""

import numpy as np
from astropy.table import QTable

from clusterfinder import Cutout


def make_blobs(n, *, size=16, seed=0, bands=("g", "i"), positive_fraction=0.5):
    """Stamps of narrow (stars, label 0) and wide (clusters, label 1) Gaussian blobs.

    Fluxes are on zero point 30 (total counts of a 21-23 mag source) with sky noise
    of 1.5 counts per pixel, like PAndAS; magnitudes go in ``mag_g``.
    """
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < positive_fraction).astype(int)
    mags = rng.uniform(19.5, 22.5, n)
    flux = 10 ** (-0.4 * (mags - 30))
    sigma = np.where(labels == 1, 2.2, 1.2) * rng.uniform(0.9, 1.1, n)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    offsets = rng.uniform(-0.5, 0.5, (n, 2))
    r2 = (xx[None] - offsets[:, :1, None]) ** 2 + (yy[None] - offsets[:, 1:, None]) ** 2
    profile = np.exp(-r2 / (2 * sigma[:, None, None] ** 2)) / (
        2 * np.pi * sigma[:, None, None] ** 2
    )
    colours = [1.0, 1.3, 0.8][: len(bands)]
    data = np.stack([profile * flux[:, None, None] * c for c in colours], axis=1)
    data = data + rng.normal(0, 1.5, data.shape)
    table = QTable({"label": labels, "mag_g": mags})
    return Cutout(data.astype(np.float32), bands=bands, table=table)
