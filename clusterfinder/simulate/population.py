"""The objects of a simulated field: what is where, how bright, how big.

`draw_population` draws every object kind over the field (and a margin around it, so
that light from just outside falls on the edges) and returns a `Population`: the
objects (the future truth table) and their light split into point sources (stars,
including the bright stars of young clusters) and extended components (smooth cluster
light, galaxies, HII regions). Each kind has its own random stream, so selecting kinds
with ``kinds=`` leaves the objects of the other kinds unchanged.
"""

import math
from dataclasses import dataclass, field
from typing import ClassVar

import astropy.units as u
import numpy as np

from .associations import ASSOCIATION_DENSITY, add_association, draw_association
from .calibration import draw_young_clusters
from .config import DISC_KINDS, KINDS
from .profiles import sample_radii, scale_for_reff

__all__ = ["INJECTABLE_KINDS", "Population", "draw_objects", "draw_population"]

#: Effective wavelengths (micron) used to interpolate magnitudes to bands other than g, i.
BAND_WAVELENGTHS = {"u": 0.355, "g": 0.477, "r": 0.623, "i": 0.763, "z": 0.913, "y": 1.0}

#: Faintest star drawn (g, AB, at the distance of M31): fainter light is in the disc light.
FAINT_STAR = 26.5
#: Brightest star of a young cluster (g, AB, at M31).
BRIGHT_STAR = 19.0

# Magnitude range and luminosity-function slope (dex per mag) of each star-like kind,
# and the magnitude to which the configured density counts.
_LF = {
    "mw_star": (13.5, 24.0, 0.20, 23.0),
    "m31_star": (19.5, FAINT_STAR, 0.30, FAINT_STAR),
    "galaxy": (19.5, 25.5, 0.35, 25.5),
    "hii_region": (18.5, 23.0, 0.20, 23.0),
}


def band_magnitude(mag_g, mag_i, band):
    """Magnitude in ``band`` interpolated (linearly in wavelength) from g and i."""
    if band == "g":
        return np.asarray(mag_g, dtype=float)
    if band == "i":
        return np.asarray(mag_i, dtype=float)
    lam_g, lam_i = BAND_WAVELENGTHS["g"], BAND_WAVELENGTHS["i"]
    w = (BAND_WAVELENGTHS[band] - lam_g) / (lam_i - lam_g)
    return (1.0 - w) * np.asarray(mag_g) + w * np.asarray(mag_i)


def _luminosity_function(rng, n, bright, faint, slope):
    """Magnitudes with N(<m) proportional to 10**(slope m) between ``bright`` and ``faint``."""
    low, high = 10.0 ** (slope * bright), 10.0 ** (slope * faint)
    return np.log10(low + rng.random(n) * (high - low)) / slope


def _star_colours(rng, n, kind):
    if kind == "mw_star":
        turnoff = rng.random(n) < 0.35
        return np.where(turnoff, rng.normal(0.75, 0.15, n), rng.uniform(1.0, 3.0, n))
    blue = rng.random(n) < 0.25
    return np.where(blue, rng.normal(-0.2, 0.15, n), rng.normal(1.5, 0.35, n))


@dataclass
class Population:
    """Objects of a field and their light, in pixel coordinates of the image.

    ``objects`` holds one array per truth column (``x``, ``y``, ``kind``, ``mag_g``,
    ``mag_i``, ``ebv``, ``reff`` in arcsec, ``profile``, ``gamma``, ``concentration``,
    ``sersic_n``, ``ellipticity``, ``theta`` in radians, ``nstars``); ``points`` and
    ``extended`` hold the light components with their ``owner`` (object index) and
    their fluxes per band, intrinsic g and i magnitudes of the component.
    """

    objects: dict = field(default_factory=dict)
    points: dict = field(default_factory=dict)
    extended: dict = field(default_factory=dict)

    def take(self, index):
        """The objects at ``index`` (in that order), with their light components.

        Examples
        --------
        >>> import numpy as np
        >>> from clusterfinder.galaxy import M31
        >>> from clusterfinder.simulate import PANDAS
        >>> pop = draw_objects({"asterism": 4}, np.random.default_rng(0),
        ...                    arcsec_per_pixel=0.1, galaxy=M31, disc_model=PANDAS.disc)
        >>> part = pop.take([2, 0])
        >>> part.objects["nstars"].tolist() == pop.objects["nstars"][[2, 0]].tolist()
        True
        >>> sorted(set(part.points["owner"].tolist()))
        [0, 1]
        """
        index = np.asarray(index, dtype=np.int64)
        renumber = np.full(len(self.objects["x"]), -1, dtype=np.int64)
        renumber[index] = np.arange(index.size)
        parts = []
        for part in (self.points, self.extended):
            owner = renumber[part["owner"]]
            keep = owner >= 0
            part = {key: value[keep] for key, value in part.items()}
            part["owner"] = owner[keep]
            parts.append(part)
        objects = {key: value[index] for key, value in self.objects.items()}
        return Population(objects=objects, points=parts[0], extended=parts[1])

    @staticmethod
    def concatenate(populations):
        """One population holding the objects of ``populations``, in order.

        Examples
        --------
        >>> import numpy as np
        >>> from clusterfinder.galaxy import M31
        >>> from clusterfinder.simulate import PANDAS
        >>> pop = draw_objects({"asterism": 2}, np.random.default_rng(0),
        ...                    arcsec_per_pixel=0.1, galaxy=M31, disc_model=PANDAS.disc)
        >>> both = Population.concatenate([pop, pop.take([1])])
        >>> len(both.objects["x"]), int(both.points["owner"].max())
        (3, 2)
        """
        populations = list(populations)
        offsets = np.cumsum([0] + [len(p.objects["x"]) for p in populations[:-1]])

        def join(name):
            dicts = [getattr(p, name) for p in populations]
            out = {key: np.concatenate([d[key] for d in dicts]) for key in dicts[0]}
            if "owner" in out:
                out["owner"] = np.concatenate(
                    [d["owner"] + k for d, k in zip(dicts, offsets, strict=True)]
                )
            return out

        return Population(objects=join("objects"), points=join("points"), extended=join("extended"))


class _Builder:
    OBJECT_COLUMNS: ClassVar[dict] = {
        "x": float,
        "y": float,
        "kind": "U13",
        "mag_g": float,
        "mag_i": float,
        "ebv": float,
        "reff": float,
        "profile": "U12",
        "gamma": float,
        "concentration": float,
        "sersic_n": float,
        "ellipticity": float,
        "theta": float,
        "nstars": np.int64,
    }
    POINT_COLUMNS = ("x", "y", "owner", "mag_g", "mag_i", "ebv")
    EXTENDED_COLUMNS = (
        "x",
        "y",
        "owner",
        "mag_g",
        "mag_i",
        "ebv",
        "profile",
        "scale",
        "rt",
        "gamma",
        "concentration",
        "sersic_n",
        "ellipticity",
        "theta",
    )

    def __init__(self):
        self.objects = {key: [] for key in self.OBJECT_COLUMNS}
        self.points = {key: [] for key in self.POINT_COLUMNS}
        self.extended = {key: [] for key in self.EXTENDED_COLUMNS}
        self.count = 0

    def add_objects(self, n, **columns):
        defaults = {"ebv": 0.0, "reff": 0.0, "profile": "moffat_point", "nstars": 1}
        for key in self.OBJECT_COLUMNS:
            value = columns.get(key, defaults.get(key, np.nan))
            self.objects[key].append(np.broadcast_to(np.asarray(value), (n,)))
        owners = np.arange(self.count, self.count + n)
        self.count += n
        return owners

    def add_points(self, **columns):
        n = len(columns["x"])
        for key in self.POINT_COLUMNS:
            self.points[key].append(np.broadcast_to(np.asarray(columns.get(key, 0.0)), (n,)))

    def add_extended(self, **columns):
        for key in self.EXTENDED_COLUMNS:
            self.extended[key].append(np.atleast_1d(np.asarray(columns.get(key, np.nan))))

    def finish(self):
        def join(parts, dtype=None):
            if not parts:
                return np.zeros(0, dtype=dtype or float)
            return np.concatenate(parts).astype(dtype) if dtype else np.concatenate(parts)

        objects = {key: join(self.objects[key], dt) for key, dt in self.OBJECT_COLUMNS.items()}
        points = {key: join(self.points[key]) for key in self.POINT_COLUMNS}
        points["owner"] = points["owner"].astype(np.int64)
        extended = {key: join(self.extended[key]) for key in self.EXTENDED_COLUMNS}
        extended["owner"] = extended["owner"].astype(np.int64)
        extended["profile"] = extended["profile"].astype("U12")
        return Population(objects=objects, points=points, extended=extended)


def _positions(rng, expected, bounds, disc, which):
    """Poisson positions over ``bounds``, thinned by the disc density factor ``which``."""
    (ylo, yhi), (xlo, xhi) = bounds
    peak = 1.0 if which is None else disc.max_factor(which)
    n = rng.poisson(expected * peak) if expected * peak > 0 else 0
    x = rng.uniform(xlo, xhi, n)
    y = rng.uniform(ylo, yhi, n)
    if which is not None and n:
        keep = rng.random(n) * peak < disc.factor(which, y, x)
        x, y = x[keep], y[keep]
    return x, y


def _internal_ebv(rng, n, disc_model, scale=1.0):
    return disc_model.foreground_ebv + rng.exponential(disc_model.internal_ebv * scale, n)


#: Brightest member (g, AB, at M31) of a chance asterism: default and with hard negatives.
ASTERISM_BRIGHT = 21.0
HARD_ASTERISM_BRIGHT = 19.5
#: With hard negatives, OB associations are drawn this many times more often than in M31.
HARD_ASSOCIATION_BOOST = 3.0
#: Smallest effective radius (arcsec) of an HII region: default and with hard negatives.
HII_SMALLEST = 1.5
HARD_HII_SMALLEST = 0.5


def draw_population(
    shape, config, galaxy, disc, rng, *, kinds=KINDS, pad=64, hard_negatives=False,
    associations=None,
):  # fmt: skip
    """Draw the objects of a field.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the image.
    config : `~clusterfinder.simulate.SurveyConfig`
    galaxy : `~clusterfinder.galaxy.GalaxyGeometry`
    disc : `~clusterfinder.simulate.disc.DiscLight`
        The galaxy light (for the densities of disc objects).
    rng : `numpy.random.Generator`
    kinds : tuple of str
        Kinds to draw.
    pad : int
        Margin (pixels) around the image over which objects are also drawn.
    hard_negatives : bool
        Draw the negatives that look most like clusters more often: asterisms of 2-6
        stars from the bright end of the disc's luminosity function (brightest member
        g = 19.5 rather than 21) spread over up to 1.5" rather than 1"; OB
        associations, whose sub-groups of bright blue stars are ``asterism`` objects
        (`~clusterfinder.simulate.associations`; drawn with the asterisms, three times
        as often as in M31); background galaxies from r_e = 0.1" (compact) rather than
        0.2"; and compact HII regions from r_e = 0.5" rather than 1.5".
    associations : bool, optional
        Draw the OB associations (by default, with the hard negatives).

    Returns
    -------
    `Population`
    """
    ny, nx = shape
    scale = config.arcsec_per_pixel
    bounds = ((-pad - 0.5, ny + pad - 0.5), (-pad - 0.5, nx + pad - 0.5))
    area = (ny + 2 * pad) * (nx + 2 * pad) * (scale / 3600.0) ** 2  # deg^2
    pc_per_pix = galaxy.parsec_per_arcsec.to_value(u.pc / u.arcsec) * scale
    shift = 5.0 * math.log10(galaxy.distance.to_value(u.kpc) / 785.0)
    dm = config.disc
    streams = dict(zip(KINDS, rng.spawn(len(KINDS)), strict=True))
    build = _Builder()

    for kind in KINDS:
        if kind not in kinds:
            continue
        r = streams[kind]
        density = config.densities[kind]
        which = None
        if kind in DISC_KINDS:
            which = "disc" if kind in ("young_cluster", "hii_region") else "all"
        if kind in ("mw_star", "m31_star", "galaxy", "hii_region"):
            bright, faint, slope, counted = _LF[kind]
            density = density * 10.0 ** (slope * (faint - counted))
        x, y = _positions(r, density * area, bounds, disc, which)
        n = x.size
        if kind in ("mw_star", "m31_star"):
            _draw_stars(build, r, x, y, kind, shift, dm, faint=_LF[kind][1])
        elif kind == "asterism":
            _draw_asterisms(build, r, x, y, scale, shift, dm, hard=hard_negatives)
            if hard_negatives if associations is None else associations:
                expected = ASSOCIATION_DENSITY * HARD_ASSOCIATION_BOOST * area
                for ax, ay in zip(*_positions(r, expected, bounds, disc, "disc"), strict=True):
                    association = draw_association(
                        r, ax, ay, pc_per_pixel=pc_per_pix, shift=shift,
                        ebv=(dm.foreground_ebv, dm.internal_ebv),
                    )  # fmt: skip
                    add_association(build, association, arcsec_per_pixel=scale)
        elif kind == "young_cluster":
            _draw_young_clusters(build, r, x, y, pc_per_pix, scale, galaxy)
        elif kind == "old_cluster":
            _draw_old_clusters(build, r, x, y, pc_per_pix, scale, shift, dm)
        elif kind in ("galaxy", "hii_region"):
            bright, faint, slope, _ = _LF[kind]
            g = _luminosity_function(r, n, bright, faint, slope)
            if kind == "galaxy":
                color = r.uniform(0.2, 1.6, n)
                ebv = _internal_ebv(r, n, dm, scale=2.0)
                smallest = 0.1 if hard_negatives else 0.2
                reff_arcsec = 10.0 ** r.uniform(math.log10(smallest), math.log10(1.5), n)
                sersic_n = r.uniform(1.0, 4.0, n)
                ell = r.uniform(0.0, 0.7, n)
            else:
                g = g + shift
                color = r.normal(-0.4, 0.2, n)
                ebv = _internal_ebv(r, n, dm)
                smallest = HARD_HII_SMALLEST if hard_negatives else HII_SMALLEST
                reff_arcsec = 10.0 ** r.uniform(math.log10(smallest), math.log10(6.0), n)
                sersic_n = r.uniform(0.5, 1.0, n)
                ell = r.uniform(0.0, 0.5, n)
            theta = r.uniform(0.0, math.pi, n)
            reff_pix = reff_arcsec / scale
            owners = build.add_objects(
                n, x=x, y=y, kind=kind, mag_g=g, mag_i=g - color, ebv=ebv, reff=reff_arcsec,
                profile="sersic", sersic_n=sersic_n, ellipticity=ell, theta=theta, nstars=0,
            )  # fmt: skip
            for k in range(n):
                s, rt = scale_for_reff("sersic", reff_pix[k], sersic_n=sersic_n[k])
                build.add_extended(
                    x=x[k], y=y[k], owner=owners[k], mag_g=g[k], mag_i=g[k] - color[k],
                    ebv=ebv[k], profile="sersic", scale=s, rt=rt, sersic_n=sersic_n[k],
                    ellipticity=ell[k], theta=theta[k],
                )  # fmt: skip
    return build.finish()


#: Kinds that `draw_objects` draws one by one (each object whole, centred on its position).
INJECTABLE_KINDS = ("mw_star", "m31_star", "asterism", "young_cluster", "old_cluster")

#: Faintest star (g, AB, at M31 for disc stars) drawn for injection: stars are injected as
#: known non-clusters beside the sources a classifier sees, not as the crowding below them.
INJECTED_STAR_FAINT = 24.0


def draw_objects(counts, rng, *, arcsec_per_pixel, galaxy, disc_model, hard_negatives=False):
    """Draw whole objects of some kinds, each centred on ``(0, 0)``, for injection.

    The objects have the physics of `draw_population` (the same drawing code): PHAT
    magnitudes and sizes with stochastic bright stars for young clusters, King profiles
    for old ones, chance groups of disc stars for asterisms, and single stars (Milky Way
    foreground or M31 disc, from the bright end of their luminosity functions down to
    g = `INJECTED_STAR_FAINT`) as known non-clusters. Positions are left to the
    caller: every object's centre (its light-weighted centre for an asterism) is at
    ``x = y = 0`` and its light components lie at offsets from it.

    Parameters
    ----------
    counts : dict
        Kind (one of `INJECTABLE_KINDS`) -> number of objects.
    rng : `numpy.random.Generator`
        Each kind draws from its own stream spawned from it (in the order of `KINDS`),
        so the objects of one kind do not depend on the counts of the others.
    arcsec_per_pixel : float
        Angular size of the unit in which positions and lengths are returned.
    galaxy : `~clusterfinder.galaxy.GalaxyGeometry`
        Host galaxy (its distance sets magnitudes and angular sizes).
    disc_model : `~clusterfinder.simulate.DiscModel`
        Reddening of disc objects (asterisms, old clusters).
    hard_negatives : bool, optional
        Draw asterisms as `draw_population` does with hard negatives (brighter, wider).

    Returns
    -------
    `Population`

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.galaxy import M31
    >>> from clusterfinder.simulate import PANDAS
    >>> pop = draw_objects({"young_cluster": 3}, np.random.default_rng(0),
    ...                    arcsec_per_pixel=0.1, galaxy=M31, disc_model=PANDAS.disc)
    >>> pop.objects["kind"].tolist(), pop.objects["x"].tolist()
    (['young_cluster', 'young_cluster', 'young_cluster'], [0.0, 0.0, 0.0])
    """
    unknown = [kind for kind in counts if kind not in INJECTABLE_KINDS]
    if unknown:
        raise ValueError(f"cannot draw kind(s) {unknown} one by one; expected {INJECTABLE_KINDS}")
    scale = float(arcsec_per_pixel)
    pc_per_pix = galaxy.parsec_per_arcsec.to_value(u.pc / u.arcsec) * scale
    shift = 5.0 * math.log10(galaxy.distance.to_value(u.kpc) / 785.0)
    streams = dict(zip(KINDS, rng.spawn(len(KINDS)), strict=True))
    build = _Builder()
    for kind in KINDS:
        n = int(counts.get(kind, 0))
        if not n:
            continue
        r, x, y = streams[kind], np.zeros(n), np.zeros(n)
        if kind == "young_cluster":
            _draw_young_clusters(build, r, x, y, pc_per_pix, scale, galaxy)
        elif kind == "old_cluster":
            _draw_old_clusters(build, r, x, y, pc_per_pix, scale, shift, disc_model)
        elif kind in ("mw_star", "m31_star"):
            _draw_stars(build, r, x, y, kind, shift, disc_model, faint=INJECTED_STAR_FAINT)
        else:
            _draw_asterisms(build, r, x, y, scale, shift, disc_model, hard=hard_negatives)
    population = build.finish()
    # Centre every object (an asterism's centre is its light-weighted centre) on (0, 0).
    objects = population.objects
    for part in (population.points, population.extended):
        part["x"] = part["x"] - objects["x"][part["owner"]]
        part["y"] = part["y"] - objects["y"][part["owner"]]
    objects["x"] = np.zeros_like(objects["x"])
    objects["y"] = np.zeros_like(objects["y"])
    return population


def _draw_stars(build, r, x, y, kind, shift, dm, *, faint):
    """Single stars of ``kind`` (``mw_star`` or ``m31_star``) down to g = ``faint``.

    Milky Way stars are foreground (no distance shift, foreground reddening only); M31
    disc stars move with the distance and get the disc's internal reddening.
    """
    bright, _, slope, _ = _LF[kind]
    n = x.size
    g = _luminosity_function(r, n, bright, faint, slope)
    color = _star_colours(r, n, kind)
    if kind == "mw_star":
        ebv = dm.foreground_ebv * r.random(n)
    else:
        g = g + shift
        ebv = _internal_ebv(r, n, dm)
    owners = build.add_objects(n, x=x, y=y, kind=kind, mag_g=g, mag_i=g - color, ebv=ebv)
    build.add_points(x=x, y=y, owner=owners, mag_g=g, mag_i=g - color, ebv=ebv)


def _draw_old_clusters(build, r, x, y, pc_per_pix, scale, shift, dm):
    n = x.size
    g = np.clip(r.normal(17.3, 1.1, n), 15.0, 22.0) + shift
    color = r.uniform(0.6, 1.2, n)
    ebv = _internal_ebv(r, n, dm)
    reff_pc = np.clip(10.0 ** r.normal(math.log10(2.5), 0.2, n), 1.0, 10.0)
    concentration = r.uniform(1.0, 2.0, n)
    ell = r.uniform(0.0, 0.15, n)
    theta = r.uniform(0.0, math.pi, n)
    reff_pix = reff_pc / pc_per_pix
    owners = build.add_objects(
        n, x=x, y=y, kind="old_cluster", mag_g=g, mag_i=g - color, ebv=ebv,
        reff=reff_pix * scale, profile="king", concentration=concentration,
        ellipticity=ell, theta=theta, nstars=0,
    )  # fmt: skip
    for k in range(n):
        s, rt = scale_for_reff("king", reff_pix[k], concentration=concentration[k])
        build.add_extended(
            x=x[k], y=y[k], owner=owners[k], mag_g=g[k], mag_i=g[k] - color[k],
            ebv=ebv[k], profile="king", scale=s, rt=rt, concentration=concentration[k],
            ellipticity=ell[k], theta=theta[k],
        )  # fmt: skip


def _draw_asterisms(build, r, x, y, scale, shift, dm, *, hard=False):
    bright, most, spread, extent = (
        (HARD_ASTERISM_BRIGHT, 7, 0.6, 1.5) if hard else (ASTERISM_BRIGHT, 6, 0.45, 1.0)
    )
    for k in range(x.size):
        m = int(r.integers(2, most))
        g = _luminosity_function(r, m, bright, 25.0, 0.3) + shift
        color = _star_colours(r, m, "m31_star")
        ebv = _internal_ebv(r, m, dm)
        radius = np.minimum(np.abs(r.normal(0.0, spread, m)), extent) / scale
        angle = r.uniform(0.0, 2.0 * math.pi, m)
        sx = x[k] + radius * np.cos(angle)
        sy = y[k] + radius * np.sin(angle)
        flux_g = 10.0 ** (-0.4 * g)
        flux_i = 10.0 ** (-0.4 * (g - color))
        cx = float(np.sum(flux_g * sx) / flux_g.sum())
        cy = float(np.sum(flux_g * sy) / flux_g.sum())
        rms = math.sqrt(np.sum(flux_g * ((sx - cx) ** 2 + (sy - cy) ** 2)) / flux_g.sum())
        total_g = -2.5 * math.log10(flux_g.sum())
        total_i = -2.5 * math.log10(flux_i.sum())
        owner = build.add_objects(
            1, x=cx, y=cy, kind="asterism", mag_g=total_g, mag_i=total_i,
            ebv=float(np.mean(ebv)), reff=rms * scale, profile="asterism", nstars=m,
        )  # fmt: skip
        build.add_points(x=sx, y=sy, owner=owner[0], mag_g=g, mag_i=g - color, ebv=ebv)


def _draw_young_clusters(build, r, x, y, pc_per_pix, scale, galaxy):
    n = x.size
    g, i, reff_pc = draw_young_clusters(r, n, galaxy=galaxy)
    reff_pix = reff_pc / pc_per_pix
    shift = 5.0 * math.log10(galaxy.distance.to_value(u.kpc) / 785.0)
    for k in range(n):
        eff = r.random() < 0.7
        ell = r.uniform(0.0, 0.15)
        theta = r.uniform(0.0, math.pi)
        if eff:
            shape = {"gamma": r.uniform(2.2, 3.5)}
            profile = "eff"
        else:
            shape = {"concentration": r.uniform(0.5, 1.5)}
            profile = "king"
        s, rt = scale_for_reff(profile, reff_pix[k], **shape)
        # Stochastic bright stars: dN/dL ~ L^-2 above the faint limit, a resolved fraction
        # of the light; the rest is the smooth unresolved part.
        lum_g = 10.0 ** (0.4 * (FAINT_STAR + shift - g[k]))  # in units of the faintest star
        lum_max = max(min(lum_g, 10.0 ** (0.4 * (FAINT_STAR - BRIGHT_STAR))), 1.0 + 1e-9)
        fraction = r.uniform(0.3, 0.8)
        mean = math.log(lum_max) / (1.0 - 1.0 / lum_max)
        m = int(r.poisson(fraction * lum_g / mean))
        star_g = 1.0 / (1.0 - r.random(m) * (1.0 - 1.0 / lum_max))
        red = r.random(m) < 0.15
        star_color = np.where(red, r.normal(1.6, 0.3, m), r.normal(-0.25, 0.15, m))
        star_i = star_g * 10.0 ** (0.4 * star_color)
        lum_i = lum_g * 10.0 ** (0.4 * (g[k] - i[k]))
        if m and star_g.sum() > 0.9 * lum_g:
            star_g *= 0.9 * lum_g / star_g.sum()
        if m and star_i.sum() > 0.9 * lum_i:
            star_i *= 0.9 * lum_i / star_i.sum()
        radii = sample_radii(r, m, profile, s, rt, **shape)
        angle = r.uniform(0.0, 2.0 * math.pi, m)
        zero = FAINT_STAR + shift
        owner = build.add_objects(
            1, x=x[k], y=y[k], kind="young_cluster", mag_g=g[k], mag_i=i[k],
            reff=reff_pix[k] * scale, profile=profile, gamma=shape.get("gamma", np.nan),
            concentration=shape.get("concentration", np.nan), ellipticity=ell, theta=theta,
            nstars=m,
        )[0]  # fmt: skip
        if m:
            build.add_points(
                x=x[k] + radii * np.cos(angle), y=y[k] + radii * np.sin(angle), owner=owner,
                mag_g=zero - 2.5 * np.log10(star_g), mag_i=zero - 2.5 * np.log10(star_i),
            )  # fmt: skip
        smooth_g = zero - 2.5 * math.log10(lum_g - star_g.sum())
        smooth_i = zero - 2.5 * math.log10(lum_i - star_i.sum())
        build.add_extended(
            x=x[k], y=y[k], owner=owner, mag_g=smooth_g, mag_i=smooth_i, ebv=0.0,
            profile=profile, scale=s, rt=rt, ellipticity=ell, theta=theta, **shape,
        )  # fmt: skip
