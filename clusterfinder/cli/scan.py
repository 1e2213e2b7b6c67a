"""``clusterfinder scan``: search many survey fields for cluster candidates, resumably."""

import re
import sys
from pathlib import Path

from ..utils.outputs import check_output_dir, check_output_file
from ..utils.validation import PRECISIONS
from .options import add_zero_points_option, parse_zero_points

__all__ = ["add_parser", "interrupted", "run"]


def add_parser(subparsers):
    """Declare the ``scan`` sub-command and its options."""
    parser = subparsers.add_parser(
        "scan",
        help="classify every source of many fields; resumable, optionally on Dask",
        description=(
            "Scan survey fields with a trained model. Each tile of each field is one unit of "
            "work, written to OUTDIR/parts/ when done; OUTDIR/manifest.json records the model, "
            "threshold and fields, and OUTDIR/candidates.ecsv is the merged catalogue. Run the "
            "same command again to resume an interrupted scan. A scan resumes only in a folder "
            "whose manifest it wrote: a candidates.ecsv or parts/ without one is refused "
            "unless --overwrite. Exit status 1 when a field or tile could not be read (listed "
            "in the manifest's 'failed')."
        ),
    )
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="weights file of a trained model (or the name of registered weights)",
    )
    parser.add_argument(
        "--images",
        nargs="+",
        required=True,
        metavar="DIR_OR_FILE",
        help="folders of NAME_<band>.fits images, or the FITS files themselves",
    )
    parser.add_argument("--output", required=True, metavar="OUTDIR", help="output folder")
    parser.add_argument(
        "--sources",
        default=None,
        metavar="TABLE",
        help="source table (ECSV/FITS/VOTable with coord or ra/dec); default: detect sources",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        default=True,
        help="keep the units already done in OUTDIR (default)",
    )
    parser.add_argument(
        "--no-resume", dest="resume", action="store_false", help="start the scan over"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a candidates.ecsv or parts/ in OUTDIR that no scan manifest accounts for",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a Dask scheduler (e.g. tcp://host:8786) to run the units on",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="detect the sources of the next tiles in N processes while the model classifies",
    )
    add_zero_points_option(parser, missing="a field whose image has none is skipped")
    parser.add_argument("--tile-size", type=int, default=4096, help="tile side (default 4096)")
    parser.add_argument("--batch-size", type=int, default=256, help="stamps per batch (256)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda... (default auto)")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help="the network's arithmetic (default auto: bfloat16 on CUDA, float32 on the CPU)",
    )
    parser.add_argument(
        "--threshold", type=float, default=None, help="probability threshold (default: model's)"
    )
    parser.add_argument(
        "--keep-all", action="store_true", help="keep every source, not only candidates"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run, interrupted=interrupted)
    return parser


_FILE = re.compile(r"^(?P<name>.+)_(?P<band>[A-Za-z0-9]+)\.(?:fits?|fts)(?:\.gz|\.fz)?$")


def _fields(items, bands):
    """Fields from folders and files: a dict name -> dict band -> path."""
    from clusterfinder.scan import fields_from_folder

    fields, loose = {}, {}
    for item in items:
        path = Path(item)
        if path.is_dir():
            for name, images in fields_from_folder(path, bands=bands).items():
                key = name if name not in fields else f"{path.name}/{name}"
                fields[key] = images
        else:
            match = _FILE.match(path.name)
            if not match:
                raise ValueError(
                    f"--images: {item!r} is neither a folder nor a FITS file named NAME_<band>.fits"
                )
            if not path.is_file():
                raise FileNotFoundError(f"--images: {item!r} does not exist")
            loose.setdefault(str(path.parent / match["name"]), {})[match["band"]] = str(path)
    for stem, images in loose.items():
        missing = [band for band in bands if band not in images]
        if missing:
            raise ValueError(f"--images: {stem} has no file for band(s) {', '.join(missing)}")
        fields[Path(stem).name if Path(stem).name not in fields else stem] = {
            band: images[band] for band in bands
        }
    if not fields:
        raise ValueError(f"--images: found no field with bands {', '.join(bands)}")
    return fields


def interrupted(args):
    """What an interrupted ``scan`` leaves on disk."""
    from ..scan.journal import ScanJournal

    journal = ScanJournal(Path(args.output), None)
    parts = journal.parts_dir
    n = len(journal.done_units()) if parts.is_dir() else 0
    return f"{n} finished tile(s) kept in {parts}; run the same command again to resume"


def _check_output(args):
    """Check OUTDIR before anything is read.

    It must be a folder that can be written in, and none of its outputs may be the
    ``--sources`` table.
    """
    folder = check_output_dir(args.output, name="--output")
    if args.sources is not None and folder.is_dir():
        for name in ("candidates.ecsv", "manifest.json"):
            if (folder / name).exists():
                check_output_file(
                    folder / name,
                    overwrite=True,
                    inputs={"--sources": args.sources},
                    name="--output",
                )


def run(args):
    """Run ``clusterfinder scan``; return the exit status."""
    from astropy.table import QTable

    from clusterfinder.classifier import ClusterClassifier
    from clusterfinder.classifier.weights import resolve_weights
    from clusterfinder.scan import scan

    _check_output(args)
    zero_points = parse_zero_points(args.zero_points)
    model_path = resolve_weights(args.model)
    bands = ClusterClassifier.load(model_path).bands
    fields = _fields(args.images, bands)
    sources = None
    if args.sources is not None:
        try:
            sources = QTable.read(args.sources)
        except (OSError, ValueError) as exc:
            raise ValueError(f"--sources: cannot read {args.sources!r}: {exc}") from None
    client = None
    if args.scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise ValueError("--scheduler needs the optional package dask[distributed]") from None
        client = Client(args.scheduler)
    try:
        catalog = scan(
            str(model_path),
            fields,
            args.output,
            sources=sources,
            threshold=args.threshold,
            batch_size=args.batch_size,
            device=args.device,
            precision=args.precision,
            tile_size=args.tile_size,
            zero_points=zero_points,
            keep_all=args.keep_all,
            resume=args.resume,
            overwrite=args.overwrite,
            client=client,
            workers=args.workers,
            progress_bar=not args.no_progress,
        )
    finally:
        if client is not None:
            client.close()
    failed = catalog.meta.get("failed") or []
    print(
        f"scanned {len(fields)} field(s): {catalog.meta.get('n_sources', 0)} sources classified, "
        f"{len(catalog)} rows -> {Path(args.output) / 'candidates.ecsv'}"
    )
    for entry in failed:
        where = entry["field"] + ("" if entry.get("tile") is None else f" tile {entry['tile']}")
        print(f"skipped {where}: {entry['reason']}", file=sys.stderr)
    return 1 if failed else 0
