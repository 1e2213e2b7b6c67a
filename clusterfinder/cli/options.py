"""Command-line options shared by several sub-commands."""

__all__ = ["add_zero_points_option", "parse_zero_points"]


def add_zero_points_option(parser, *, missing):
    """Declare ``--zero-points`` on ``parser``; ``missing`` says what happens without one."""
    parser.add_argument(
        "--zero-points",
        nargs="+",
        default=None,
        metavar="[BAND=]ZP",
        help=(
            "AB zero point of the images: one number for every band (30) or one per band "
            "(g=30 i=29.8); default: each image's header (PHOTZP, MAGZPT, MAGZP, ZEROPT), "
            f"and {missing}"
        ),
    )


def parse_zero_points(items):
    """The ``--zero-points`` option as `clusterfinder.scan.scan` takes it.

    ``["30"]`` gives 30.0 for every band; ``["g=30", "i=29.8"]`` a dict band -> value.

    Examples
    --------
    >>> parse_zero_points(["30"]), parse_zero_points(["g=30", "i=29.8"])
    (30.0, {'g': 30.0, 'i': 29.8})
    """
    if items is None:
        return None

    def number(text, item):
        try:
            return float(text)
        except ValueError:
            raise ValueError(
                f"--zero-points: {item!r} is not a number; give one AB zero point for every "
                "band (e.g. 30) or BAND=ZP pairs (e.g. g=30 i=29.8)"
            ) from None

    if len(items) == 1 and "=" not in items[0]:
        return number(items[0], items[0])
    out = {}
    for item in items:
        band, sep, value = item.partition("=")
        if not sep or not band.strip():
            raise ValueError(
                f"--zero-points: {item!r} is not BAND=ZP; give one number for every band or "
                "BAND=ZP pairs (e.g. g=30 i=29.8)"
            )
        if band.strip() in out:
            raise ValueError(f"--zero-points: band {band.strip()!r} is given twice")
        out[band.strip()] = number(value, item)
    return out
