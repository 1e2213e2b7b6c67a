"""The CUDA path on one GPU: inference, training and a survey-scale scan.

One prepared run for a GPU machine (the sessions that have one get minutes of it),
measuring on the device it finds:

1. **model only**: the network forward pass on stamps already on the GPU, for the
   small CNN and ResNet-50 (the paper's network) on two-band 32-pixel stamps, at
   several batch sizes, in float32, bfloat16 autocast, and bfloat16 with the
   channels-last layout (what `ClusterClassifier.predict_proba` uses on CUDA);
2. **predict_proba**: the user's call, from stamps in host memory (numpy) to
   probabilities, and its ratio to the best model-only rate of the same batch size;
3. **training**: `ClusterClassifier.fit` on CUDA (mixed precision, channels-last, the
   training set copied to the GPU once) on labelled stamps (``--stamps``, a file
   written by `Cutout.write`, or else simulated fields), a fixed number of epochs:
   training stamps per second (median epoch) and the validation F1 it reaches;
4. **scan**: `clusterfinder.scan.scan` of a 20,000 x 20,000 two-band memory-mapped
   FITS field (``--scan-size``) at ``--scan-sources`` given positions on CUDA, against
   model-only inference on the same stamps (target: scan / model-only >= 0.8);
5. **scan_detect**: a scan without a source list of a simulated field
   (``--detect-size``, 8192 px), with detection in the scan's process and in worker
   processes (``scan(workers=)``): wall time, Mpix/s and the catalogues compared
   (detection needs photutils and scikit-image on the machine).

Each section runs on its own: a section that fails is reported with its error and the
others still run. Figures are medians of repeats, timed with the GPU synchronised.
The markdown block is written to RESULTS.md (``bench_gpu``) and, with
``--output-dir``, also to ``bench_gpu.md`` and ``bench_gpu.json`` there (a GPU
machine lent for minutes gives back files, not a working tree).

Usage::

    python benchmarks/bench_gpu.py --stamps train_stamps.fits --output-dir OUT
    python benchmarks/bench_gpu.py --quick --device cpu    # smoke run without a GPU
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import current_peak_mib, machine_summary, markdown_table, write_results_block

#: The networks measured: label -> (architecture, stem). ``resnet50`` has torchvision's
#: stem, as the ResNet-50 of benchmarks/train_default_model.py is trained; the
#: small-image stem (stride 1, no max-pool) costs about 16 times more per stamp.
NETWORKS = {
    "small_cnn": ("small_cnn", "auto"),
    "resnet50": ("resnet50", "standard"),
    "resnet50, small stem": ("resnet50", "small"),
}
#: Networks trained and scanned (the others are measured for inference only).
TRAINED = ("small_cnn", "resnet50")
#: Training settings per network (bench_quality.py's, with larger batches on a GPU).
TRAINING = {
    "small_cnn": dict(batch_size=512, learning_rate=2e-3),
    "resnet50": dict(batch_size=256, learning_rate=1e-3),
}


def device_summary(device):
    """The device in words: name, memory, capability, torch and CUDA versions."""
    if device.type != "cuda":
        return f"{machine_summary()}; torch {torch.__version__}, no GPU ({device})"
    props = torch.cuda.get_device_properties(device)
    return (
        f"{props.name}, {props.total_memory / 2**30:.0f} GiB, compute capability "
        f"{props.major}.{props.minor}, {props.multi_processor_count} multiprocessors; "
        f"torch {torch.__version__}, CUDA {torch.version.cuda}; host: {machine_summary()}"
    )


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_rate(fn, n, device, *, repeat):
    """Items per second of ``fn()`` over ``n`` items: median of ``repeat`` after a warm-up."""
    fn()
    synchronize(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)


def build(label, *, psf_channels=False):
    """An untrained classifier of network ``label`` (see `NETWORKS`) for 32-pixel g/i stamps."""
    from clusterfinder import ClusterClassifier
    from clusterfinder.classifier import InputTransform

    architecture, stem = NETWORKS[label]
    return ClusterClassifier(
        architecture,
        cutout_size=32,
        transform=InputTransform(bands=("g", "i"), psf_channels=psf_channels),
        stem=stem,
    )


def model_only(device, *, batch_sizes, n, repeat):
    """Stamps/s of the forward pass on stamps already on ``device``, per variant."""
    rows = []
    generator = torch.Generator().manual_seed(0)
    stamps = torch.randn((n, 2, 32, 32), generator=generator) * 50 + 100
    for architecture in NETWORKS:
        clf = build(architecture)
        x = clf.transform(stamps, torch.zeros(stamps.shape, dtype=torch.bool)).to(device)
        model = clf.model.to(device).eval()
        variants = {
            "float32": (torch.contiguous_format, None),
            "bf16": (torch.contiguous_format, torch.bfloat16),
            "bf16 channels-last": (torch.channels_last, torch.bfloat16),
        }
        if device.type != "cuda":
            variants = {"float32": variants["float32"]}
        for name, (layout, dtype) in variants.items():
            model = model.to(memory_format=layout)
            xl = x.contiguous(memory_format=layout)
            for batch_size in batch_sizes:
                batches = [xl[i : i + batch_size] for i in range(0, n, batch_size)]

                def forward(batches=batches, dtype=dtype, model=model):
                    context = (
                        torch.autocast(device.type, dtype=dtype)
                        if dtype is not None
                        else torch.autocast(device.type, enabled=False)
                    )
                    with torch.inference_mode(), context:
                        for batch in batches:
                            model(batch)

                rate = timed_rate(forward, n, device, repeat=repeat)
                rows.append(
                    dict(architecture=architecture, variant=name, batch=batch_size, rate=rate)
                )
                print(
                    f"model only {architecture} {name} batch {batch_size}: {rate:,.0f}/s",
                    flush=True,
                )
        del model, x
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def predict_from_host(device, *, batch_size, n, repeat):
    """Stamps/s of ClusterClassifier.predict_proba from numpy stamps in host memory."""
    from clusterfinder import Cutout

    rng = np.random.default_rng(1)
    cutout = Cutout(rng.normal(100, 50, (n, 2, 32, 32)).astype(np.float32), bands=("g", "i"))
    rows = []
    for architecture in NETWORKS:
        clf = build(architecture)
        rate = timed_rate(
            lambda clf=clf: clf.predict_proba(cutout, batch_size=batch_size, device=device),
            n,
            device,
            repeat=repeat,
        )
        rows.append(dict(architecture=architecture, batch=batch_size, rate=rate))
        print(f"predict_proba {architecture} batch {batch_size}: {rate:,.0f}/s", flush=True)
    return rows


def training_stamps(path, *, quick):
    """Labelled stamps with the PSF columns: from ``path``, or simulated."""
    from clusterfinder import Cutout
    from clusterfinder.datasets import simulated_stamps

    if path is not None:
        return Cutout.read(path)
    return simulated_stamps(
        n_fields=4 if quick else 24,
        size=512 if quick else 1024,
        cutout_size=32,
        mag_max=23.5,
        randomize=True,
        measure_psf=True,
        seed=0,
    )


def training(device, stamps, *, epochs):
    """Training stamps/s (median epoch after the first) and the validation F1 reached."""
    from clusterfinder.labels.split import group_split

    fields = np.unique(np.asarray(stamps.table["field"]), return_inverse=True)[1]
    part = group_split(fields, np.asarray(stamps.table["label"]), (0.85, 0.15), seed=0)
    train, validation = stamps[part == 0], stamps[part == 1]
    rows = []
    for architecture in TRAINED:
        settings = TRAINING[architecture]
        clf = build(architecture, psf_channels=True)
        start = time.perf_counter()
        with warnings.catch_warnings():
            # a few epochs may not reach a useful model: that is not what is timed
            warnings.simplefilter("ignore")
            history = clf.fit(
                train, validation, epochs=epochs, patience=None, device=device, seed=0, **settings
            )
        total = time.perf_counter() - start
        epoch_times = [float(t) for t in np.asarray(history["time"])]
        steady = statistics.median(epoch_times[1:]) if len(epoch_times) > 1 else epoch_times[0]
        rows.append(
            dict(
                architecture=architecture,
                train=len(train),
                validation=len(validation),
                epochs=len(epoch_times),
                batch=settings["batch_size"],
                rate=len(train) / steady,
                first_epoch_s=epoch_times[0],
                total_s=total,
                val_f1=float(np.nanmax(np.asarray(history["val_f1"], dtype=float))),
                val_auc=float(np.nanmax(np.asarray(history["val_auc"], dtype=float))),
            )
        )
        print(f"training {architecture}: {rows[-1]}", flush=True)
    return rows


def scan_field(device, *, size, n_sources, batch_size, tile_size):
    """Scan of a size x size two-band memory-mapped field against model-only inference.

    Each network's row also gives the scan rate with a network that costs nothing
    (``bench_scan.HostWorkOnly``): what this machine's host allows a scan, whatever
    the GPU.
    """
    from bench_scan import HostWorkOnly, timed_scan, write_memmap_field

    from clusterfinder import Cutout
    from clusterfinder.scan import scan

    rows = []
    folder = Path(tempfile.mkdtemp(prefix="bench_gpu_"))
    try:
        start = time.perf_counter()
        paths, sources = write_memmap_field(folder, "big", size=size, n_sources=n_sources, seed=2)
        written = time.perf_counter() - start
        print(f"field of {size} px with {n_sources} sources written in {written:.0f} s", flush=True)
        from clusterfinder.scan import find

        default_threads = find.PREFETCH_THREADS
        for architecture in TRAINED:
            clf = build(architecture)
            stamps = Cutout.from_images(paths, sources["coord"], cutout_size=32)
            model_rate = timed_rate(
                lambda clf=clf, stamps=stamps: clf.predict_proba(
                    stamps, batch_size=batch_size, device=device
                ),
                len(stamps),
                device,
                repeat=1,
            )
            del stamps
            host_s, _ = timed_scan(
                HostWorkOnly(clf),
                paths,
                folder / f"host_{architecture}",
                device=str(device),
                sources=sources,
                batch_size=batch_size,
                tile_size=tile_size,
            )
            host_rate = n_sources / host_s
            for threads in sorted({1, default_threads}):
                find.PREFETCH_THREADS = threads
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                out = folder / f"out_{architecture}_{threads}"
                start = time.perf_counter()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        catalog = scan(
                            clf,
                            [paths],
                            out,
                            sources=sources,
                            batch_size=batch_size,
                            tile_size=tile_size,
                            device=str(device),
                            keep_all=True,
                            resume=False,
                        )
                finally:
                    find.PREFETCH_THREADS = default_threads
                scan_s = time.perf_counter() - start
                gpu_peak = (
                    torch.cuda.max_memory_allocated(device) / 2**20
                    if device.type == "cuda"
                    else 0.0
                )
                rows.append(
                    dict(
                        architecture=architecture,
                        threads=threads,
                        field=size,
                        sources=n_sources,
                        rows=len(catalog),
                        scan_s=scan_s,
                        scan_rate=n_sources / scan_s,
                        model_rate=model_rate,
                        ratio=n_sources / scan_s / model_rate,
                        host_rate=host_rate,
                        gpu_peak_mib=gpu_peak,
                        host_peak_mib=current_peak_mib(),
                    )
                )
                print(f"scan {architecture}: {rows[-1]}", flush=True)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def scan_detecting(device, *, size, tile_size, batch_size, workers):
    """A scan that detects its sources, with detection in 0 to N worker processes.

    A simulated PAndAS g/i field (its sources are what detection costs) scanned with the
    small CNN on ``device``: wall time and Mpix per second for each ``workers`` value
    (None: detection in the scan's process), and whether the catalogues agree.
    """
    from bench_scan import timed_scan

    from clusterfinder.simulate import simulate_field

    rows = []
    folder = Path(tempfile.mkdtemp(prefix="bench_gpu_detect_"))
    try:
        start = time.perf_counter()
        paths = simulate_field(size=size, seed=5).write(folder / "field", name="sim")
        paths = {band: str(path) for band, path in paths.items()}
        print(f"simulated field of {size} px in {time.perf_counter() - start:.0f} s", flush=True)
        clf = build("small_cnn")
        reference = None
        for n in workers:
            options = {"batch_size": batch_size, "tile_size": tile_size, "workers": n}
            wall, catalog = timed_scan(
                clf, paths, folder / f"out_{n}", device=str(device), **options
            )
            table = catalog.copy()
            table.sort(["y", "x"])
            x = np.asarray(table["x"])
            same = reference is None or (len(x) == len(reference) and np.array_equal(x, reference))
            reference = x if reference is None else reference
            rows.append(
                dict(
                    workers=n,
                    field=size,
                    tile_size=tile_size,
                    sources=len(table),
                    scan_s=wall,
                    mpix_per_s=size * size / 1e6 / wall,
                    same=bool(same),
                )
            )
            print(f"scan with detection, workers={n}: {rows[-1]}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def report(device, results, errors, *, elapsed):
    """The markdown block of RESULTS.md."""
    lines = [
        "## The CUDA path (`bench_gpu.py`)",
        "",
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on "
        f"{device_summary(device)}; {elapsed:.0f} s in all.",
        "",
    ]
    if "model_only" in results:
        lines += [
            "Model only: the forward pass on two-band 32-pixel stamps already on the device, "
            "stamps/s (median of repeats):",
            "",
            markdown_table(
                ["network", "precision and layout", "batch", "stamps/s"],
                [
                    [r["architecture"], r["variant"], str(r["batch"]), f"{r['rate']:,.0f}"]
                    for r in results["model_only"]
                ],
            ),
            "",
        ]
    if "predict" in results:
        best = {}
        for r in results.get("model_only", []):
            if r["batch"] == results["predict"][0]["batch"]:
                key = r["architecture"]
                best[key] = max(best.get(key, 0.0), r["rate"])
        lines += [
            "`ClusterClassifier.predict_proba` from stamps in host memory (numpy), the "
            "user's call, and its ratio to the best model-only rate at the same batch size:",
            "",
            markdown_table(
                ["network", "batch", "stamps/s", "ratio to model only"],
                [
                    [
                        r["architecture"],
                        str(r["batch"]),
                        f"{r['rate']:,.0f}",
                        f"{r['rate'] / best[r['architecture']]:.2f}"
                        if r["architecture"] in best
                        else "",
                    ]
                    for r in results["predict"]
                ],
            ),
            "",
        ]
    if "training" in results:
        lines += [
            "`ClusterClassifier.fit` on the device (seeing-aware input, mixed precision, "
            "channels-last, training set copied to the device once), a fixed number of "
            "epochs on the labelled simulated stamps given; training stamps/s of the median "
            "epoch after the first (validation included), and the best validation F1 at P = "
            "0.5 (a check that training on CUDA learns, on the simulated domain it trained "
            "on, not a quality figure):",
            "",
            markdown_table(
                [
                    "network",
                    "train / validation stamps",
                    "batch",
                    "epochs",
                    "stamps/s",
                    "first epoch (s)",
                    "total (s)",
                    "best val F1",
                    "best val AUC",
                ],
                [
                    [
                        r["architecture"],
                        f"{r['train']} / {r['validation']}",
                        str(r["batch"]),
                        str(r["epochs"]),
                        f"{r['rate']:,.0f}",
                        f"{r['first_epoch_s']:.1f}",
                        f"{r['total_s']:.0f}",
                        f"{r['val_f1']:.3f}",
                        f"{r['val_auc']:.3f}",
                    ]
                    for r in results["training"]
                ],
            ),
            "",
        ]
    if "scan" in results:
        lines += [
            "`clusterfinder.scan.scan` of one two-band memory-mapped FITS field at given "
            "positions (FITS to merged catalogue) against `predict_proba` on the same stamps "
            "in memory (target: ratio >= 0.8); host-only: the same scan with a network "
            "that costs nothing (`bench_scan.HostWorkOnly`), the most this host allows:",
            "",
            markdown_table(
                [
                    "network",
                    "cutting threads",
                    "field (px)",
                    "sources",
                    "scan (s)",
                    "scan sources/s",
                    "model-only stamps/s",
                    "ratio",
                    "host-only sources/s",
                    "GPU peak (MiB)",
                    "host peak (MiB)",
                ],
                [
                    [
                        r["architecture"],
                        str(r.get("threads", 1)),
                        f"{r['field']:,}",
                        f"{r['sources']:,}",
                        f"{r['scan_s']:.1f}",
                        f"{r['scan_rate']:,.0f}",
                        f"{r['model_rate']:,.0f}",
                        f"{r['ratio']:.2f}",
                        f"{r['host_rate']:,.0f}" if "host_rate" in r else "-",
                        f"{r['gpu_peak_mib']:,.0f}",
                        f"{r['host_peak_mib']:,.0f}",
                    ]
                    for r in results["scan"]
                ],
            ),
            "",
        ]
    if "scan_detect" in results:
        rows = results["scan_detect"]
        serial = rows[0]["scan_s"]
        lines += [
            "`clusterfinder.scan.scan` of a simulated two-band PAndAS field without a source "
            "list (the sources detected tile by tile), small CNN on the device, with "
            "detection in the scan's process (workers None) or in worker processes "
            "(`workers=`):",
            "",
            markdown_table(
                [
                    "workers",
                    "field (px)",
                    "tile",
                    "sources",
                    "scan (s)",
                    "Mpix/s",
                    "speed-up",
                    "same catalogue",
                ],
                [
                    [
                        str(r["workers"]),
                        f"{r['field']:,}",
                        str(r["tile_size"]),
                        f"{r['sources']:,}",
                        f"{r['scan_s']:.1f}",
                        f"{r['mpix_per_s']:.1f}",
                        f"{serial / r['scan_s']:.2f}",
                        "yes" if r["same"] else "no",
                    ]
                    for r in rows
                ],
            ),
            "",
        ]
    for section, error in errors.items():
        lines += [f"Section `{section}` failed: `{error}`", ""]
    return "\n".join(lines).rstrip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--stamps", type=Path, help="labelled stamps for training (Cutout file)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (10)")
    parser.add_argument("--scan-size", type=int, default=20_000, help="scanned field side (px)")
    parser.add_argument("--scan-sources", type=int, default=100_000, help="sources scanned")
    parser.add_argument(
        "--detect-size", type=int, default=8192, help="side of the field scanned with detection"
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        default=["model_only", "predict", "training", "scan", "scan_detect"],
        help="which sections to run (default: all)",
    )
    parser.add_argument("--output-dir", type=Path, help="also write bench_gpu.md/.json here")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)

    from clusterfinder.classifier.training import resolve_device

    device = resolve_device(args.device)
    quick = args.quick
    print(device_summary(device), flush=True)
    start = time.perf_counter()
    results, errors = {}, {}
    runs = {
        "model_only": lambda: model_only(
            device,
            batch_sizes=(256,) if quick else (1024, 4096, 16384),
            n=512 if quick else 65_536,
            repeat=1 if quick else 5,
        ),
        "predict": lambda: predict_from_host(
            device,
            batch_size=256 if quick else 4096,
            n=512 if quick else 65_536,
            repeat=1 if quick else 3,
        ),
        "training": lambda: training(
            device, training_stamps(args.stamps, quick=quick), epochs=2 if quick else args.epochs
        ),
        "scan_detect": lambda: scan_detecting(
            device,
            size=1024 if quick else args.detect_size,
            tile_size=512 if quick else 2048,
            batch_size=256 if quick else 4096,
            workers=(None, 2) if quick else (None, 4, max(2, (os.cpu_count() or 4) - 2)),
        ),
        "scan": lambda: scan_field(
            device,
            size=2048 if quick else args.scan_size,
            n_sources=500 if quick else args.scan_sources,
            batch_size=256 if quick else 4096,
            tile_size=1024 if quick else 4096,
        ),
    }
    for section in args.sections:
        section_start = time.perf_counter()
        try:
            results[section] = runs[section]()
        except Exception as exc:  # one failed section must not lose the others
            traceback.print_exc()
            errors[section] = f"{type(exc).__name__}: {exc}"
        print(f"section {section}: {time.perf_counter() - section_start:.0f} s", flush=True)
        if args.output_dir is not None:
            args.output_dir.mkdir(parents=True, exist_ok=True)
            (args.output_dir / "bench_gpu.json").write_text(
                json.dumps({"results": results, "errors": errors}, indent=1)
            )
    text = report(device, results, errors, elapsed=time.perf_counter() - start)
    print(text)
    if args.output_dir is not None:
        (args.output_dir / "bench_gpu.md").write_text(text + "\n")
    if not quick and not args.no_write:
        write_results_block("bench_gpu", text)


if __name__ == "__main__":
    main()
