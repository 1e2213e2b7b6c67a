"""Train the default model bundled with clusterfinder, and measure it on held-out fields.

This is the one command that makes ``clusterfinder/data/weights/pandas_sim_small_cnn_v3``
(written to ``--output``, then saved under that name)::

    python benchmarks/train_default_model.py --psf-input

It simulates domain-randomised PAndAS-like fields spread over the M31 disc
(4-20 kpc), measures each field's PSF on its stars (``--psf-input``), cuts a
32 x 32 pixel g/i stamp at every object brighter than g = 23.5 (``--mag-max``),
trains the seeing-aware ``small_cnn`` with validation on whole held-apart fields,
chooses the threshold that maximises F1 on validation, and evaluates the model
on a separate set of fields drawn with another seed (never seen in training).
The held-out figures go into the model's metadata and into ``RESULTS.md``.
``--fields 160`` gave v2 (on the simulator of its day, before OB associations and
the other hard negatives); ``--no-randomize --fields 160`` and ``--mag-max 22``
without ``--psf-input`` give the recipe of the seeing-blind v1 model;
``--architecture resnet50`` trains the paper's network the same way.

Every step is seeded: the same command gives the same weights bit for bit on
the same CPU and library versions. ``--quick`` trains a throw-away model on a
few fields, to check that the script runs.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from clusterfinder import ClusterClassifier
from clusterfinder.classifier import InputTransform
from clusterfinder.classifier.metrics import binary_metrics
from clusterfinder.classifier.weights import DEFAULT_WEIGHTS
from clusterfinder.datasets import simulated_stamps
from clusterfinder.labels.split import group_split
from clusterfinder.simulate import PANDAS

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_summary, markdown_table, write_results_block

WEIGHTS_DIR = Path(__file__).parents[1] / "clusterfinder" / "data" / "weights"
TRAIN_SEED = 0
HELD_OUT_SEED = 2026
MAG_LIMITS = (20.0, 21.0, 22.0, 23.0)


def split_by_field(stamps, fraction, seed):
    """Training and validation stamps, whole fields to each side."""
    fields = np.unique(np.asarray(stamps.table["field"]), return_inverse=True)[1]
    part = group_split(
        fields, np.asarray(stamps.table["label"]), (1 - fraction, fraction), seed=seed
    )
    return stamps[part == 0], stamps[part == 1]


def held_out_scores(clf, stamps):
    """Purity, recall and F1 at the model's threshold, per limiting magnitude."""
    proba = clf.predict_proba(stamps)
    labels = np.asarray(stamps.table["label"])
    mags = np.asarray(stamps.table["mag_g"], dtype=float)
    scores = {}
    for limit in MAG_LIMITS:
        bright = mags < limit
        metrics = binary_metrics(labels[bright], proba[bright], clf.threshold)
        scores[f"g<{limit:g}"] = {
            "n": int(bright.sum()),
            "n_clusters": int(metrics["tp"] + metrics["fn"]),
            **{name: round(float(metrics[name]), 4) for name in ("purity", "recall", "f1")},
        }
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=320, help="training fields (320)")
    parser.add_argument("--held-out-fields", type=int, default=40, help="test fields (40)")
    parser.add_argument("--field-size", type=int, default=1024, help="field side, pixels")
    parser.add_argument(
        "--architecture",
        default="small_cnn",
        help="network (default small_cnn); others train with bench_quality.py's settings, "
        "e.g. resnet50, the paper's network, with its standard stem",
    )
    parser.add_argument("--epochs", type=int, default=None, help="default 40 (small_cnn)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1: the same weights whatever the machine's core count)",
    )
    parser.add_argument(
        "--no-randomize",
        action="store_true",
        help="train on fixed fields (no domain randomisation), as before version 0.2",
    )
    parser.add_argument(
        "--mag-max",
        type=float,
        default=23.5,
        help="faintest training object, g (default 23.5: faint sources are seen in training)",
    )
    parser.add_argument(
        "--psf-input",
        action="store_true",
        help="seeing-aware model: the PSF measured on each field is given as extra channels",
    )
    parser.add_argument("--quick", action="store_true", help="a few fields, throw-away output")
    parser.add_argument(
        "--no-write", action="store_true", help="do not update RESULTS.md (a candidate model)"
    )
    parser.add_argument("--output", type=Path, default=WEIGHTS_DIR / DEFAULT_WEIGHTS)
    args = parser.parse_args(argv)
    settings = dict(batch_size=128, learning_rate=2e-3, patience=8, epochs=40, stem="auto")
    if args.architecture != "small_cnn":
        from bench_quality import DEFAULTS, SETTINGS

        settings = {**DEFAULTS, "stem": "auto", **SETTINGS[args.architecture]}
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    if args.quick:
        args.fields, args.held_out_fields, args.field_size = 6, 2, 512
        settings["epochs"] = 2
        args.output = Path("quick_default_model")
    stem = settings.pop("stem")
    torch.set_num_threads(args.threads)
    start = time.perf_counter()

    stamps = simulated_stamps(
        n_fields=args.fields,
        size=args.field_size,
        cutout_size=32,
        mag_max=args.mag_max,
        randomize=not args.no_randomize,
        measure_psf=args.psf_input,
        seed=TRAIN_SEED,
        progress_bar=True,
    )
    held_out = simulated_stamps(
        n_fields=args.held_out_fields,
        size=args.field_size,
        cutout_size=32,
        mag_max=23.0,
        randomize=not args.no_randomize,
        measure_psf=args.psf_input,
        seed=HELD_OUT_SEED,
        progress_bar=True,
    )
    simulated = time.perf_counter()
    train, validation = split_by_field(stamps, 0.15, seed=TRAIN_SEED)

    clf = ClusterClassifier(
        args.architecture,
        bands=("g", "i"),
        cutout_size=32,
        transform=InputTransform(bands=("g", "i"), psf_channels=args.psf_input),
        pixel_scale=PANDAS.pixel_scale,
        stem=stem,
        seed=TRAIN_SEED,
    )
    clf.fit(
        train,
        validation,
        **settings,
        seed=TRAIN_SEED,
        progress_bar=True,
        description=(
            f"{args.fields} simulated PAndAS fields of {args.field_size} px over the M31 disc "
            f"(4-20 kpc, seed {TRAIN_SEED}"
            + ("" if args.no_randomize else ", domain randomisation")
            + (", the PSF measured on each field given as input" if args.psf_input else "")
            + f"), objects with g <= {args.mag_max:g}, young and old clusters labelled 1; "
            "validation on whole held-apart fields"
        ),
    )
    trained = time.perf_counter()
    scores = held_out_scores(clf, held_out)
    clf.metrics = {
        **(clf.metrics or {}),
        "held_out": {
            "description": (
                f"{args.held_out_fields} simulated fields of {args.field_size} px (seed "
                f"{HELD_OUT_SEED}, never used in training), objects with g <= 23"
            ),
            **scores,
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    path = clf.save(args.output, overwrite=True)

    rows = [
        [
            name,
            s["n"],
            s["n_clusters"],
            f"{s['purity']:.3f}",
            f"{s['recall']:.3f}",
            f"{s['f1']:.3f}",
        ]
        for name, s in scores.items()
    ]
    text = "\n".join(
        [
            "## Default model (`small_cnn`, simulated PAndAS)"
            if args.architecture == "small_cnn"
            else f"## `{args.architecture}` trained like the default model (simulated PAndAS)",
            "",
            machine_summary(),
            "",
            f"Trained on {len(train)} stamps ({int(train.table['label'].sum())} clusters), "
            f"validated on {len(validation)}; threshold {clf.threshold:.3f} (best F1 on "
            f"validation). Simulation {simulated - start:.0f} s, training "
            f"{trained - simulated:.0f} s. Held-out simulated fields (seed {HELD_OUT_SEED}):",
            "",
            markdown_table(["sources", "n", "clusters", "purity", "recall", "F1"], rows),
            "",
            "These are figures on simulated data, not on real PAndAS images.",
        ]
    )
    print(text)
    print(f"saved {path}")
    if not args.quick and not args.no_write:
        block = "train_default_model"
        if args.architecture != "small_cnn":
            block += f"_{args.architecture}"
        write_results_block(block, text)


if __name__ == "__main__":
    main()
