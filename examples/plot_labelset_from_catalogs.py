"""
Building a label set from published catalogues
==============================================

A classifier learns from labelled sky positions: star clusters (label 1) and
everything else (label 0). Zhang et al. (2025) took their clusters from the
PHAT Andromeda Project catalogue (Johnson et al. 2015), the young clusters found
by eye in the Hubble images of the M31 disc. This example builds such a
`~clusterfinder.LabelSet` from the real catalogues bundled with clusterfinder,
offline:

- positives: the PHAT Andromeda Project clusters, plus the old (globular)
  clusters of the Revised Bologna Catalogue v5 and Caldwell et al. (2011);
- negatives: the quasars seen through the M31 disc (compact, point-like
  background sources: hard negatives).

It then cuts by magnitude (the < 21 mag sample of the paper), balances the
classes and splits into training, validation and test sets that do not leak.
A real analysis adds many more negatives: the survey's own sources in the PHAT
footprint that match no known cluster (stars, asterisms, galaxies), which is
how the negative class reaches thousands of objects.
"""

import tempfile
from pathlib import Path

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np

from clusterfinder import LabelSet
from clusterfinder.galaxy import M31
from clusterfinder.labels.readers import (
    read_caldwell2011,
    read_phat_ap,
    read_quasars_m31,
    read_rbc,
)

# %%
# The catalogues
# --------------
# Each reader returns a QTable with a ``coord`` column, a ``name``, magnitudes
# where the catalogue has them, and the reference in ``meta``. The bundled
# PHAT copy holds 1,477 of the 2,753 clusters; ``read_phat_ap(online=True)``
# fetches all of them from VizieR (J/ApJ/802/127).

phat = read_phat_ap()
rbc = read_rbc()
c11 = read_caldwell2011()
qso = read_quasars_m31()
for name, table in [("PHAT AP", phat), ("RBC v5", rbc), ("Caldwell 2011", c11), ("QSO", qso)]:
    where = table.meta.get("vizier") or table.meta.get("reference")
    print(f"{name:>14}: {len(table):5d} rows  ({where})")

# %%
# Merging them into one label set
# -------------------------------
# Entries closer than 1" are one object (friends of friends). An object listed
# both as a cluster and as a non-cluster is a conflict: with ``conflict="drop"``
# it is removed and listed in ``labels.conflicts``.

labels = LabelSet.from_catalogs(
    {"PHAT": phat, "RBC": rbc, "C11": c11},
    {"QSO": qso},
    radius=1 * u.arcsec,
    conflict="drop",
)
print(labels)
print("objects listed by several catalogues:", int(np.sum(labels.table["n_merged"] > 1)))
print("conflicts:", len(labels.conflicts))

# %%
# Where they are
# --------------
# The PHAT clusters lie in the north-east half of the disc, the old clusters
# and the quasars all over it. The dashed ellipse is the disc at a deprojected
# radius of 20 kpc.

coords = labels.coords
is_cluster = labels.labels == 1
phat_rows = np.array(["PHAT" in str(s) for s in labels.table["sources"]])
fig, ax = plt.subplots(figsize=(6, 6))
ax.scatter(coords.ra.deg[phat_rows], coords.dec.deg[phat_rows], s=3, label="PHAT AP clusters")
old = is_cluster & ~phat_rows
ax.scatter(coords.ra.deg[old], coords.dec.deg[old], s=6, label="RBC / Caldwell clusters")
ax.scatter(
    coords.ra.deg[~is_cluster], coords.dec.deg[~is_cluster], s=14, marker="x", label="quasars"
)
ring = M31.disc_position(np.full(361, 20.0) * u.kpc, np.linspace(0, 360, 361) * u.deg)
ax.plot(ring.ra.deg, ring.dec.deg, "k--", lw=1, label="R = 20 kpc")
ax.invert_xaxis()
ax.set_xlabel("RA (deg)")
ax.set_ylabel("Dec (deg)")
ax.set_xlim(12.3, 9.3)
ax.set_ylim(40.2, 42.4)
ax.legend(loc="lower right", fontsize="small")
ax.set_title("Labelled positions around M31")

# %%
# The < 21 mag sample
# -------------------
# Zhang et al. found their model best for sources brighter than 21 mag and
# trained their final ResNet-50 on them. ``select`` cuts on the ``mag_g``
# column (PHAT F475W - 0.10 approximates MegaCam g). Objects without a g
# magnitude are dropped unless ``keep_unknown=True``: here the RBC and Caldwell
# clusters, whose catalogues give V magnitudes, so the bright sample holds the
# PHAT clusters and the quasars.

bright = labels.select(mag_max={"g": 21}, keep_unknown=False)
print(bright, bright.meta["selection"])

fig, ax = plt.subplots()
bins = np.arange(14, 25.01, 0.25)
ax.hist(labels.table["mag_g"][is_cluster], bins, histtype="step", label="all clusters")
ax.hist(labels.table["mag_g"][~is_cluster], bins, histtype="step", label="quasars")
ax.axvline(21, color="k", ls="--", lw=1)
ax.set_xlabel("g (AB mag)")
ax.set_ylabel("objects")
ax.legend()

# %%
# Balance and leak-free splits
# ----------------------------
# With few negatives, ``balance("weights")`` keeps every object and weighs the
# classes equally; ``"undersample"`` drops members of the larger class.
# ``split`` keeps groups of neighbours (here within 10") and, with
# ``block_size``, whole 6' patches of sky in one part, so that the test set
# tells how the model does on sky it has not seen.

weighted = bright.balance("weights", ratio=1.0)
train, validation, test = weighted.split(
    (0.7, 0.15, 0.15), radius=10 * u.arcsec, block_size=6 * u.arcmin, seed=0
)
for name, part in [("train", train), ("validation", validation), ("test", test)]:
    print(f"{name:>10}: {part}")

fig, ax = plt.subplots(figsize=(6, 5))
for name, part in [("train", train), ("validation", validation), ("test", test)]:
    ax.scatter(part.coords.ra.deg, part.coords.dec.deg, s=4, label=name)
ax.invert_xaxis()
ax.set_xlabel("RA (deg)")
ax.set_ylabel("Dec (deg)")
ax.legend(fontsize="small")
ax.set_title("Splits by 6' patches of sky")
plt.show()

# %%
# Saving
# ------
# A label set is written atomically to ECSV with its provenance (catalogues,
# cuts, split) and read back as it was. The next step cuts its positions out
# of the survey images with `clusterfinder.Cutout.from_images` (see
# :ref:`sphx_glr_gallery_plot_train_evaluate.py`).

folder = Path(tempfile.mkdtemp())
train.write(folder / "train.ecsv")
print(LabelSet.read(folder / "train.ecsv"))
