"""
Scanning survey fields, with resume
===================================

A survey is searched field by field: every source of every image is cut into a
stamp and classified. `clusterfinder.scan.scan` does this in units of work (one
tile of one field each), writes each finished unit to disk at once, and merges
them into one catalogue; run the same call again after an interruption and it
picks up where it stopped, with no source lost and none counted twice.

Here two overlapping simulated PAndAS fields of the M31 disc, 1024 pixels
(3.2') on a side, are written to FITS with `~clusterfinder.simulate.write_field`
(block by block, as a real 20,000-pixel MegaCam stack would be) and scanned
with the model bundled in clusterfinder, in tiles of 512 pixels. A real scan
runs on all PAndAS stacks, with 4096-pixel tiles, on a GPU or a Dask cluster
(see :doc:`/scanning`). The scores at the end are measured against the
simulation's truth: they describe simulated data, not real PAndAS images.
"""

import shutil
import tempfile
import time
from pathlib import Path

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
from astropy.io import fits
from astropy.table import QTable, vstack
from astropy.visualization import AsinhStretch, ImageNormalize, PercentileInterval
from astropy.wcs import WCS

from clusterfinder import CandidateCatalog, ClusterClassifier
from clusterfinder.demo import score_candidates
from clusterfinder.galaxy import M31
from clusterfinder.scan import fields_from_folder, scan
from clusterfinder.simulate import write_field

# %%
# Two simulated fields
# --------------------
# Both lie in the disc, 8-9 kpc from the centre of M31, inside the PHAT
# footprint where Zhang et al. (2025) took their labels; they overlap by
# about 20". Each writes ``NAME_g.fits``, ``NAME_i.fits`` and a truth table.

work = Path(tempfile.mkdtemp())
images = work / "images"
centre = M31.disc_position(8.5 * u.kpc, 60 * u.deg)
centres = {
    "east": centre.spherical_offsets_by(1.45 * u.arcmin, 0 * u.arcmin),
    "west": centre.spherical_offsets_by(-1.45 * u.arcmin, 0 * u.arcmin),
}
truths = []
start = time.perf_counter()
for seed, (name, where) in enumerate(centres.items(), start=1):
    folder = images / name
    write_field(folder, size=1024, center=where, seed=seed, name=name)
    shutil.move(folder / f"{name}_g.fits", images / f"{name}_g.fits")
    shutil.move(folder / f"{name}_i.fits", images / f"{name}_i.fits")
    truths.append(QTable.read(folder / "truth.ecsv"))
truth = vstack(truths, metadata_conflicts="silent")
print(f"simulated in {time.perf_counter() - start:.0f} s:", sorted(fields_from_folder(images)))

# %%
# The model
# ---------
# ``from_pretrained()`` loads the bundled default model: a small CNN trained on
# simulated PAndAS stamps, with the bands, stamp size, pixel scale and threshold
# it was made for. It works offline.

clf = ClusterClassifier.from_pretrained()
print(clf.architecture, clf.bands, clf.cutout_size, f"threshold {clf.threshold:.3f}")

# %%
# The scan
# --------
# Sources are detected on each tile; ``keep_all=True`` keeps every source with
# its probability (not only the candidates), so that we can score the model.
# The output folder holds ``manifest.json`` (what the scan is and how it went),
# ``parts/`` (one file per finished tile) and the merged ``candidates.ecsv``.

output = work / "scan"
start = time.perf_counter()
result = scan(clf, images, output, tile_size=512, keep_all=True, device="cpu")
first_run = time.perf_counter() - start
parts = sorted((output / "parts").iterdir())
print(f"{len(result)} sources in {first_run:.1f} s; {len(parts)} parts written")
print(sorted(p.name for p in output.iterdir()))

# %%
# An interrupted scan
# -------------------
# To mimic a job killed half-way, delete half of the parts (a killed job leaves
# at most a temporary file for the unit it was writing, never a part). The same
# call then redoes only the missing tiles, and the catalogue is the same.

for part in parts[::2]:
    part.unlink()
start = time.perf_counter()
resumed = scan(clf, images, output, tile_size=512, keep_all=True, device="cpu")
print(f"resumed in {time.perf_counter() - start:.1f} s (first run {first_run:.1f} s)")
same = len(resumed) == len(result) and np.allclose(
    np.sort(resumed["prob_cluster"]), np.sort(result["prob_cluster"])
)
print("same catalogue:", same)

# %%
# Sources in the overlap were seen on both fields; the merge keeps each once,
# with its highest probability, and counts the detections.

print("seen twice:", int(np.sum(resumed["n_detections"] > 1)))
candidates = CandidateCatalog.read(output / "candidates.ecsv").above_threshold()
print(f"{len(candidates)} candidates with prob_cluster >= {clf.threshold:.3f}")

# %%
# Against the truth
# -----------------
# Purity, recall and F1 of the candidates against the simulated clusters, for
# sources brighter than 21 and 22 mag in g.

scores = score_candidates(resumed, truth, threshold=clf.threshold, mag_limits=(21, 22))
for limit, score in scores.items():
    print(
        f"g < {limit:g}: purity {score['purity']:.2f}, recall {score['recall']:.2f}, "
        f"F1 {score['f1']:.2f} ({score['n_clusters']} clusters detected, "
        f"{score['n_candidates']} candidates)"
    )

# %%
# A look at one field
# -------------------
# The g image of the east field with the candidates circled, and the simulated
# clusters marked.

with fits.open(images / "east_g.fits") as hdul:
    data = hdul[0].data.astype(float)
    wcs = WCS(hdul[0].header)
fig = plt.figure(figsize=(7, 7))
ax = fig.add_subplot(projection=wcs)
norm = ImageNormalize(data, interval=PercentileInterval(99.5), stretch=AsinhStretch(0.05))
ax.imshow(data, origin="lower", cmap="gray_r", norm=norm)
x, y = wcs.world_to_pixel(candidates["coord"])
ax.scatter(x, y, s=120, facecolors="none", edgecolors="tab:red", label="candidates")
kinds = np.asarray(truth["kind"], dtype=str)
clusters = truth[np.isin(kinds, ["young_cluster", "old_cluster"])]
cx, cy = wcs.world_to_pixel(clusters["coord"])
ax.scatter(cx, cy, s=30, marker="+", color="tab:blue", label="simulated clusters")
ax.set_xlim(0, data.shape[1])
ax.set_ylim(0, data.shape[0])
ax.legend(loc="upper right")
ax.set_title("East field, g band (simulated)")
plt.show()
