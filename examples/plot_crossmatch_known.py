"""
Cross-matching candidates with known M31 cluster catalogues
===========================================================

A scan of survey images ends with a list of candidates. Before anyone looks at
them, three questions sort the list: which candidates are the same object seen
twice (overlapping fields), which are already known clusters, and which lie in
the region of interest (within a projected 30 kpc of M31, the cut of Zhang et
al. 2025). This example answers them with `~clusterfinder.CandidateCatalog`
against the real catalogues bundled with clusterfinder: the Revised Bologna
Catalogue v5 (RBC), Caldwell et al. (2011) and the PHAT Andromeda Project young
clusters (Johnson et al. 2015).

No scan output is shipped with the package, so we build a stand-in: the
globular clusters of Caldwell & Romanowsky (2016), which reach far into the
PAndAS halo, mixed with random positions over the disc (playing the part of new
candidates), with made-up probabilities and a few duplicates. Everything runs
offline in a few seconds.
"""

import tempfile
from pathlib import Path

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, vstack

from clusterfinder import CandidateCatalog
from clusterfinder.galaxy import M31
from clusterfinder.labels.readers import read_caldwell2011, read_cr16, read_phat_ap, read_rbc

rng = np.random.default_rng(42)

# %%
# A stand-in candidate list
# -------------------------
# Known clusters from CR16, plus 150 random disc positions within 1.5 deg of
# M31, each with a probability; then 10 % of the rows again, 0.2" away, as an
# overlapping field would report them.

cr16 = read_cr16()
n_random = 150
random_coords = M31.center.directional_offset_by(
    rng.uniform(0, 360, n_random) * u.deg, 1.5 * np.sqrt(rng.uniform(0, 1, n_random)) * u.deg
)
coords = SkyCoord([*cr16["coord"].icrs, *random_coords])
table = QTable(
    {
        "coord": coords,
        "prob_cluster": rng.beta(5, 2, len(coords)),
        "mag_g": rng.uniform(17.5, 21.5, len(coords)),
    }
)
repeat = table[rng.choice(len(table), len(table) // 10, replace=False)]
repeat["coord"] = repeat["coord"].spherical_offsets_by(0.2 * u.arcsec, 0 * u.arcsec)
repeat["prob_cluster"] = np.clip(repeat["prob_cluster"] + rng.normal(0, 0.05, len(repeat)), 0, 1)
cands = CandidateCatalog.from_table(
    vstack([table, repeat]), threshold=0.669, weights="stand-in (no model)"
)
print(f"{len(cands)} rows, of which {len(repeat)} duplicates")

# %%
# Duplicates and the radius cut
# -----------------------------
# Rows closer than 0.5" are merged (friends of friends); the most probable row
# of each group is kept and ``n_detections`` counts the merged rows. Then the
# candidates above the classifier threshold within 30 kpc of M31 are kept.

cands = cands.deduplicate(0.5 * u.arcsec)
print(f"after de-duplication: {len(cands)} ({np.sum(cands['n_detections'] > 1)} merged)")
cands = cands.above_threshold().select_radius(30 * u.kpc)
print(f"above threshold within 30 kpc: {len(cands)}")

# %%
# Cross-matching with the known catalogues
# ----------------------------------------
# One call matches every catalogue within 1": each gains a ``known_<name>``,
# ``name_<name>`` and ``sep_<name>`` column, and ``status`` says "known" or
# "new".

known = {
    "rbc": read_rbc(),
    "caldwell": read_caldwell2011(),
    "phat": read_phat_ap(),
}
cands = cands.crossmatch(known, radius=1 * u.arcsec)
for name, record in cands.meta["crossmatch"].items():
    print(f"{name:>9}: {record['n_rows']:5d} objects, {record['n_matched']:4d} candidates matched")
print(f"known: {np.sum(cands['known'])}, new: {np.sum(~cands['known'])}")
cands["name_rbc", "name_caldwell", "sep_rbc", "prob_cluster", "status"][
    cands["known_rbc"] & cands["known_caldwell"]
][:5].pprint()

# %%
# The separations tell how well the catalogues agree: the RBC and Caldwell
# positions of the same clusters differ by a few tenths of an arcsecond, well
# inside the 1" matching radius.

both = cands["known_rbc"] & cands["known_caldwell"]
print(f"median separation to RBC: {np.median(cands['sep_rbc'][both]):.2f}")

# %%
# A sky map
# ---------
# Candidates coloured by probability, with the known ones circled and the 30 kpc
# radius drawn around M31.

ax = cands.plot(size=12)
known_rows = cands[cands["known"]]
ax.scatter(
    known_rows["coord"].ra.deg,
    known_rows["coord"].dec.deg,
    s=60,
    facecolors="none",
    edgecolors="tab:red",
    label="known (RBC, Caldwell, PHAT)",
)
circle = M31.center.directional_offset_by(
    np.linspace(0, 360, 361) * u.deg, M31.angular_radius(30 * u.kpc)
)
ax.plot(circle.ra.deg, circle.dec.deg, "k--", lw=1, label="30 kpc")
ax.legend(loc="lower left", fontsize="small")
ax.set_title("Stand-in candidates around M31")
plt.show()

# %%
# Files for the next steps
# ------------------------
# The catalogue goes to ECSV (or FITS or VOTable) with its provenance, and to a
# DS9 region file for visual inspection: known candidates in cyan, new ones in
# red.

folder = Path(tempfile.mkdtemp())
path = cands.write(folder / "candidates.ecsv")
regions = cands.write_regions(folder / "candidates.reg", format="ds9")
back = CandidateCatalog.read(path)
print(back.meta["threshold"], back.meta["weights"], len(back), regions.name)
