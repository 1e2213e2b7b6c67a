"""Real pixels: Hubble images of M33 clusters and stars, as PAndAS would see them in i.

The only real pixels of labelled clusters the project has are 100 x 100 Hubble ACS/WFC
F814W cutouts of M33 objects (0.05"/pix; Singlor et al. 2023, classes from Sarajedini &
Mancone 2007), in ``shared/data/m33_hst_f814w`` beside the checkout. This script:

1. degrades every cutout classed Cluster, Stellar or Galaxy to PAndAS i
   (`clusterfinder.simulate.degrade_image`): moved from M33 (840 kpc) to the distance
   of M31 (785 kpc), blurred to the nominal i seeing (0.60", Moffat), resampled to
   0.186"/pix, on the AB zero point 30 with the survey's sky and Poisson noise, in
   five noise realisations; the central 24 x 24 pixels are kept (the degraded
   cutouts are 28 pixels wide);
2. trains i-band-only classifiers on the simulated training stamps of
   ``bench_quality.py`` (cropped to 24 pixels, band i): the small CNN with three
   seeds, and the morphology baseline (gradient-boosted trees on
   `clusterfinder.classifier.morphology_features`);
3. reports, for each, the F1 on the simulated held-out fields (i only, g < 21) next to
   the fraction of real clusters it recovers and of real "Stellar" objects it calls
   clusters, at its own validation threshold.

The degraded cutouts keep everything Hubble saw around the object: the crowded M33
disc, neighbouring stars, the diffuse light. There are no real negatives to speak of
(11 Stellar cutouts, one Galaxy), so this measures recall on real clusters, not purity.
F814W stands in for i (ACS/WFC F814W AB zero point 25.94 for e-/s). Usage::

    python benchmarks/bench_quality.py --cases baseline   # makes the simulated stamps
    python benchmarks/bench_real_m33.py [--data PATH] [--quick]
"""

import argparse
import re
import sys
import time
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import QTable

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_summary, markdown_table, write_results_block
from bench_quality import SETTINGS, fit_baseline, held_out, train_validation

HERE = Path(__file__).parent
DATA = HERE.resolve().parents[1] / "shared" / "data" / "m33_hst_f814w"
SIZE = 24
BAND = "i"
ACS_F814W_AB = 25.94  # AB magnitude of 1 e-/s in ACS/WFC F814W
HST_SCALE = 0.05 * u.arcsec / u.pix
FULL = dict(
    realisations=5, seeds=(0, 1, 2), epochs=None, cache=".real_cache", stamps=".quality_cache"
)
QUICK = dict(
    realisations=1, seeds=(0,), epochs=1, cache=".real_cache_quick", stamps=".quality_cache_quick"
)
CLASSES = {"Cluster": 1, "Stellar": 0, "Galaxy": 0}


def real_stamps(data_dir, realisations, fwhm=None):
    """The degraded cutouts as an i-band `~clusterfinder.Cutout` (all noise realisations).

    ``fwhm`` is the seeing they are degraded to (the nominal i seeing by default).
    """
    from clusterfinder import Cutout
    from clusterfinder.classifier import morphology_features
    from clusterfinder.galaxy import M31, M33
    from clusterfinder.simulate import degrade_image

    files = sorted(data_dir.glob("fits_cutouts/img_*.fits"))
    if not files:
        raise SystemExit(f"no M33 cutouts in {data_dir / 'fits_cutouts'}; give --data")
    ratio = float(M33.distance / M31.distance)
    stamps, rows = [], []
    for path in files:
        match = re.fullmatch(r"img_(\d+)_([A-Za-z]+)(?:_(\d+))?\.fits", path.name)
        if match is None or match.group(2) not in CLASSES:
            continue
        hst = fits.getdata(path).astype(float)
        for realisation in range(realisations):
            image = degrade_image(
                np.nan_to_num(hst), pixel_scale=HST_SCALE, zero_point=ACS_F814W_AB,
                band=BAND, distance_ratio=ratio, seed=[int(match.group(1)), realisation],
                fwhm=fwhm,
            )  # fmt: skip
            start = (image.shape[0] - SIZE) // 2
            stamps.append(image[start : start + SIZE, start : start + SIZE])
            rows.append((path.stem, match.group(2), CLASSES[match.group(2)], realisation))
    name, kind, label, realisation = zip(*rows, strict=True)
    table = QTable({"name": name, "kind": kind, "label": label, "realisation": realisation})
    cutout = Cutout(np.asarray(stamps, dtype=np.float32)[:, None], bands=(BAND,), table=table)
    cutout.table["mag_i"] = morphology_features(cutout)["mag_i"]
    return cutout


def simulated(bench_cache):
    """Training, validation and held-out simulated stamps, band i, 24 pixels."""
    if not (bench_cache / "train.fits").exists():
        raise SystemExit(
            f"no simulated stamps in {bench_cache}: run `python benchmarks/bench_quality.py` "
            "(with --quick for --quick) first"
        )
    train, validation = train_validation(bench_cache, SIZE)
    test = held_out(bench_cache, SIZE)
    return [part.select_bands(BAND) for part in (train, validation, test)]


def train_cnn(seed, train, validation, cache, epochs=None):
    import torch

    from clusterfinder import ClusterClassifier

    path = cache / f"small_cnn_i_seed{seed}"
    if Path(f"{path}.json").exists():
        return ClusterClassifier.load(path)
    torch.set_num_threads(1)
    clf = ClusterClassifier("small_cnn", bands=(BAND,), cutout_size=SIZE, seed=seed)
    start = time.perf_counter()
    settings = {**SETTINGS["small_cnn"], **({"epochs": epochs} if epochs else {})}
    clf.fit(train, validation, seed=seed, progress_bar=False, **settings)
    print(f"small_cnn seed {seed} trained in {time.perf_counter() - start:.0f} s", flush=True)
    cache.mkdir(exist_ok=True)
    clf.save(path, overwrite=True)
    return clf


def summary(name, proba, threshold, test, real):
    from clusterfinder.classifier import binary_metrics

    labels = np.asarray(test.table["label"])
    bright = np.asarray(test.table["mag_g"], dtype=float) < 21.0
    f1 = binary_metrics(labels[bright], proba["test"][bright], threshold)["f1"]
    kind = np.asarray(real.table["kind"])
    mag = np.asarray(real.table["mag_i"], dtype=float)
    called = proba["real"] >= threshold
    cluster, stellar = kind == "Cluster", kind == "Stellar"
    return [
        name,
        f"{float(f1):.3f}",
        f"{called[cluster].mean():.2f}",
        f"{called[cluster & (mag < 21.0)].mean():.2f}",
        f"{np.median(proba['real'][cluster]):.2f}",
        f"{called[stellar].mean():.2f}",
        f"{threshold:.3f}",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the m33_hst_f814w folder")
    parser.add_argument("--quick", action="store_true", help="one seed, one epoch, one noise")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    realisations = config["realisations"]
    real = real_stamps(args.data, realisations)
    train, validation, test = simulated(HERE / config["stamps"])
    kind = np.asarray(real.table["kind"])
    mag = np.asarray(real.table["mag_i"], dtype=float)
    n = {k: int((kind == k).sum() // realisations) for k in CLASSES}
    rows = []
    predict, threshold, _, _ = fit_baseline(train, validation)
    proba = {"test": predict(test), "real": predict(real)}
    rows.append(summary("baseline (morphology + HGB), i only", proba, threshold, test, real))
    for seed in config["seeds"]:
        clf = train_cnn(seed, train, validation, HERE / config["cache"], config["epochs"])
        proba = {p: clf.predict_proba(s, device="cpu") for p, s in (("test", test), ("real", real))}
        rows.append(summary(f"small_cnn, i only, seed {seed}", proba, clf.threshold, test, real))
    header = [
        "model", "simulated F1 g<21", "real clusters found", "real clusters i<21 found",
        "median P(cluster) of real clusters", "real Stellar called clusters", "threshold",
    ]  # fmt: skip
    lines = [
        "## Real M33 clusters degraded to PAndAS i (`bench_real_m33.py`)",
        "",
        f"Machine: {machine_summary()}",
        "",
        f"Hubble ACS/WFC F814W cutouts of M33: {n['Cluster']} clusters "
        f"({int((mag[kind == 'Cluster'] < 21).sum() // realisations)} brighter than i = 21 "
        f"after degrading), {n['Stellar']} Stellar, {n['Galaxy']} Galaxy; each degraded "
        f"to PAndAS i at the distance of M31 in {realisations} noise realisations, "
        f"{SIZE} x {SIZE} pixels. Classifiers trained on the simulated stamps of "
        f"`bench_quality.py` (band i only, {len(train)} training and {len(validation)} "
        "validation stamps), each at its own validation threshold. Fractions are over all "
        "realisations.",
        "",
        markdown_table(header, rows),
        "",
        "Too few real negatives for a purity: the simulated F1 is the purity-aware figure, "
        "the real columns say whether real clusters, in their real crowded surroundings, "
        "look like the simulated ones to each model.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        write_results_block("bench_real_m33", text)


if __name__ == "__main__":
    main()
