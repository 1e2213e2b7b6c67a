"""Adapting a simulator-trained classifier to another sky without its labels.

The outside renderer (`clusterfinder.outside_renderer`, an independently written GalSim
renderer) stands in for a real survey: its labels are used only to score. Per model,
measured on the outside renderer's held-out test fields (the ``outside`` domain of
``bench_robustness.py``) at g < 21 and g < 22:

- **sim-trained**: the model as it is;
- **+ AdaBN**: `ClusterClassifier.adapt(method="adabn")` on unlabelled stamps of
  other outside-renderer fields (``target``, cut at the catalogue positions of every
  object with g <= 22, as a survey's source catalogue gives them);
- **+ MMD**: `ClusterClassifier.adapt(method="mmd")`, training further on the
  labelled randomised simulated stamps while aligning features with the same target;
- **+ 100 labels**, **+ 300 labels**: the model fine-tuned (every layer, a tenth of the
  learning rate) on 100 or 300 labelled stamps of the renderer's fields alone (one
  draw; ``bench_finetune.py`` gives the median of three and 50 and 1,000 labels);
- **+ injection**: the model fine-tuned (every layer, a tenth of the learning rate) on
  clusters and asterisms injected by `clusterfinder.simulate.inject` into 20 other
  fields of the renderer, beside those fields' own sources brought in without labels
  (as a survey's catalogue gives them: the renderer's clusters among them count as
  non-clusters, as they would on a real survey);
- **+ injection + 300 labels**: the same with 300 labelled stamps of the renderer's
  fields added (``bench_finetune.py`` gives 300 labels alone);
- **+ injection, known labels only**: fine-tuned on injected objects alone, clusters
  beside asterisms and single stars (M31 disc and Milky Way) injected into the same
  fields, every label known: the fields' own sources stay out of the loss;
- **+ injection, known labels only + 300 labels**: the same with the 300 labels;
- **target-trained** (the ceiling): the seeing-aware small CNN of ``bench_robustness.py``
  trained on the outside renderer's own labelled fields.

No adapted model sees a target label, so each keeps its threshold; the ROC AUC
(threshold-free) is given too. "Gap closed" is (F1 adapted - F1 sim-trained) /
(F1 target-trained - F1 sim-trained) at g < 21 (target: >= 50 %).

The stamps come from ``bench_robustness.py``'s cache (``.robustness_cache``), made
there when missing (the outside-renderer fields need GalSim).

Usage::

    python benchmarks/bench_adaptation.py            # full run, writes RESULTS.md
    python benchmarks/bench_adaptation.py --quick    # smoke run
"""

import argparse
import copy
import datetime
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_robustness as robustness
from _common import machine_summary, markdown_table, write_results_block

#: Settings of the adaptation runs.
ADABN = dict(method="adabn", batch_size=256)
MMD = dict(method="mmd", epochs=3, batch_size=128, learning_rate=1e-4, mmd_weight=1.0)
#: Fine-tuning on injected objects (and labels).
FINE_TUNE = dict(epochs=10, batch_size=64, learning_rate=2e-4, patience=4)
#: What is injected into each field, and how many fields.
INJECTED = {"young_cluster": 12, "old_cluster": 4, "asterism": 6}
#: What is injected when the fields' own sources stay out: stars among the negatives.
INJECTED_KNOWN = {**INJECTED, "m31_star": 12, "mw_star": 4}
INJECTION_FIELDS = 20


def injection_stamps(settings, n_fields, *, counts=INJECTED, with_sources=True):
    """Stamps of objects injected into outside-renderer fields, with the fields' sources.

    The sources (every object with g <= 22 of the field's catalogue) come without labels:
    `LabelSet.from_injection` labels them 0, as a survey's catalogue would be. With
    ``with_sources=False`` only the injected objects (``counts``) are kept.
    """
    from astropy.table import QTable

    from clusterfinder import Cutout
    from clusterfinder.psf import attach_psf
    from clusterfinder.simulate import inject

    parts = []
    for index in range(n_fields):
        where = robustness.CACHE / "outside_training_fields" / f"field_{index:03d}"
        if not (where / "truth.ecsv").exists():
            break
        paths = {band: where / f"outside_{band}.fits" for band in ("g", "i")}
        truth = QTable.read(where / "truth.ecsv")
        real = QTable({"coord": truth["coord"][np.asarray(truth["mag_g"]) <= 22.0]})
        result = inject(paths, n=counts, mag_range={"g": (18.0, 22.0)}, seed=500 + index)
        labels = result.labels(real if with_sources else None)
        table = labels.table
        table["field"] = np.full(len(table), index, dtype=np.int32)
        stamps = Cutout.from_images(result.images, table["coord"], cutout_size=32, table=table)
        attach_psf(stamps, result.psfs)
        parts.append(stamps[~stamps.mask.any(axis=(1, 2, 3))])
    return Cutout.concatenate(parts) if parts else None


def joined(parts):
    """The stamps of ``parts`` in one Cutout, keeping the table columns they share."""
    from clusterfinder import Cutout

    shared = [n for n in parts[0].table.colnames if all(n in p.table.colnames for p in parts)]
    copies = []
    for part in parts:
        copy_ = part[np.arange(len(part))]
        copy_.table.keep_columns(shared)
        copy_.table.columns = {n: copy_.table[n] for n in shared}  # one order for all
        copies.append(copy_)
    return Cutout.concatenate(copies)


def fine_tuned(base, train, validation):
    """A copy of ``base`` trained further on ``train`` (threshold from ``validation``)."""
    clf = copy.deepcopy(base)
    clf.fit(train, validation, **FINE_TUNE, device="cpu", seed=0)
    return clf


HEADER = ["model", "variant", "P g<21", "R g<21", "F1 g<21", "P g<22", "R g<22", "F1 g<22"]
HEADER += ["AUC g<22", "gap closed"]
COLUMNS = [(k, m) for k in ("g<21", "g<22") for m in ("purity", "recall", "f1")]


def scores(clf, stamps):
    """F1, purity, recall (g < 21, g < 22) at the model's threshold, and ROC AUC g < 22."""
    from clusterfinder.classifier import binary_metrics, roc_auc

    proba = clf.predict_proba(stamps, device="cpu")
    labels = np.asarray(stamps.table["label"]).astype(int)
    mags = np.asarray(stamps.table["mag_g"], dtype=float)
    out = {}
    for limit in (21.0, 22.0):
        bright = mags < limit
        m = binary_metrics(labels[bright], proba[bright], clf.threshold)
        out[f"g<{limit:g}"] = {k: float(m[k]) for k in ("purity", "recall", "f1")}
    bright = mags < 22.0
    out["auc"] = float(roc_auc(labels[bright], proba[bright]))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sets, no RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--no-injection", action="store_true", help="leave out the injection rows")
    args = parser.parse_args(argv)
    import torch

    from clusterfinder import ClusterClassifier
    from clusterfinder.datasets import simulated_stamps

    torch.set_num_threads(1)
    settings = robustness.settings_for(args.quick)
    start = time.perf_counter()
    source = robustness.cached_stamps(
        "train",
        lambda: simulated_stamps(
            n_fields=settings["train_fields"], size=settings["size"], cutout_size=32,
            mag_max=22.0, seed=0, measure_psf=True, progress_bar=True,
        ),
    )  # fmt: skip
    # Other fields of the outside renderer than the test fields: the survey's own stamps.
    test, target = robustness.outside_test_and_target(settings)
    if test is None or target is None:
        print("the outside renderer needs GalSim: nothing to measure")
        return
    injected = (
        None
        if args.no_injection
        else injection_stamps(settings, 2 if args.quick else INJECTION_FIELDS)
    )
    if injected is not None:
        inj_train, inj_val = robustness.split_fields(injected)
        if len(inj_val) == 0:  # too few fields (--quick): alternate stamps
            inj_train, inj_val = injected[0::2], injected[1::2]
        print(
            f"injection: {len(injected)} stamps ({int(np.sum(injected.table['label']))} clusters)"
        )
        known = injection_stamps(
            settings, 2 if args.quick else INJECTION_FIELDS, counts=INJECTED_KNOWN,
            with_sources=False,
        )  # fmt: skip
        known_train, known_val = robustness.split_fields(known)
        if len(known_val) == 0:
            known_train, known_val = known[0::2], known[1::2]
        print(f"injection, known labels only: {len(known)} stamps")
        from bench_finetune import draw

        few_train, few_val = draw(target, min(300, len(target)), 0)
        hundred_train, hundred_val = draw(target, min(100, len(target)), 0)
    target_unlabelled = target[np.arange(len(target))]  # a copy, with its own table
    target_unlabelled.table.remove_column("label")
    print(f"source {len(source)}, target {len(target)} (unlabelled), test {len(test)} stamps")

    models = {
        "v1 (seeing-blind, fixed fields)": ClusterClassifier.from_pretrained(
            "pandas_sim_small_cnn_v1"
        ),
        "v2 (seeing-aware, randomised, 160 fields)": ClusterClassifier.from_pretrained(
            "pandas_sim_small_cnn_v2"
        ),
        "v3 default (seeing-aware, randomised, 320 fields)": ClusterClassifier.from_pretrained(),
    }
    ceiling_path = robustness.CACHE / "models" / "outside_trained_small_cnn"
    ceiling = None
    if ceiling_path.with_suffix(".safetensors").exists():
        ceiling = scores(ClusterClassifier.load(ceiling_path), test)
    rows, results = [], {}
    for label, base in models.items():
        variants = {"sim-trained": base}
        for name, options in (("+ AdaBN", ADABN), ("+ MMD", MMD)):
            clf = copy.deepcopy(base)
            t0 = time.perf_counter()
            extra = {"source": source} if options["method"] == "mmd" else {}
            clf.adapt(
                target_unlabelled, **options, **extra, device="cpu", seed=0,
                description="outside-renderer fields (unlabelled)",
            )  # fmt: skip
            print(f"{label} {name}: {time.perf_counter() - t0:.0f} s", flush=True)
            variants[name] = clf
        if injected is not None:
            t0 = time.perf_counter()
            variants["+ 100 labels"] = fine_tuned(base, hundred_train, hundred_val)
            variants["+ 300 labels"] = fine_tuned(base, few_train, few_val)
            variants["+ injection"] = fine_tuned(base, inj_train, inj_val)
            both = joined([inj_train, few_train])
            both_val = joined([inj_val, few_val])
            variants["+ injection + 300 labels"] = fine_tuned(base, both, both_val)
            variants["+ injection, known labels only"] = fine_tuned(base, known_train, known_val)
            variants["+ injection, known labels only + 300 labels"] = fine_tuned(
                base, joined([known_train, few_train]), joined([known_val, few_val])
            )
            print(f"{label} injection variants: {time.perf_counter() - t0:.0f} s", flush=True)
        base_f1 = None
        for name, clf in variants.items():
            s = scores(clf, test)
            results[f"{label} {name}"] = s
            f1 = s["g<21"]["f1"]
            base_f1 = f1 if base_f1 is None else base_f1
            gap = ""
            if ceiling is not None and name != "sim-trained":
                span = ceiling["g<21"]["f1"] - base_f1
                gap = f"{(f1 - base_f1) / span:+.0%}" if abs(span) > 1e-9 else "-"
            rows.append(
                [
                    label, name,
                    *(f"{s[k][m]:.3f}" for k, m in COLUMNS),
                    f"{s['auc']:.3f}", gap,
                ]
            )  # fmt: skip
            print(rows[-1], flush=True)
    if ceiling is not None:
        rows.append(
            [
                "seeing-aware small_cnn trained on outside fields", "target-trained (ceiling)",
                *(f"{ceiling[k][m]:.3f}" for k, m in COLUMNS),
                f"{ceiling['auc']:.3f}", "",
            ]
        )  # fmt: skip
    elapsed = time.perf_counter() - start
    text = "\n".join(
        [
            "## Adaptation to an unseen renderer (`bench_adaptation.py`)",
            "",
            f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {machine_summary()}; "
            f"{elapsed:.0f} s" + ("; QUICK run" if args.quick else ""),
            "",
            f"Source: {len(source)} labelled stamps of randomised simulated fields. Target: "
            f"{len(target)} stamps of outside-renderer fields, labels removed. Test: "
            f"{len(test)} stamps of other outside-renderer fields (the `outside` domain of "
            "bench_robustness.py). All figures are on simulated data (the outside renderer), "
            "none on real PAndAS images. Each model keeps its threshold (no target label is "
            f"used); AdaBN: {ADABN}; MMD: {MMD}. Gap closed: share of the F1 (g < 21) gap "
            "between the sim-trained model and the target-trained ceiling.",
            "",
            markdown_table(HEADER, rows),
        ]
    )
    print(text)
    if not args.quick and not args.no_write:
        write_results_block("bench_adaptation", text)


if __name__ == "__main__":
    main()
