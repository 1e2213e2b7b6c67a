"""Benchmark of survey-scale scanning (clusterfinder.scan).

Measures, on this machine:

1. the end-to-end scan rate (sources/s from FITS files to the merged catalogue, with
   `clusterfinder.scan.scan`) and its ratio to model-only inference
   (`ClusterClassifier.predict_proba` on the same stamps, already in memory), in the
   same run (target >= 0.8);
   the host's share of a larger scan (`HostWorkOnly`, with and without ``keep_all``)
   and the ECSV write of its catalogue by astropy and by ``write_ecsv``; the host's
   share of ``bench_gpu.py``'s scan (100,000 sources on a 20k x 20k field) against the
   time to bring every page of that field's files into memory once;
2. the peak memory of a scan of a 20k x 20k two-band field (target < 2 GB), in a fresh
   process;
3. the speed-up of a scan on a Dask LocalCluster with 2 workers over 1 worker;
4. a scan that detects its own sources on a simulated PAndAS field, with detection
   in this process and in 1 or 2 worker processes (``scan(workers=)``), and the CPU
   time of detection alone;
5. projected wall times for the paper's job (all PAndAS sources within 30 kpc of M31)
   and for Wang et al. 2022's 21,245,632 sources, on this CPU, with given sources
   and with detection.

The fields are synthetic memory-mapped FITS files (Gaussian sources on a flat sky,
celestial TAN WCS, PHOTZP = 30): their content does not change the cost of a scan,
which is set by the number of sources, the stamp size, the model and the I/O. The
model is the default bundled one when present, else an untrained ``small_cnn`` of the
same architecture (the speed of a network does not depend on its weights).

Run ``python benchmarks/bench_scan.py`` (``--quick`` for a smoke run).
"""

import argparse
import datetime
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _common import machine_summary, markdown_table, median_time, run_case, write_results_block

PIXEL_SCALE_DEG = 0.186 / 3600
#: Wang et al. 2022 (A&A 658, A51) classified this many PAndAS sources.
WANG_SOURCES = 21_245_632
#: PAndAS covers ~400 deg^2 around M31 and M33 (McConnachie et al. 2018).
PANDAS_AREA_DEG2 = 400.0
#: 30 kpc at 785 kpc is 2.19 deg: the paper's search radius.
R30_DEG = 2.19


def write_memmap_field(folder, name, *, size, n_sources, seed, crval=(10.68, 41.27)):
    """Write NAME_g.fits and NAME_i.fits of ``size`` x ``size`` without holding them in memory."""
    from astropy.io import fits
    from astropy.table import QTable
    from astropy.wcs import WCS

    rng = np.random.default_rng(seed)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(crval)
    wcs.wcs.crpix = [(size + 1) / 2, (size + 1) / 2]
    wcs.wcs.cdelt = [-PIXEL_SCALE_DEG, PIXEL_SCALE_DEG]
    x = rng.uniform(6, size - 7, n_sources)
    y = rng.uniform(6, size - 7, n_sources)
    yy, xx = np.mgrid[-5:6, -5:6]
    paths = {}
    for band in ("g", "i"):
        header = fits.Header()
        header["SIMPLE"] = True
        header["BITPIX"] = -32
        header["NAXIS"] = 2
        header["NAXIS1"] = size
        header["NAXIS2"] = size
        header.update(wcs.to_header())
        header["PHOTZP"] = 30.0
        path = Path(folder) / f"{name}_{band}.fits"
        nbytes = size * size * 4
        padded = -(-nbytes // 2880) * 2880
        with open(path, "wb") as stream:
            stream.write(header.tostring().encode("ascii"))
            stream.seek(len(header.tostring()) + padded - 1)
            stream.write(b"\0")
        with fits.open(path, mode="update", memmap=True) as hdul:
            data = hdul[0].data
            flux = 10 ** (-0.4 * (rng.uniform(18, 23, n_sources) - 30))
            for xs, ys, f in zip(x, y, flux, strict=True):
                ix, iy = round(xs), round(ys)
                stamp = np.exp(-((xx + ix - xs) ** 2 + (yy + iy - ys) ** 2) / 4.5) * f / 14.1
                data[iy - 5 : iy + 6, ix - 5 : ix + 6] += stamp.astype(np.float32)
        paths[band] = str(path)
    return paths, QTable({"coord": wcs.pixel_to_world(x, y)})


def load_model(architecture="small_cnn"):
    from clusterfinder import ClusterClassifier

    if architecture == "small_cnn":
        try:
            return ClusterClassifier.from_pretrained(), "default (bundled)"
        except (FileNotFoundError, ValueError):
            pass
    return ClusterClassifier(architecture, cutout_size=32), f"{architecture} (untrained)"


def timed_scan(classifier, paths, out, *, device="cpu", keep_all=True, **options):
    """Wall seconds and catalogue of a fresh scan of one field into ``out`` (then removed)."""
    from clusterfinder.scan import scan

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        catalog = scan(
            classifier, [paths], out, device=device, keep_all=keep_all, resume=False, **options
        )
    seconds = time.perf_counter() - start
    shutil.rmtree(out)
    return seconds, catalog


class HostWorkOnly:
    """A classifier whose network costs nothing: what a scan does besides the network.

    ``predict_proba`` does the host-side work of the real model's (checks, the arrays in
    the model's band order, the distinct PSF images, the contiguous batches) and returns
    0.5 without what runs on the device: the PSF channels, the input transform and the
    network. A scan with it measures the rate a GPU scan cannot exceed, whatever the
    GPU, on this host.
    """

    def __init__(self, classifier):
        self._classifier = classifier

    def __getattr__(self, name):
        return getattr(self._classifier, name)

    def predict_proba(self, cutout, *, batch_size=256, device="auto", progress_bar=False):
        from clusterfinder.classifier.predict import host_batches

        data, mask, _ = self._classifier._inputs(cutout)
        for _ in host_batches(data, mask, batch_size):
            pass
        return np.full(len(data), 0.5)


def bench_rate(folder, *, size, n_sources, repeat, batch_size):
    """Scan rate (FITS to catalogue) vs model-only inference on the same stamps."""
    import torch

    from clusterfinder import Cutout
    from clusterfinder.psf import attach_psf
    from clusterfinder.scan import TiledImages
    from clusterfinder.scan.find import field_psfs, needs_psf

    clf, model_name = load_model()
    paths, sources = write_memmap_field(folder, "rate", size=size, n_sources=n_sources, seed=1)
    cut = Cutout.from_images(paths, sources["coord"], cutout_size=clf.cutout_size)
    if needs_psf(clf):
        # A seeing-aware model reads each stamp's PSF: measure it as the scan does (the
        # central window of each image), so that both sides classify the same input.
        with TiledImages(paths, bands=clf.bands) as field:
            attach_psf(cut, field_psfs(field))
    clf.predict_proba(cut[:batch_size], batch_size=batch_size, device="cpu")  # warm up
    scan_times, model_times = [], []
    for k in range(repeat):
        start = time.perf_counter()
        clf.predict_proba(cut, batch_size=batch_size, device="cpu")
        model_times.append(time.perf_counter() - start)
        options = {"sources": sources, "batch_size": batch_size}
        scan_times.append(timed_scan(clf, paths, Path(folder) / f"rate_out{k}", **options)[0])
    scan_rate = n_sources / statistics.median(scan_times)
    model_rate = n_sources / statistics.median(model_times)
    host_times = [
        timed_scan(HostWorkOnly(clf), paths, Path(folder) / f"host_out{k}", **options)[0]
        for k in range(repeat)
    ]
    host_rate = n_sources / statistics.median(host_times)

    # ResNet-50 (the paper's architecture) with torchvision's stem, as the project trains
    # it (train_default_model.py, bench_quality.py), model only, for the projections.
    from clusterfinder import ClusterClassifier

    resnet = ClusterClassifier("resnet50", cutout_size=clf.cutout_size, stem="standard")
    n_resnet = min(len(cut), 512)
    resnet.predict_proba(cut[:32], batch_size=32, device="cpu")
    resnet_time, _ = median_time(
        lambda: resnet.predict_proba(cut[:n_resnet], batch_size=128, device="cpu"), repeat=repeat
    )
    resnet_rate = n_resnet / resnet_time
    return {
        "model": model_name,
        "cutout_size": clf.cutout_size,
        "n_sources": n_sources,
        "field": size,
        "scan_rate": scan_rate,
        "model_rate": model_rate,
        "ratio": scan_rate / model_rate,
        "host_rate": host_rate,
        "scan_times": scan_times,
        "model_times": model_times,
        "resnet_rate": resnet_rate,
        "torch_threads": torch.get_num_threads(),
    }


def bench_host_work(folder, *, size, n_sources, batch_size, repeat):
    """The host's work of a large scan (`HostWorkOnly`), and the ECSV write of its catalogue.

    With and without ``keep_all`` (which writes every source to ``candidates.ecsv``);
    then that catalogue written by astropy's ECSV writer and by
    `clusterfinder.catalog.ecsv.write_ecsv` (which the scan uses), in memory.
    """
    import io

    from astropy.table import QTable

    from clusterfinder.catalog.ecsv import write_ecsv

    clf, _ = load_model()
    paths, sources = write_memmap_field(folder, "host", size=size, n_sources=n_sources, seed=1)
    host = HostWorkOnly(clf)
    options = {"sources": sources, "batch_size": batch_size}
    timed_scan(host, paths, Path(folder) / "host_warm", keep_all=False, **options)
    rates = {}
    for keep_all in (False, True):
        times = [
            timed_scan(host, paths, Path(folder) / f"host_{k}", keep_all=keep_all, **options)[0]
            for k in range(repeat)
        ]
        rates[keep_all] = n_sources / statistics.median(times)
    _, catalog = timed_scan(host, paths, Path(folder) / "host_all", **options)
    table = QTable(catalog, copy=False)
    texts = {}

    def write(name, writer):
        out = io.StringIO()
        writer(out)
        texts[name] = out.getvalue()

    astropy_s, _ = median_time(
        lambda: write("astropy", lambda out: table.write(out, format="ascii.ecsv")),
        repeat=repeat,
    )
    ours_s, _ = median_time(
        lambda: write("ours", lambda out: write_ecsv(table, out)), repeat=repeat
    )
    return {
        "field": size,
        "n_sources": n_sources,
        "batch_size": batch_size,
        "rate": rates[False],
        "rate_keep_all": rates[True],
        "rows": len(table),
        "columns": len(table.colnames),
        "astropy_s": astropy_s,
        "ours_s": ours_s,
        "identical": texts["astropy"] == texts["ours"],
    }


def bench_sparse_host_work(folder, name, *, n_sources, batch_size, tile_size, repeat):
    """The host's work of a scan of a large field against bringing its pages into memory.

    On the field ``name`` already written in ``folder`` (that of `bench_memory`),
    ``n_sources`` positions drawn uniformly are scanned by `HostWorkOnly`
    (candidates only), as ``bench_gpu.py`` scans on a GPU. The floor is the time to
    bring every page of both files into memory once through their memory maps, tile
    by tile, in one thread (one pixel read per 4 KiB page, then the pages released, as
    a scan releases them): at this density the stamps touch every page, so no scan in
    one thread classifies these sources faster than that.
    """
    from astropy.table import QTable

    from clusterfinder.images import release_pages
    from clusterfinder.scan import TiledImages

    clf, _ = load_model()
    paths = {band: str(Path(folder) / f"{name}_{band}.fits") for band in ("g", "i")}
    with TiledImages(paths, tile_size=tile_size) as field:
        rng = np.random.default_rng(7)
        ny, nx = field.shape
        coords = field.reference.wcs.pixel_to_world(
            rng.uniform(0, nx - 1, n_sources), rng.uniform(0, ny - 1, n_sources)
        )

        def touch_every_page():
            for tile in field.tiles:
                for image in field.images.values():
                    step = 4096 // image.data.itemsize
                    float(image.data[tile.y0 : tile.y1, tile.x0 : tile.x1 : step].sum())
                    release_pages(image.data)

        read_s, _ = median_time(touch_every_page, repeat=repeat)
    sources = QTable({"coord": coords})
    options = {"sources": sources, "batch_size": batch_size, "tile_size": tile_size}
    host = HostWorkOnly(clf)
    timed_scan(host, paths, Path(folder) / "sparse_warm", keep_all=False, **options)
    times = [
        timed_scan(host, paths, Path(folder) / f"sparse_{k}", keep_all=False, **options)[0]
        for k in range(repeat)
    ]
    return {
        "field": field.shape[0],
        "n_sources": n_sources,
        "batch_size": batch_size,
        "tile_size": tile_size,
        "rate": n_sources / statistics.median(times),
        "read_s": read_s,
        "read_rate": n_sources / read_s,
        "gib": 2 * nx * ny * 4 / 2**30,
    }


def bench_memory(folder, *, size, n_sources, tile_size):
    """Peak resident memory of a scan of one size x size two-band field (fresh process)."""
    write_memmap_field(folder, "big", size=size, n_sources=n_sources, seed=2)
    # The sources are re-derived in the child from the same seed without rewriting files.
    setup = f"""
import warnings
import numpy as np
from astropy.wcs import WCS
from astropy.table import QTable
from clusterfinder.scan import scan
import bench_scan
clf, _ = bench_scan.load_model()
paths = {{b: {str(folder)!r} + f"/big_{{b}}.fits" for b in ("g", "i")}}
wcs = WCS(paths["g"])
rng = np.random.default_rng(2)
x = rng.uniform(6, {size} - 7, {n_sources})
y = rng.uniform(6, {size} - 7, {n_sources})
sources = QTable({{"coord": wcs.pixel_to_world(x, y)}})
"""
    body = f"""
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    cat = scan(clf, [paths], {str(folder)!r} + "/big_out", sources=sources, tile_size={tile_size},
               device="cpu", keep_all=True, resume=False)
# ru_maxrss of a child starts from its parent's resident set at the fork; VmHWM is the
# high-water mark of this process's own memory since it started.
with open("/proc/self/status") as stream:
    hwm = [line.split()[1] for line in stream if line.startswith("VmHWM")]
extra = {{"base_kib": extra["base_kib"], "rows": len(cat), "vmhwm_kib": int(hwm[0])}}
"""
    setup += """
with open("/proc/self/status") as stream:
    _base = [line.split()[1] for line in stream if line.startswith("VmHWM")]
extra = {"base_kib": int(_base[0])}
"""
    result = run_case(body, setup=setup, repeat=1, env={"PYTHONWARNINGS": "ignore"})
    return {
        "field": size,
        "n_sources": n_sources,
        "tile_size": tile_size,
        "peak_mib": result["extra"]["vmhwm_kib"] / 1024,
        "baseline_mib": result["extra"]["base_kib"] / 1024,
        "seconds": result["median_s"],
        "rows": result["extra"].get("rows"),
        "file_mib": 2 * size * size * 4 / 2**20,
    }


def bench_detect_ahead(folder, *, size, tile_size, workers=(None, 1, 2)):
    """A scan that detects its sources: wall time with detection in 0, 1, 2 worker processes.

    The field is a simulated PAndAS field (its sources are what detection costs), the
    model the bundled default; the catalogue must not depend on ``workers``.
    """
    from clusterfinder.detection import detect_sources
    from clusterfinder.simulate import simulate_field

    clf, model_name = load_model()
    paths = simulate_field(size=size, seed=5).write(Path(folder) / "detect", name="sim")
    paths = {band: str(path) for band, path in paths.items()}
    # Detection alone, one process, for the share of the scan it takes.
    detect_sources(paths)  # warm up (imports)
    start = time.process_time()
    detect_sources(paths)
    detect_cpu = time.process_time() - start
    results = {"field": size, "tile_size": tile_size, "model": model_name}
    results["detect_cpu_per_mpix"] = detect_cpu / (size * size / 1e6)
    reference = None
    for n in workers:
        out = Path(folder) / f"detect_out_{n}"
        results[n], cat = timed_scan(clf, paths, out, tile_size=tile_size, workers=n)
        if reference is None:
            reference = cat
            results["sources"] = len(cat)
        else:
            key = ["y", "x"]
            a, b = reference.copy(), cat.copy()
            a.sort(key)
            b.sort(key)
            same = len(a) == len(b) and np.array_equal(
                np.asarray(a["prob_cluster"]), np.asarray(b["prob_cluster"])
            )
            results.setdefault("identical", True)
            results["identical"] &= bool(same)
    return results


def bench_dask(folder, *, n_fields, size, n_sources, tile_size):
    """Wall time of the same scan on a LocalCluster with 1 and with 2 process workers."""
    from astropy.table import vstack
    from distributed import Client, LocalCluster

    from clusterfinder.scan import scan

    clf, _ = load_model()
    model_path = clf.save(Path(folder) / "dask_model", overwrite=True)
    fields, tables = [], []
    for k in range(n_fields):
        crval = (10.0 + 0.1 * k, 41.0)
        paths, sources = write_memmap_field(
            folder, f"d{k:02d}", size=size, n_sources=n_sources, seed=10 + k, crval=crval
        )
        fields.append(paths)
        tables.append(sources)
    sources = vstack(tables)
    times = {}
    reference = None
    for n_workers in (1, 2):
        with (
            LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            # Warm the workers up (imports, model load) on a one-field scan first.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scan(
                    str(model_path),
                    fields[:1],
                    Path(folder) / f"warm{n_workers}",
                    sources=tables[0][:50],
                    tile_size=tile_size,
                    client=client,
                    device="cpu",
                    resume=False,
                )
                start = time.perf_counter()
                cat = scan(
                    str(model_path),
                    fields,
                    Path(folder) / f"dask{n_workers}",
                    sources=sources,
                    tile_size=tile_size,
                    client=client,
                    device="cpu",
                    keep_all=True,
                    resume=False,
                )
                times[n_workers] = time.perf_counter() - start
        if reference is None:
            reference = cat
        else:
            same = np.array_equal(
                np.asarray(reference["prob_cluster"]), np.asarray(cat["prob_cluster"])
            )
            times["identical"] = bool(same)
    times["sources"] = len(sources)
    times["units"] = n_fields * (-(-size // tile_size)) ** 2
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    quick = args.quick
    folder = Path(tempfile.mkdtemp(prefix="bench_scan_"))
    try:
        # Memory first, while this process is small: a child's ru_maxrss starts from the
        # resident set of the parent it was forked from.
        print("peak memory ...", flush=True)
        memory = bench_memory(
            folder,
            size=4096 if quick else 20000,
            n_sources=2000 if quick else 20000,
            tile_size=2048 if quick else 4096,
        )
        print(memory, flush=True)
        print("host work of a sparse scan of that field, page-reading floor ...", flush=True)
        sparse = bench_sparse_host_work(
            folder,
            "big",
            n_sources=10000 if quick else 100000,
            batch_size=4096,
            tile_size=2048 if quick else 4096,
            repeat=1 if quick else 3,
        )
        print(sparse, flush=True)
        for item in folder.glob("big_*"):
            shutil.rmtree(item) if item.is_dir() else item.unlink()
        print("scan rate vs model-only inference ...", flush=True)
        rate = bench_rate(
            folder,
            size=1024 if quick else 4096,
            n_sources=1000 if quick else 6000,
            repeat=1 if quick else 3,
            batch_size=256,
        )
        print(rate, flush=True)
        print("host work of a large scan, ECSV write ...", flush=True)
        host = bench_host_work(
            folder,
            size=2048 if quick else 4096,
            n_sources=6000 if quick else 60000,
            batch_size=4096,
            repeat=1 if quick else 5,
        )
        print(host, flush=True)
        print("dask 1 vs 2 workers ...", flush=True)
        dask = bench_dask(
            folder,
            n_fields=2 if quick else 4,
            size=1024 if quick else 2048,
            n_sources=500 if quick else 2500,
            tile_size=512 if quick else 1024,
        )
        print(dask, flush=True)
        print("scan with detection: 0, 1, 2 worker processes ...", flush=True)
        ahead = bench_detect_ahead(
            folder, size=1024 if quick else 4096, tile_size=512 if quick else 1024
        )
        print(ahead, flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    # Projections from the measured end-to-end rate.
    density = WANG_SOURCES / PANDAS_AREA_DEG2
    area30 = np.pi * R30_DEG**2
    n30_low = density * area30
    n30_high = 3 * n30_low
    small_rate = rate["scan_rate"]
    resnet_scan_rate = rate["resnet_rate"] * rate["ratio"]
    # A scan that detects its sources, in Mpix (one band) per second, at its best workers=.
    best = min(ahead[None], ahead[1], ahead[2])
    detect_mpix_rate = ahead["field"] ** 2 / 1e6 / best
    mpix_per_deg2 = (3600 / 0.186) ** 2 / 1e6

    def hours(n, r):
        return f"{n / r / 3600:.1f} h"

    def detect_hours(deg2):
        return hours(deg2 * mpix_per_deg2, detect_mpix_rate)

    speedup = dask[1] / dask[2]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"Run {now}{' (--quick)' if quick else ''} on {machine_summary()}; load average at the "
        f"end {load:.1f}; torch threads {rate['torch_threads']}.",
        "",
        markdown_table(
            ["measure", "value", "target"],
            [
                [
                    f"scan rate, FITS -> catalogue ({rate['model']}, {rate['cutout_size']} px, "
                    f"{rate['n_sources']} sources on a {rate['field']}^2 field)",
                    f"{rate['scan_rate']:.0f} sources/s",
                    "",
                ],
                ["model-only inference, same stamps", f"{rate['model_rate']:.0f} sources/s", ""],
                ["ratio scan / model-only", f"{rate['ratio']:.2f}", ">= 0.8"],
                [
                    "scan rate with a network that costs nothing (HostWorkOnly: the host's "
                    "work, the most a GPU scan can reach on this host)",
                    f"{rate['host_rate']:.0f} sources/s",
                    "",
                ],
                [
                    f"the same with {host['n_sources']} sources on a {host['field']}^2 field, "
                    f"batches of {host['batch_size']}: candidates only / keep_all",
                    f"{host['rate']:.0f} / {host['rate_keep_all']:.0f} sources/s",
                    "",
                ],
                [
                    f"ECSV write of that keep_all catalogue ({host['rows']} rows, "
                    f"{host['columns']} columns): astropy's writer / write_ecsv",
                    f"{host['astropy_s']:.2f} s / {host['ours_s']:.2f} s: "
                    f"{host['astropy_s'] / host['ours_s']:.1f}x; same bytes: {host['identical']}",
                    "",
                ],
                [
                    f"HostWorkOnly with {sparse['n_sources']} sources on a {sparse['field']}^2 "
                    f"field, tiles {sparse['tile_size']}, candidates only; "
                    f"every page of the field's files brought into memory once "
                    f"({sparse['gib']:.1f} GiB, one thread): the floor at this density",
                    f"{sparse['rate']:.0f} sources/s; floor {sparse['read_s']:.2f} s = "
                    f"{sparse['read_rate']:.0f} sources/s",
                    "",
                ],
                [
                    f"peak memory, {memory['field']}^2 two-band field "
                    f"({memory['file_mib']:.0f} MiB of FITS), {memory['n_sources']} sources, "
                    f"tiles {memory['tile_size']}",
                    f"{memory['peak_mib']:.0f} MiB (process after imports: "
                    f"{memory['baseline_mib']:.0f} MiB); {memory['seconds']:.0f} s",
                    "< 2048 MiB",
                ],
                [
                    f"Dask LocalCluster, {dask['sources']} sources in {dask['units']} units: "
                    "1 worker / 2 workers",
                    f"{dask[1]:.1f} s / {dask[2]:.1f} s: speed-up {speedup:.2f}; same "
                    f"catalogue: {dask.get('identical')}",
                    "",
                ],
                [
                    "ResNet-50 (torchvision stem, batch 128) model-only inference",
                    f"{rate['resnet_rate']:.0f} sources/s",
                    "",
                ],
                [
                    f"detection alone, simulated {ahead['field']}^2 g/i field, one process",
                    f"{ahead['detect_cpu_per_mpix']:.2f} CPU s per Mpix",
                    "<= 1",
                ],
                [
                    f"scan with detection ({ahead['model']}), same field, {ahead['sources']} "
                    f"sources, tiles {ahead['tile_size']}: detection in this process / 1 / 2 "
                    "worker processes (workers=)",
                    f"{ahead[None]:.1f} s / {ahead[1]:.1f} s / {ahead[2]:.1f} s: speed-up "
                    f"{ahead[None] / ahead[1]:.2f} / {ahead[None] / ahead[2]:.2f}; same "
                    f"catalogue: {ahead.get('identical')}",
                    "",
                ],
            ],
        ),
        "",
        "Projected wall time on this CPU (one process; divide by the Dask speed-up per extra "
        "machine):",
        "",
        markdown_table(
            [
                "job",
                "sources",
                f"small model ({small_rate:.0f}/s)",
                f"ResNet-50 (~{resnet_scan_rate:.0f}/s end to end)",
                f"detecting the sources too, small model ({detect_mpix_rate:.2f} Mpix/s)",
            ],
            [
                [
                    "Zhang+2025: PAndAS within 30 kpc (estimate)",
                    f"{n30_low / 1e6:.1f}-{n30_high / 1e6:.1f} M",
                    f"{hours(n30_low, small_rate)} - {hours(n30_high, small_rate)}",
                    f"{hours(n30_low, resnet_scan_rate)} - {hours(n30_high, resnet_scan_rate)}",
                    f"{detect_hours(area30)} ({area30:.1f} deg^2)",
                ],
                [
                    "Wang+2022: all their PAndAS sources",
                    f"{WANG_SOURCES / 1e6:.2f} M",
                    hours(WANG_SOURCES, small_rate),
                    hours(WANG_SOURCES, resnet_scan_rate),
                    f"{detect_hours(PANDAS_AREA_DEG2)} ({PANDAS_AREA_DEG2:.0f} deg^2)",
                ],
            ],
        ),
        "",
        "The number of PAndAS sources within 30 kpc is not published in what we have: it is "
        f"estimated from Wang et al.'s {WANG_SOURCES:,} sources over PAndAS's "
        f"~{PANDAS_AREA_DEG2:.0f} deg^2 ({density:,.0f} deg^-2 on average) times the "
        f"{area30:.1f} deg^2 of the 2.19 deg "
        "circle (lower value), and three times that (upper value) for the crowding of M31's "
        "disc and inner halo, where the density of resolved sources is higher than the survey "
        "mean. The ResNet-50 end-to-end rate is its model-only rate times the scan/model ratio "
        "measured with the small model. The last column scans the images without a source "
        "list, at the rate of the scan with detection above (its best workers= on this "
        "machine), for the area of the job at PAndAS's 0.186\"/pix; the source density of "
        "the simulated field sets the model's share of that time. Fields for the rate and "
        "memory rows are synthetic memory-mapped FITS files; the machine is shared, so "
        "absolute rates vary with its load.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_results_block("bench_scan", "## Scanning (bench_scan.py)\n\n" + text)


if __name__ == "__main__":
    main()
