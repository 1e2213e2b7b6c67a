"""The ``clusterfinder`` command line.

Each sub-command lives in its own module of this package and provides two
functions: ``add_parser(subparsers)``, which declares its arguments, and
``run(args)``, which does the work and returns the exit status. A module may also
give ``interrupted(args)`` (as the parser default ``interrupted``): one line saying
what is on disk after Ctrl-C.
"""

import argparse
import importlib
import sys

__all__ = ["main"]

# Sub-command name -> module of this package that implements it.
SUBCOMMANDS = {
    "demo": "demo",
    "simulate": "simulate",
    "train": "train",
    "evaluate": "evaluate",
    "scan": "scan",
    "inspect": "inspect",
}


def build_parser():
    """Return the `argparse.ArgumentParser` of the ``clusterfinder`` command."""
    from clusterfinder import __version__

    parser = argparse.ArgumentParser(
        prog="clusterfinder",
        description="Find star clusters in wide-field survey images with deep learning.",
    )
    parser.add_argument("--version", action="version", version=f"clusterfinder {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full Python traceback when a command fails",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in SUBCOMMANDS.values():
        module = importlib.import_module(f"{__name__}.{module_name}")
        module.add_parser(subparsers)
    return parser


def main(argv=None):
    """Run the ``clusterfinder`` command line and return its exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (without the program name); `sys.argv` by default.

    Returns
    -------
    int
        0 on success; 2 for bad input, with a one-line message on standard error;
        130 when interrupted (Ctrl-C), with one line saying what is on disk.
    """
    try:
        parser = build_parser()  # imports the package: seconds on a busy machine
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("clusterfinder: interrupted; nothing was written", file=sys.stderr)
        return 130
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, OSError, KeyError) as exc:
        if args.debug:
            raise
        print(f"clusterfinder {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"clusterfinder {args.command}: interrupted; {_on_disk(args)}", file=sys.stderr)
        return 130


def _on_disk(args):
    """What an interrupted command leaves on disk, in a few words."""
    describe = getattr(args, "interrupted", None)
    if describe is None:
        return "nothing was written"
    try:
        return describe(args)
    except Exception:  # pragma: no cover - the message must not hide the interruption
        return "see the output folder"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
