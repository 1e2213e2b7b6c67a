"""``clusterfinder evaluate``: metrics of a saved model on labelled stamps."""

from pathlib import Path

from ..utils.files import atomic_write
from ..utils.outputs import check_output_file

__all__ = ["add_parser", "interrupted", "run"]

_FORMATS = {".ecsv": "ascii.ecsv", ".csv": "ascii.csv", ".fits": "fits", ".vot": "votable"}


def add_parser(subparsers):
    """Declare the ``evaluate`` sub-command and its options."""
    parser = subparsers.add_parser(
        "evaluate",
        help="purity, recall, F1... of a model on labelled stamps",
        description=(
            "Evaluate MODEL (a saved model or a registered name) on CUTOUTS (written by "
            "Cutout.write, with a 'label' column): prints purity, recall, F1, accuracy, "
            "ROC-AUC and PR-AUC at the model's threshold and the threshold x limiting "
            "magnitude grid."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="model file, base name or registered name")
    parser.add_argument("cutouts", metavar="CUTOUTS", help="labelled stamps")
    parser.add_argument("--threshold", type=float, help="decision threshold (model's)")
    parser.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        help="thresholds of the grid (default 0.05 to 0.95 by 0.05)",
    )
    parser.add_argument(
        "--mag-limits",
        type=float,
        nargs="*",
        default=[19, 20, 21, 22, 23],
        help="limiting magnitudes of the grid (19 20 21 22 23)",
    )
    parser.add_argument("--mag-column", default="mag_g", help="magnitude column (mag_g)")
    parser.add_argument("--batch-size", type=int, default=256, help="stamps per batch (256)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (auto)")
    parser.add_argument(
        "--output", "-o", help="write the grid to this table (.ecsv, .csv, .fits, .vot)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing output (never an input)"
    )
    parser.set_defaults(func=run, interrupted=interrupted)
    return parser


def _check_output(args):
    """Check ``--output`` before the model is evaluated; return its table format."""
    path = Path(args.output)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"--output must end in one of {', '.join(_FORMATS)}; got {str(path)!r}")
    inputs = {"MODEL": args.model, "CUTOUTS": args.cutouts}
    check_output_file(path, overwrite=args.overwrite, inputs=inputs, name="--output")
    return fmt


def _write_table(table, path, fmt):
    path = Path(path)
    atomic_write(path, lambda tmp: table.write(tmp, format=fmt, overwrite=True), suffix=path.suffix)


def interrupted(args):
    """What an interrupted ``evaluate`` leaves on disk."""
    if args.output is None:
        return "nothing was written"
    return f"no grid was written to {args.output} (it is written when the evaluation ends)"


def run(args):
    """Print the metrics (and write the grid); returns the exit status."""
    from clusterfinder import ClusterClassifier, Cutout

    fmt = _check_output(args) if args.output else None
    clf = ClusterClassifier.from_pretrained(args.model)
    stamps = Cutout.read(args.cutouts)
    evaluation = clf.evaluate(
        stamps,
        threshold=args.threshold,
        thresholds=args.thresholds,
        mag_limits=args.mag_limits,
        mag_column=args.mag_column,
        batch_size=args.batch_size,
        device=args.device,
    )
    print(f"model {args.model} ({clf.architecture}, bands {', '.join(clf.bands)})")
    print(evaluation)
    if evaluation.grid is None:
        print(f"no threshold x magnitude grid: CUTOUTS has no column {args.mag_column!r}")
    else:
        grid = evaluation.grid
        for name in ("purity", "recall", "f1", "accuracy"):
            grid[name].info.format = ".4f"
        grid["threshold"].info.format = ".3f"
        print()
        grid.pprint(max_lines=-1, max_width=-1)
        if args.output:
            _write_table(grid, args.output, fmt)
            print(f"wrote {args.output}")
    return 0
