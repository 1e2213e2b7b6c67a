"""Does the default model gain from the PSF measured zone by zone on a field whose PSF varies?

Randomised simulated fields whose PSF changes across the image (FWHM by 15 % from one
side to the other, ellipticity by 0.03, each along its own random direction and per
band: `DomainRandomization(psf_variation=, psf_ellipticity_gradient=)`), stamps at the
true positions of every object with g <= 22. The same stamps are given four PSFs:

- **whole image**: `measure_psf` on the whole image (what scans and `attach_psf` use);
- **2 x 2 zones**, **3 x 3 zones**: `measure_local_psf`, each stamp its zone's PSF;
- **drawn**: the PSF the simulator drew at each stamp's position (the best any
  measurement could do).

Per PSF: the error of the stamps' ``psf_fwhm`` columns against the drawn FWHM (rms), and
the bundled default model's F1, purity and recall at g < 21 and g < 22 and its
bright-star (g < 21) false-positive rate, at its own threshold. All figures are on
simulated data, none on real PAndAS images.

Usage::

    python benchmarks/bench_local_psf.py            # full run, writes RESULTS.md
    python benchmarks/bench_local_psf.py --quick    # smoke run
"""

import argparse
import datetime
import sys
import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_summary, markdown_table, write_results_block

FULL = dict(n_fields=8, size=1600)
QUICK = dict(n_fields=2, size=700)
#: The variation drawn on every field (fixed ranges: every field varies this much).
VARIATION = dict(psf_variation=(0.15, 0.15), psf_ellipticity_gradient=(0.03, 0.03))
PSFS = ("whole image", "2 x 2 zones", "3 x 3 zones", "drawn")
STARS = ("mw_star", "m31_star")


def pixel_positions(stamps, band):
    """``(x, y)`` of the stamps on ``band``'s image (``x``, ``y`` when bands share a grid)."""
    table = stamps.table
    names = (f"x_{band}", f"y_{band}") if f"x_{band}" in table.colnames else ("x", "y")
    return tuple(np.asarray(table[name], dtype=float) for name in names)


def drawn_columns(field, stamps, whole):
    """The PSF columns of each stamp's position as drawn, on the scale of the measurements.

    The FWHM is the whole image's measured FWHM times the drawn change at the position
    (a Moffat fitted to a Kolmogorov or haloed PSF has its own width: the measurement
    sets the scale, the simulator the change); the ellipticity and its angle are those
    drawn at the position; beta is the whole image's.
    """
    from clusterfinder.psf import psf_column_names
    from clusterfinder.simulate import PSFShape, PSFVariation

    columns = {}
    for band, image in field.images.items():
        header = image.header
        variation = PSFVariation(
            header["PSFVAR"], header["PSFVARAN"], header["PSFEGRAD"], header["PSFEGRAN"],
            header["PSFEGROR"],
        )  # fmt: skip
        shape = PSFShape(ellipticity=header["PSFELL"], angle=header["PSFANG"])
        x, y = pixel_positions(stamps, band)
        change, shapes = variation.at(x, y, fwhm=1.0, shape=shape, image_shape=image.shape)
        names = psf_column_names(band)
        columns[names[0]] = whole[band].fwhm.to(u.arcsec) * np.asarray(change)
        columns[names[1]] = np.full(len(stamps), float(whole[band].beta))
        columns[names[2]] = np.array([s.ellipticity for s in shapes])
        columns[names[3]] = np.array([s.angle for s in shapes]) * u.deg
    return columns


def field_stamps(seed, size):
    """One field's stamps (g <= 22), one copy per PSF of `PSFS` carrying that PSF."""
    from astropy.table import QTable

    from clusterfinder import Cutout
    from clusterfinder.labels import LabelSet
    from clusterfinder.psf import attach_psf, measure_local_psf, measure_psf
    from clusterfinder.simulate import DomainRandomization, simulate_field

    field = simulate_field(size=size, seed=seed, randomize=DomainRandomization(**VARIATION))
    truth = field.truth[np.asarray(field.truth["mag_g"]) <= 22.0]
    table = QTable(LabelSet.from_truth(truth).table, copy=True)
    stamps = Cutout.from_images(field.images, table["coord"], cutout_size=32, table=table)
    stamps = stamps[~stamps.mask.any(axis=(1, 2, 3))]
    with warnings.catch_warnings():  # zones with too few stars fall back, with a warning
        warnings.simplefilter("ignore")
        whole = {band: measure_psf(image) for band, image in field.images.items()}
        psfs = {"whole image": whole}
        for grid, name in ((2, "2 x 2 zones"), (3, "3 x 3 zones")):
            psfs[name] = {
                band: measure_local_psf(image, grid=grid, whole=whole[band])
                for band, image in field.images.items()
            }
    out = {name: attach_psf(stamps[np.arange(len(stamps))], given) for name, given in psfs.items()}
    out["drawn"] = stamps[np.arange(len(stamps))]
    for column, values in drawn_columns(field, stamps, whole).items():
        out["drawn"].table[column] = values
    return out


def scores(clf, stamps):
    """F1, purity, recall (g < 21, g < 22) and the bright-star false-positive rate."""
    from clusterfinder.classifier import binary_metrics

    proba = clf.predict_proba(stamps, device="cpu")
    labels = np.asarray(stamps.table["label"]).astype(int)
    mags = np.asarray(stamps.table["mag_g"], dtype=float)
    kind = np.asarray(stamps.table["kind"])
    out = []
    for limit in (21.0, 22.0):
        bright = mags < limit
        m = binary_metrics(labels[bright], proba[bright], clf.threshold)
        out += [float(m["f1"]), float(m["purity"]), float(m["recall"])]
    stars = (mags < 21.0) & np.isin(kind, STARS)
    out.append(float(np.mean(proba[stars] >= clf.threshold)) if stars.any() else float("nan"))
    return out, int(stars.sum())


def main(argv=None):
    from clusterfinder import ClusterClassifier, Cutout
    from clusterfinder.classifier.weights import DEFAULT_WEIGHTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small fields, no RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    start = time.perf_counter()
    parts = {name: [] for name in PSFS}
    for index in range(settings["n_fields"]):
        for name, stamps in field_stamps(7000 + index, settings["size"]).items():
            parts[name].append(stamps)
        elapsed = time.perf_counter() - start
        print(f"field {index}: {len(stamps)} stamps, {elapsed:.0f} s", flush=True)
    clf = ClusterClassifier.from_pretrained()
    drawn = Cutout.concatenate(parts["drawn"])
    rows = []
    for name in PSFS:
        stamps = Cutout.concatenate(parts[name])
        error = []
        for band in ("g", "i"):
            column = f"psf_fwhm_{band}"
            error.append(stamps.table[column] / drawn.table[column] - 1.0)
        rms = float(np.sqrt(np.mean(np.concatenate(error) ** 2)))
        values, n_stars = scores(clf, stamps)
        rows.append([name, f"{rms:.1%}", *(f"{v:.3f}" for v in values)])
        print(rows[-1], flush=True)
    elapsed = time.perf_counter() - start
    header = ["PSF of the stamps", "FWHM error (rms)", "F1 g<21", "P g<21", "R g<21"]
    header += ["F1 g<22", "P g<22", "R g<22", "stars g<21 called clusters"]
    text = "\n".join(
        [
            "## The PSF zone by zone on fields whose PSF varies (`bench_local_psf.py`)",
            "",
            f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {machine_summary()}; "
            f"{elapsed:.0f} s" + ("; QUICK run" if args.quick else ""),
            "",
            f"{settings['n_fields']} randomised simulated fields of {settings['size']} pixels "
            "whose PSF varies across the image (FWHM by 15 %, ellipticity by 0.03); "
            f"{len(drawn)} stamps of every object with g <= 22 ({n_stars} stars with "
            f"g < 21); the bundled default model ({DEFAULT_WEIGHTS}) at its own threshold. "
            "All figures are on simulated data, none on real PAndAS images.",
            "",
            markdown_table(header, rows),
        ]
    )
    print(text)
    if not args.quick and not args.no_write:
        write_results_block("bench_local_psf", text)


if __name__ == "__main__":
    main()
