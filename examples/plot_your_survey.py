"""
Your survey, your model
=======================

The path from a survey's own images to a model checked on them, offline: inject
simulated clusters into the images, label them together with the real sources, cut
stamps, measure the bundled model there, adapt it to the survey's unlabelled stamps
and fine-tune it on the injected labels, then search the images and write a page to
vet the candidates by eye.

No real image can be downloaded here, so a simulated field of stars written to FITS
files stands in for a survey tile. Online, the tiles would come from the archive::

    from clusterfinder.archive import download_pandas_images, query_pandas_images
    table = query_pandas_images(SkyCoord("00h42m44s +41d16m09s"), radius=0.5 * u.deg)
    paths = download_pandas_images(table, "pandas_tiles")

and the real sources from the survey's catalogue or from
`clusterfinder.detection.detect_sources`. All figures below are on this stand-in (a
few hundred stamps): they show the steps, not the quality on real images.
"""

import tempfile
from pathlib import Path

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
from astropy.io import fits
from astropy.table import QTable

from clusterfinder import ClusterClassifier, Cutout
from clusterfinder.psf import attach_psf, measure_psf
from clusterfinder.simulate import inject, simulate_field

# %%
# The survey's images and sources
# -------------------------------
# A 1000 x 1000 field of Milky Way and M31 stars in 0.75" seeing, written as FITS:
# the stand-in for a real tile. Its stars brighter than g = 23.5 play the real
# source catalogue (they are not clusters: label 0).

folder = Path(tempfile.mkdtemp())
field = simulate_field(
    size=1000, seed=21, kinds=("mw_star", "m31_star"), fwhm=0.75 * u.arcsec, disc_light=False
)
paths = field.write(folder, name="tile")
stars = field.truth[np.asarray(field.truth["mag_g"]) < 23.5]
sources = QTable({"coord": stars["coord"], "label": np.zeros(len(stars), dtype=int)})
print(f"{len(sources)} real sources brighter than g = 23.5")

# %%
# Inject clusters
# ---------------
# Young and old clusters, with asterisms as hard negatives, each rendered with the
# tile's own PSF (measured on its stars) and zero point. `LabelSet.from_injection`
# joins them with the real sources.

injected = inject(
    paths, n={"young_cluster": 40, "old_cluster": 10, "asterism": 10}, seed=4,
    output=folder / "injected", mag_range={"g": (18.5, 22.5)},
)  # fmt: skip
labels = injected.labels(sources)
print(labels)

# %%
# Stamps, with the PSF the model reads
# ------------------------------------
# 32-pixel g/i stamps at every labelled position of the injected images, carrying the
# PSF measured on the tile (the bundled model is seeing-aware). Half the objects are
# kept apart to measure the model; the other half are the few labels of the survey.

stamps = Cutout.from_images(
    injected.images, labels.table["coord"], cutout_size=32, table=labels.table
)
attach_psf(stamps, {band: measure_psf(path) for band, path in injected.images.items()})
stamps = stamps[~stamps.mask.any(axis=(1, 2, 3))]
rng = np.random.default_rng(0)
order = rng.permutation(len(stamps))
test, labelled = stamps[order[: len(order) // 2]], stamps[order[len(order) // 2 :]]
print(f"{len(labelled)} labelled stamps to fine-tune on, {len(test)} to test on")

# %%
# The bundled model on this survey, adapted, fine-tuned
# ------------------------------------------------------
# `ClusterClassifier.adapt` uses the survey's stamps without their labels (here
# AdaBN: the batch-normalisation statistics measured again); `fit(freeze="features")`
# trains only the last layer on the labelled half.

rows = []
clf = ClusterClassifier.from_pretrained()
rows.append(("bundled model", clf.evaluate(test, device="cpu")))
adapted = ClusterClassifier.from_pretrained()
adapted.adapt(labelled, method="adabn", device="cpu", description="the tile's stamps")
rows.append(("+ AdaBN (no labels)", adapted.evaluate(test, device="cpu")))
tuned = ClusterClassifier.from_pretrained()
train, validation = labelled[::2], labelled[1::2]
tuned.fit(
    train, validation, freeze="features", epochs=10, batch_size=32, learning_rate=2e-3,
    patience=4, device="cpu", description="injected clusters and the tile's stars",
)  # fmt: skip
rows.append(("fine-tuned head", tuned.evaluate(test, device="cpu")))
for name, result in rows:
    print(f"{name:22s} purity {result.purity:.2f}  recall {result.recall:.2f}  F1 {result.f1:.2f}")

# %%
# Measure before adapting: on this stand-in, as on the outside renderer of
# ``benchmarks/bench_adaptation.py``, the bundled model already does well, and AdaBN
# costs it recall; adaptation is for a survey on which the model is measurably off
# (there, ``method="mmd"`` with simulated source stamps gained most).

# %%
# Search the tile and vet the candidates
# --------------------------------------
# The chosen model classifies every source of the injected tile; the candidates go to
# an inspection page (open it in a browser; ``clusterfinder inspect --serve`` saves
# each decision as it is made).

candidates = tuned.find_candidates(injected.images, labels.table[["coord"]], device="cpu")
page = candidates.inspect(injected.images, output=folder / "inspection.html")
print(f"{len(candidates)} candidates; inspection page {page.name}")

fig, ax = plt.subplots(figsize=(5, 5))
image = injected.images["g"]
data = fits.getdata(image)
ax.imshow(np.arcsinh(data / 5), origin="lower", cmap="gray_r", vmin=-1, vmax=6)
x, y = candidates["x"], candidates["y"]
ax.scatter(x, y, s=150, facecolors="none", edgecolors="tab:red")
ax.set_title("candidates on the injected tile (g)")
ax.set_axis_off()
fig.tight_layout()
