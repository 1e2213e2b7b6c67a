"""``clusterfinder inspect``: write (and optionally serve) a visual-inspection page."""

import webbrowser
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Declare the ``inspect`` sub-command and its options."""
    parser = subparsers.add_parser(
        "inspect",
        help="write a web page to inspect cluster candidates by eye",
        description=(
            "Write a self-contained HTML page (stamps inside; opens offline) on which "
            "candidates are classified with the keyboard (c cluster, n not a cluster, "
            "u unsure, z undo). Decisions persist in the browser and export to JSON. "
            "With --serve, a local server also writes each decision to disk as it is made."
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
    parser.add_argument(
        "--output",
        default=None,
        help="HTML page to write (default: CATALOG's stem + '_inspection.html', beside it)",
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
        help="decision file kept by --serve (default: the page's stem + '_decisions.json')",
    )
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)
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


def run(args):
    """Write the page; with ``--serve``, serve it until interrupted."""
    from clusterfinder.inspect import InspectionServer, make_inspection_page

    catalog = read_catalog(args.catalog)
    images = parse_images(args.images)
    output = args.output
    if output is None:
        source = Path(args.catalog)
        output = source.with_name(source.stem + "_inspection.html")
    page = make_inspection_page(
        catalog,
        images,
        output=output,
        size=args.size,
        bands=tuple(args.bands),
        title=args.title,
        progress_bar=not args.no_progress,
    )
    print(f"wrote {page} ({len(catalog)} candidates)")
    if not args.serve:
        if args.open:
            webbrowser.open(page.resolve().as_uri())
        return 0
    server = InspectionServer(page, args.decisions, port=args.port)
    print(f"serving {server.url} ; decisions are written to {server.decisions_path}", flush=True)
    print("press Ctrl-C to stop", flush=True)
    if args.open:
        webbrowser.open(server.url)
    server.serve_forever()
    return 0
