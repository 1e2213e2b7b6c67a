"""Inference throughput of the classifier architectures on this machine's CPU.

Measures stamps per second (median of repeats) of `ClusterClassifier.predict_proba`
(input transform + network, the user-facing figure) for every architecture on
two-band 32x32 stamps, and for the small CNN also at 64x64 and several batch sizes.
For the small CNN it also compares CPU optimisations of the network forward pass,
measured in the same run: channels_last memory layout, bfloat16 autocast and
torch.compile; the table gives each as a ratio to the plain forward pass.

Usage::

    python benchmarks/bench_inference.py            # full run, writes RESULTS.md
    python benchmarks/bench_inference.py --quick    # smoke run (small batches)
    python benchmarks/bench_inference.py --resnet50 # ResNet-50 on the CPU only

``--resnet50`` measures the paper's network on the CPU: both stems (torchvision's
ImageNet stem, as the ResNet-50 of ``train_default_model.py`` and ``bench_quality.py``
is trained, and the small-image stem that ``stem="auto"`` gives below 64 pixels) at
several batch sizes and thread counts, and the CPU optimisations of its forward pass.
"""

import argparse
import contextlib
import datetime
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_summary, markdown_table, median_time, write_results_block

from clusterfinder import ClusterClassifier, Cutout
from clusterfinder.classifier import list_architectures
from clusterfinder.classifier.architectures import count_parameters


def _stamps(n, size, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.normal(0, 1.5, (n, 2, size, size)).astype(np.float32)
    return Cutout(data, bands=("g", "i"))


def predict_rate(clf, stamps, *, batch_size, repeat):
    """Stamps/s of predict_proba (median of ``repeat`` runs after one warm-up)."""
    clf.predict_proba(stamps[: min(len(stamps), 8)], batch_size=batch_size, device="cpu")
    median, _ = median_time(
        lambda: clf.predict_proba(stamps, batch_size=batch_size, device="cpu"), repeat=repeat
    )
    return len(stamps) / median


def bundled_models(*, repeat, n=4096):
    """Stamps/s of the bundled models: v1 (seeing-blind) and the seeing-aware default.

    The stamps carry the PSF columns of 16 fields, as a scan of 16 images gives them; the
    seeing-aware model draws each distinct PSF once per call and reads 4 channels.
    """
    import astropy.units as u

    from clusterfinder.psf import psf_column_names

    stamps = _stamps(n, 32)
    field = np.arange(n) % 16
    for band in ("g", "i"):
        fwhm, beta, ell, theta = psf_column_names(band)
        stamps.table[fwhm] = (0.5 + 0.03 * field) * u.arcsec
        stamps.table[beta] = 3.0 + 0.1 * field
        stamps.table[ell] = 0.02 * (field % 4)
        stamps.table[theta] = 10.0 * field * u.deg
    rows = []
    for name in ("pandas_sim_small_cnn_v1", "pandas_sim_small_cnn_v2", "pandas_sim_small_cnn_v3"):
        clf = ClusterClassifier.from_pretrained(name)
        rate = predict_rate(clf, stamps, batch_size=256, repeat=repeat)
        rows.append((name, clf.transform.psf_channels, rate))
        print(f"{name}: {rate:,.0f} stamps/s", flush=True)
    return rows


def forward_variants(clf, stamps, *, repeat):
    """Stamps/s of the network forward pass with CPU optimisations, same input."""
    x = clf.transform(torch.from_numpy(stamps.data), torch.from_numpy(stamps.mask))
    model = clf.model.eval()
    results = {}

    def timed(fn):
        with torch.inference_mode():
            fn()
            median, _ = median_time(fn, repeat=repeat)
        return len(x) / median

    results["plain"] = timed(lambda: model(x))
    x_cl = x.contiguous(memory_format=torch.channels_last)
    model_cl = clf.model.to(memory_format=torch.channels_last)
    results["channels_last"] = timed(lambda: model_cl(x_cl))
    clf.model.to(memory_format=torch.contiguous_format)

    def bf16():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return model(x)

    results["bf16 autocast"] = timed(bf16)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = torch.compile(model)
            start = time.perf_counter()
            with torch.inference_mode():
                compiled(x)
            compile_s = time.perf_counter() - start
        results["torch.compile"] = timed(lambda: compiled(x))
        results["_compile_s"] = compile_s
    except Exception as exc:  # the inductor needs a working C++ compiler
        results["torch.compile"] = f"failed ({type(exc).__name__})"
    return results


def resnet50_cpu(*, repeat, quick):
    """Markdown of ResNet-50 on the CPU: stems, batch sizes, threads, forward variants."""
    rows = []
    for stem in ("standard", "small"):
        clf = ClusterClassifier("resnet50", cutout_size=32, stem=stem)
        n = (32 if quick else 64) if stem == "small" else (64 if quick else 512)
        stamps = _stamps(n, 32)
        for batch_size in (32, 128, 512):
            if batch_size > n:
                continue
            rate = predict_rate(clf, stamps, batch_size=batch_size, repeat=repeat)
            rows.append([stem, str(batch_size), f"{rate:,.0f}"])
            print(f"resnet50 {stem} stem, batch {batch_size}: {rate:,.0f} stamps/s", flush=True)
    thread_rows = []
    default_threads = torch.get_num_threads()
    clf = ClusterClassifier("resnet50", cutout_size=32, stem="standard")
    stamps = _stamps(64 if quick else 512, 32)
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        rate = predict_rate(clf, stamps, batch_size=128, repeat=repeat)
        thread_rows.append([str(threads), f"{rate:,.0f}"])
        print(f"resnet50 standard stem, {threads} thread(s): {rate:,.0f} stamps/s", flush=True)
    torch.set_num_threads(default_threads)
    variants = forward_variants(clf, _stamps(64 if quick else 256, 32), repeat=repeat)
    base = variants["plain"]
    variant_rows = [
        [key, value, "-"]
        if isinstance(value, str)
        else [key, f"{value:,.0f}", f"{value / base:.2f}"]
        for key, value in variants.items()
        if not key.startswith("_")
    ]
    return "\n".join(
        [
            "## ResNet-50 on the CPU (`bench_inference.py --resnet50`)",
            "",
            f"{datetime.date.today().isoformat()}; {machine_summary()}; torch {torch.__version__}, "
            f"{default_threads} threads" + ("; QUICK run" if quick else ""),
            "",
            "`predict_proba` on two-band 32-pixel stamps, median of "
            f"{repeat} runs, by stem (``standard``: torchvision's, as the project's ResNet-50 is "
            "trained; ``small``: stride-1 3x3 first convolution and no max-pool, what "
            '``stem="auto"`` gives below 64 pixels) and batch size:',
            "",
            markdown_table(["stem", "batch", "stamps/s"], rows),
            "",
            "Standard stem, batch 128, by number of torch threads:",
            "",
            markdown_table(["threads", "stamps/s"], thread_rows),
            "",
            "Standard stem, network forward only (plain = NCHW float32), same run:",
            "",
            markdown_table(["variant", "stamps/s", "ratio to plain"], variant_rows),
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, no RESULTS.md")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats per case (3)")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument(
        "--bundled-only",
        action="store_true",
        help="only the bundled models (seeing-blind v1 against the seeing-aware default)",
    )
    parser.add_argument("--resnet50", action="store_true", help="ResNet-50 on the CPU only")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    repeat = 1 if args.quick else args.repeat
    torch.manual_seed(0)
    if args.resnet50:
        text = resnet50_cpu(repeat=repeat, quick=args.quick)
        print(text)
        if not args.quick and not args.no_write:
            write_results_block("bench_inference_resnet50", text)
        return
    if args.bundled_only:
        rows = bundled_models(repeat=repeat, n=512 if args.quick else 4096)
        base = rows[0][2]
        text = "\n".join(
            [
                "## Bundled models, inference throughput (`bench_inference.py --bundled-only`)",
                "",
                f"{datetime.date.today().isoformat()}; {machine_summary()}; torch "
                f"{torch.__version__}, {torch.get_num_threads()} threads",
                "",
                "`predict_proba` on 32-pixel two-band stamps carrying the PSF columns of 16 "
                f"fields, batch 256, median of {repeat} runs (same run, same stamps):",
                "",
                markdown_table(
                    ["model", "PSF channels", "stamps/s", "ratio to v1"],
                    [[n, str(p), f"{r:,.0f}", f"{r / base:.2f}"] for n, p, r in rows],
                ),
            ]
        )
        print(text)
        if not args.quick and not args.no_write:
            write_results_block("bench_inference_bundled", text)
        return

    rows = []
    big_n = 16 if args.quick else 32
    for name in list_architectures():
        clf = ClusterClassifier(name, cutout_size=32)
        n = 256 if name == "small_cnn" and not args.quick else big_n
        rate = predict_rate(clf, _stamps(n, 32), batch_size=min(n, 256), repeat=repeat)
        rows.append(
            [name, "32", str(min(n, 256)), f"{count_parameters(clf.model):,}", f"{rate:,.0f}"]
        )
        print(f"{name:16s} 32 px: {rate:10,.1f} stamps/s", flush=True)

    small_rows = []
    batch_sizes = (64, 256) if args.quick else (64, 256, 1024)
    for size in (32, 64):
        clf = ClusterClassifier("small_cnn", cutout_size=size)
        stamps = _stamps(max(batch_sizes) * (1 if args.quick else 2), size)
        for batch_size in batch_sizes:
            rate = predict_rate(clf, stamps, batch_size=batch_size, repeat=repeat)
            small_rows.append([str(size), str(batch_size), f"{rate:,.0f}"])
            print(f"small_cnn {size} px batch {batch_size}: {rate:,.0f} stamps/s", flush=True)

    thread_rows = []
    default_threads = torch.get_num_threads()
    clf = ClusterClassifier("small_cnn", cutout_size=32)
    stamps = _stamps(256 if args.quick else 1024, 32)
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        rate = predict_rate(clf, stamps, batch_size=256, repeat=repeat)
        thread_rows.append([str(threads), f"{rate:,.0f}"])
        print(f"small_cnn 32 px, {threads} thread(s): {rate:,.0f} stamps/s", flush=True)
    torch.set_num_threads(default_threads)

    clf = ClusterClassifier("small_cnn", cutout_size=32)
    variants = forward_variants(clf, _stamps(256, 32), repeat=repeat)
    base = variants["plain"]
    variant_rows = []
    for key, value in variants.items():
        if key.startswith("_"):
            continue
        if isinstance(value, str):
            variant_rows.append([key, value, "-"])
        else:
            variant_rows.append([key, f"{value:,.0f}", f"{value / base:.2f}"])
        print(f"small_cnn forward, {key}: {value if isinstance(value, str) else f'{value:,.0f}'}")

    text = "\n".join(
        [
            "## Inference throughput (`bench_inference.py`)",
            "",
            f"{datetime.date.today().isoformat()}; {machine_summary()}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads" + ("; QUICK run" if args.quick else ""),
            "",
            "`predict_proba` on two-band stamps (transform + network in channels-last layout, "
            "float64 out), "
            f"median of {repeat} runs, stamps per second:",
            "",
            markdown_table(["architecture", "stamp px", "batch", "parameters", "stamps/s"], rows),
            "",
            "small_cnn by stamp size and batch size:",
            "",
            markdown_table(["stamp px", "batch", "stamps/s"], small_rows),
            "",
            "small_cnn at 32 px, batch 256, by number of torch threads (on a busy machine one "
            "thread avoids OpenMP threads waiting for each other):",
            "",
            markdown_table(["threads", "stamps/s"], thread_rows),
            "",
            "small_cnn network forward only (256 stamps of 32 px; plain = NCHW float32), CPU "
            "optimisations, same run:",
            "",
            markdown_table(["variant", "stamps/s", "ratio to plain"], variant_rows),
        ]
    )
    print()
    print(text)
    if not args.quick and not args.no_write:
        write_results_block("bench_inference", text)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
