"""
Injecting simulated clusters into real images
=============================================

Real survey images have no pixel-level truth. `clusterfinder.simulate.inject` adds
the simulator's young clusters (and asterisms, as hard negatives) to them, each
rendered with the image's own PSF, measured from its stars, at its zero point and on
its own pixel grid, and returns the new images with a truth table.

No real image can be downloaded here, so a simulated field of stars written to FITS
files stands in for one (its i band on a rotated grid of another pixel scale, as bands
of a real survey may be). With real images the call is the same: a dict band -> FITS
file.
"""

import math
import tempfile
from pathlib import Path

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from clusterfinder.simulate import inject, simulate_field

# %%
# The "real" images
# -----------------
# A 600 x 600 field of Milky Way and M31 stars in 0.7" seeing, written as FITS. The i
# image is given a WCS rotated by 25 deg with 0.2"/pix pixels: it covers another patch
# of "sky", and the injection has to place each object where that WCS says.

tmp = Path(tempfile.mkdtemp())
field = simulate_field(
    size=600, seed=3, kinds=("mw_star", "m31_star"), fwhm=0.7 * u.arcsec, disc_light=False
)
paths = field.write(tmp, name="real")
header = field.images["i"].header.copy()
c, s, d = math.cos(math.radians(25)), math.sin(math.radians(25)), 0.2 / 3600
for key in ("CDELT1", "CDELT2"):
    del header[key]
header["CD1_1"], header["CD1_2"], header["CD2_1"], header["CD2_2"] = -d * c, d * s, d * s, d * c
fits.PrimaryHDU(field.images["i"].data, header=header).writeto(tmp / "real_i.fits", overwrite=True)

# %%
# Injecting
# ---------
# Twelve young clusters and four hard asterisms, at random positions where both images
# have a whole 32-pixel stamp, seeded.

result = inject(paths, n={"young_cluster": 12, "asterism": 4}, seed=5)
truth = result.truth
for band, psf in result.psfs.items():
    print(f"{band}: PSF FWHM {psf.fwhm:.2f} from {psf.n_stars} stars, beta {psf.beta:.1f}")
print(truth["name", "kind", "mag_g", "mag_i", "reff", "x_g", "y_g", "x_i", "y_i"][:6])

# %%
# Where they went
# ---------------
# Each object is where each band's WCS puts its sky position: the same objects, at
# other pixels, turned by 25 deg, on the i grid.

fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
for ax, band in zip(axes, ("g", "i"), strict=True):
    data = result.images[band].data
    ax.imshow(np.arcsinh(data / 5), origin="lower", cmap="gray_r", vmin=-1, vmax=6)
    colours = np.where(truth["kind"] == "young_cluster", "tab:red", "tab:blue")
    ax.scatter(truth[f"x_{band}"], truth[f"y_{band}"], s=120, facecolors="none",
               edgecolors=colours)  # fmt: skip
    ax.set_title(f"{band} band: clusters (red), asterisms (blue)")
    ax.set_axis_off()
fig.tight_layout()

# %%
# Before and after
# ----------------
# The brightest injected clusters in g, in their 32-pixel stamps, before and after.

wcs_g = WCS(field.images["g"].header)
order = np.argsort(np.where(truth["kind"] == "young_cluster", truth["mag_g"], np.inf))[:4]
fig, axes = plt.subplots(2, 4, figsize=(9, 4.8))
for column, k in enumerate(order):
    x, y = round(truth["x_g"][k]), round(truth["y_g"][k])
    box = (slice(y - 16, y + 17), slice(x - 16, x + 17))
    for row, image in enumerate((field.images["g"].data, result.images["g"].data)):
        ax = axes[row, column]
        ax.imshow(np.arcsinh(image[box] / 5), origin="lower", cmap="gray_r", vmin=-1, vmax=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, column].set_title(f"g = {truth['mag_g'][k]:.1f}, {truth['reff'][k]:.2f}")
axes[0, 0].set_ylabel("real")
axes[1, 0].set_ylabel("injected")
fig.tight_layout()

# %%
# Labels
# ------
# The injected objects (clusters 1, asterisms 0) join the real sources (here the
# field's own stars; in practice a catalogue or the detections) as a LabelSet;
# real sources on top of an injected object are dropped.

labels = result.labels(field.truth["coord"])
print(labels)
plt.show()
