"""Benchmark `Cutout.from_images`: throughput, speed-up over a Cutout2D loop, peak memory.

Cases (a synthetic two-band field written to FITS by this script, memory-mapped):

- ``from_images``: 2-band 64x64 stamps at random sky positions, both bands on one
  pixel grid (pixels copied, no resampling); stamps per second;
- ``Cutout2D loop``: the same positions cut one by one with `astropy.nddata.Cutout2D`
  (one call per object and band, the usual hand-written loop), on a subset of the
  positions; the ratio of the two rates is the speed-up;
- ``from_images, resampled i``: the i band on a different grid (shifted by a fraction
  of a pixel and 2 % coarser), so every i stamp is resampled;
- peak memory of cutting 100,000 stamps from the 20k x 20k two-band field (3.2 GB of
  FITS): in chunks of 10,000 64x64 stamps (as a scan does), and in one call for
  32x32 stamps.

Each case runs in a fresh Python process (``ru_maxrss`` is its own). The FITS files are
read through the page cache (the machine has enough memory to hold them after they
are written), so times are for a warm cache.

Usage::

    python benchmarks/bench_cutout.py            # full run (writes 3.2 GB to a temp folder)
    python benchmarks/bench_cutout.py --quick    # small sizes, a smoke run
    python benchmarks/bench_cutout.py --no-write # print only, leave RESULTS.md alone
"""

import argparse
import datetime
import shutil
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
import numpy as np
import astropy.units as u
from astropy.coordinates import SkyCoord
from clusterfinder import Cutout
radec = np.load({radec!r})
coords = SkyCoord(radec[0] * u.deg, radec[1] * u.deg)
images = {{"g": {g!r}, "i": {i!r}}}
"""

_FROM_IMAGES = """
_cpu = time.process_time()
cut = Cutout.from_images(images, coords, size={size})
cpu_times = globals().setdefault("cpu_times", [])
cpu_times.append(time.process_time() - _cpu)
extra = {{"stamps": len(cut), "cpu_s": sorted(cpu_times)[len(cpu_times) // 2]}}
del cut
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
_cpu = time.process_time()
stamps = np.empty((len(subset), 2, {size}, {size}), dtype=np.float32)
for k, coord in enumerate(subset):
    for b, (data, wcs) in enumerate(planes):
        stamps[k, b] = Cutout2D(data, coord, {size}, wcs=wcs, mode="partial", fill_value=0).data
extra = {{"stamps": len(subset), "cpu_s": time.process_time() - _cpu}}
"""

_CHUNKED = """
_cpu = time.process_time()
total = 0.0
for start in range(0, len(coords), {chunk}):
    cut = Cutout.from_images(images, coords[start : start + {chunk}], size={size})
    total += float(cut.data.sum())
    del cut
extra = {{"stamps": len(coords), "cpu_s": time.process_time() - _cpu}}
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--tmp", default=None, help="folder for the temporary FITS files")
    args = parser.parse_args(argv)

    if args.quick:
        speed_field, n_speed, n_loop, mem_field, n_mem, chunk = 2048, 5000, 500, 4096, 20000, 5000
    else:
        speed_field, n_speed, n_loop, mem_field, n_mem, chunk = (
            8192,
            50000,
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
        i_other = str(
            write_field(
                tmp / "speed_i2.fits", speed_field, seed=3, crpix_shift=0.37, scale_factor=1.02
            )
        )
        radec = str(tmp / "speed.npy")
        np.save(radec, np.array(positions(speed_field, n_speed)))

        setup = _SETUP.format(radec=radec, g=g, i=i)
        fast = run_case(_FROM_IMAGES.format(size=size), setup=setup, repeat=3)
        fast_rate = n_speed / fast["median_s"]
        loop = run_case(
            _LOOP.format(size=size), setup=setup + _LOOP_SETUP.format(nloop=n_loop), repeat=1
        )
        loop_rate = n_loop / loop["median_s"]
        n_res = n_speed // 5  # resampling is slower: a fifth of the positions
        setup_other = _SETUP.format(radec=radec, g=g, i=i_other) + f"coords = coords[:{n_res}]\n"
        resampled = run_case(_FROM_IMAGES.format(size=size), setup=setup_other, repeat=1)
        resampled_rate = n_res / resampled["median_s"]
        figures.update(
            stamps_per_s=fast_rate,
            loop_stamps_per_s=loop_rate,
            speedup=fast_rate / loop_rate,
            cpu_speedup=(n_speed / fast["extra"]["cpu_s"]) / (n_loop / loop["extra"]["cpu_s"]),
            cpu_stamps_per_s=n_speed / fast["extra"]["cpu_s"],
            resampled_stamps_per_s=resampled_rate,
        )
        field_txt = f"{speed_field}x{speed_field}"
        rows.append(
            [
                f"from_images, 2 bands 64x64, one grid ({field_txt})",
                n_speed,
                f"{fast['median_s']:.3f}",
                f"{fast['extra']['cpu_s']:.3f}",
                f"{fast_rate:,.0f}",
                f"{n_speed / fast['extra']['cpu_s']:,.0f}",
                f"{fast['peak_mib']:.0f}",
            ]
        )
        rows.append(
            [
                f"Cutout2D loop, same positions (subset of {n_loop})",
                n_loop,
                f"{loop['median_s']:.3f}",
                f"{loop['extra']['cpu_s']:.3f}",
                f"{loop_rate:,.0f}",
                f"{n_loop / loop['extra']['cpu_s']:,.0f}",
                f"{loop['peak_mib']:.0f}",
            ]
        )
        rows.append(
            [
                f"from_images, i resampled (other grid, {field_txt})",
                n_res,
                f"{resampled['median_s']:.3f}",
                f"{resampled['extra']['cpu_s']:.3f}",
                f"{resampled_rate:,.0f}",
                f"{n_res / resampled['extra']['cpu_s']:,.0f}",
                f"{resampled['peak_mib']:.0f}",
            ]
        )
        for path in (g, i, i_other):
            Path(path).unlink()

        g = str(write_field(tmp / "big_g.fits", mem_field, seed=4))
        i = str(write_field(tmp / "big_i.fits", mem_field, seed=5))
        radec = str(tmp / "big.npy")
        np.save(radec, np.array(positions(mem_field, n_mem, seed=6)))
        setup = _SETUP.format(radec=radec, g=g, i=i)
        image_mib = 2 * mem_field * mem_field * 4 / 2**20
        chunked = run_case(_CHUNKED.format(chunk=chunk, size=size), setup=setup, repeat=1)
        oneshot = run_case(_FROM_IMAGES.format(size=32), setup=setup, repeat=1)
        field_txt = f"{mem_field}x{mem_field}"
        rows.append(
            [
                f"memory: 64x64 in chunks of {chunk:,} ({field_txt}, 2 bands)",
                n_mem,
                f"{chunked['median_s']:.2f}",
                f"{chunked['extra']['cpu_s']:.2f}",
                f"{n_mem / chunked['median_s']:,.0f}",
                f"{n_mem / chunked['extra']['cpu_s']:,.0f}",
                f"{chunked['peak_mib']:.0f}",
            ]
        )
        rows.append(
            [
                f"memory: 32x32 in one call ({field_txt}, 2 bands)",
                n_mem,
                f"{oneshot['median_s']:.2f}",
                f"{oneshot['extra']['cpu_s']:.2f}",
                f"{n_mem / oneshot['median_s']:,.0f}",
                f"{n_mem / oneshot['extra']['cpu_s']:,.0f}",
                f"{oneshot['peak_mib']:.0f}",
            ]
        )
        figures.update(
            image_mib=image_mib,
            chunked_peak_mib=chunked["peak_mib"],
            chunked_baseline_mib=chunked["rss_before_mib"],
            oneshot_peak_mib=oneshot["peak_mib"],
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    header = [
        "case",
        "stamps",
        "wall (s)",
        "CPU (s)",
        "stamps/s (wall)",
        "stamps/s (CPU)",
        "peak RSS (MiB)",
    ]
    table = markdown_table(header, rows)
    summary = (
        f"Speed-up over the Cutout2D loop: {figures['speedup']:.0f}x in wall time, "
        f"{figures['cpu_speedup']:.0f}x in CPU time (target >= 30x); "
        f"{figures['stamps_per_s']:,.0f} two-band 64x64 stamps/s in wall time, "
        f"{figures['cpu_stamps_per_s']:,.0f}/s of CPU time (target >= 20,000/s; the "
        f"extraction is single-threaded, so CPU time is what other load on the machine "
        f"does not distort). "
        f"Cutting {n_mem:,} stamps from the {mem_field}x{mem_field} two-band field "
        f"({figures['image_mib']:,.0f} MiB of FITS): peak RSS {figures['chunked_peak_mib']:.0f} "
        f"MiB in chunks of {chunk:,} 64x64 stamps (interpreter and libraries "
        f"{figures['chunked_baseline_mib']:.0f} MiB), {figures['oneshot_peak_mib']:.0f} MiB for "
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
