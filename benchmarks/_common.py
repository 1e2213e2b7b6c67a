"""Helpers shared by the benchmark scripts in this folder.

Each benchmark script measures one part of clusterfinder and writes its own block of
``benchmarks/RESULTS.md``, between the markers ``<!-- NAME:start -->`` and
``<!-- NAME:end -->``, so that several scripts share one results file without
overwriting each other's figures.

Peak memory is measured per case: the case runs in a fresh Python process, which
reports its own ``ru_maxrss`` (the high-water mark of its resident set) when it is
done. The figure therefore includes the interpreter and the imported libraries; the
same process also reports the resident set measured just before the timed work, so a
reader can tell the baseline from what the work itself needs.
"""

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

__all__ = [
    "RESULTS_FILE",
    "current_peak_mib",
    "machine_summary",
    "markdown_table",
    "median_time",
    "run_case",
    "write_results_block",
]

#: The results file shared by every benchmark script.
RESULTS_FILE = Path(__file__).with_name("RESULTS.md")

_RESULT_TAG = "__BENCH_RESULT__"

# Run inside the child process: time ``repeat`` calls of the case, then print one
# tagged JSON line with the times and the resident-set figures.
_CHILD_TEMPLATE = """
import json, resource, sys, time
sys.path.insert(0, {bench_dir!r})
{setup}
rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
cpu_times = []
for _repeat in range({repeat}):
    _t0 = time.perf_counter()
    _c0 = time.process_time()
{body}
    times.append(time.perf_counter() - _t0)
    cpu_times.append(time.process_time() - _c0)
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print({tag!r} + json.dumps({{"times": times, "cpu_times": cpu_times,
                             "rss_before_kib": rss_before_kib, "peak_kib": peak_kib,
                             "extra": globals().get("extra", {{}})}}))
"""


def median_time(func, *, repeat=3):
    """Call ``func()`` ``repeat`` times; return the median and all wall times (s).

    Examples
    --------
    >>> median, times = median_time(lambda: sum(range(1000)), repeat=3)
    >>> len(times), median >= 0
    (3, True)
    """
    if int(repeat) < 1:
        raise ValueError(f"repeat must be a positive integer; got {repeat!r}")
    times = []
    for _ in range(int(repeat)):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def run_case(body, *, setup="", repeat=1, timeout=None, env=None):
    """Run one benchmark case in a fresh Python process and measure it.

    Parameters
    ----------
    body : str
        Python statements timed ``repeat`` times (they may use names from ``setup``).
    setup : str, optional
        Python statements run once before the timing (imports, inputs).
    repeat : int, optional
        Number of timed repetitions.
    timeout : float, optional
        Seconds after which the child is killed (`subprocess.TimeoutExpired`).
    env : dict, optional
        Extra environment variables for the child.

    Returns
    -------
    dict
        ``times`` (list of wall times, s), ``median_s``, ``cpu_times`` and
        ``median_cpu_s`` (CPU time, user + system, of the child's threads: unlike wall
        time it hardly moves when other jobs share the machine), ``rss_before_mib``
        (resident set after
        ``setup``), ``peak_mib`` (peak resident set of the whole process) and
        ``extra`` (the JSON-serialisable dict named ``extra`` that ``setup`` or ``body``
        may define, e.g. a count of objects; empty otherwise).

    Examples
    --------
    >>> result = run_case("x = sum(range(10))", repeat=2)
    >>> len(result["times"]), result["peak_mib"] > 0
    (2, True)
    """
    if int(repeat) < 1:
        raise ValueError(f"repeat must be a positive integer; got {repeat!r}")
    code = _CHILD_TEMPLATE.format(
        bench_dir=str(Path(__file__).parent),
        setup=textwrap.dedent(setup),
        repeat=int(repeat),
        body=textwrap.indent(textwrap.dedent(body).strip() or "pass", "    "),
        tag=_RESULT_TAG,
    )
    child_env = dict(os.environ)
    child_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"benchmark case failed with exit status {proc.returncode}:\n{proc.stderr[-4000:]}"
        )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(_RESULT_TAG)]
    if not lines:
        raise RuntimeError(f"benchmark case printed no result:\n{proc.stdout[-2000:]}")
    raw = json.loads(lines[-1][len(_RESULT_TAG) :])
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    scale = 1 / 1024**2 if sys.platform == "darwin" else 1 / 1024
    return {
        "times": raw["times"],
        "median_s": statistics.median(raw["times"]),
        "cpu_times": raw["cpu_times"],
        "median_cpu_s": statistics.median(raw["cpu_times"]),
        "rss_before_mib": raw["rss_before_kib"] * scale,
        "peak_mib": raw["peak_kib"] * scale,
        "extra": raw.get("extra", {}),
    }


def machine_summary():
    """One line describing the machine and software the figures were measured on.

    Examples
    --------
    >>> "python" in machine_summary()
    True
    """
    import numpy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as stream:
            for line in stream:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import clusterfinder

        version = clusterfinder.__version__
    except ImportError:  # pragma: no cover
        version = "not installed"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        load = f", load average {os.getloadavg()[0]:.1f} at start"
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        load = ""
    return (
        f"{cpu}, {cores} cores usable, {platform.system()}{load}; python "
        f"{platform.python_version()}, numpy {numpy.__version__}, clusterfinder {version}"
    )


def markdown_table(header, rows):
    """Format ``rows`` (sequences of cells) under ``header`` as a Markdown table.

    Examples
    --------
    >>> print(markdown_table(["case", "s"], [["a", "1.0"]]))
    | case | s |
    |---|---|
    | a | 1.0 |
    """
    lines = ["| " + " | ".join(str(cell) for cell in header) + " |"]
    lines.append("|" + "---|" * len(header))
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def write_results_block(name, text, *, path=RESULTS_FILE):
    """Replace the block ``name`` of the results file with ``text``.

    The block is what lies between the lines ``<!-- NAME:start -->`` and
    ``<!-- NAME:end -->``; it is appended when missing, and the file is created
    when it does not exist. Everything outside the block is kept. The file is
    written to a temporary name in the same folder and then renamed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     target = pathlib.Path(tmp) / "RESULTS.md"
    ...     _ = write_results_block("demo", "first", path=target)
    ...     _ = write_results_block("demo", "second", path=target)
    ...     print(target.read_text().count("second"), target.read_text().count("first"))
    1 0
    """
    path = Path(path)
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text.strip()}\n{end}"
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    if start in old and end in old and old.index(start) < old.index(end):
        head, rest = old.split(start, 1)
        tail = rest.split(end, 1)[1]
        new = head + block + tail
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as stream:
            stream.write(new)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def current_peak_mib():
    """Peak resident set of this process so far, in MiB."""
    scale = 1 / 1024**2 if sys.platform == "darwin" else 1 / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
