"""What does source detection cost per million pixels, and what does it find?

`clusterfinder.detection.detect_sources` on simulated PAndAS g/i fields of 2048 px
(4.2 Mpix of the detection grid each): the demo's field (seed 1, the default
pointing in the outer disc) and a crowded one nearer the bulge. Cases, each on the
same FITS files:

- **deblend every segment**: photutils' multi-threshold deblending run on every
  segment, as ``detect_sources`` did before this benchmark was written;
- **detect_sources**: today's, which deblends only the segments with more than one
  local peak (a segment with one peak never splits; the catalogue is the same);
- **no deblending**: ``deblend=False``;
- **sep** (when ``pip install sep`` has been run): SExtractor's library on the same
  pixels and the same choices as far as it offers them: a 64 px background mesh
  with a 3x3 median filter per band, the inverse-variance weighted g+i stack,
  a matched Gaussian filter of FWHM 0.7", threshold 4 sigma of the filtered image,
  5 connected pixels, 32 deblending levels with contrast 0.001, no cleaning of
  detections beside bright ones (sep's default would remove about half of them
  on these crowded fields), windowed positions and 1" aperture sums in both bands.

CPU time per Mpix is the median of ``--repeat`` calls after a first call in the same
process (the first call also pays for imports; reported on its own). Quality is
against the simulator's truth: completeness is the fraction of true objects brighter
than g = 21 / 22 (true magnitudes; stars, clusters, galaxies, ...) with a detection
within 2 px (0.37"), and of true clusters brighter than g = 21; a spurious detection
has no true object of any magnitude within 2 px. "same catalogue" compares every case
with ``detect_sources`` (positions to 1e-9 px). All figures are on simulated images.

Usage::

    python benchmarks/bench_detection.py            # full run, writes RESULTS.md
    python benchmarks/bench_detection.py --quick    # one 1024 px field, no RESULTS.md
"""

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_summary, markdown_table, write_results_block

#: Simulated fields: name -> (seed, centre (deg) or None for the simulator's default).
FIELDS = {"demo field (outer disc)": (1, None), "inner disc": (2, (10.74, 41.33))}
MATCH_PIX = 2.0
CLUSTER_KINDS = ("young_cluster", "old_cluster")


def write_field(folder, name, *, size, seed, center):
    """Simulate one field, write its bands as FITS; return (paths, truth)."""
    from astropy.coordinates import SkyCoord

    from clusterfinder.simulate import simulate_field

    sky = None if center is None else SkyCoord(*center, unit="deg")
    field = simulate_field(size=size, seed=seed, center=sky)
    out = Path(folder) / name.replace(" ", "_").replace("(", "").replace(")", "")
    field.write(out, overwrite=True)
    return {band: str(out / f"field_{band}.fits") for band in field.bands}, field.truth


def deblend_every_segment():
    """Make detect_sources deblend every segment (the behaviour before the peak test)."""
    from clusterfinder.detection import segment

    original = segment.segments_with_several_peaks
    segment.segments_with_several_peaks = lambda smoothed, segmentation, labels: labels
    return lambda: setattr(segment, "segments_with_several_peaks", original)


def run_sep(paths):
    """Background, detection, windowed positions and photometry with sep; x, y."""
    import sep
    from astropy.io import fits

    bands = {}
    for band, path in paths.items():
        with fits.open(path) as hdul:
            data = np.ascontiguousarray(hdul[0].data, dtype=np.float64)
        background = sep.Background(data, bw=64, bh=64, fw=3, fh=3)
        bands[band] = (data - background.back(), background.rms())
    weight = sum(1.0 / rms**2 for _, rms in bands.values())
    stack = sum(sub / rms**2 for sub, rms in bands.values()) / weight
    error = 1.0 / np.sqrt(weight)
    sigma = 0.7 / 0.186 / 2.3548
    yy, xx = np.mgrid[-4:5, -4:5]
    kernel = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    sep.set_extract_pixstack(5_000_000)
    sep.set_sub_object_limit(4096)
    objects = sep.extract(
        stack,
        4.0,
        err=error,
        minarea=5,
        filter_kernel=kernel,
        filter_type="matched",
        deblend_nthresh=32,
        deblend_cont=0.001,
        clean=False,  # detect_sources removes no detection near a bright one
    )
    x, y, _ = sep.winpos(stack, objects["x"], objects["y"], np.full(len(objects), sigma))
    for sub, rms in bands.values():
        sep.sum_circle(sub, x, y, 1.0 / 0.186, err=rms)
    return np.asarray(x), np.asarray(y)


def score(x, y, truth):
    """Completeness (g < 21, g < 22, clusters g < 21) and spurious detections."""
    from scipy.spatial import cKDTree

    tx = np.asarray(truth["x"], dtype=float)
    ty = np.asarray(truth["y"], dtype=float)
    detections = cKDTree(np.column_stack([x, y]))
    found = np.isfinite(
        detections.query(np.column_stack([tx, ty]), distance_upper_bound=MATCH_PIX)[0]
    )
    mag = np.asarray(truth["mag_g"], dtype=float)
    cluster = np.isin(np.asarray(truth["kind"]), CLUSTER_KINDS)
    spurious = ~np.isfinite(
        cKDTree(np.column_stack([tx, ty])).query(
            np.column_stack([x, y]), distance_upper_bound=MATCH_PIX
        )[0]
    )
    return {
        "g21": found[mag < 21].mean(),
        "g22": found[mag < 22].mean(),
        "clusters": found[cluster & (mag < 21)].mean(),
        "n_clusters": int(np.sum(cluster & (mag < 21))),
        "spurious": int(spurious.sum()),
    }


def time_case(run, repeat):
    """First-call and median later CPU seconds of ``run()``, and its last result."""
    start = time.process_time()
    result = run()
    first = time.process_time() - start
    later = []
    for _ in range(repeat):
        start = time.process_time()
        result = run()
        later.append(time.process_time() - start)
    return first, statistics.median(later), result


def bench_field(name, paths, truth, *, size, repeat):
    from clusterfinder.detection import detect_sources

    mpix = size * size / 1e6

    def detect(**options):
        table = detect_sources(paths, **options)
        return np.asarray(table["x"]), np.asarray(table["y"])

    cases = {}
    restore = deblend_every_segment()
    try:
        cases["deblend every segment"] = time_case(detect, repeat)
    finally:
        restore()
    cases["detect_sources"] = time_case(detect, repeat)
    cases["no deblending"] = time_case(lambda: detect(deblend=False), repeat)
    try:
        import sep  # noqa: F401
    except ImportError:
        print("sep is not installed: pip install sep to measure it")
    else:
        cases["sep"] = time_case(lambda: run_sep(paths), repeat)

    reference = cases["detect_sources"][2]
    baseline = cases["deblend every segment"][1]
    rows = []
    for case, (first, median, (x, y)) in cases.items():
        same = len(x) == len(reference[0]) and np.allclose(x, reference[0], atol=1e-9, rtol=0)
        same = same and np.allclose(y, reference[1], atol=1e-9, rtol=0)
        quality = score(x, y, truth)
        rows.append(
            [
                name,
                case,
                len(x),
                f"{median / mpix:.2f}",
                f"{first / mpix:.2f}",
                f"{baseline / median:.2f}",
                f"{quality['g21']:.3f}",
                f"{quality['g22']:.3f}",
                f"{quality['clusters']:.3f} ({quality['n_clusters']})",
                quality["spurious"],
                "yes" if same else "no",
            ]
        )
        print(" | ".join(str(cell) for cell in rows[-1]), flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one 1024 px field, no RESULTS.md")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls after the first")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    size = 1024 if args.quick else 2048
    fields = dict(list(FIELDS.items())[:1]) if args.quick else FIELDS
    header = [
        "field",
        "case",
        "sources",
        "CPU s / Mpix",
        "first call CPU s / Mpix",
        "speed-up vs deblend every segment",
        "completeness g<21",
        "completeness g<22",
        "clusters g<21 found (n)",
        "spurious",
        "same catalogue",
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (seed, center) in fields.items():
            paths, truth = write_field(tmp, name, size=size, seed=seed, center=center)
            rows += bench_field(name, paths, truth, size=size, repeat=args.repeat)
    if args.quick or args.no_write:
        return
    try:
        import sep

        sep_version = f"sep {sep.__version__}"
    except ImportError:
        sep_version = "sep not installed"
    import photutils

    text = "\n".join(
        [
            "## Source detection (`bench_detection.py`)",
            "",
            f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {machine_summary()}; "
            f"photutils {photutils.__version__}, {sep_version}. Simulated PAndAS g/i fields of "
            f"{size} px ({size * size / 1e6:.1f} Mpix), one process, CPU time per Mpix of "
            f"the detection grid: median of {args.repeat} calls after a first call (which also "
            "imports). Completeness: true objects (true g) with a detection within 2 px; "
            "spurious: detections with no true object within 2 px. Simulated images only.",
            "",
            markdown_table(header, rows),
        ]
    )
    write_results_block("bench_detection", text)


if __name__ == "__main__":
    main()
