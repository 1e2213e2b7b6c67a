"""Quality of the classifiers on held-out simulated fields, and the stamp-size choice.

One command measures, on the same training data and the same held-out fields:

- every architecture of `clusterfinder.classifier.list_architectures`, trained
  from scratch on 32-pixel two-band stamps, with its purity, recall and F1 at
  its own threshold (best F1 on validation) for g < 21 and g < 22, and its
  whole threshold x limiting-magnitude grid;
- a classical baseline without deep learning: morphology and colour features
  (`clusterfinder.classifier.morphology_features`) fed to scikit-learn's
  histogram gradient-boosted trees; once as is, once also trained on features
  measured at source positions shifted by up to half a pixel (what the
  networks' sub-pixel shifts are to them);
- the small CNN trained at several stamp sizes (quality against speed), which
  is how the default stamp size is chosen;
- the bundled default model, on the held-out stamps and on the sources that
  `clusterfinder.detection.detect_sources` finds on held-out fields (real
  detections, matched to the truth, instead of true positions);
- how much each network's F1 differs from the stronger baseline, with a 95 %
  paired-bootstrap interval, on the held-out and on the detected sources.

The data (cached in ``benchmarks/.quality_cache``):

- training: 160 simulated PAndAS fields of 1024 px over the M31 disc (4-20 kpc,
  seed 0), one stamp per object with g <= 22, 15 % of the fields held apart
  for validation (early stopping and threshold);
- held-out: 20 fields of the inner disc (4-10 kpc, seed 2026) and 30 of the
  outer disc (sparser) (10-20 kpc, seed 2027), objects with g <= 22; no field is shared
  with training;
- detection: twelve inner and twelve outer fields of 2048 px (seeds 3026-3049).

Stamps are cut once at 48 px and cropped (`clusterfinder.Cutout.crop`) to each
size. Every case runs in its own process with one torch thread (``--jobs``
processes at a time); its predictions are cached, so an interrupted run
resumes where it stopped, and so is every trained network (``models/``), so
that new held-out data only need new predictions. The report (tables in
``RESULTS.md`` and one ECSV grid per model in ``benchmarks/quality/``) is
computed from the cached predictions. Usage::

    python benchmarks/bench_quality.py             # full run (about 1.5 hours on 2 cores)
    python benchmarks/bench_quality.py --quick     # smoke run on tiny data
    python benchmarks/bench_quality.py --cases arch/resnet50 baseline
"""

import argparse
import concurrent.futures
import hashlib
import json
import multiprocessing
import sys
import time
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_summary, markdown_table, write_results_block

HERE = Path(__file__).parent
MAG_LIMITS = (19.0, 20.0, 21.0, 22.0)
THRESHOLDS = np.round(np.arange(0.1, 0.91, 0.1), 2)
STAMP_SIZE = 32
WIDE = 48
SIZES = (16, 24, 32, 48)
SIZE_SEEDS = (1, 2)

#: Training settings of each architecture. The torchvision networks use their
#: standard (ImageNet) stem: with the small stem they train 4-15x slower on this
#: CPU (measured), which an hour of two cores cannot afford. VGG keeps its stem
#: but gets the global-pooling head of ``stem="small"``; the vision transformer
#: cuts a 32-pixel stamp into four 16-pixel patches.
SETTINGS = {
    "small_cnn": dict(epochs=30, batch_size=128, learning_rate=2e-3, patience=6),
    "resnet18": dict(epochs=8, stem="standard"),
    "resnet34": dict(epochs=8, stem="standard"),
    "resnet50": dict(epochs=10, stem="standard"),
    "vgg16_bn": dict(epochs=6, stem="small"),
    "densenet121": dict(epochs=8, stem="standard"),
    "efficientnet_b0": dict(epochs=8, stem="standard"),
    "convnext_tiny": dict(epochs=8, stem="standard"),
    "vit_b_16": dict(epochs=6, stem="standard", learning_rate=3e-4),
}
DEFAULTS = dict(batch_size=64, learning_rate=1e-3, patience=3)
#: Rough cost of each case, to start the longest first.
COST = {"resnet50": 10, "vgg16_bn": 8, "vit_b_16": 8, "convnext_tiny": 7, "resnet34": 6}

FULL = dict(
    train=dict(n_fields=160, size=1024, seed=0, radii=(4, 20)),
    inner=dict(n_fields=20, size=1024, seed=2026, radii=(4, 10)),
    outer=dict(n_fields=30, size=1024, seed=2027, radii=(10, 20)),
    detection=dict(size=2048, seeds=tuple(range(3026, 3050)), radii=((4, 10), (10, 20)) * 12),
    epochs_scale=1.0,
)
QUICK = dict(
    train=dict(n_fields=10, size=512, seed=0, radii=(4, 20)),
    inner=dict(n_fields=3, size=512, seed=2026, radii=(4, 10)),
    outer=dict(n_fields=3, size=512, seed=2027, radii=(10, 20)),
    detection=dict(size=512, seeds=(3026, 3027), radii=((4, 10), (10, 20))),
    epochs_scale=0.0,
)


def fingerprint(spec):
    """A short hash of a data specification: cached data and cases must match it."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def data_fingerprint(config):
    return fingerprint({k: config[k] for k in ("train", "inner", "outer", "detection")})


def train_fingerprint(config):
    """What a trained network depends on: its training data and the epoch scale."""
    return fingerprint({"train": config["train"], "epochs_scale": config["epochs_scale"]})


# -- data -----------------------------------------------------------------------------------


def _stamps(spec):
    from clusterfinder.datasets import simulated_stamps

    return simulated_stamps(
        n_fields=spec["n_fields"],
        size=spec["size"],
        cutout_size=WIDE,
        radii=spec["radii"] * u.kpc,
        mag_max=22.0,
        randomize=False,  # this benchmark measures the fixed simulator (issue #4)
        seed=spec["seed"],
        progress_bar=True,
    )


def _detected(spec, cache):
    """Stamps at the sources detected on held-out fields, labelled from the truth."""
    from clusterfinder import Cutout
    from clusterfinder.datasets import field_centers, label_from_truth
    from clusterfinder.detection import detect_sources
    from clusterfinder.simulate import simulate_field

    parts = []
    for seed, radii in zip(spec["seeds"], spec["radii"], strict=True):
        center = field_centers(1, radii=radii * u.kpc, seed=seed)[0]
        field = simulate_field(size=spec["size"], center=center, seed=seed)
        images = field.write(cache / f"detection_{seed}", overwrite=True)
        sources = detect_sources(images)
        kind, label, _ = label_from_truth(sources, field.truth)
        table = QTable(
            {
                "coord": sources["coord"],
                "mag_g": np.asarray(sources["mag_g"], dtype=float),
                "label": label,
                "kind": kind,
                "field": np.full(len(sources), seed),
            }
        )
        table = table[np.isfinite(table["mag_g"]) & (table["mag_g"] < 22.0)]
        stamps = Cutout.from_images(images, table["coord"], cutout_size=WIDE, table=table)
        parts.append(stamps[~stamps.mask.any(axis=(1, 2, 3))])
    return Cutout.concatenate(parts)


def prepare_data(config, cache):
    """Simulate (or reuse) the training, held-out and detection stamps."""
    cache.mkdir(parents=True, exist_ok=True)
    for name in ("train", "inner", "outer", "detected"):
        spec = config["detection" if name == "detected" else name]
        path, key = cache / f"{name}.fits", cache / f"{name}.key"
        if path.exists() and key.exists() and key.read_text() == fingerprint(spec):
            continue
        start = time.perf_counter()
        stamps = _detected(spec, cache) if name == "detected" else _stamps(spec)
        stamps.write(path, overwrite=True)
        key.write_text(fingerprint(spec))
        print(f"{name}: {len(stamps)} stamps in {time.perf_counter() - start:.0f} s", flush=True)


def load(cache, name, size=STAMP_SIZE):
    from clusterfinder import Cutout

    stamps = Cutout.read(cache / f"{name}.fits")
    return stamps.crop(size) if size != stamps.stamp_size else stamps


def train_validation(cache, size=STAMP_SIZE):
    from train_default_model import split_by_field

    return split_by_field(load(cache, "train", size), 0.15, seed=0)


def held_out(cache, size=STAMP_SIZE):
    """The inner-disc stamps followed by the outer-disc ones."""
    from clusterfinder import Cutout

    return Cutout.concatenate([load(cache, "inner", size), load(cache, "outer", size)])


# -- cases ----------------------------------------------------------------------------------


def _timed_proba(predict, stamps):
    start = time.perf_counter()
    proba = predict(stamps)
    return proba, len(stamps) / (time.perf_counter() - start)


def _stem(cache, name):
    return cache / name.replace("/", "_")


def _model_path(cache, name):
    return _stem(cache / "models", name)


def _trained(cache, name, trained):
    """The saved network of case ``name`` and its training record, if they match ``trained``."""
    from clusterfinder import ClusterClassifier

    record = Path(f"{_model_path(cache, name)}.training.json")
    if not record.exists():
        return None, None
    meta = json.loads(record.read_text())
    if meta.get("trained") != trained:
        return None, None
    return ClusterClassifier.load(_model_path(cache, name)), meta


def case_network(name, architecture, size, cache, epochs_scale, trained, seed=0):
    """Train (or reload the trained) network of case ``name``; predict the held-out data.

    The trained network is kept in ``cache/models``, so that changing the
    held-out data does not mean training every network again.
    """
    import torch

    from clusterfinder import ClusterClassifier
    from clusterfinder.classifier.architectures import count_parameters

    torch.set_num_threads(1)
    clf, meta = _trained(cache, name, trained)
    if clf is None:
        settings = {**DEFAULTS, **SETTINGS[architecture]}
        stem = settings.pop("stem", "auto")
        settings["epochs"] = max(1, round(settings["epochs"] * epochs_scale))
        train, validation = train_validation(cache, size)
        clf = ClusterClassifier(
            architecture, bands=("g", "i"), cutout_size=size, stem=stem, seed=seed
        )
        start = time.perf_counter()
        history = clf.fit(train, validation, seed=seed, progress_bar=False, **settings)
        meta = {
            "model": architecture,
            "size": size,
            "seed": seed,
            "stem": stem,
            "parameters": count_parameters(clf.model),
            "threshold": clf.threshold,
            "train_seconds": time.perf_counter() - start,
            "epochs_run": len(history),
            "best_epoch": clf.training["best_epoch"],
            "settings": {**settings, "stem": stem},
            "n_train": len(train),
            "n_validation": len(validation),
            "trained": trained,
        }
        (cache / "models").mkdir(exist_ok=True)
        clf.save(_model_path(cache, name), overwrite=True)
        Path(f"{_model_path(cache, name)}.training.json").write_text(json.dumps(meta, indent=1))

    def predict(stamps):
        return clf.predict_proba(stamps, batch_size=256, device="cpu")

    proba, meta["stamps_per_second"] = _timed_proba(predict, held_out(cache, size))
    detected = predict(load(cache, "detected", size))
    return meta, {"held_out": proba, "detected": detected}


def _jittered(stamps, copies, max_shift, seed=0):
    """``copies`` versions of ``stamps`` whose source positions are moved at random.

    Each source position (``x_stamp``, ``y_stamp``) moves by up to ``max_shift``
    pixels along each axis: the baseline's counterpart of the sub-pixel shifts with
    which the networks are trained, and of the centroid errors of detected sources.
    """
    from clusterfinder import Cutout

    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(copies):
        table = stamps.table.copy()
        for name in ("x_stamp", "y_stamp"):
            table[name] = table[name] + rng.uniform(-max_shift, max_shift, len(table))
        parts.append(Cutout(stamps.data, bands=stamps.bands, mask=stamps.mask, table=table))
    return Cutout.concatenate([stamps, *parts])


def fit_baseline(train, validation, *, extra_columns=()):
    """Morphology and colour features + gradient-boosted trees, threshold on validation.

    ``extra_columns`` names columns of the stamps' tables used as features too (for
    example the PSF FWHM of each stamp's field). Returns the function that gives
    P(cluster) of stamps, the threshold, the feature names and the training time (s).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    from clusterfinder.classifier import choose_threshold, morphology_features

    def features(stamps):
        table = morphology_features(stamps)
        names = [c for c in table.colnames if not c.startswith(("bkg_", "flux_"))]
        columns = [np.asarray(table[c], dtype=float) for c in names]
        for name in extra_columns:
            value = stamps.table[name]
            columns.append(np.asarray(getattr(value, "value", value), dtype=float))
        return [*names, *extra_columns], np.column_stack(columns)

    names, x_train = features(train)
    y_train = np.asarray(train.table["label"])
    weight = np.where(y_train == 1, (y_train == 0).sum() / max(1, (y_train == 1).sum()), 1.0)
    model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=0)
    start = time.perf_counter()
    model.fit(x_train, y_train, sample_weight=weight)
    seconds = time.perf_counter() - start

    def predict(stamps):
        return model.predict_proba(features(stamps)[1])[:, 1]

    threshold = choose_threshold(np.asarray(validation.table["label"]), predict(validation))
    return predict, threshold, names, seconds


def case_baseline(cache, shifts=0.0):
    """The baseline of `fit_baseline` on the benchmark's data.

    With ``shifts`` (pixels), the training set also holds four copies of each
    stamp measured at positions moved by up to that much (see `_jittered`).
    """
    train, validation = train_validation(cache)
    if shifts:
        train = _jittered(train, 4, shifts)
    predict, threshold, names, seconds = fit_baseline(train, validation)
    proba, rate = _timed_proba(predict, held_out(cache))
    detected = predict(load(cache, "detected"))
    return {
        "model": "baseline (morphology + HGB" + (", shifted positions)" if shifts else ")"),
        "size": STAMP_SIZE,
        "features": names,
        "shifts": shifts,
        "threshold": threshold,
        "train_seconds": seconds,
        "n_train": len(train),
        "n_validation": len(validation),
        "stamps_per_second": rate,
    }, {"held_out": proba, "detected": detected}


def case_default(cache):
    import torch

    from clusterfinder import ClusterClassifier
    from clusterfinder.classifier.weights import DEFAULT_WEIGHTS

    torch.set_num_threads(1)
    clf = ClusterClassifier.from_pretrained()

    def predict(stamps):
        return clf.predict_proba(stamps, batch_size=256, device="cpu")

    proba, rate = _timed_proba(predict, held_out(cache, clf.cutout_size))
    detected = predict(load(cache, "detected", clf.cutout_size))
    return {
        "model": f"bundled default ({DEFAULT_WEIGHTS})",
        "size": clf.cutout_size,
        "threshold": clf.threshold,
        "stamps_per_second": rate,
    }, {"held_out": proba, "detected": detected}


def all_cases(quick):
    from clusterfinder.classifier import list_architectures

    architectures = ("small_cnn", "resnet18") if quick else list_architectures()
    sizes = (16, 32) if quick else SIZES
    cases = [f"arch/{name}" for name in architectures]
    cases += [f"size/{n}" for n in sizes if n != STAMP_SIZE]
    # Training noise: the sizes that compete are trained again with other seeds.
    cases += [f"size/{n}/seed{k}" for k in SIZE_SEEDS for n in sizes if n <= STAMP_SIZE]
    return [*cases, "baseline", "baseline/shifted", "default"]


def run_one(name, cache, epochs_scale, data, trained):
    """Run case ``name`` in this process and cache its result; return the name."""
    start = time.perf_counter()
    kind, _, arg = name.partition("/")
    if kind == "arch":
        meta, proba = case_network(name, arg, STAMP_SIZE, cache, epochs_scale, trained)
    elif kind == "size":
        size, _, seed = arg.partition("/seed")
        meta, proba = case_network(
            name, "small_cnn", int(size), cache, epochs_scale, trained, int(seed or 0)
        )
    elif name == "baseline":
        meta, proba = case_baseline(cache)
    elif name == "baseline/shifted":
        meta, proba = case_baseline(cache, shifts=0.5)
    elif name == "default":
        meta, proba = case_default(cache)
    else:
        raise ValueError(f"unknown case {name!r}")
    meta["case"] = name
    meta["data"] = data
    meta["case_seconds"] = time.perf_counter() - start
    stem = _stem(cache, name)
    np.savez(stem.with_suffix(".npz"), **proba)
    stem.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return name


def cached(cache, name, data):
    stem = _stem(cache, name)
    if not stem.with_suffix(".json").exists() or not stem.with_suffix(".npz").exists():
        return None
    meta = json.loads(stem.with_suffix(".json").read_text())
    if meta.get("data") != data:
        return None
    with np.load(stem.with_suffix(".npz")) as arrays:
        return meta, {k: arrays[k] for k in arrays.files}


# -- report ---------------------------------------------------------------------------------


def scores(labels, proba, mags, threshold, limit):
    """Purity, recall and F1 of the sources brighter than ``limit``."""
    from clusterfinder.classifier import binary_metrics

    bright = mags < limit
    m = binary_metrics(labels[bright], proba[bright], threshold)
    return m["purity"], m["recall"], m["f1"]


def _f(value):
    return "-" if value is None or not np.isfinite(value) else f"{value:.3f}"


def _balance(what, labels, mags):
    parts = []
    for limit in (21.0, 22.0):
        keep = mags < limit
        parts.append(
            f"g < {limit:g}: {keep.sum()} ({labels[keep].sum()} clusters, "
            f"{labels[keep].mean():.0%})"
        )
    return f"- {what}: " + "; ".join(parts)


def _last_run(cache):
    newest = max((p.stat().st_mtime for p in cache.glob("*.json")), default=time.time())
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(newest))


def _slug(name, meta):
    """The file-name part of the grid of case ``name``."""
    if name.startswith("size/"):
        return f"small_cnn_{meta['size']}_px"
    if name.startswith("arch/"):
        return name.partition("/")[2]
    return "bundled_default" if name == "default" else name.replace("/", "_")


def _label(name, meta):
    return f"small_cnn, {meta['size']} px" if name.startswith("size/") else meta["model"]


def _comparison(results, labels, mags, det_labels, det_mags):
    """Lines of the table of F1 differences from the stronger baseline, with intervals."""
    from clusterfinder.classifier import compare_classifiers

    sets = {"held-out": (labels, mags, "held_out"), "detected": (det_labels, det_mags, "detected")}
    baselines = [r for n, r in results.items() if n.startswith("baseline")]
    if not baselines:
        return []

    def f1(result, where):
        truth, magnitudes, key = sets[where]
        return scores(truth, result[1][key], magnitudes, result[0]["threshold"], 21.0)[2]

    strongest = {where: max(baselines, key=lambda r, w=where: f1(r, w)) for where in sets}
    rows = []
    for name, (meta, proba) in results.items():
        if name.startswith(("baseline", "size/")):
            continue
        cells = [_label(name, meta)]
        for where, (truth, magnitudes, key) in sets.items():
            keep = magnitudes < 21.0
            other_meta, other_proba = strongest[where]
            result = compare_classifiers(
                truth[keep], proba[key][keep], other_proba[key][keep],
                threshold_a=meta["threshold"], threshold_b=other_meta["threshold"], seed=0,
            )  # fmt: skip
            cells.append(
                f"{result['difference']:+.3f} [{result['low']:+.3f}, {result['high']:+.3f}]"
            )
        rows.append(cells)
    return [
        "F1 (g < 21) of each network minus that of the stronger baseline on the same sources "
        f"(held-out: {strongest['held-out'][0]['model']}; detected: "
        f"{strongest['detected'][0]['model']}), each at its own threshold, with the 95 % "
        "interval of 2,000 paired bootstrap resamplings of the sources. An interval that "
        "excludes 0 is a difference these test data can tell apart from chance.",
        "",
        markdown_table(["model", "ΔF1 held-out", "ΔF1 detected"], rows),
        "",
    ]


def report(cache, names, config, outdir):
    """The RESULTS.md text, and one ECSV threshold x magnitude grid per model in ``outdir``."""
    from clusterfinder.classifier import Evaluation, roc_auc

    parts = {n: load(cache, n) for n in ("inner", "outer", "detected")}
    truth = {
        n: (np.asarray(c.table["label"]), np.asarray(c.table["mag_g"], dtype=float))
        for n, c in parts.items()
    }
    labels = np.concatenate([truth["inner"][0], truth["outer"][0]])
    mags = np.concatenate([truth["inner"][1], truth["outer"][1]])
    region = np.repeat(["inner", "outer"], [len(parts["inner"]), len(parts["outer"])])
    det_labels, det_mags = truth["detected"]

    data = data_fingerprint(config)
    results = {n: r for n in names if (r := cached(cache, n, data)) is not None}
    first = next(iter(results.values()), ({}, None))[0]
    lines = [
        "## Classifier quality on held-out simulated fields (`bench_quality.py`)",
        "",
        f"Cases last run {_last_run(cache)}; machine (load average when the report was "
        f"written, not during the cases): {machine_summary()}",
        "",
        f"Training: {first.get('n_train', '?')} stamps, validation "
        f"{first.get('n_validation', '?')} (whole fields held apart). Held-out sources, "
        "with the class balance:",
        "",
        _balance("inner disc (4-10 kpc), true positions", *truth["inner"]),
        _balance("outer disc (10-20 kpc), true positions", *truth["outer"]),
        _balance(
            f"detected on {len(config['detection']['seeds'])} held-out fields of "
            f"{config['detection']['size']} px (measured g)",
            det_labels,
            det_mags,
        ),
        "",
        "Every model at its own threshold (best F1 on validation). P = purity, R = recall; "
        "F1 of the inner and outer disc and of detected sources for g < 21; train time "
        "and prediction speed with one torch thread while another case ran beside it "
        "(see the inference benchmark for quiet-machine speeds).",
        "",
    ]
    header = [
        "model", "P g<21", "R g<21", "F1 g<21", "P g<22", "R g<22", "F1 g<22",
        "F1 inner", "F1 outer", "F1 detected", "best F1 g<21", "ROC-AUC g<22", "threshold",
        "epochs", "train (s)", "stamps/s",
    ]  # fmt: skip
    rows, size_rows, grids = [], [], {}
    for name, (meta, proba) in results.items():
        p, t = proba["held_out"], meta["threshold"]
        cells = [_label(name, meta)]
        for limit in (21.0, 22.0):
            cells += [_f(v) for v in scores(labels, p, mags, t, limit)]
        for where in ("inner", "outer"):
            keep = region == where
            cells.append(_f(scores(labels[keep], p[keep], mags[keep], t, 21.0)[2]))
        cells.append(_f(scores(det_labels, proba["detected"], det_mags, t, 21.0)[2]))
        grid = Evaluation.from_predictions(
            labels, p, threshold=t, magnitudes=mags, thresholds=THRESHOLDS, mag_limits=MAG_LIMITS
        ).grid
        cells.append(_f(np.nanmax(np.asarray(grid["f1"])[np.asarray(grid["mag_limit"]) == 21])))
        cells += [_f(roc_auc(labels, p)), f"{t:.3f}"]
        epochs = meta.get("settings", {}).get("epochs")
        cells.append(f"{meta['epochs_run']}/{epochs}" if epochs else "-")
        cells.append(f"{meta['train_seconds']:.0f}" if "train_seconds" in meta else "-")
        cells.append(f"{meta['stamps_per_second']:,.0f}")
        if name.startswith("size/") or name == "arch/small_cnn":
            size_rows.append((meta["size"], meta.get("seed", 0), cells))
        if not name.startswith("size/"):
            rows.append(cells)
        if not meta.get("seed"):
            grids[_label(name, meta)] = (_slug(name, meta), grid)
    lines += [markdown_table(header, rows), ""]
    lines += _comparison(results, labels, mags, det_labels, det_mags)
    lines += [
        "The small CNN trained at each stamp size (the same stamps, cropped), with "
        "several training seeds where the sizes compete:",
        "",
    ]
    size_rows.sort(key=lambda row: row[:2])
    lines += [
        markdown_table(
            ["stamp", "seed", *header[1:]], [[f"{n} px", k, *c[1:]] for n, k, c in size_rows]
        ),
        "",
    ]
    summary = []
    for n in sorted({n for n, _, _ in size_rows}):
        cells = [c for m, _, c in size_rows if m == n]
        median = {
            col: np.median([float(c[header.index(col)].replace(",", "")) for c in cells])
            for col in ("F1 g<21", "F1 g<22", "best F1 g<21", "stamps/s")
        }
        summary.append(
            f"{n} px: F1 {median['F1 g<21']:.3f} (g<21), {median['F1 g<22']:.3f} (g<22), "
            f"{median['best F1 g<21']:.3f} at the best threshold, "
            f"{median['stamps/s']:,.0f} stamps/s"
        )
    lines += [f"Medians over seeds: {'; '.join(summary)}.", ""]
    for limit in (21.0, 22.0):
        lines += [f"F1 by threshold, g < {limit:g} (held-out, true positions):", ""]
        grid_rows = []
        for model, (_, grid) in grids.items():
            at = np.asarray(grid["mag_limit"]) == limit
            grid_rows.append([model, *(_f(v) for v in np.asarray(grid["f1"])[at])])
        lines += [markdown_table(["model", *(f"{x:.1f}" for x in THRESHOLDS)], grid_rows), ""]
    outdir.mkdir(parents=True, exist_ok=True)
    for slug, grid in grids.values():
        grid.write(outdir / f"grid_{slug}.ecsv", overwrite=True)
    lines.append(
        f"Full grids (purity, recall, F1, accuracy for thresholds 0.1-0.9 and g < 19-22) in "
        f"`benchmarks/{outdir.name}/`. All figures are on simulated data."
    )
    return "\n".join(lines), grids


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny data, one epoch")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (2)")
    parser.add_argument("--cases", nargs="*", help="run only these cases")
    parser.add_argument("--report-only", action="store_true", help="do not run missing cases")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    cache = HERE / (".quality_cache_quick" if args.quick else ".quality_cache")
    prepare_data(config, cache)
    names = all_cases(args.quick)
    data, trained = data_fingerprint(config), train_fingerprint(config)
    todo = [n for n in (args.cases or names) if cached(cache, n, data) is None]
    todo.sort(key=lambda n: -COST.get(n.partition("/")[2], 1))
    if todo and not args.report_only:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
            futures = {
                pool.submit(run_one, n, cache, config["epochs_scale"], data, trained): n
                for n in todo
            }
            for future in concurrent.futures.as_completed(futures):
                try:
                    print(f"done {future.result()}", flush=True)
                except Exception as exc:  # report the others; rerun this one later
                    print(f"FAILED {futures[future]}: {exc!r}", flush=True)
    text, _ = report(cache, names, config, HERE / ("quality_quick" if args.quick else "quality"))
    print(text)
    if not args.quick:
        write_results_block("bench_quality", text)


if __name__ == "__main__":
    main()
