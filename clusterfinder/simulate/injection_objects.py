"""What `~clusterfinder.simulate.inject` adds: how many objects of which kinds, how bright.

`check_counts` reads the ``n=`` of `~clusterfinder.simulate.inject` (a number of young
clusters, or kind -> number), `check_mag_range` its ``mag_range=``, and
`draw_injected` draws the objects with the simulator's physics
(`~clusterfinder.simulate.population.draw_objects`), keeping only those within the
magnitude range when one is given.

These helpers belong to `~clusterfinder.simulate.inject` and are not public API.
"""

import numpy as np

from ..utils.photometry import as_magnitude
from ..utils.validation import check_positive_integer
from .config import KINDS
from .injection_scene import EXTINCTION
from .population import INJECTABLE_KINDS, Population, band_magnitude, draw_objects

__all__ = []  # helpers of clusterfinder.simulate.inject


def check_counts(n):
    if isinstance(n, dict):
        counts = {}
        for kind, count in n.items():
            if kind not in INJECTABLE_KINDS:
                raise ValueError(
                    f"n names kind {kind!r}, which cannot be injected; expected kinds among "
                    f"{INJECTABLE_KINDS}"
                )
            counts[kind] = check_positive_integer(count, f"n[{kind!r}]")
        if not counts:
            raise ValueError("n is an empty dict; give at least one kind -> number of objects")
        return counts
    return {"young_cluster": check_positive_integer(n, "n")}


def check_band_mapping(value, name, bands):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict band -> value; got {type(value).__name__}")
    unknown = [band for band in value if band not in bands]
    if unknown:
        raise ValueError(f"{name} names band(s) {unknown} that are not in images {list(bands)}")
    return dict(value)


#: Rounds of drawing before `inject` gives up filling ``mag_range``.
_MAG_RANGE_ROUNDS = 50


def check_mag_range(mag_range, bands, filters):
    """Simulator band -> (bright, faint) from ``mag_range`` (band -> pair of magnitudes)."""
    if mag_range is None:
        return {}
    ranges = {}
    for band, limits in check_band_mapping(mag_range, "mag_range", bands).items():
        try:
            bright, faint = limits
        except (TypeError, ValueError):
            raise TypeError(
                f"mag_range[{band!r}] must be a pair (bright, faint) of AB magnitudes; "
                f"got {limits!r}"
            ) from None
        bright = as_magnitude(bright, f"mag_range[{band!r}][0]")
        faint = as_magnitude(faint, f"mag_range[{band!r}][1]")
        if not bright < faint:
            raise ValueError(
                f"mag_range[{band!r}] must be (bright, faint) with bright < faint; got {limits!r}"
            )
        ranges[filters.get(band, band)] = (bright, faint)
    return ranges


def magnitudes(population, model_band):
    """Total AB magnitude (zero point free) of each object in a simulator band."""
    n = len(population.objects["x"])
    flux = np.zeros(n)
    for part in (population.points, population.extended):
        mag = band_magnitude(part["mag_g"], part["mag_i"], model_band)
        mag = mag + EXTINCTION[model_band] * np.asarray(part["ebv"], dtype=float)
        flux += np.bincount(part["owner"], 10.0 ** (-0.4 * mag), minlength=n)
    with np.errstate(divide="ignore"):
        return -2.5 * np.log10(flux)


def draw_injected(counts, rng, ranges, **options):
    """The objects to inject: ``counts`` of each kind, within ``ranges`` if any."""
    if not ranges:
        return draw_objects(counts, rng, **options)
    need, chosen, drawn = dict(counts), [], dict.fromkeys(counts, 0)
    for _ in range(_MAG_RANGE_ROUNDS):
        batch = {kind: 4 * left + 16 for kind, left in need.items() if left}
        if not batch:
            break
        population = draw_objects(batch, rng, **options)
        ok = np.ones(len(population.objects["x"]), dtype=bool)
        for model_band, (bright, faint) in ranges.items():
            mags = magnitudes(population, model_band)
            ok &= (mags >= bright) & (mags <= faint)
        for kind in batch:
            index = np.flatnonzero(ok & (population.objects["kind"] == kind))[: need[kind]]
            chosen.append(population.take(index))
            need[kind] -= index.size
            drawn[kind] += batch[kind]
    short = {kind: counts[kind] - left for kind, left in need.items() if left}
    if short:
        kind = next(iter(short))
        raise ValueError(
            f"only {short[kind]} of {counts[kind]} {kind} objects fall within mag_range "
            f"among {drawn[kind]} drawn; widen mag_range (the simulator's magnitudes are "
            "those of M31's clusters, moved by the distance of galaxy=)"
        )
    population = Population.concatenate(chosen)
    order = np.argsort([KINDS.index(str(k)) for k in population.objects["kind"]], kind="stable")
    return population.take(order)
