"""
Quick start: from images to cluster candidates
==============================================

The main job of clusterfinder in a few calls: take *g* and *i* survey images,
find the sources, classify each with a trained model, and get a catalogue of
star cluster candidates to export and vet by eye.

No PAndAS image ships with the package, so the images come from the simulated
PAndAS survey (`clusterfinder.simulate`): a 1024 x 1024 pixel field (3.2' on a
side at 0.186"/pix) of the M31 disc, whose truth table says what every object
really is. The model is the one bundled with clusterfinder, trained on
simulated PAndAS stamps. A real analysis gives the PAndAS stacks (or any
survey's FITS images) instead, and runs over whole surveys with
`clusterfinder.scan.scan` (see :ref:`sphx_glr_gallery_plot_scan_field.py`). The
scores below are measured on simulated data; they are not a claim about real
images (see :doc:`/limitations`).
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from astropy.visualization import AsinhStretch, ImageNormalize, PercentileInterval

from clusterfinder import CandidateCatalog, ClusterClassifier, Cutout
from clusterfinder.demo import score_candidates
from clusterfinder.simulate import simulate_field

# %%
# Images
# ------
# A simulated field, written as one FITS file per band with a celestial WCS and
# the zero point (30 AB) in ``PHOTZP``, as a survey pipeline would deliver it.

work = Path(tempfile.mkdtemp())
field = simulate_field(size=1024, seed=1)
images = field.write(work)
print(field)
print({band: path.name for band, path in images.items()})

# %%
# The model
# ---------
# ``from_pretrained()`` with no name loads the bundled default model, offline.
# It knows the bands it reads, in order, the stamp size it was trained on and
# its decision threshold.

clf = ClusterClassifier.from_pretrained()
print(clf.architecture, clf.bands, clf.cutout_size, f"threshold {clf.threshold:.3f}")

# %%
# Candidates
# ----------
# ``find_candidates`` detects the sources (or takes your source list with
# ``sources=``), cuts a stamp per source in every band and classifies them in
# batches. ``keep_all=True`` returns every source with its probability; without
# it only the candidates (``prob_cluster >= threshold``) come back.

sources = clf.find_candidates(images, keep_all=True)
candidates = sources.above_threshold()
print(f"{len(sources)} sources, {len(candidates)} candidates")
first = candidates["coord", "mag_g", "mag_i", "prob_cluster"][:5]
for name in ("mag_g", "mag_i", "prob_cluster"):
    first[name].info.format = ".3f"
first.pprint(max_width=-1)

# %%
# How good are they?
# ------------------
# On simulated data the truth is known: purity (the fraction of candidates
# that are clusters), recall (the fraction of detected clusters found) and F1,
# for sources brighter than 21 and 22 mag in g.

scores = score_candidates(sources, field.truth, threshold=clf.threshold, mag_limits=(21, 22))
for limit, score in scores.items():
    print(
        f"g < {limit:g}: purity {score['purity']:.2f}, recall {score['recall']:.2f} "
        f"({score['n_clusters']} clusters, {score['n_candidates']} candidates)"
    )

# %%
# The field and its candidates
# ----------------------------

data = field.images["g"].data
fig = plt.figure(figsize=(7, 7))
ax = fig.add_subplot(projection=field.wcs)
norm = ImageNormalize(data, interval=PercentileInterval(99.5), stretch=AsinhStretch(0.05))
ax.imshow(data, origin="lower", cmap="gray_r", norm=norm)
x, y = field.wcs.world_to_pixel(candidates["coord"])
ax.scatter(x, y, s=150, facecolors="none", edgecolors="tab:red", label="candidates")
kinds = np.asarray(field.truth["kind"], dtype=str)
clusters = field.truth[np.isin(kinds, ["young_cluster", "old_cluster"])]
cx, cy = field.wcs.world_to_pixel(clusters["coord"])
ax.scatter(cx, cy, s=40, marker="+", color="tab:blue", label="simulated clusters")
ax.set_xlim(0, data.shape[1])
ax.set_ylim(0, data.shape[0])
ax.legend(loc="upper right")
ax.set_title("Simulated PAndAS field, g band")

# %%
# The stamps the model saw for the most probable candidates: g band, 32 x 32
# pixels (6").

best = candidates[np.argsort(-np.asarray(candidates["prob_cluster"]))][:12]
stamps = Cutout.from_images(images, best["coord"], cutout_size=clf.cutout_size)
fig, axes = plt.subplots(2, 6, figsize=(9, 3.4))
for ax, stamp, prob in zip(axes.flat, stamps.data, best["prob_cluster"], strict=False):
    ax.imshow(np.arcsinh(stamp[0] / 5), origin="lower", cmap="gray_r")
    ax.set_title(f"p = {prob:.2f}", fontsize=8)
for ax in axes.flat:
    ax.set_axis_off()
fig.suptitle("Most probable candidates (g)")
plt.show()

# %%
# Export and inspection
# ---------------------
# The catalogue goes to ECSV, FITS or VOTable with its provenance (model,
# weights hash, threshold, images), to DS9 regions to overlay on the images, and
# to a self-contained web page to vet each candidate by eye (see
# :doc:`/inspect`).

path = candidates.write(work / "candidates.ecsv")
candidates.write_regions(work / "candidates.reg", format="ds9")
page = candidates.inspect(images, output=work / "inspection.html")
back = CandidateCatalog.read(path)
print(len(back), back.meta["threshold"], page.name)
