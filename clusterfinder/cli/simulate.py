"""``clusterfinder simulate``: write a simulated survey field (FITS per band + truth table)."""

import os
import time
from pathlib import Path

import astropy.units as u
from astropy.coordinates import SkyCoord

from clusterfinder.galaxy import M31

from ..utils.outputs import check_output_dir, check_output_file

__all__ = ["add_parser", "interrupted", "run"]

_CONFIGS = ("pandas", "hsc")


def add_parser(subparsers):
    """Declare the ``simulate`` sub-command and its options."""
    parser = subparsers.add_parser(
        "simulate",
        help="write a simulated PAndAS-like field with its truth table",
        description=(
            "Simulate a survey field of M31's disc: writes OUTDIR/NAME_<band>.fits (celestial "
            "TAN WCS, PHOTZP=30) for each band and OUTDIR/truth.ecsv. Existing files are "
            "refused unless --overwrite."
        ),
    )
    parser.add_argument("outdir", metavar="OUTDIR", help="output folder (created if needed)")
    parser.add_argument("--size", type=int, required=True, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--config", choices=_CONFIGS, default="pandas", help="survey configuration (default pandas)"
    )
    parser.add_argument(
        "--fwhm",
        default=None,
        help="seeing FWHM in arcsec for every band, or 'random' (default: the configuration's)",
    )
    parser.add_argument(
        "--randomize",
        action="store_true",
        help=(
            "draw the seeing, PSF shape (Moffat/Kolmogorov, ellipticity, halo), depth, noise "
            "correlation and hard negatives from clusterfinder.simulate.DomainRandomization"
        ),
    )
    parser.add_argument(
        "--center",
        default=None,
        help='field centre "RA DEC" in degrees or sexagesimal (default: a PHAT disc field)',
    )
    parser.add_argument("--name", default="field", help="stem of the image files (default field)")
    parser.add_argument(
        "--block-size", type=int, default=2048, help="pixels rendered per block (default 2048)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run, interrupted=interrupted)
    return parser


def _parse_center(text):
    if text is None:
        return None
    parts = text.replace(",", " ").split()
    if len(parts) != 2:
        raise ValueError(f'--center must be "RA DEC"; got {text!r}')
    try:
        if all(_is_number(p) for p in parts):
            return SkyCoord(float(parts[0]) * u.deg, float(parts[1]) * u.deg, frame="icrs")
        return SkyCoord(parts[0], parts[1], unit=(u.hourangle, u.deg), frame="icrs")
    except ValueError as exc:
        raise ValueError(f"--center {text!r} is not a valid RA DEC: {exc}") from None


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_fwhm(text):
    if text is None or text == "random":
        return text
    try:
        return float(text) * u.arcsec
    except ValueError:
        raise ValueError(f"--fwhm must be a number of arcsec or 'random'; got {text!r}") from None


def _check_outputs(args, bands):
    """Check OUTDIR and the files to write before the field is rendered."""
    outdir = check_output_dir(args.outdir, name="OUTDIR")
    name = args.name
    if not name or os.sep in name or name.startswith("."):
        return  # refused, with the reason, by the simulator
    for filename in [*(f"{name}_{band}.fits" for band in bands), "truth.ecsv"]:
        path = outdir / filename
        if path.exists():  # (the folder may not exist yet)
            check_output_file(path, overwrite=args.overwrite, name="OUTDIR")


def interrupted(args):
    """What an interrupted ``simulate`` leaves on disk."""
    return (
        f"no partial file is left in {Path(args.outdir)} (each file is renamed into place "
        "when complete)"
    )


def run(args):
    """Write the field and print a one-line summary; returns the exit status."""
    from clusterfinder.simulate import HSC, KINDS, PANDAS
    from clusterfinder.simulate.field import _write_field

    config = {"pandas": PANDAS, "hsc": HSC}[args.config]
    center, fwhm = _parse_center(args.center), _parse_fwhm(args.fwhm)
    _check_outputs(args, tuple(config.bands))
    start = time.perf_counter()
    paths, truth = _write_field(
        args.outdir,
        size=args.size,
        center=center,
        config=config,
        seed=args.seed,
        fwhm=fwhm,
        psf=None,
        randomize=args.randomize,
        kinds=None,
        noise=True,
        disc_light=True,
        galaxy=M31,
        name=args.name,
        overwrite=args.overwrite,
        block_size=args.block_size,
        progress_bar=not args.no_progress,
    )
    counts = ", ".join(f"{kind} {int((truth['kind'] == kind).sum())}" for kind in KINDS)
    elapsed = time.perf_counter() - start
    files = ", ".join(p.name for p in paths.values())
    print(
        f"simulated {config.name} field {args.size}x{args.size} (seed {args.seed}) in "
        f"{elapsed:.1f} s -> {paths[next(iter(paths))].parent}: {files}, truth.ecsv; "
        f"{len(truth)} objects ({counts})"
    )
    return 0
