"""Robustness: models trained on one sky, tested on skies they were not trained on.

A figure measured on the simulator a model was trained on says little about the sky.
This benchmark measures every model on several *domains*, each a set of labelled stamps
(32 x 32 pixels, g and i, cut at the true positions of every object brighter than
g = 22) that the models did not train on:

``fixed``
    the simulator as it was before domain randomisation (round Moffat beta = 3, white
    noise, nominal depth; seeing 0.5-0.9"): the domain the v1 bundled model learnt;
``randomized``
    held-out fields of the randomised simulator (`DomainRandomization` defaults);
``extreme_psf``
    a PSF family held out of training: Moffat beta 2.0-2.5 with a 4-6 % halo at 2-4x the
    FWHM and ellipticity 0.05-0.1 on every field (training draws beta 2-5, half the fields
    Kolmogorov, half with a 1-6 % halo);
``seeing_<s>``
    randomised PSF shapes at one seeing ``s`` (both bands), from 0.45" to 1.0": the
    bright-star false-positive rate as a curve over seeing;
``outside``
    fields rendered by an independently written GalSim renderer
    (`clusterfinder.outside_renderer`), never used for training.

Models: the bundled v1 model (seeing-blind, trained on fixed fields), the networks given with
``--model LABEL PATH`` (e.g. the small CNNs of ``benchmarks/train_default_model.py``,
seeing-blind or seeing-aware, or the variants that ``--train`` makes: a seeing-aware
model that never saw the ``extreme_psf`` family, one trained on the outside renderer's
own fields), a model trained and tested on stamps homogenised to one seeing
(``--homogenized``), and the morphology + gradient-boosting baseline trained on the
randomised training stamps in the same run, without and with the field's PSF FWHM as
two more features. The PSF of every field (training and test) is measured on
its own stars with `clusterfinder.psf.measure_psf`, as it would be on a survey image.
Each model decides at its own threshold (chosen on its own validation set). Per domain
and model: purity, recall and F1 at g < 21 and g < 22; per seeing: the fraction of stars
brighter than g = 21 called clusters and the recall of clusters brighter than g = 21.

Usage::

    python benchmarks/train_default_model.py --output PATH
    python benchmarks/bench_robustness.py --train held-out-psf PATH2
    python benchmarks/bench_robustness.py --train homogenized PATH3
    python benchmarks/bench_robustness.py --model randomized PATH --model held-out PATH2 \
        --homogenized PATH3

Stamps and predictions are cached in ``benchmarks/.robustness_cache/`` (ignored by git).
"""

import argparse
import sys
import time
from pathlib import Path

import astropy.units as u
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_summary, markdown_table, write_results_block
from bench_quality import fit_baseline

HERE = Path(__file__).parent
CACHE = HERE / ".robustness_cache"
STAMP_SIZE = 32
SEEINGS = (0.45, 0.55, 0.65, 0.75, 0.85, 1.0)
STARS = ("mw_star", "m31_star")
FULL = dict(
    train_fields=160, domain_fields=40, seeing_fields=12, outside_fields=8, size=1024,
    m33_epochs=40, m33_realisations=5,
)  # fmt: skip
QUICK = dict(
    train_fields=4, domain_fields=2, seeing_fields=1, outside_fields=1, size=512,
    m33_epochs=1, m33_realisations=1,
)  # fmt: skip


def extreme_psf():
    """The held-out PSF family of the ``extreme_psf`` domain."""
    from clusterfinder.simulate import DomainRandomization

    return DomainRandomization(
        kolmogorov_fraction=0.0,
        beta=(2.0, 2.5),
        halo_probability=1.0,
        halo_fraction=(0.04, 0.06),
        ellipticity=(0.05, 0.1),
    )


def narrow_psf():
    """The training randomisation with the ``extreme_psf`` family held out.

    Moffat beta 3-5 or Kolmogorov, no halo: a model trained on it has never seen
    beta 2-2.5 nor a halo.
    """
    from clusterfinder.simulate import DomainRandomization

    return DomainRandomization(beta=(3.0, 5.0), halo_probability=0.0)


#: Common seeing of the homogenised model: the broadest of the training range, plus
#: room for the measurement error of the PSF.
HOMOGENIZED_FWHM = 1.05 * u.arcsec


def homogenized(stamps):
    from clusterfinder.psf import homogenize_psf

    return homogenize_psf(stamps, HOMOGENIZED_FWHM)


def train_variant(
    path, settings, *, randomize, psf_channels, prepare=None, description, stamps=None
):
    """Train a small CNN as train_default_model.py does, on a variant of its data."""
    import torch

    from clusterfinder import ClusterClassifier
    from clusterfinder.classifier import InputTransform
    from clusterfinder.datasets import simulated_stamps

    torch.set_num_threads(1)
    if stamps is None:
        stamps = simulated_stamps(
            n_fields=settings["train_fields"], size=settings["size"], cutout_size=STAMP_SIZE,
            mag_max=22.0, randomize=randomize, measure_psf=True, seed=0, progress_bar=True,
        )  # fmt: skip
    else:
        stamps = stamps(settings)
    if prepare is not None:
        stamps = prepare(stamps)
    train, validation = split_fields(stamps)
    clf = ClusterClassifier(
        "small_cnn", bands=("g", "i"), cutout_size=STAMP_SIZE, seed=0,
        transform=InputTransform(bands=("g", "i"), psf_channels=psf_channels),
    )  # fmt: skip
    clf.fit(
        train, validation, epochs=40, batch_size=128, learning_rate=2e-3, patience=8, seed=0,
        progress_bar=True, description=description,
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    return clf.save(path, overwrite=True)


VARIANTS = {
    "held-out-psf": dict(
        randomize=narrow_psf,
        psf_channels=True,
        description="seeing-aware small CNN, randomised fields without beta < 3 or halos",
    ),
    "outside-trained": dict(
        randomize=lambda: None,
        psf_channels=True,
        stamps=lambda settings: outside_stamps(
            settings,
            n_fields=settings["train_fields"] // 2,
            first_seed=9000,
            folder="outside_training_fields",
        ),
        description="seeing-aware small CNN trained on fields of the outside renderer",
    ),
    "homogenized": dict(
        randomize=lambda: True,
        psf_channels=False,
        prepare=homogenized,
        description=f"small CNN on randomised fields homogenised to {HOMOGENIZED_FWHM}",
    ),
}


def domains(settings):
    """Domain name -> function making its labelled stamps."""
    from clusterfinder.datasets import simulated_stamps

    n, size = settings["domain_fields"], settings["size"]
    common = dict(size=size, cutout_size=STAMP_SIZE, mag_max=22.0, measure_psf=True)
    out = {
        "fixed": lambda: simulated_stamps(n_fields=n, randomize=False, seed=2026, **common),
        "randomized": lambda: simulated_stamps(n_fields=n, seed=2026, **common),
        "extreme_psf": lambda: simulated_stamps(
            n_fields=max(1, n // 2), randomize=extreme_psf(), seed=4046, **common
        ),
    }
    for k, seeing in enumerate(SEEINGS):
        out[f"seeing_{seeing:.2f}"] = lambda seeing=seeing, k=k: simulated_stamps(
            n_fields=settings["seeing_fields"], fwhm=seeing * u.arcsec, seed=5000 + k, **common
        )
    out["outside"] = lambda: outside_stamps(settings)
    return out


def outside_stamps(settings, *, n_fields=None, first_seed=7000, folder="outside_fields"):
    """Stamps of fields made by the GalSim renderer (None when GalSim is missing)."""
    try:
        from clusterfinder.outside_renderer import render_outside_field
    except ImportError as exc:
        print(f"outside renderer unavailable ({exc}); domain skipped")
        return None
    from astropy.table import QTable

    from clusterfinder import Cutout
    from clusterfinder.datasets import CLUSTER_KINDS
    from clusterfinder.psf import attach_psf, measure_psf

    parts = []
    for index in range(settings["outside_fields"] if n_fields is None else n_fields):
        where = CACHE / folder / f"field_{index:03d}"
        if (where / "truth.ecsv").exists():
            truth = QTable.read(where / "truth.ecsv")
            images = {band: where / f"outside_{band}.fits" for band in ("g", "i")}
        else:
            field = render_outside_field(where, size=settings["size"], seed=first_seed + index)
            truth, images = field.truth, field.images
        bright = truth[np.asarray(truth["mag_g"]) <= 22.0]
        table = QTable()
        table["coord"] = bright["coord"]
        table["label"] = np.isin(np.asarray(bright["kind"]), CLUSTER_KINDS).astype(int)
        for name in ("kind", "mag_g", "mag_i"):
            table[name] = bright[name]
        table["field"] = np.full(len(table), index, dtype=np.int32)
        stamps = Cutout.from_images(images, table["coord"], cutout_size=STAMP_SIZE, table=table)
        attach_psf(stamps, {band: measure_psf(path) for band, path in images.items()})
        parts.append(stamps[~stamps.mask.any(axis=(1, 2, 3))])
    return Cutout.concatenate(parts)


def settings_for(quick):
    """FULL or QUICK settings, with the cache folder that goes with them."""
    global CACHE
    CACHE = HERE / (".robustness_cache_quick" if quick else ".robustness_cache")
    return QUICK if quick else FULL


def outside_test_and_target(settings):
    """The outside renderer's test stamps, and labelled stamps of its other fields.

    The second set is cut from the fields the ``outside-trained`` variant trains on:
    the "survey's own" stamps of the adaptation and fine-tuning benchmarks. Both are
    cached; None where GalSim is missing.
    """
    test = cached_stamps("outside", lambda: outside_stamps(settings))
    target = cached_stamps(
        "outside_target",
        lambda: outside_stamps(
            settings,
            n_fields=settings["train_fields"] // 2,
            first_seed=9000,
            folder="outside_training_fields",
        ),
    )
    return test, target


def m33_rows(train, validation, settings):
    """Real M33 Hubble clusters and "Stellar" objects degraded to PAndAS i, two seeings.

    i-band small CNNs, seeing-blind and seeing-aware, are trained on the randomised
    training stamps (band i, 24 px); the degraded cutouts get the PSF they were degraded
    with (a round beta = 3 Moffat, as `degrade_image` draws). The seeing-aware model is
    also told a PSF 10 % wider at 0.6" (a Moffat fitted to an isolated real star after
    degrading measures 0.67": the Hubble PSF's wings and the faint stars around it widen
    it). Returns the table rows and, per Stellar object, its median P(cluster) at 0.6".
    """
    from bench_real_m33 import DATA, SIZE, real_stamps

    from clusterfinder import ClusterClassifier
    from clusterfinder.classifier import InputTransform
    from clusterfinder.psf import psf_column_names

    if not DATA.exists():
        print(f"no M33 data at {DATA}; section skipped")
        return [], []
    rows, objects = [], {}
    degraded = {}  # seeing -> the degraded cutouts, made once for every model and case
    for aware in (False, True):
        path = CACHE / "models" / f"m33_i_small_cnn_{'aware' if aware else 'blind'}"
        if Path(f"{path}.json").exists():
            clf = ClusterClassifier.load(path)
        else:
            crop = [part.select_bands(["i"]).crop(SIZE) for part in (train, validation)]
            clf = ClusterClassifier(
                "small_cnn", bands=("i",), cutout_size=SIZE, seed=0,
                transform=InputTransform(bands=("i",), psf_channels=aware),
            )  # fmt: skip
            clf.fit(*crop, epochs=settings["m33_epochs"], batch_size=128,
                    learning_rate=2e-3, patience=8, seed=0)  # fmt: skip
            path.parent.mkdir(parents=True, exist_ok=True)
            clf.save(path, overwrite=True)
        name = f"small_cnn i, {'seeing-aware' if aware else 'seeing-blind'}"
        cases = [(0.6, 1.0), (0.9, 1.0)] + ([(0.6, 1.1)] if aware else [])
        for seeing, widen in cases:
            if seeing not in degraded:
                degraded[seeing] = real_stamps(
                    DATA, settings["m33_realisations"], fwhm=seeing * u.arcsec
                )
            real = degraded[seeing]  # its four PSF columns are set anew for each case
            fwhm, beta, ell, theta = psf_column_names("i")
            real.table[fwhm] = np.full(len(real), seeing * widen) * u.arcsec
            real.table[beta] = 3.0
            real.table[ell] = 0.0
            real.table[theta] = 0.0 * u.deg
            proba = clf.predict_proba(real)
            called = proba >= clf.threshold
            kind = np.asarray(real.table["kind"])
            stellar = proba[kind == "Stellar"]
            at_recall = [
                np.mean(stellar >= np.quantile(proba[kind == "Cluster"], 1.0 - recall))
                for recall in (0.90, 0.95)
            ]
            stated = f"{seeing * widen:.2f}" + (" (+10 %)" if widen != 1.0 else "")
            rows.append(
                [
                    name, f"{seeing:.1f}", stated,
                    f"{called[kind == 'Cluster'].mean():.2f}",
                    f"{called[kind == 'Stellar'].mean():.2f}",
                    *(f"{value:.2f}" for value in at_recall),
                    f"{clf.threshold:.3f}",
                ]
            )  # fmt: skip
            if seeing == 0.6 and widen == 1.0:
                names = np.asarray(real.table["name"])
                for obj in sorted(set(names[kind == "Stellar"])):
                    objects.setdefault(obj, {})[name] = float(np.median(proba[names == obj]))
    object_rows = [
        [str(obj), *(f"{p:.2f}" for p in by_model.values())] for obj, by_model in objects.items()
    ]
    return rows, object_rows


def cached_stamps(name, make):
    from clusterfinder import Cutout

    path = CACHE / "stamps" / f"{name}.fits"
    if path.exists():
        return Cutout.read(path)
    stamps = make()
    if stamps is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    stamps.write(path, overwrite=True)
    return stamps


def models(args, train, validation):
    """Model name -> (predict function, threshold, what it was trained on)."""
    from clusterfinder import ClusterClassifier

    out = {}
    v1 = ClusterClassifier.from_pretrained("pandas_sim_small_cnn_v1")
    out["v1 (seeing-blind, fixed fields)"] = (v1.predict_proba, v1.threshold)
    for label, path in args.model or []:
        clf = ClusterClassifier.load(path)
        out[label] = (clf.predict_proba, clf.threshold)
    if args.homogenized:
        clf = ClusterClassifier.load(args.homogenized)
        out[f"homogenised to {HOMOGENIZED_FWHM:g} small_cnn"] = (
            lambda stamps, clf=clf: clf.predict_proba(homogenized(stamps)),
            clf.threshold,
        )
    for label, extra in (
        ("baseline (randomized)", ()),
        ("baseline + PSF FWHM (randomized)", ("psf_fwhm_g", "psf_fwhm_i")),
    ):
        start = time.perf_counter()
        predict, threshold, _, _ = fit_baseline(train, validation, extra_columns=extra)
        print(f"{label} trained in {time.perf_counter() - start:.0f} s")
        out[label] = (predict, threshold)
    return out


def split_fields(stamps, fraction=0.15, seed=0):
    from clusterfinder.labels.split import group_split

    fields = np.unique(np.asarray(stamps.table["field"]), return_inverse=True)[1]
    part = group_split(
        fields, np.asarray(stamps.table["label"]), (1 - fraction, fraction), seed=seed
    )
    return stamps[part == 0], stamps[part == 1]


def domain_scores(labels, proba, mags, threshold):
    from clusterfinder.classifier import binary_metrics

    row = []
    for limit in (21.0, 22.0):
        bright = mags < limit
        m = binary_metrics(labels[bright], proba[bright], threshold)
        row += [m["purity"], m["recall"], m["f1"]]
    return row


def star_rates(stamps, proba, threshold):
    """Fraction of g < 21 stars called clusters, recall of g < 21 clusters, and counts."""
    kind = np.asarray(stamps.table["kind"], dtype=str)
    bright = np.asarray(stamps.table["mag_g"], dtype=float) < 21.0
    star = bright & np.isin(kind, STARS)
    cluster = bright & (np.asarray(stamps.table["label"]) == 1)
    called = proba >= threshold
    return (
        float(called[star].mean()) if star.any() else np.nan,
        float(called[cluster].mean()) if cluster.any() else np.nan,
        int(star.sum()),
        int(cluster.sum()),
    )


def _f(value):
    return "-" if value is None or not np.isfinite(value) else f"{value:.3f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        nargs=2,
        action="append",
        metavar=("LABEL", "PATH"),
        help="a trained model to measure too (repeatable)",
    )
    parser.add_argument(
        "--no-outside", action="store_true", help="leave out the outside-renderer domain"
    )
    parser.add_argument(
        "--train",
        nargs=2,
        metavar=("VARIANT", "PATH"),
        help=f"only train a model variant ({', '.join(VARIANTS)}) and save it to PATH",
    )
    parser.add_argument(
        "--homogenized",
        type=Path,
        metavar="PATH",
        help="a model trained on homogenised stamps: measured on homogenised domains",
    )
    parser.add_argument("--quick", action="store_true", help="tiny domains, throw-away")
    args = parser.parse_args(argv)
    settings = settings_for(args.quick)
    if args.train:
        variant, path = args.train
        spec = dict(VARIANTS[variant])
        spec["randomize"] = spec["randomize"]()
        print(f"saved {train_variant(Path(path), settings, **spec)}")
        return None
    start = time.perf_counter()

    from clusterfinder.datasets import simulated_stamps

    stamps = cached_stamps(
        "train",
        lambda: simulated_stamps(
            n_fields=settings["train_fields"], size=settings["size"], cutout_size=STAMP_SIZE,
            mag_max=22.0, seed=0, measure_psf=True, progress_bar=True,
        ),
    )  # fmt: skip
    train, validation = split_fields(stamps)
    test_sets = {}
    for name, make in domains(settings).items():
        if name == "outside" and args.no_outside:
            continue
        t0 = time.perf_counter()
        cut = cached_stamps(name, make)
        if cut is not None:
            test_sets[name] = cut
            print(f"domain {name}: {len(cut)} stamps ({time.perf_counter() - t0:.0f} s)")
    predictors = models(args, train, validation)

    domain_rows, seeing_rows, results = [], [], {}
    for model, (predict, threshold) in predictors.items():
        for name, cut in test_sets.items():
            proba = np.asarray(predict(cut), dtype=float)
            labels = np.asarray(cut.table["label"])
            mags = np.asarray(cut.table["mag_g"], dtype=float)
            results[model, name] = (proba, threshold)
            if name.startswith("seeing_"):
                fp, recall, n_star, n_cluster = star_rates(cut, proba, threshold)
                seeing_rows.append(
                    [model, name.split("_")[1], _f(fp), _f(recall), n_star, n_cluster]
                )
            else:
                scores = domain_scores(labels, proba, mags, threshold)
                fp, recall, n_star, _ = star_rates(cut, proba, threshold)
                domain_rows.append(
                    [model, name, f"{threshold:.3f}", *map(_f, scores), _f(fp), n_star]
                )
    m33, m33_objects = m33_rows(train, validation, settings)
    worst = {}
    for model, _, fp, _, _, _ in seeing_rows:
        value = float(fp) if fp != "-" else np.nan
        worst[model] = np.nanmax([worst.get(model, np.nan), value])

    counts = {
        name: f"{len(cut)} ({int(np.sum(cut.table['label']))} clusters)"
        for name, cut in test_sets.items()
    }
    text = "\n".join(
        [
            "## Robustness across domains (`bench_robustness.py`)",
            "",
            machine_summary(),
            "",
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
            + (" (--quick)" if args.quick else "")
            + f"; {time.perf_counter() - start:.0f} s. Stamps 32 px at the true positions of "
            "every object with g <= 22; each model at its own validation threshold. "
            "Every figure of the first two tables is measured on simulated data, on the "
            "domain named in its row; the last table is on real (Hubble) pixels degraded "
            "to PAndAS; none is a figure on real PAndAS images.",
            "",
            "Domains (stamps): " + "; ".join(f"{k} {v}" for k, v in counts.items()),
            "",
            markdown_table(
                [
                    "model", "domain", "threshold", "purity g<21", "recall g<21", "F1 g<21",
                    "purity g<22", "recall g<22", "F1 g<22", "stars g<21 called clusters",
                    "stars g<21",
                ],
                domain_rows,
            ),
            "",
            "Bright stars (g < 21) called clusters, and recall of g < 21 clusters, by seeing "
            "(randomised PSF shapes, one FWHM for both bands; target: <= 5 % at every seeing):",
            "",
            markdown_table(
                ["model", "seeing (\")", "stars called clusters", "cluster recall", "stars",
                 "clusters"],
                seeing_rows,
            ),
            "",
            "Worst star false-positive rate over seeing: "
            + "; ".join(f"{m} {_f(v)}" for m, v in worst.items()),
            "",
            "Real pixels: Hubble F814W cutouts of M33 (85 clusters, 11 'Stellar' objects that "
            "ground-based surveys had taken for clusters) degraded to PAndAS i at the distance "
            "of M31, at two seeings, 5 noise realisations each; i-band small CNNs trained on "
            "the randomised training stamps (targets: clusters found >= 0.90, Stellar called "
            "clusters <= 0.30). 'PSF stated' is the FWHM of the PSF columns the model is "
            "given; the last two columns rank without a threshold: the Stellar fraction at "
            "the threshold that finds 90 % or 95 % of the real clusters.",
            "",
            markdown_table(
                ["model", "seeing (\")", "PSF stated (\")", "real clusters found",
                 "Stellar called clusters", "Stellar at 90% cluster recall",
                 "Stellar at 95% cluster recall", "threshold"],
                m33,
            ),
            "",
            "Median P(cluster) of each Stellar object at 0.6\" (threshold above):",
            "",
            markdown_table(
                ["object", "small_cnn i, seeing-blind", "small_cnn i, seeing-aware"],
                m33_objects,
            ),
        ]
    )  # fmt: skip
    print(text)
    if not args.quick:
        write_results_block("bench_robustness", text)
    return results


if __name__ == "__main__":
    main()
