"""Benchmark the survey simulator: wall time, throughput and peak memory.

Cases (two bands, g and i, PAndAS configuration, seed 0):

- ``simulate_field`` of a 4k x 4k field, in memory;
- ``write_field`` of the same 4k x 4k field to FITS files in a temporary folder;
- ``write_field`` of a 20k x 20k field (about 3.2 GB of FITS) streamed block by block.

Each case runs in a fresh Python process, so that its peak resident set (``ru_maxrss``)
is its own; cheap cases are repeated and the median wall time is reported. The script
prints the figures and replaces the ``bench_simulate`` block of ``benchmarks/RESULTS.md``.

Usage::

    python benchmarks/bench_simulate.py            # full run (the 20k case takes minutes)
    python benchmarks/bench_simulate.py --quick    # small sizes, a smoke run of a few seconds
    python benchmarks/bench_simulate.py --no-write # print only, leave RESULTS.md alone
"""

import argparse
import datetime
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import machine_summary, markdown_table, run_case, write_results_block

BLOCK = "bench_simulate"

_SETUP = """
import tempfile
from pathlib import Path
from clusterfinder.simulate import simulate_field, write_field
base = Path(tempfile.mkdtemp(dir={tmp!r}))
"""

_SIMULATE_BODY = """
field = simulate_field(size={size}, seed=0)
extra = {{"objects": len(field.truth), "bands": list(field.bands)}}
del field
"""

_WRITE_BODY = """
out = base / f"run{{_repeat}}"
paths = write_field(out, size={size}, seed=0, block_size={block_size})
extra = {{"bytes": sum(Path(p).stat().st_size for p in paths.values() if Path(p).exists())}}
"""


def cases(quick):
    """The list of (label, function, size, repeat, block_size) to measure."""
    if quick:
        return [
            ("simulate_field", "simulate", 1024, 2, None),
            ("write_field", "write", 1024, 2, 512),
            ("write_field (streamed)", "write", 3000, 1, 1024),
        ]
    return [
        ("simulate_field", "simulate", 4096, 3, None),
        ("write_field", "write", 4096, 2, 2048),
        ("write_field (streamed)", "write", 20000, 1, 2048),
    ]


def measure(label, kind, size, repeat, block_size, *, tmp, timeout):
    """Run one case in a subprocess and return its row of figures."""
    if kind == "simulate":
        body = _SIMULATE_BODY.format(size=size)
    else:
        body = _WRITE_BODY.format(size=size, block_size=block_size)
    result = run_case(body, setup=_SETUP.format(tmp=str(tmp)), repeat=repeat, timeout=timeout)
    median = result["median_s"]
    megapixels = size * size / 1e6
    return {
        "case": label,
        "size": f"{size} x {size}",
        "block": "-" if block_size is None else str(block_size),
        "repeat": repeat,
        "median_s": median,
        "times": result["times"],
        "median_cpu_s": result["median_cpu_s"],
        "mpix_per_s": megapixels / median,
        "mpix_per_cpu_s": megapixels / result["median_cpu_s"],
        "peak_mib": result["peak_mib"],
        "base_mib": result["rss_before_mib"],
        "extra": result["extra"],
    }


def format_rows(rows):
    """Markdown table of the measured rows."""
    header = [
        "case",
        "field (pix, 2 bands)",
        "block",
        "runs",
        "median wall (s)",
        "median CPU (s)",
        "Mpix/s (field pixels)",
        "Mpix per CPU s",
        "peak RSS (MiB)",
        "RSS after imports (MiB)",
    ]
    table = [
        [
            row["case"],
            row["size"],
            row["block"],
            row["repeat"],
            f"{row['median_s']:.2f}",
            f"{row['median_cpu_s']:.2f}",
            f"{row['mpix_per_s']:.2f}",
            f"{row['mpix_per_cpu_s']:.2f}",
            f"{row['peak_mib']:.0f}",
            f"{row['base_mib']:.0f}",
        ]
        for row in rows
    ]
    return markdown_table(header, table)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds allowed per case (default 3600)"
    )
    args = parser.parse_args(argv)

    # before the cases, so that the load average and the date are those of the start
    summary = machine_summary()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_simulate_"))
    try:
        for label, kind, size, repeat, block_size in cases(args.quick):
            row = measure(label, kind, size, repeat, block_size, tmp=tmp, timeout=args.timeout)
            rows.append(row)
            print(
                f"{row['case']:<24} {row['size']:>13}  median {row['median_s']:8.2f} s "
                f"(CPU {row['median_cpu_s']:.2f} s)  "
                f"({', '.join(f'{t:.2f}' for t in row['times'])})  "
                f"{row['mpix_per_s']:7.2f} Mpix/s  peak {row['peak_mib']:7.0f} MiB  "
                f"{row['extra']}",
                flush=True,
            )
            # free the disk between cases: the 20k field alone is ~3.2 GB
            for child in tmp.iterdir():
                shutil.rmtree(child, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    text = "\n".join(
        [
            "## Simulator (`benchmarks/bench_simulate.py`"
            + (" --quick" if args.quick else "")
            + ")",
            "",
            f"Measured {stamp} on {summary}.",
            "PAndAS configuration, bands g and i, seed 0, all kinds of objects, noise and disc "
            "light on. Each case runs in its own process; peak RSS is that process's "
            "`ru_maxrss` (interpreter and imports included: see the last column). CPU is the "
            "process's user + system time: when the load average exceeds the core count, "
            "wall times are inflated by other jobs and CPU time is the better guide.",
            "",
            format_rows(rows),
        ]
    )
    print()
    print(text)
    if not args.no_write:
        path = write_results_block(BLOCK, text)
        print(f"\nwrote the {BLOCK} block of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
