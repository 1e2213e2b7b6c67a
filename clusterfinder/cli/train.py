"""``clusterfinder train``: train a classifier on labelled stamps and save it."""

import time

import numpy as np

from ..utils.outputs import check_output_file

__all__ = ["add_parser", "interrupted", "run"]


def add_parser(subparsers):
    """Declare the ``train`` sub-command and its options."""
    from clusterfinder.classifier import list_architectures

    parser = subparsers.add_parser(
        "train",
        help="train a cluster classifier on labelled stamps",
        description=(
            "Train a ClusterClassifier on a saved Cutout file (its table needs a 'label' "
            "column) or on simulated fields (--simulated N), choose the decision threshold on "
            "the validation stamps and save OUTPUT.safetensors with OUTPUT.json. The outputs "
            "are checked before training: existing files are refused unless --overwrite."
        ),
    )
    parser.add_argument(
        "cutouts", metavar="CUTOUTS", nargs="?", help="training stamps written by Cutout.write"
    )
    parser.add_argument(
        "--output", "-o", required=True, help="base name of the saved model (OUTPUT.safetensors)"
    )
    parser.add_argument("--validation", help="validation stamps (default: a split of CUTOUTS)")
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=0.2,
        help="fraction of CUTOUTS kept for validation when --validation is not given (0.2)",
    )
    parser.add_argument(
        "--simulated",
        type=int,
        metavar="N",
        help="train on N simulated PAndAS-like fields instead of CUTOUTS",
    )
    parser.add_argument(
        "--field-size", type=int, default=1024, help="side of each simulated field (1024 px)"
    )
    parser.add_argument(
        "--architecture", default="small_cnn", choices=list_architectures(), help="network"
    )
    parser.add_argument(
        "--mag-max",
        type=float,
        default=23.0,
        help="with --simulated: faintest g magnitude of the objects stamped (23)",
    )
    parser.add_argument(
        "--psf-input",
        action="store_true",
        help=(
            "seeing-aware model: it also reads each stamp's field PSF (measured on the "
            "simulated fields with --simulated; CUTOUTS need the psf_* columns that "
            "clusterfinder.psf.attach_psf adds)"
        ),
    )
    parser.add_argument("--cutout-size", type=int, default=32, help="stamp side in pixels (32)")
    parser.add_argument("--epochs", type=int, default=20, help="largest number of epochs (20)")
    parser.add_argument("--batch-size", type=int, default=128, help="stamps per batch (128)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="peak rate (1e-3)")
    parser.add_argument("--patience", type=int, default=5, help="early-stopping patience (5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (auto)")
    parser.add_argument(
        "--checkpoint-dir", help="write a state_dict every epoch here (created if needed)"
    )
    parser.add_argument("--target-purity", type=float, help="threshold reaching this purity")
    parser.add_argument("--target-recall", type=float, help="threshold reaching this recall")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing model (and checkpoints in --checkpoint-dir)",
    )
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    parser.set_defaults(func=run, interrupted=interrupted)
    return parser


def _split(cutout, fraction, seed):
    """Training and validation stamps that do not leak.

    Stamps cut from simulated fields (a ``field`` column) are split by whole
    fields; other stamps by sky position, neighbours within 5 arcsec staying
    together (`clusterfinder.labels.split`). Stamps without sky positions are
    split at random: nothing is known of their neighbours.
    """
    from clusterfinder.labels.split import group_split, leak_groups

    if not 0 < fraction < 1:
        raise ValueError(f"--validation-fraction must be between 0 and 1; got {fraction}")
    table = cutout.table
    if "label" not in table.colnames:
        raise ValueError("the stamps have no 'label' column to train on")
    if "field" in table.colnames:
        groups = np.unique(np.asarray(table["field"]), return_inverse=True)[1]
    elif cutout.coords is not None:
        groups = leak_groups(cutout.coords)
    else:
        groups = np.arange(len(cutout))
    part = group_split(groups, np.asarray(table["label"]), (1 - fraction, fraction), seed=seed)
    return cutout[part == 0], cutout[part == 1]


def check_outputs(args):
    """Check ``--output`` and ``--checkpoint-dir`` before any stamp is read.

    Returns the model files that will be written.
    """
    from clusterfinder.classifier.persistence import weights_files
    from clusterfinder.classifier.training import check_checkpoint_dir

    inputs = {"CUTOUTS": args.cutouts, "--validation": args.validation}
    files = list(weights_files(args.output))
    for path in files:
        check_output_file(path, overwrite=args.overwrite, inputs=inputs, name="--output")
    if args.checkpoint_dir is not None:
        check_checkpoint_dir(args.checkpoint_dir, overwrite=args.overwrite, name="--checkpoint-dir")
    return files


def interrupted(args):
    """What an interrupted ``train`` leaves on disk."""
    saved = getattr(args, "saved", None)
    if saved is not None:
        return f"the model was saved to {saved}"
    text = f"no model was saved to {args.output} (it is written when training ends)"
    if args.checkpoint_dir is not None:
        text += f"; checkpoints of the finished epochs are in {args.checkpoint_dir}"
    return text


def run(args):
    """Train, save and print a summary; returns the exit status."""
    from clusterfinder import ClusterClassifier, Cutout
    from clusterfinder.classifier import InputTransform
    from clusterfinder.datasets import simulated_stamps

    if (args.cutouts is None) == (args.simulated is None):
        raise ValueError("give either CUTOUTS or --simulated N (exactly one of them)")
    check_outputs(args)
    start = time.perf_counter()
    if args.simulated is not None:
        if args.simulated < 1:
            raise ValueError(
                f"--simulated must be a positive number of fields; got {args.simulated}"
            )
        stamps = simulated_stamps(
            n_fields=args.simulated,
            size=args.field_size,
            cutout_size=args.cutout_size,
            mag_max=args.mag_max,
            measure_psf=args.psf_input,
            seed=args.seed,
            progress_bar=args.progress,
        )
        source = f"{args.simulated} simulated {args.field_size}-px PAndAS-like fields"
    else:
        stamps = Cutout.read(args.cutouts)
        source = f"stamps from {args.cutouts}"
    if args.validation is not None:
        train, validation = stamps, Cutout.read(args.validation)
    else:
        train, validation = _split(stamps, args.validation_fraction, args.seed)
    clf = ClusterClassifier(
        args.architecture,
        bands=stamps.bands,
        cutout_size=args.cutout_size,
        transform=InputTransform(bands=stamps.bands, psf_channels=args.psf_input),
        seed=args.seed,
    )
    history = clf.fit(
        train,
        validation,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        patience=args.patience,
        device=args.device,
        seed=args.seed,
        checkpoint_dir=args.checkpoint_dir,
        overwrite=args.overwrite,
        target_purity=args.target_purity,
        target_recall=args.target_recall,
        progress_bar=args.progress,
        description=source,
    )
    path = clf.save(args.output, overwrite=args.overwrite)
    args.saved = path
    last = history[-1]
    metrics = clf.metrics
    print(
        f"trained {args.architecture} on {len(train)} stamps ({clf.training['n_train_positive']} "
        f"clusters) for {len(history)} epochs in {time.perf_counter() - start:.1f} s; "
        f"best epoch {clf.training['best_epoch']}, last val_loss {last['val_loss']:.4f}"
    )
    print(
        f"threshold {clf.threshold:.3f} on {metrics['n']} validation stamps: purity "
        f"{_fmt(metrics['purity'])}, recall {_fmt(metrics['recall'])}, F1 {_fmt(metrics['f1'])}"
    )
    print(f"saved {path}")
    return 0


def _fmt(value):
    return "n/a" if value is None else f"{value:.4f}"
