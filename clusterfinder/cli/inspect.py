"""``clusterfinder inspect``: write (and optionally serve) a visual-inspection page."""

import webbrowser
from pathlib import Path

from ..utils.outputs import check_output_file
from .options import add_zero_points_option, parse_zero_points

__all__ = ["add_parser", "interrupted", "run"]


def add_parser(subparsers):
    """Declare the ``inspect`` sub-command and its options."""
    parser = subparsers.add_parser(
        "inspect",
        help="write a web page to inspect cluster candidates by eye",
        description=(
            "Write a self-contained HTML page (stamps inside; opens offline) on which "
            "candidates are classified with the keyboard (c cluster, n not a cluster, "
            "u unsure, z undo). Decisions persist in the browser and export to JSON. "
            "With --serve, a local server also writes each decision to disk as it is made. "
            "An existing page is refused unless --overwrite; the catalogue and the images "
            "are never overwritten."
        ),
    )
    parser.add_argument(
        "catalog", metavar="CATALOG", help="candidate catalogue (ECSV, FITS or VOTable)"
    )
    parser.add_argument(
        "--images",
        nargs="+",
        metavar="BAND=FITS",
        default=None,
        help="images to cut the stamps from, e.g. g=field_g.fits i=field_i.fits",
    )
    add_zero_points_option(parser, missing="an image without one is refused")
    parser.add_argument(
        "--output",
        default=None,
        help="HTML page to write (default: CATALOG's stem + '_inspection.html', beside it)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing page (never an input)"
    )
    parser.add_argument(
        "--bands", nargs="+", default=["g", "i"], help="bands of the composite, bluest first"
    )
    parser.add_argument("--size", type=int, default=48, help="stamp side in pixels (default 48)")
    parser.add_argument("--title", default=None, help="title of the page")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="serve the page on 127.0.0.1 and write each decision to disk as it is made",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port for --serve (default: a free one)"
    )
    parser.add_argument(
        "--decisions",
        default=None,
        help=(
            "decision file kept by --serve (default: the page's stem + '_decisions.json'); "
            "decisions already in it are kept"
        ),
    )
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run, interrupted=interrupted)
    return parser


def parse_images(items):
    """Turn ``["g=a.fits", "i=b.fits"]`` into ``{"g": "a.fits", "i": "b.fits"}``."""
    images = {}
    for item in items or ():
        band, sep, path = item.partition("=")
        if not sep or not band or not path:
            raise ValueError(f"--images entries must look like BAND=FILE; got {item!r}")
        if band in images:
            raise ValueError(f"--images names band {band!r} twice")
        if not Path(path).is_file():
            raise OSError(f"--images: no such file {path!r} for band {band!r}")
        images[band] = path
    return images or None


def read_catalog(path):
    """Read a candidate catalogue as a `~clusterfinder.CandidateCatalog` (or a QTable)."""
    path = Path(path)
    if not path.is_file():
        raise OSError(f"no such catalogue file: {path}")
    try:
        from clusterfinder.catalog import CandidateCatalog
    except ImportError:  # pragma: no cover - the catalogue module is part of the package
        from astropy.table import QTable

        return QTable.read(path)
    return CandidateCatalog.read(path)


def check_decisions(path, catalog, *, page, inputs):
    """Check the decision file of ``--serve`` before the page is made.

    It must not be the page or an input, its folder must exist and be writable, and
    a file already there must hold decisions on the same catalogue (they are kept).
    """
    from clusterfinder.inspect import catalog_id
    from clusterfinder.inspect.decisions import _load

    path = Path(path)
    if path.absolute() == Path(page).absolute():
        raise ValueError(
            f"--decisions: {str(path)!r} is also the page (--output); choose another file"
        )
    check_output_file(path, overwrite=True, inputs=inputs, name="--decisions")
    if path.exists():
        existing = _load(path)
        if existing.catalog_id != catalog_id(catalog):
            raise ValueError(
                f"--decisions: {str(path)!r} holds decisions on another catalogue than "
                "CATALOG; choose another file"
            )
    return path


def interrupted(args):
    """What an interrupted ``inspect`` leaves on disk."""
    page = getattr(args, "page_written", None)
    if page is None:
        return "no page was written (it is written whole or not at all)"
    return f"the page {page} was written"


def run(args):
    """Write the page; with ``--serve``, serve it until interrupted."""
    from clusterfinder.inspect import InspectionServer, make_inspection_page

    catalog = read_catalog(args.catalog)
    images = parse_images(args.images)
    zero_points = parse_zero_points(args.zero_points)
    output = args.output
    if output is None:
        source = Path(args.catalog)
        output = source.with_name(source.stem + "_inspection.html")
    inputs = {"CATALOG": args.catalog}
    inputs.update({f"--images {band}": path for band, path in (images or {}).items()})
    check_output_file(output, overwrite=args.overwrite, inputs=inputs, name="--output")
    decisions = None
    if args.serve:
        decisions = args.decisions
        if decisions is None:
            decisions = Path(output).with_name(Path(output).stem + "_decisions.json")
        check_decisions(decisions, catalog, page=output, inputs=inputs)
    page = make_inspection_page(
        catalog,
        images,
        output=output,
        size=args.size,
        bands=tuple(args.bands),
        title=args.title,
        zero_points=zero_points,
        overwrite=args.overwrite,
        progress_bar=not args.no_progress,
    )
    args.page_written = page
    print(f"wrote {page} ({len(catalog)} candidates)")
    if not args.serve:
        if args.open:
            webbrowser.open(page.resolve().as_uri())
        return 0
    server = InspectionServer(page, decisions, port=args.port)
    print(f"serving {server.url} ; decisions are written to {server.decisions_path}", flush=True)
    print("press Ctrl-C to stop", flush=True)
    if args.open:
        webbrowser.open(server.url)
    server.serve_forever()
    if server.decisions_path.exists():
        saved = f"{len(server.decisions.decisions)} decision(s) in {server.decisions_path}"
    else:
        saved = "no decision was made"
    print(f"stopped; {saved}", flush=True)
    return 0
