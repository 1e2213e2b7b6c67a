"""The main job of clusterfinder, end to end, on a simulated PAndAS field.

`run_demo` is what ``clusterfinder demo`` runs: simulate a field of the M31
disc, detect its sources, classify them with the bundled model, write the
candidates (ECSV and DS9 regions) and an inspection page, and score the
candidates against the simulation's truth.

The files are made in a temporary folder inside the output folder and moved into
place together at the end, so that an interrupted demo leaves the output folder
as it was: never a new field beside the candidates of an old one.
"""

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy import units as u

from .classifier.metrics import binary_metrics
from .datasets import CLUSTER_KINDS, label_from_truth
from .utils.outputs import check_output_dir, check_output_file

__all__ = ["DemoResult", "demo_paths", "run_demo", "score_candidates"]


class DemoResult(dict):
    """What `run_demo` made and measured: paths, counts and scores (a dict).

    Keys: ``size``, ``seed``, ``model``, ``threshold``, ``radius``, ``n_truth_clusters``,
    ``n_sources``, ``n_candidates``, ``n_too_faint``, ``scores`` (limiting magnitude
    -> purity, recall, F1 and counts; see `score_candidates`), ``paths`` (see
    `demo_paths`) and ``seconds``.

    Examples
    --------
    >>> from clusterfinder.demo import DemoResult
    >>> result = DemoResult(size=256, seed=1, n_truth_clusters=2, model="m",
    ...                     threshold=0.9, n_sources=40, n_candidates=2, seconds=1.0,
    ...                     scores={21.0: {"purity": 1.0, "recall": 0.5, "f1": 2 / 3,
    ...                                    "n_clusters": 2, "n_candidates": 1}},
    ...                     paths={"truth": "out/truth.ecsv"})
    >>> print(result.summary().splitlines()[3])
    g < 21       purity 100.0%  recall 50.0%  F1 66.7%  (2 clusters, 1 candidates)
    """

    def summary(self):
        """The result as the lines that ``clusterfinder demo`` prints.

        Examples
        --------
        See `DemoResult`.
        """
        lines = [
            f"field        {self['size']} x {self['size']} pix, seed {self['seed']}, "
            f"{self['n_truth_clusters']} simulated clusters",
            f"model        {self['model']} (threshold {self['threshold']:.3f})",
            f"sources      {self['n_sources']} detected, {self['n_candidates']} candidates"
            + (
                f" ({self['n_too_faint']} more above the threshold, fainter than the "
                "model's training data, left out)"
                if self.get("n_too_faint")
                else ""
            ),
        ]
        for mag, score in self["scores"].items():
            lines.append(
                f"g < {mag:<5g}    purity {score['purity']:.1%}  recall {score['recall']:.1%}  "
                f"F1 {score['f1']:.1%}  ({score['n_clusters']} clusters, "
                f"{score['n_candidates']} candidates)"
            )
        lines.append("written      " + ", ".join(str(p) for p in self["paths"].values()))
        lines.append(f"time         {self['seconds']:.1f} s")
        return "\n".join(lines)


def score_candidates(sources, truth, *, threshold, mag_limits=(21.0, 22.0), band="g"):
    """Purity, recall and F1 of classified sources against the simulation's truth.

    Parameters
    ----------
    sources : `~astropy.table.Table`
        Every classified source, with ``coord``, ``prob_cluster`` and ``mag_<band>``.
    truth : `~astropy.table.QTable`
        The simulator's truth table.
    threshold : float
        Sources with ``prob_cluster >= threshold`` are candidates.
    mag_limits : sequence of float
        Score the sources brighter than each limit (in measured magnitude).
    band : str
        Band of the limits.

    Returns
    -------
    dict
        Limit -> dict with ``purity``, ``recall``, ``f1``, ``n_clusters``
        (detected true clusters) and ``n_candidates``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder.demo import score_candidates
    >>> truth = QTable({"coord": SkyCoord([10, 10.01, 10.02] * u.deg, [41] * 3 * u.deg),
    ...                 "kind": ["young_cluster", "mw_star", "young_cluster"],
    ...                 "mag_g": [20.0, 19.0, 20.5]})
    >>> sources = QTable({"coord": truth["coord"], "mag_g": truth["mag_g"],
    ...                   "prob_cluster": [0.9, 0.8, 0.1]})
    >>> score = score_candidates(sources, truth, threshold=0.5, mag_limits=[21])[21]
    >>> score["purity"], score["recall"]
    (0.5, 0.5)
    """
    _, label, _ = label_from_truth(sources, truth, positive_kinds=CLUSTER_KINDS, band=band)
    prob = np.asarray(sources["prob_cluster"], dtype=float)
    mag = np.asarray(sources[f"mag_{band}"], dtype=float)
    scores = {}
    for limit in mag_limits:
        bright = mag < limit
        metrics = binary_metrics(label[bright], prob[bright], threshold)
        scores[float(limit)] = {
            "purity": float(metrics["purity"]),
            "recall": float(metrics["recall"]),
            "f1": float(metrics["f1"]),
            "n_clusters": int(metrics["tp"] + metrics["fn"]),
            "n_candidates": int(metrics["tp"] + metrics["fp"]),
        }
    return scores


def demo_paths(outdir):
    """The files that `run_demo` writes into ``outdir``: a dict name -> path.

    Parameters
    ----------
    outdir : str or `~pathlib.Path`
        The demo's output folder (nothing is created or read).

    Returns
    -------
    dict
        ``g``, ``i`` (images), ``truth``, ``candidates``, ``regions`` and
        ``inspection`` -> `~pathlib.Path`.

    Examples
    --------
    >>> from clusterfinder.demo import demo_paths
    >>> paths = demo_paths("out")
    >>> list(paths), paths["candidates"].name
    (['g', 'i', 'truth', 'candidates', 'regions', 'inspection'], 'candidates.ecsv')
    """
    from .simulate import PANDAS

    outdir = Path(outdir)
    paths = {band: outdir / f"field_{band}.fits" for band in PANDAS.bands}
    for name, filename in (
        ("truth", "truth.ecsv"),
        ("candidates", "candidates.ecsv"),
        ("regions", "candidates.reg"),
        ("inspection", "inspection.html"),
    ):
        paths[name] = outdir / filename
    return paths


def check_demo_outputs(outdir, *, overwrite=False, model=None, name="outdir"):
    """Check the output folder and files of `run_demo` before the work starts."""
    outdir = check_output_dir(outdir, name=name)
    inputs = {"the model": model} if isinstance(model, (str, os.PathLike)) else {}
    for path in demo_paths(outdir).values():
        if path.exists():  # (the folder may not exist yet)
            check_output_file(path, overwrite=overwrite, inputs=inputs, name=name)
    return outdir


def run_demo(
    outdir="clusterfinder-demo", *, size=2048, seed=1, model=None, overwrite=False,
    progress_bar=False,
):  # fmt: skip
    """Run the main job on a simulated PAndAS field and score it against the truth.

    Parameters
    ----------
    outdir : str or `~pathlib.Path`
        Folder for the images, truth, candidates, regions and inspection page
        (see `demo_paths`); created if needed. The files are made in a temporary
        folder inside it and moved into place together at the end: an interrupted
        demo leaves ``outdir`` as it was.
    size : int
        Side of the simulated field in pixels (0.186"/pix).
    seed : int
        Random seed of the field.
    model : str or path, optional
        Weights name or file for `~clusterfinder.ClusterClassifier.from_pretrained`;
        the bundled default if None.
    overwrite : bool
        Replace the files of an earlier demo in ``outdir``; without it, any of them
        there is refused before the work starts.
    progress_bar : bool
        Show progress bars.

    Returns
    -------
    `DemoResult`

    Raises
    ------
    FileExistsError
        A file of the demo is in ``outdir`` already and ``overwrite`` is False.

    Examples
    --------
    A small field (the command line's default is 2048 pixels):

    >>> import tempfile
    >>> from clusterfinder.demo import run_demo
    >>> with tempfile.TemporaryDirectory() as out:
    ...     result = run_demo(out, size=512, seed=1)
    ...     written = sorted(path.name for path in result["paths"].values())
    >>> written  # doctest: +NORMALIZE_WHITESPACE
    ['candidates.ecsv', 'candidates.reg', 'field_g.fits', 'field_i.fits',
     'inspection.html', 'truth.ecsv']
    >>> result["n_sources"] > 100, sorted(result["scores"])
    (True, [21.0, 22.0])
    """
    from .classifier import ClusterClassifier
    from .classifier.weights import DEFAULT_WEIGHTS
    from .inspect import make_inspection_page
    from .simulate import simulate_field

    start = time.perf_counter()
    outdir = check_demo_outputs(outdir, overwrite=overwrite, model=model)
    classifier = ClusterClassifier.from_pretrained(model)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = demo_paths(outdir)
    work = Path(tempfile.mkdtemp(prefix=".demo-", dir=outdir))
    try:
        staged = demo_paths(work)
        field = simulate_field(size=size, seed=seed, progress_bar=progress_bar)
        images = field.write(work, name="field")
        sources = classifier.find_candidates(images, keep_all=True, progress_bar=progress_bar)
        threshold = classifier.threshold
        chosen = np.asarray(sources["prob_cluster"]) >= threshold
        too_faint = np.zeros(len(sources), dtype=bool)
        if "flag_faint" in sources.colnames:
            # fainter than anything the model was trained on: its answer is an extrapolation
            too_faint = chosen & np.asarray(sources["flag_faint"], dtype=bool)
        candidates = sources[chosen & ~too_faint]
        # the images the catalogue refers to are where they will be, not in the work folder
        candidates.meta["images"] = {band: str(paths[band]) for band in images}

        candidates.write(staged["candidates"])
        candidates.write_regions(staged["regions"], format="ds9")
        make_inspection_page(candidates, images, output=staged["inspection"])
        for key, path in paths.items():
            os.replace(staged[key], path)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    truth = field.truth
    n_truth = int(np.isin(np.asarray(truth["kind"], dtype=str), CLUSTER_KINDS).sum())
    return DemoResult(
        size=size,
        seed=seed,
        model=str(model) if model is not None else DEFAULT_WEIGHTS,
        threshold=float(threshold),
        n_truth_clusters=n_truth,
        n_sources=len(sources),
        n_candidates=len(candidates),
        n_too_faint=int(too_faint.sum()),
        scores=score_candidates(sources, truth, threshold=threshold),
        paths=paths,
        seconds=time.perf_counter() - start,
        radius=0.6 * u.arcsec,
    )
