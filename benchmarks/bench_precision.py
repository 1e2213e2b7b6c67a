"""Does reduced precision change the classifier's decisions?

`ClusterClassifier.predict_proba` runs the network under bfloat16 autocast on CUDA and
in float32 on the CPU. This script measures what bfloat16 (and ``torch.compile``) do to
the probabilities, the decisions and the scores, against float32, on the same stamps:

- **stamps**: randomised simulated fields (`clusterfinder.datasets.simulated_stamps`,
  the PSF measured on each field's stars and attached as the ``psf_*`` columns the
  seeing-aware models read) drawn from seed `SEED`, which no model was trained or
  validated on (training uses seed 0, the held-out figures seed 2026), of the
  randomised simulator that the v3 default was trained on: held-out fields of its
  training domain, not another domain; one stamp per object with g <= 22, labelled
  from the truth table;
- **models**: the bundled default (seeing-aware small CNN), the bundled
  ``pandas_sim_small_cnn_v2``, and the seeing-aware ResNet-50 of
  ``bench_robustness.py`` when its file is there (``--resnet50``; it is not in git).
  The cached ResNet-50 of 2026-12-04 was trained before the simulator drew OB
  associations, HII knots and astrometric errors, so these fields hold contaminants
  it never saw: its F1 here (0.83 at g < 22 in the run of RESULTS.md) is lower than
  its held-out figure on the simulator it trained on (0.955, in its metadata), and
  is not an in-domain figure;
- **modes**: ``fp32`` (``predict_proba(precision="float32")``, the CPU default),
  ``bf16 autocast`` (``precision="bfloat16"``: the network's convolutions and matrix
  products in bfloat16 with float32 accumulation, the CPU's version of what CUDA
  does), ``torch.compile`` (float32) and ``int8 (static, x86)``: the network
  quantized after training with ``torch.ao.quantization`` (FX mode, x86 engine:
  per-channel int8 weights, int8 activations whose ranges come from the stamps of
  other fields, seed `CALIBRATION_SEED`), on the CPU only; the library does not
  offer it (yet), this measures whether it would serve. Each mode runs the library's
  own batching, input transform and precision
  (`clusterfinder.classifier.predict.predict_batches`).

Per model and mode: the median, 99th percentile and largest ``|P - P_fp32|``, the
stamps whose decision at the model's own threshold flips, purity, recall and F1 at
g < 21 and g < 22, and stamps/s of transform + network (median of rounds that
interleave the modes, so that other jobs on the machine slow each mode alike; same run,
same arrays). CPU autocast rounds the inputs and weights of
convolutions and matrix products to bfloat16 as CUDA autocast does; CUDA kernels
differ in detail (accumulation order, fused kernels), so the CPU figures measure the
size of the effect, not CUDA's digits (``--device cuda`` measures those where a GPU is
lent; its float32 reference then uses torch's CUDA defaults, TF32 convolutions).

Usage::

    python benchmarks/bench_precision.py            # full run, writes RESULTS.md
    python benchmarks/bench_precision.py --quick    # smoke run
    python benchmarks/bench_precision.py --threads 1  # steadier rates on a busy machine

On a machine that other jobs share, several torch threads wait for each other (and
burn CPU time doing so) whenever one of them is descheduled; with one thread the
CPU-time ratios do not depend on the other jobs.
"""

import argparse
import copy
import datetime
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_summary, markdown_table, write_results_block

#: ``timed``: the stamps (the first of the set) on which each mode's rate is measured.
#: ``calibration_fields``: fields whose stamps calibrate the int8 mode.
FULL = dict(n_fields=60, size=1024, repeat=3, timed=1024, calibration_fields=10)
QUICK = dict(n_fields=2, size=512, repeat=1, timed=256, calibration_fields=1)
#: Seed of the test fields: far from the training (0) and held-out (2026) seeds, and
#: from those of the other benchmarks' domains (4046, 5000-5005, 7000+, 9000+).
SEED = 8100
MAG_MAX = 22.0
BATCH_SIZE = 256
INT8 = "int8 (static, x86)"
MODES = ("fp32", "bf16 autocast", "torch.compile", INT8)
#: Seed of the fields whose stamps calibrate the int8 activation ranges (not the test
#: fields: a user would calibrate on other stamps than the ones classified).
CALIBRATION_SEED = 8150
RESNET50 = Path(__file__).parent / ".robustness_cache" / "models" / "psf_aware_resnet50.safetensors"


def bf16_instructions():
    """The CPU's bfloat16 instruction sets named in /proc/cpuinfo ("none found" else).

    Autocast's speed on a CPU depends on them: without them bfloat16 is emulated.
    """
    wanted = ("amx_bf16", "avx512_bf16", "avx_ne_convert")
    try:
        with open("/proc/cpuinfo") as stream:
            flags = next(
                (line.split(":", 1)[1].split() for line in stream if line.startswith("flags")), []
            )
    except OSError:
        flags = []
    found = [flag for flag in wanted if flag in flags]
    return ", ".join(found) if found else "none found"


def field_stamps(settings, *, n_fields, seed):
    """Labelled stamps (g <= 22, PSF columns attached) of ``n_fields`` fields of ``seed``."""
    from clusterfinder.datasets import simulated_stamps

    return simulated_stamps(
        n_fields=n_fields,
        size=settings["size"],
        cutout_size=32,
        mag_max=MAG_MAX,
        measure_psf=True,
        seed=seed,
        progress_bar=True,
    )


def load_models(resnet50):
    """Model name -> `ClusterClassifier`; the ResNet-50 only when its file exists."""
    from clusterfinder import ClusterClassifier
    from clusterfinder.classifier.weights import DEFAULT_WEIGHTS

    out = {
        f"{DEFAULT_WEIGHTS} (default)": ClusterClassifier.from_pretrained(),
        "pandas_sim_small_cnn_v2": ClusterClassifier.from_pretrained("pandas_sim_small_cnn_v2"),
    }
    if resnet50.exists():
        out["seeing-aware ResNet-50"] = ClusterClassifier.load(resnet50)
    else:
        print(f"no ResNet-50 at {resnet50} (run bench_robustness.py to make it); skipped")
    return out


def int8_network(clf, calibration):
    """``clf``'s network with int8 weights and activations, for the CPU.

    Static post-training quantization (``torch.ao.quantization`` FX mode, x86 engine:
    per-channel int8 weights, activation ranges from histograms of the transformed
    ``calibration`` stamps); the input transform stays in float32.
    """
    from torch.ao.quantization import get_default_qconfig_mapping, quantize_fx

    data, mask = clf._arrays(calibration)  # the model's whole input, as predict_proba's
    with torch.no_grad():
        inputs = clf.transform(torch.from_numpy(data), torch.from_numpy(mask))
        model = copy.deepcopy(clf.model).to("cpu").eval()
        qconfig = get_default_qconfig_mapping("x86")
        prepared = quantize_fx.prepare_fx(model, qconfig, example_inputs=(inputs[:2],))
        for start in range(0, len(inputs), BATCH_SIZE):
            prepared(inputs[start : start + BATCH_SIZE])
        return quantize_fx.convert_fx(prepared)


def network_for(mode, clf, calibration):
    """The network that ``mode`` runs and the library's ``precision=`` it runs in."""
    if mode == "fp32":
        return clf.model, "float32"
    if mode == "bf16 autocast":
        return clf.model, "bfloat16"
    if mode == INT8:
        return int8_network(clf, calibration), "float32"
    return torch.compile(clf.model), "float32"


def classify(network, clf, data, mask, device):
    """P(cluster) of every stamp through the library's batched loop.

    ``network`` is a pair (network, precision) from `network_for`.
    """
    from clusterfinder.classifier.predict import predict_batches

    module, precision = network
    out = predict_batches(
        module,
        clf.transform,
        data,
        mask,
        batch_size=BATCH_SIZE,
        device=device,
        precision=precision,
    )
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out


def rates(networks, clf, data, mask, *, device, repeat):
    """Stamps per second of wall time and of CPU time of each network, same arrays.

    Medians of ``repeat`` rounds that interleave the networks (one call of each per
    round), so that a load that other jobs put on the machine falls on every mode
    alike. CPU time (user + system, all threads of this process) hardly moves with
    such a load: its ratios are the steadier comparison on a shared machine.
    """
    wall = {mode: [] for mode in networks}
    cpu = {mode: [] for mode in networks}
    for _ in range(repeat):
        for mode, network in networks.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            classify(network, clf, data, mask, device)
            wall[mode].append(time.perf_counter() - start)
            cpu[mode].append(time.process_time() - start_cpu)
    return {
        mode: (len(data) / float(np.median(wall[mode])), len(data) / float(np.median(cpu[mode])))
        for mode in networks
    }


def scores(proba, labels, mags, threshold):
    """F1, purity and recall at g < 21 and g < 22."""
    from clusterfinder.classifier import binary_metrics

    out = []
    for limit in (21.0, 22.0):
        bright = mags < limit
        m = binary_metrics(labels[bright], proba[bright], threshold)
        out += [float(m["f1"]), float(m["purity"]), float(m["recall"])]
    return out


def model_rows(name, clf, stamps, *, calibration, device, repeat, timed):
    """The table rows of one model, one per mode (``timed`` stamps for the rates)."""
    data, mask = clf._arrays(stamps)  # the model's whole input, as predict_proba's
    labels = np.asarray(stamps.table["label"]).astype(int)
    mags = np.asarray(stamps.table["mag_g"], dtype=float)
    networks, probas, failed, first_s = {}, {}, {}, {}
    for mode in MODES:
        if mode == INT8 and device.type != "cpu":
            failed[mode] = "CPU only"
            continue
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the inductor's and torch.ao's own warnings
                network = network_for(mode, clf, calibration)
                probas[mode] = classify(network, clf, data, mask, device)
        except Exception as exc:  # torch.compile needs a working C++ compiler
            failed[mode] = f"failed ({type(exc).__name__})"
            print(f"{name}, {mode}: failed ({type(exc).__name__}: {exc})", flush=True)
            continue
        networks[mode], first_s[mode] = network, time.perf_counter() - start
    if "fp32" in failed:
        raise RuntimeError(f"{name}: the float32 reference failed ({failed['fp32']})")
    reference = probas["fp32"]
    if device.type == "cpu":
        library = clf.predict_proba(stamps, batch_size=BATCH_SIZE, device="cpu")
        if not np.array_equal(reference, library):
            raise RuntimeError(f"{name}: the fp32 route differs from predict_proba on the CPU")
    speed = rates(networks, clf, data[:timed], mask[:timed], device=device, repeat=repeat)
    rows = []
    for mode in MODES:
        if mode in failed:
            rows.append([name, mode, *["-"] * 10, failed[mode], "-", "-"])
            continue
        delta = np.abs(probas[mode] - reference)
        called, was_called = probas[mode] >= clf.threshold, reference >= clf.threshold
        gained, lost = int(np.sum(called & ~was_called)), int(np.sum(~called & was_called))
        note = ""
        if mode == "torch.compile":
            note = f" (first call {first_s[mode]:.0f} s)"
        elif mode == INT8:
            note = f" (calibration {first_s[mode]:.0f} s)"
        rows.append(
            [
                name,
                mode + note,
                f"{np.median(delta):.1e}",
                f"{np.quantile(delta, 0.99):.1e}",
                f"{delta.max():.1e}",
                f"{gained + lost} (+{gained}/-{lost})",
                *(f"{v:.3f}" for v in scores(probas[mode], labels, mags, clf.threshold)),
                f"{speed[mode][0]:,.0f}",
                f"{speed[mode][0] / speed['fp32'][0]:.2f}",
                f"{speed[mode][1] / speed['fp32'][1]:.2f}",
            ]
        )
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    from clusterfinder.classifier.training import resolve_device

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small fields, no RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument(
        "--resnet50",
        type=Path,
        default=RESNET50,
        help="the seeing-aware ResNet-50 of bench_robustness.py (skipped when missing)",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads (default: torch's choice; 1 keeps CPU time steady on a busy machine)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = QUICK if args.quick else FULL
    device = resolve_device(args.device)
    start = time.perf_counter()
    # Fields no model has seen, and other ones for the int8 activation ranges.
    stamps = field_stamps(settings, n_fields=settings["n_fields"], seed=SEED)
    labels = np.asarray(stamps.table["label"]).astype(int)
    mags = np.asarray(stamps.table["mag_g"], dtype=float)
    print(f"{len(stamps)} stamps ({labels.sum()} clusters), {time.perf_counter() - start:.0f} s")
    calibration = field_stamps(
        settings, n_fields=settings["calibration_fields"], seed=CALIBRATION_SEED
    )
    rows = []
    for name, clf in load_models(args.resnet50).items():
        rows += model_rows(
            name,
            clf,
            stamps,
            calibration=calibration,
            device=device,
            repeat=settings["repeat"],
            timed=settings["timed"],
        )
    elapsed = time.perf_counter() - start
    counts = ", ".join(
        f"{int((mags < limit).sum())} with g < {limit:g} ({int(labels[mags < limit].sum())} "
        "clusters)"
        for limit in (21.0, 22.0)
    )
    header = ["model", "mode", "median abs dP", "99% abs dP", "max abs dP", "flips"]
    header += ["F1 g<21", "P g<21", "R g<21", "F1 g<22", "P g<22", "R g<22"]
    header += ["stamps/s", "ratio to fp32", "CPU-time ratio to fp32"]
    where = (
        "measured with CPU autocast (CPU bfloat16 instructions: "
        f"{bf16_instructions()}); CUDA kernels round differently in detail"
        if device.type == "cpu"
        else f"on {device}: fp32 is torch's default there (TF32 convolutions)"
    )
    text = "\n".join(
        [
            "## Reduced precision and the classifier's decisions (`bench_precision.py`)",
            "",
            f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {machine_summary()}; "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}; "
            f"{elapsed:.0f} s" + ("; QUICK run" if args.quick else ""),
            "",
            f"{settings['n_fields']} randomised simulated fields of {settings['size']} pixels "
            f"(seed {SEED}: no model was trained or validated on them, but they come from the "
            "randomised simulator v3 was trained on), the PSF measured on "
            f"each field; {len(stamps)} stamps of every object with g <= {MAG_MAX:g}, "
            f"{counts}. P(cluster) of each mode against fp32 on the same stamps (abs dP), "
            "the stamps whose decision at the model's own threshold flips (+: now called a "
            "cluster, -: no longer), the scores at that threshold, and stamps/s of transform "
            f"+ network (batch {BATCH_SIZE}, the first {min(settings['timed'], len(stamps))} "
            f"stamps, median of {settings['repeat']} rounds that interleave the modes, after "
            "the call that gives the probabilities), with its ratio to fp32 in wall time and "
            f"in CPU time (steadier when other jobs share the machine); {where}. int8: "
            "static post-training quantization (torch.ao FX mode, x86 engine), activation "
            f"ranges from {len(calibration)} stamps of {settings['calibration_fields']} other "
            f"fields (seed {CALIBRATION_SEED}), CPU only. All figures "
            "are on simulated data, none on real PAndAS images. The cached seeing-aware "
            "ResNet-50 (2026-12-04) was trained before the simulator drew OB associations, "
            "HII knots and astrometric errors: for it these fields hold contaminants it "
            "never saw, so its scores are not in-domain figures (its held-out F1 at g < 22 "
            "on the simulator it trained on is 0.955).",
            "",
            markdown_table(header, rows),
        ]
    )
    print(text)
    if not args.quick and not args.no_write:
        write_results_block("bench_precision", text)


if __name__ == "__main__":
    main()
