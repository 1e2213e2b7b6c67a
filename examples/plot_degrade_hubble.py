"""
A sharp image of a cluster as a ground-based survey would see it
================================================================

Labelled clusters with real pixels mostly come from Hubble (0.05"/pix, a 0.1"
PSF). `clusterfinder.simulate.degrade_image` shows such an image as PAndAS or
HSC would record it: blurred to the survey's seeing, resampled onto its pixels
with the flux kept, on its zero point, with its sky and source noise.

Here the sharp image is made up (a young cluster of a few hundred stars and a
foreground star beside it, in e-/s as in an ACS/WFC F814W drizzled image) so that
the example runs anywhere. With a real Hubble cutout the calls are the same; the
project's ``benchmarks/bench_real_m33.py`` does it for M33 clusters.
"""

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np

from clusterfinder.galaxy import M31, M33
from clusterfinder.simulate import HSC, PANDAS, degrade_image

HST_SCALE = 0.05 * u.arcsec / u.pix
ACS_F814W_AB = 25.94  # AB magnitude of 1 e-/s

# %%
# A sharp cluster
# ---------------
# 300 stars with a power-law luminosity function, positions drawn from a
# Plummer-like profile of half-light radius about 0.4" (1.6 pc at M33), each
# rendered with a 0.1" Gaussian PSF; a bright star 1.5" to the side.

rng = np.random.default_rng(4)
n, size = 300, 120
radius = 0.4 / 0.05 * np.sqrt(rng.random(n) ** (-2 / 3) - 1)  # Plummer radii, pixels
angle = rng.uniform(0, 2 * np.pi, n)
x = (size - 1) / 2 + radius * np.cos(angle)
y = (size - 1) / 2 + radius * np.sin(angle)
flux = 1.0 / (1.0 - rng.random(n) * 0.98)  # dN/dF ~ F^-2, e-/s
x, y, flux = np.append(x, 89.5), np.append(y, 59.5), np.append(flux, 300.0)
yy, xx = np.mgrid[:size, :size]
sigma = 0.1 / 2.3548 / 0.05
hst = np.zeros((size, size))
for xk, yk, fk in zip(x, y, flux, strict=True):
    hst += fk * np.exp(-((xx - xk) ** 2 + (yy - yk) ** 2) / (2 * sigma**2))
hst /= 2 * np.pi * sigma**2
print(f"cluster + star: {ACS_F814W_AB - 2.5 * np.log10(hst.sum()):.2f} AB in F814W")

# %%
# PAndAS and HSC
# --------------
# The same image degraded to the i band of each survey, moved from the distance of
# M33 to that of M31. The flux is kept: the magnitude is the sharp image's, brighter
# by ``5 log10(840 / 785)`` = 0.15 mag for the move closer.

ratio = float(M33.distance / M31.distance)
print(f"expected at M31: {ACS_F814W_AB - 2.5 * np.log10(hst.sum() * ratio**2):.2f} AB")
views = {}
for config in (PANDAS, HSC):
    common = dict(pixel_scale=HST_SCALE, zero_point=ACS_F814W_AB, config=config, band="i")
    views[config.name] = degrade_image(hst, distance_ratio=ratio, seed=0, **common)
    clean = degrade_image(hst, distance_ratio=ratio, noise=False, **common)
    magnitude = config.zero_point - 2.5 * np.log10(clean.sum())
    print(f"{config.name}: {clean.shape[0]} px across, {magnitude:.2f} AB (without noise)")

fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
axes[0].imshow(np.arcsinh(hst / 0.05), origin="lower", cmap="gray")
axes[0].set_title('Hubble-like, 0.05"/pix')
for ax, (name, image) in zip(axes[1:], views.items(), strict=True):
    ax.imshow(np.arcsinh(image / 2.0), origin="lower", cmap="gray")
    ax.set_title(f"{name} i, {image.shape[0]} px")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()

# %%
# The cluster that Hubble resolves into stars is, to a ground-based survey, a
# slightly fuzzy blob next to a sharp star: the difference a classifier of survey
# stamps has to pick up.
