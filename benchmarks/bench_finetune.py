"""Few labels of a new survey: fine-tuning the default model against training from scratch.

The outside renderer (an independently written GalSim renderer) stands in for a survey
with a few labelled objects. For N = 50, 100, 300 and 1,000 labelled stamps drawn from
its training fields (80 % to train, 20 % to validate and choose the threshold), F1 at
g < 21 and g < 22 on its held-out test fields (the ``outside`` domain of
``bench_robustness.py``), median of three draws, for:

- **scratch**: a new seeing-aware small CNN trained on the N stamps only;
- **fine-tune**: the bundled default model (trained on the simulator) trained further
  on them, every layer, at a tenth of the learning rate;
- **head only**: the same with ``fit(freeze="features")``: only the last layer learns.

The reference lines are the default model as it is and the same architecture trained
on all 4,450 labelled stamps of the renderer's training fields (the ceiling). All
figures are on simulated data, none on real PAndAS images.

Usage::

    python benchmarks/bench_finetune.py            # full run, writes RESULTS.md
    python benchmarks/bench_finetune.py --quick    # smoke run
"""

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_robustness as robustness
from _common import machine_summary, markdown_table, write_results_block

SIZES = (50, 100, 300, 1000)
SEEDS = (0, 1, 2)
VARIANTS = {
    "scratch": dict(epochs=40, batch_size=32, learning_rate=2e-3, patience=8),
    "fine-tune": dict(epochs=20, batch_size=32, learning_rate=2e-4, patience=5),
    "head only": dict(epochs=20, batch_size=32, learning_rate=2e-3, patience=5, freeze="features"),
}


def f1_scores(clf, stamps):
    from clusterfinder.classifier import binary_metrics

    proba = clf.predict_proba(stamps, device="cpu")
    labels = np.asarray(stamps.table["label"]).astype(int)
    mags = np.asarray(stamps.table["mag_g"], dtype=float)
    return [
        float(binary_metrics(labels[mags < m], proba[mags < m], clf.threshold)["f1"])
        for m in (21.0, 22.0)
    ]


def draw(labelled, n, seed):
    """n stamps with both classes, split 80/20 into train and validation."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labelled.table["label"])
    while True:
        pick = rng.choice(len(labelled), n, replace=False)
        n_train = round(0.8 * n)
        train, val = pick[:n_train], pick[n_train:]
        if len(set(labels[train])) == 2 and len(set(labels[val])) == 2:
            return labelled[train], labelled[val]


def build(variant):
    from clusterfinder import ClusterClassifier
    from clusterfinder.classifier import InputTransform

    if variant == "scratch":
        return ClusterClassifier(
            "small_cnn", cutout_size=32, seed=0,
            transform=InputTransform(bands=("g", "i"), psf_channels=True),
        )  # fmt: skip
    return ClusterClassifier.from_pretrained()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sets, no RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    import warnings

    import torch

    from clusterfinder import ClusterClassifier

    torch.set_num_threads(1)
    settings = robustness.settings_for(args.quick)
    start = time.perf_counter()
    test, labelled = robustness.outside_test_and_target(settings)
    if test is None or labelled is None:
        print("the outside renderer needs GalSim: nothing to measure")
        return
    sizes = (20,) if args.quick else SIZES
    seeds = SEEDS[:1] if args.quick else SEEDS
    rows = []
    for n in sizes:
        n = min(n, len(labelled))
        for variant, options in VARIANTS.items():
            if args.quick:
                options = {**options, "epochs": 1}
            runs = []
            for seed in seeds:
                train, val = draw(labelled, n, seed)
                clf = build(variant)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # tiny sets may not converge
                    clf.fit(train, val, **options, device="cpu", seed=seed)
                runs.append(f1_scores(clf, test))
            f21 = statistics.median(r[0] for r in runs)
            f22 = statistics.median(r[1] for r in runs)
            spread = max(r[0] for r in runs) - min(r[0] for r in runs)
            rows.append([str(n), variant, f"{f21:.3f}", f"{spread:.3f}", f"{f22:.3f}"])
            print(rows[-1], flush=True)
    default = f1_scores(ClusterClassifier.from_pretrained(), test)
    rows.append(["0", "default model as it is", f"{default[0]:.3f}", "-", f"{default[1]:.3f}"])
    ceiling_path = robustness.CACHE / "models" / "outside_trained_small_cnn"
    if ceiling_path.with_suffix(".safetensors").exists():
        ceiling = f1_scores(ClusterClassifier.load(ceiling_path), test)
        rows.append(["4450", "all labels (ceiling)", f"{ceiling[0]:.3f}", "-", f"{ceiling[1]:.3f}"])
    elapsed = time.perf_counter() - start
    from clusterfinder.classifier.weights import DEFAULT_WEIGHTS

    text = "\n".join(
        [
            "## Fine-tuning with few labels (`bench_finetune.py`)",
            "",
            f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {machine_summary()}; "
            f"{elapsed:.0f} s" + ("; QUICK run" if args.quick else ""),
            "",
            f"N labelled stamps of outside-renderer fields (80 % train, 20 % validation), "
            f"tested on {len(test)} stamps of other outside-renderer fields; median F1 over "
            f"{len(seeds)} draws, and the spread (max - min) of F1 g < 21. Simulated data "
            f"only (the outside renderer). Pretrained model: {DEFAULT_WEIGHTS} (the bundled "
            f"default). Settings: {VARIANTS}.",
            "",
            markdown_table(["N labels", "variant", "F1 g<21", "spread", "F1 g<22"], rows),
        ]
    )
    print(text)
    if not args.quick and not args.no_write:
        write_results_block("bench_finetune", text)


if __name__ == "__main__":
    main()
