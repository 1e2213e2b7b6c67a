"""``clusterfinder demo``: the whole main job on a simulated PAndAS field."""

from clusterfinder.demo import check_demo_outputs, run_demo

__all__ = ["add_parser", "interrupted", "run"]


def add_parser(subparsers):
    """Declare the ``demo`` sub-command and its options."""
    parser = subparsers.add_parser(
        "demo",
        help="run the whole main job on a simulated PAndAS field",
        description=(
            "Simulate a PAndAS-like field of the M31 disc, detect its sources, classify them "
            "with the bundled model, write the candidates (ECSV, DS9 regions) and an "
            "inspection page to OUTDIR, and print purity and recall against the simulation's "
            "truth. Runs offline. The files are moved into OUTDIR together at the end: an "
            "interrupted demo leaves OUTDIR as it was."
        ),
    )
    parser.add_argument(
        "outdir",
        metavar="OUTDIR",
        nargs="?",
        default="clusterfinder-demo",
        help=(
            "output folder (default clusterfinder-demo); files of an earlier demo there are "
            "refused unless --overwrite"
        ),
    )
    parser.add_argument("--size", type=int, default=2048, help="field side in pixels (2048)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the field (1)")
    parser.add_argument(
        "--model", default=None, help="weights name or file (default: the bundled model)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the files of an earlier demo"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(func=run, interrupted=interrupted)
    return parser


def interrupted(args):
    """What an interrupted ``demo`` leaves on disk."""
    return f"nothing new in {args.outdir}: the files were made in a temporary folder, now removed"


def run(args):
    """Run the demonstration and print its summary."""
    check_demo_outputs(args.outdir, overwrite=args.overwrite, model=args.model, name="OUTDIR")
    result = run_demo(
        args.outdir,
        size=args.size,
        seed=args.seed,
        model=args.model,
        overwrite=args.overwrite,
        progress_bar=not args.no_progress,
    )
    print(result.summary())
    return 0
