"""Benchmark `Cutout.from_images`: throughput, speed-up over a Cutout2D loop, peak memory.

Cases (a synthetic two-band field written to FITS by this script, memory-mapped; sky
positions given as a `~astropy.coordinates.SkyCoord`, as a user gives them):

- ``one grid``: 2-band 64x64 stamps at random sky positions, both bands on one
  pixel grid (pixels copied, no resampling); stamps per second;
- ``Cutout2D loop``: the same positions cut one by one with `astropy.nddata.Cutout2D`
  (one call per object and band, the usual hand-written loop), on a subset of the
  positions; the ratio of the rates is the speed-up, measured in the same run;
- ``i shifted``: the i band on a grid shifted by a fraction of a pixel (0.37 pix in
  x and y, as separate stacks of two bands often are), so every i stamp is
  resampled: once per region of the reference grid (the default), and stamp by
  stamp (the path used before regions, forced here for the comparison);
- ``i shifted and 2 % coarser``: the i band also on another pixel scale;
- the same at 20,000 positions (the density of the trial in issue #16);
- peak memory of cutting 100,000 stamps from the 20k x 20k two-band field (3.2 GB of
  FITS): in chunks of 10,000 64x64 stamps (as a scan does), and in one call for
  32x32 stamps.

Each call is timed in wall time and in CPU time; the first call of each fresh
process is reported apart from the median of the calls, with its system time: it
is what one timed call in a script measures. That first call pays the kernel for the
result's fresh memory (numpy asks for transparent huge pages for large arrays; with
memory fragmented by other jobs the kernel compacts memory first, seconds per GB of
result) and for the first reads of the memory-mapped files. The medians are what a
process that cuts in chunks (a scan) sees after its first chunk.

Each case runs in a fresh Python process (``ru_maxrss`` is its own). The FITS files are
read through the page cache (the machine has enough memory to hold them after they
are written), so times are for a warm page cache.

Usage::

    python benchmarks/bench_cutout.py            # full run (writes 3.2 GB to a temp folder)
    python benchmarks/bench_cutout.py --quick    # small sizes, a smoke run
    python benchmarks/bench_cutout.py --no-write # print only, leave RESULTS.md alone
"""

import argparse
import datetime
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _common import machine_summary, markdown_table, run_case, write_results_block

BLOCK = "bench_cutout"
PIXEL_SCALE = 0.186 / 3600.0


def field_header(size, *, crpix_shift=0.0, scale_factor=1.0):
    """FITS header of a ``size`` x ``size`` float32 TAN image near M31."""
    from astropy.io import fits

    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = -32
    header["NAXIS"] = 2
    header["NAXIS1"] = size
    header["NAXIS2"] = size
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN", "DEC--TAN"
    header["CRVAL1"], header["CRVAL2"] = 10.68, 41.27
    header["CRPIX1"] = size / 2 + 0.5 + crpix_shift
    header["CRPIX2"] = size / 2 + 0.5 - crpix_shift
    header["CD1_1"] = -PIXEL_SCALE * scale_factor
    header["CD2_2"] = PIXEL_SCALE * scale_factor
    header["CD1_2"] = header["CD2_1"] = 0.0
    header["PHOTZP"] = 30.0
    return header


def write_field(path, size, *, seed, **wcs_options):
    """Write a ``size`` x ``size`` noise image block by block (never all in memory).

    Plain file writes, not a writable memory map, so that this process's resident set
    (inherited as the starting ``ru_maxrss`` of the measured child processes) stays
    small.
    """
    header = field_header(size, **wcs_options)
    rng = np.random.default_rng(seed)
    rows = max(1, (1 << 22) // size)
    written = 0
    with open(path, "wb") as stream:
        stream.write(header.tostring().encode("ascii"))
        for start in range(0, size, rows):
            block = rng.standard_normal((min(rows, size - start), size), dtype=np.float32)
            stream.write(block.astype(">f4").tobytes())
            written += block.nbytes
        stream.write(b"\0" * (-written % 2880))
    return path


def positions(size, n, *, seed=1, margin=40):
    """``n`` random pixel positions inside a ``size`` image, as ra, dec arrays (deg)."""
    from astropy.wcs import WCS

    rng = np.random.default_rng(seed)
    x = rng.uniform(margin, size - margin, n)
    y = rng.uniform(margin, size - margin, n)
    world = WCS(field_header(size)).pixel_to_world_values(x, y)
    return np.asarray(world[0]), np.asarray(world[1])


_SETUP = """
import resource
import numpy as np
import astropy.units as u
from astropy.coordinates import SkyCoord
from clusterfinder import Cutout
radec = np.load({radec!r})
coords = SkyCoord(radec[0] * u.deg, radec[1] * u.deg)
images = {{"g": {g!r}, "i": {i!r}}}
"""

_FROM_IMAGES = """
_ru0 = resource.getrusage(resource.RUSAGE_SELF)
cut = Cutout.from_images(images, coords, cutout_size={size})
_ru1 = resource.getrusage(resource.RUSAGE_SELF)
calls = globals().setdefault("calls", [])
calls.append((_ru1.ru_utime - _ru0.ru_utime, _ru1.ru_stime - _ru0.ru_stime))
extra = {{"stamps": len(cut), "calls": calls}}
del cut
"""

_PER_STAMP = """
import clusterfinder.cutout.extract as _extract
_extract.plan_regions = lambda ref, band, members, origins, npix: ([], members)
"""

_LOOP_SETUP = """
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS
hduls = [fits.open(path, memmap=True) for path in images.values()]
planes = [(h[0].data, WCS(h[0].header)) for h in hduls]
subset = coords[:{nloop}]
"""

_LOOP = """
stamps = np.empty((len(subset), 2, {size}, {size}), dtype=np.float32)
for k, coord in enumerate(subset):
    for b, (data, wcs) in enumerate(planes):
        stamps[k, b] = Cutout2D(data, coord, {size}, wcs=wcs, mode="partial", fill_value=0).data
extra = {{"stamps": len(subset)}}
"""

_CHUNKED = """
total = 0.0
for start in range(0, len(coords), {chunk}):
    cut = Cutout.from_images(images, coords[start : start + {chunk}], cutout_size={size})
    total += float(cut.data.sum())
    del cut
extra = {{"stamps": len(coords)}}
"""


def _row(label, n, result):
    """A table row: first call (wall, CPU, of which system) and the median of the calls."""
    times, cpu = result["times"], result["cpu_times"]
    calls = result["extra"].get("calls")
    first_sys = f"{calls[0][1]:.2f}" if calls else "-"
    median_wall, median_cpu = result["median_s"], result["median_cpu_s"]
    return [
        label,
        n,
        len(times),
        f"{times[0]:.2f}",
        f"{cpu[0]:.2f}",
        first_sys,
        f"{n / times[0]:,.0f}",
        f"{median_wall:.2f}",
        f"{median_cpu:.2f}",
        f"{_median_user(result):.2f}",
        f"{n / median_wall:,.0f}",
        f"{n / median_cpu:,.0f}",
        f"{n / _median_user(result):,.0f}",
        f"{result['peak_mib']:.0f}",
    ]


def _median_user(result):
    """Median user CPU time of the calls (all CPU time where it was not split)."""
    calls = result["extra"].get("calls")
    if not calls:
        return result["median_cpu_s"]
    return statistics.median(user for user, _ in calls)


def _rates(n, result):
    """Stamps per second: first call (wall), median wall, median CPU, median user CPU."""
    return (
        n / result["times"][0],
        n / result["median_s"],
        n / result["median_cpu_s"],
        n / _median_user(result),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--tmp", default=None, help="folder for the temporary FITS files")
    args = parser.parse_args(argv)

    if args.quick:
        speed_field, n_speed, n_user, n_loop, mem_field, n_mem, chunk = (
            2048,
            5000,
            2000,
            500,
            4096,
            20000,
            5000,
        )
    else:
        speed_field, n_speed, n_user, n_loop, mem_field, n_mem, chunk = (
            8192,
            50000,
            20000,
            3000,
            20000,
            100000,
            10000,
        )
    size = 64

    tmp = Path(tempfile.mkdtemp(prefix="bench_cutout_", dir=args.tmp))
    rows = []
    figures = {}
    try:
        g = str(write_field(tmp / "speed_g.fits", speed_field, seed=1))
        i = str(write_field(tmp / "speed_i.fits", speed_field, seed=2))
        i_shift = str(write_field(tmp / "speed_i1.fits", speed_field, seed=3, crpix_shift=0.37))
        i_other = str(
            write_field(
                tmp / "speed_i2.fits", speed_field, seed=4, crpix_shift=0.37, scale_factor=1.02
            )
        )
        radec = str(tmp / "speed.npy")
        np.save(radec, np.array(positions(speed_field, n_speed)))
        body = _FROM_IMAGES.format(size=size)
        loop_body = _LOOP.format(size=size)
        field_txt = f"{speed_field}x{speed_field}"

        def setup(i_path, n=None):
            text = _SETUP.format(radec=radec, g=g, i=i_path)
            return text + (f"coords = coords[:{n}]\n" if n is not None else "")

        one = run_case(body, setup=setup(i), repeat=3)
        loop = run_case(loop_body, setup=setup(i) + _LOOP_SETUP.format(nloop=n_loop))
        shifted = run_case(body, setup=setup(i_shift), repeat=3)
        loop_shifted = run_case(loop_body, setup=setup(i_shift) + _LOOP_SETUP.format(nloop=n_loop))
        n_slow = n_speed // 5  # the per-stamp path is slow: a fifth of the positions
        per_stamp = run_case(body, setup=setup(i_shift, n_slow) + _PER_STAMP)
        coarser = run_case(body, setup=setup(i_other, n_slow), repeat=3)
        user_one = run_case(body, setup=setup(i, n_user), repeat=3)
        user_shifted = run_case(body, setup=setup(i_shift, n_user), repeat=3)
        # the same without transparent huge pages for numpy's large arrays
        no_thp = {"NUMPY_MADVISE_HUGEPAGE": "0"}
        user_shifted_4k = run_case(body, setup=setup(i_shift, n_user), repeat=3, env=no_thp)

        rows += [
            _row(f"one grid ({field_txt})", n_speed, one),
            _row("Cutout2D loop, same positions, one grid", n_loop, loop),
            _row(f"i shifted 0.37 pix, regions ({field_txt})", n_speed, shifted),
            _row("Cutout2D loop, same positions, i shifted", n_loop, loop_shifted),
            _row("i shifted 0.37 pix, stamp by stamp (before)", n_slow, per_stamp),
            _row("i shifted and 2 % coarser, regions", n_slow, coarser),
            _row(f"one grid, {n_user:,} positions", n_user, user_one),
            _row(f"i shifted 0.37 pix, regions, {n_user:,} positions", n_user, user_shifted),
            _row(
                f"the same, NUMPY_MADVISE_HUGEPAGE=0, {n_user:,} positions",
                n_user,
                user_shifted_4k,
            ),
        ]
        loop_rate = _rates(n_loop, loop)
        loop_shifted_rate = _rates(n_loop, loop_shifted)
        figures.update(
            one=_rates(n_speed, one),
            shifted=_rates(n_speed, shifted),
            per_stamp=_rates(n_slow, per_stamp),
            coarser=_rates(n_slow, coarser),
            user_one=_rates(n_user, user_one),
            user_shifted=_rates(n_user, user_shifted),
            user_shifted_4k=_rates(n_user, user_shifted_4k),
            loop=loop_rate,
            loop_shifted=loop_shifted_rate,
        )
        for path in (g, i, i_shift, i_other):
            Path(path).unlink()

        g = str(write_field(tmp / "big_g.fits", mem_field, seed=4))
        i = str(write_field(tmp / "big_i.fits", mem_field, seed=5))
        radec = str(tmp / "big.npy")
        np.save(radec, np.array(positions(mem_field, n_mem, seed=6)))
        big_setup = _SETUP.format(radec=radec, g=g, i=i)
        image_mib = 2 * mem_field * mem_field * 4 / 2**20
        chunked = run_case(_CHUNKED.format(chunk=chunk, size=size), setup=big_setup)
        oneshot = run_case(_FROM_IMAGES.format(size=32), setup=big_setup)
        field_txt = f"{mem_field}x{mem_field}"
        rows.append(
            _row(f"memory: 64x64 in chunks of {chunk:,} ({field_txt}, 2 bands)", n_mem, chunked)
        )
        rows.append(_row(f"memory: 32x32 in one call ({field_txt}, 2 bands)", n_mem, oneshot))
        figures.update(
            image_mib=image_mib,
            chunked_peak_mib=chunked["peak_mib"],
            chunked_baseline_mib=chunked["rss_before_mib"],
            oneshot_peak_mib=oneshot["peak_mib"],
            shifted_peak_mib=shifted["peak_mib"],
            shifted_baseline_mib=shifted["rss_before_mib"],
            result_mib=n_speed * 2 * size * size * 5 / 2**20,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    header = [
        "case (2 bands, 64x64 unless said)",
        "stamps",
        "calls",
        "first call wall (s)",
        "first call CPU (s)",
        "of which system (s)",
        "first call stamps/s",
        "median wall (s)",
        "median CPU (s)",
        "of which user (s)",
        "stamps/s (wall)",
        "stamps/s (CPU)",
        "stamps/s (user CPU)",
        "peak RSS (MiB)",
    ]
    table = markdown_table(header, rows)
    f = figures
    summary = (
        f"Two bands on grids shifted by a fraction of a pixel, FITS paths and SkyCoord "
        f"positions in, {n_speed:,} positions (median of the calls): "
        f"{f['shifted'][1]:,.0f} stamps/s in wall time, {f['shifted'][2]:,.0f}/s of CPU time, "
        f"{f['shifted'][3]:,.0f}/s of user CPU time (target >= 20,000/s); "
        f"{f['shifted'][1] / f['loop_shifted'][1]:.0f}x the Cutout2D loop in wall time, "
        f"{f['shifted'][2] / f['loop_shifted'][2]:.0f}x in CPU time and "
        f"{f['shifted'][3] / f['loop_shifted'][2]:.0f}x in user CPU time (target >= 30x). "
        f"Stamp by stamp (before regions) it was {f['per_stamp'][3]:,.0f}/s of user CPU time: "
        f"regions are {f['shifted'][3] / f['per_stamp'][3]:.1f}x faster. One grid: "
        f"{f['one'][1]:,.0f}/s in wall time, {f['one'][2]:,.0f}/s of CPU time, "
        f"{f['one'][3]:,.0f}/s of user CPU time, {f['one'][3] / f['loop'][2]:.0f}x the loop "
        f"(user CPU). At {n_user:,} positions: {f['user_shifted'][3]:,.0f}/s (shifted) and "
        f"{f['user_one'][3]:,.0f}/s (one grid) of user CPU time, {f['user_shifted'][2]:,.0f}/s "
        f"and {f['user_one'][2]:,.0f}/s of CPU time. "
        f"The first call of a process (what one timed call measures) gave "
        f"{f['shifted'][0]:,.0f}/s (shifted) and {f['one'][0]:,.0f}/s (one grid) in wall time; "
        f"its system time is the kernel providing fresh memory for the "
        f"{f['result_mib']:,.0f} MiB result (pixels and mask), with transparent huge pages "
        f"that numpy asks for, compacted first when memory is fragmented; with "
        f"NUMPY_MADVISE_HUGEPAGE=0 the {n_user:,}-position shifted case ran at "
        f"{f['user_shifted_4k'][2]:,.0f}/s of CPU time ({f['user_shifted_4k'][0]:,.0f}/s wall, "
        f"first call). Wall times are inflated by other jobs when the load average exceeds "
        f"the 2 cores. Peak RSS of the shifted case {f['shifted_peak_mib']:.0f} MiB "
        f"(interpreter and libraries {f['shifted_baseline_mib']:.0f} MiB; the result itself "
        f"{f['result_mib']:,.0f} MiB). "
        f"Cutting {n_mem:,} stamps from the {mem_field}x{mem_field} two-band field "
        f"({f['image_mib']:,.0f} MiB of FITS): peak RSS {f['chunked_peak_mib']:.0f} "
        f"MiB in chunks of {chunk:,} 64x64 stamps (interpreter and libraries "
        f"{f['chunked_baseline_mib']:.0f} MiB), {f['oneshot_peak_mib']:.0f} MiB for "
        f"32x32 stamps in one call."
    )
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"## Cutout.from_images ({'quick' if args.quick else 'full'} run, {date})\n\n"
        f"{machine_summary()}\n\n{table}\n\n{summary}\n"
    )
    print(text)
    if not args.no_write:
        write_results_block(BLOCK, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
