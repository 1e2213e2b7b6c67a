"""The objects of an outside-rendered field: what lies where, and how bright.

This module belongs to `clusterfinder.outside_renderer`, a second renderer of
PAndAS-like *g*/*i* fields written independently of `clusterfinder.simulate`. It
exists so that a model can be tested on fields drawn by code it was not trained
on. It must never be used to train the bundled models.

`draw_population` scatters seven kinds of object over a field and a margin around
it, from published numbers: surface densities (per square degree, the disc kinds
at a deprojected radius of 8 kpc and scaled with the exponential disc light of
M31), luminosity functions, colours and sizes. The young star clusters take their
*g* magnitudes, colours and effective radii from the PHAT Andromeda Project
catalogue (Johnson et al. 2015) shipped in ``clusterfinder/data/catalogs``.

Every object is made of *components*: point sources (stars, the bright members of
a young cluster, the stars of an asterism) and *blobs*, smooth GalSim profiles
(galaxies, cluster light, HII regions). The renderer draws the components; the
magnitude of an object is the sum of its components' fluxes, so the truth table
and the pixels agree by construction of the sum, not by a second calculation.
"""

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

import astropy.units as u
import galsim
import numpy as np
from astropy.io import ascii
from astropy.wcs.utils import proj_plane_pixel_scales

from ..galaxy import M31

__all__ = [
    "DISC_CENTRAL_SURFACE_BRIGHTNESS",
    "KINDS",
    "SURFACE_DENSITY",
    "Blob",
    "Population",
    "disc_surface_brightness",
    "disc_weight",
    "draw_population",
    "phat_young_clusters",
]

#: The values of the truth table's ``kind`` column.
KINDS = ("mw_star", "m31_star", "asterism", "young_cluster", "old_cluster", "galaxy", "hii_region")

#: Surface densities in deg^-2 (the disc kinds at a deprojected radius of 8 kpc).
SURFACE_DENSITY = {
    "mw_star": 7.5e3,  # brighter than g = 23
    "m31_star": 3.0e5,  # brighter than g = 26.5
    "asterism": 1.5e3,
    "young_cluster": 5.0e3,
    "old_cluster": 150.0,
    "galaxy": 4.5e3,  # brighter than g = 25.5
    "hii_region": 1.0e3,
}

#: Kinds whose density follows the light of the M31 disc.
DISC_KINDS = ("m31_star", "asterism", "young_cluster", "old_cluster", "hii_region")

#: Central surface brightness of the exponential disc, mag/arcsec^2 as observed.
DISC_CENTRAL_SURFACE_BRIGHTNESS = {"g": 20.4, "i": 19.4}

ZEROPOINT = 30.0
BANDS = ("g", "i")
_SCALE_LENGTH = 5.3 * u.kpc
_REFERENCE_RADIUS = 8.0 * u.kpc
_PC_PER_ARCSEC = 3.81
# Vega to AB offsets of the HST filters that stand in for g and i.
_F475W_TO_G = -0.10
_F814W_TO_I = 0.42


def _flux(mag):
    """ADU at the zero point 30 of a source of AB magnitude ``mag``."""
    return 10.0 ** (-0.4 * (np.asarray(mag, dtype=float) - ZEROPOINT))


def _disc_radius(coord):
    """Deprojected radius in M31 (kpc); infinite 60 deg or more from its centre."""
    flat = coord.reshape((coord.size,))
    radius = np.full(coord.size, np.inf)
    near = flat.separation(M31.center) < 60 * u.deg
    if np.any(near):
        radius[near] = M31.deprojected_radius(flat[near]).to_value(u.kpc)
    return radius.reshape(coord.shape) if coord.shape else float(radius[0])


def disc_weight(coord):
    """Disc light relative to its value at a deprojected radius of 8 kpc.

    Parameters
    ----------
    coord : `~astropy.coordinates.SkyCoord`
        One position or an array of them.

    Returns
    -------
    `numpy.ndarray` or float
        ``exp(-(R - 8 kpc) / 5.3 kpc)`` with ``R`` the deprojected radius in M31
        (0 at 60 deg or more from M31).

    Examples
    --------
    >>> from astropy.coordinates import SkyCoord
    >>> float(round(disc_weight(SkyCoord(11.15, 41.75, unit="deg")), 2))
    0.95
    """
    radius = _disc_radius(coord) * u.kpc
    return np.exp(-((radius - _REFERENCE_RADIUS) / _SCALE_LENGTH).decompose().value)


def disc_surface_brightness(coord, band):
    """Surface brightness of the smooth M31 disc, in AB mag/arcsec^2.

    Parameters
    ----------
    coord : `~astropy.coordinates.SkyCoord`
        One position or an array of them.
    band : {'g', 'i'}
        The band.

    Returns
    -------
    `numpy.ndarray` or float
        ``mu0 + 2.5 log10(e) R / h`` for an exponential disc of scale length 5.3 kpc
        (infinite at 60 deg or more from M31).
    """
    radius = _disc_radius(coord) * u.kpc
    slope = 2.5 * np.log10(np.e) * (radius / _SCALE_LENGTH).decompose().value
    return DISC_CENTRAL_SURFACE_BRIGHTNESS[band] + slope


@lru_cache(maxsize=1)
def phat_young_clusters():
    """Magnitudes and sizes of the PHAT Andromeda Project clusters (Johnson et al. 2015).

    Reads the copy of the catalogue shipped with clusterfinder, keeps the rows with a
    measured F475W magnitude and an effective radius, and converts F475W to AB *g*
    (Vega - 0.10) and F814W to AB *i* (Vega + 0.42).

    Returns
    -------
    dict of `numpy.ndarray`
        ``g`` and ``i`` (AB mag; ``i`` is NaN where F814W is missing or an upper
        limit) and ``reff`` (arcsec).

    Examples
    --------
    >>> clusters = phat_young_clusters()
    >>> len(clusters["g"]) > 1000, bool(clusters["reff"].min() > 0)
    (True, True)
    """
    path = resources.files("clusterfinder") / "data/catalogs/phat_ap_johnson2015/table2_pages.dat"
    as_text = [ascii.convert_numpy(str)]
    table = ascii.read(
        str(path),
        format="fixed_width_no_header",
        col_starts=(0, 32, 118, 131),
        col_ends=(4, 36, 123, 136),
        names=("apid", "reff", "f475w", "f814w"),
        converters={"f475w": as_text, "f814w": as_text},
    )

    def measured(column):
        values = np.full(len(table), np.nan)
        for k, text in enumerate(np.ma.filled(table[column], "")):
            text = text.strip()
            if text and not text.startswith(">"):
                values[k] = float(text)
        return values

    reff = np.ma.filled(table["reff"].astype(float), np.nan)
    f475w = measured("f475w")
    keep = np.isfinite(f475w) & np.isfinite(reff) & (reff > 0)
    return {
        "g": f475w[keep] + _F475W_TO_G,
        "i": measured("f814w")[keep] + _F814W_TO_I,
        "reff": reff[keep],
    }


class Blob(NamedTuple):
    """A smooth component: a unit-flux GalSim profile at a position, with band fluxes.

    ``x`` and ``y`` are zero-based pixel positions on the *g* grid; ``profile`` is in
    arcsec, its axes along the image axes; ``flux`` holds ADU at zero point 30 per band.
    """

    owner: int
    x: float
    y: float
    profile: galsim.GSObject
    flux: tuple


@dataclass(frozen=True)
class Population:
    """The objects of a field and the components they are drawn from.

    Positions are zero-based pixel positions on the *g* grid (the centre of the
    first pixel is 0, 0). Fluxes are ADU at zero point 30, one column per band
    (*g*, *i*).

    Attributes
    ----------
    kind, x, y, reff : `numpy.ndarray`
        Per object: its kind, centre and size (arcsec; 0 for a star).
    point_owner, point_x, point_y, point_flux : `numpy.ndarray`
        Per point source: the index of the object it belongs to, its position and its
        fluxes (shape ``(n, 2)``).
    blobs : tuple of `Blob`
        The smooth components.
    """

    kind: np.ndarray
    x: np.ndarray
    y: np.ndarray
    reff: np.ndarray
    point_owner: np.ndarray
    point_x: np.ndarray
    point_y: np.ndarray
    point_flux: np.ndarray
    blobs: tuple

    def __len__(self):
        return len(self.kind)

    def fluxes(self):
        """Total flux of every object, the sum of its components (shape ``(n, 2)``)."""
        total = np.zeros((len(self), 2))
        np.add.at(total, self.point_owner, self.point_flux)
        for blob in self.blobs:
            total[blob.owner] += blob.flux
        return total

    def magnitudes(self):
        """Total AB magnitude of every object (shape ``(n, 2)``, columns *g*, *i*)."""
        return ZEROPOINT - 2.5 * np.log10(self.fluxes())


class _Collector:
    """Gathers objects and their components kind by kind, then makes a `Population`."""

    def __init__(self):
        self.objects = {"kind": [], "x": [], "y": [], "reff": []}
        self.points = {"point_owner": [], "point_x": [], "point_y": [], "point_flux": []}
        self.blobs = []
        self.count = 0

    def add_objects(self, kind, x, y, reff):
        """Add objects; returns their indices."""
        n = len(x)
        self.objects["kind"].append(np.full(n, kind, dtype="<U13"))
        self.objects["x"].append(np.asarray(x, dtype=float))
        self.objects["y"].append(np.asarray(y, dtype=float))
        self.objects["reff"].append(np.broadcast_to(np.asarray(reff, dtype=float), n).copy())
        self.count += n
        return np.arange(self.count - n, self.count)

    def add_points(self, owner, x, y, flux_g, flux_i):
        x = np.atleast_1d(np.asarray(x, dtype=float))
        self.points["point_owner"].append(np.broadcast_to(owner, x.shape).astype(int))
        self.points["point_x"].append(x)
        self.points["point_y"].append(np.atleast_1d(np.asarray(y, dtype=float)))
        flux = np.column_stack([np.atleast_1d(flux_g), np.atleast_1d(flux_i)])
        self.points["point_flux"].append(flux)

    def add_blob(self, owner, x, y, profile, flux_g, flux_i):
        flux = (float(flux_g), float(flux_i))
        self.blobs.append(Blob(int(owner), float(x), float(y), profile, flux))

    def population(self):
        empty = {
            "kind": np.zeros(0, "<U13"),
            "point_owner": np.zeros(0, int),
            "point_flux": np.zeros((0, 2)),
        }
        columns = {}
        for name, parts in {**self.objects, **self.points}.items():
            columns[name] = np.concatenate(parts) if parts else empty.get(name, np.zeros(0))
        return Population(**columns, blobs=tuple(self.blobs))


def _lf_magnitudes(rng, n, bright, faint, slope):
    """``n`` magnitudes with dN/dm proportional to 10**(slope m) on [bright, faint]."""
    span = 10.0 ** (slope * (faint - bright)) - 1.0
    return bright + np.log10(1.0 + rng.uniform(size=n) * span) / slope


def _lf_density(density, limit, bright, faint, slope):
    """Density over [bright, faint] of a luminosity function with ``density`` to ``limit``."""
    return (
        density
        * (10.0 ** (slope * (faint - bright)) - 1)
        / (10.0 ** (slope * (limit - bright)) - 1)
    )


def _disc_star_colours(rng, n):
    """g - i of M31 disc stars: a quarter blue (main sequence), the rest red giants."""
    blue = rng.uniform(size=n) < 0.25
    return np.where(blue, rng.normal(-0.2, 0.12, n), rng.normal(1.5, 0.25, n))


def _sheared(profile, rng, max_e):
    return profile.shear(e=rng.uniform(0, max_e), beta=rng.uniform(0, 180) * galsim.degrees)


def _deviate(rng):
    return galsim.BaseDeviate(int(rng.integers(1, 2**31 - 1)))


class _Region:
    """The square of pixels objects are drawn in: the image plus a margin."""

    def __init__(self, wcs, size, margin):
        self.wcs = wcs
        self.lo = -0.5 - margin
        self.hi = size - 0.5 + margin
        scale_deg = float(np.mean(proj_plane_pixel_scales(wcs)))
        self.pixel_scale = scale_deg * 3600.0
        self.area = ((self.hi - self.lo) * scale_deg) ** 2
        self._envelope = None

    def uniform(self, rng, n):
        return rng.uniform(self.lo, self.hi, n), rng.uniform(self.lo, self.hi, n)

    def weight(self, x, y):
        return disc_weight(self.wcs.pixel_to_world(x, y))

    def envelope(self):
        """An upper bound of `disc_weight` over the region."""
        if self._envelope is None:
            cx, cy = self.wcs.world_to_pixel(M31.center)
            if self.lo <= cx <= self.hi and self.lo <= cy <= self.hi:
                self._envelope = float(np.exp(_REFERENCE_RADIUS / _SCALE_LENGTH))
            else:
                grid = np.linspace(self.lo, self.hi, 33)
                gx, gy = np.meshgrid(grid, grid)
                self._envelope = 1.1 * float(self.weight(gx.ravel(), gy.ravel()).max())
        return self._envelope

    def scatter(self, rng, density, *, disc):
        """Positions of a Poisson process of ``density`` per deg^2 (times the disc light)."""
        peak = self.envelope() if disc else 1.0
        x, y = self.uniform(rng, rng.poisson(density * peak * self.area))
        if disc:
            keep = rng.uniform(size=len(x)) * peak < self.weight(x, y)
            x, y = x[keep], y[keep]
        return x, y


def _mw_stars(rng, pop, region):
    density = _lf_density(SURFACE_DENSITY["mw_star"], 23.0, 13.5, 24.0, 0.2)
    x, y = region.scatter(rng, density, disc=False)
    g = _lf_magnitudes(rng, len(x), 13.5, 24.0, 0.2)
    colour = 0.6 + 2.4 * rng.beta(1.4, 2.6, len(x))
    owner = pop.add_objects("mw_star", x, y, 0.0)
    pop.add_points(owner, x, y, _flux(g), _flux(g - colour))


def _m31_stars(rng, pop, region):
    x, y = region.scatter(rng, SURFACE_DENSITY["m31_star"], disc=True)
    g = _lf_magnitudes(rng, len(x), 19.5, 26.5, 0.3)
    colour = _disc_star_colours(rng, len(x))
    owner = pop.add_objects("m31_star", x, y, 0.0)
    pop.add_points(owner, x, y, _flux(g), _flux(g - colour))


def _asterisms(rng, pop, region):
    """Chance groups of 2-6 disc stars within a radius of 1-2 arcsec."""
    x0, y0 = region.scatter(rng, SURFACE_DENSITY["asterism"], disc=True)
    for xc, yc in zip(x0, y0, strict=True):
        n = int(rng.integers(2, 7))
        radius = rng.uniform(1.0, 2.0) / region.pixel_scale
        r = radius * np.sqrt(rng.uniform(size=n))
        phi = rng.uniform(0, 2 * np.pi, n)
        px, py = xc + r * np.cos(phi), yc + r * np.sin(phi)
        g = _lf_magnitudes(rng, n, 19.5, 25.0, 0.3)
        flux_g, flux_i = _flux(g), _flux(g - _disc_star_colours(rng, n))
        cx, cy = np.average(px, weights=flux_g), np.average(py, weights=flux_g)
        size = np.sqrt(np.average((px - cx) ** 2 + (py - cy) ** 2, weights=flux_g))
        owner = pop.add_objects("asterism", [cx], [cy], size * region.pixel_scale)[0]
        pop.add_points(owner, px, py, flux_g, flux_i)


def _member_magnitudes(rng, budget):
    """Magnitudes of the resolved members of a young cluster, filling ``budget`` ADU in g.

    Stars come from a steep luminosity function (dN/dm ~ 10**(0.38 m), g 19-27); a star
    brighter than what is left of the budget is skipped.
    """
    mags = []
    floor = _flux(27.0)
    for _ in range(40):
        for mag in _lf_magnitudes(rng, 128, 19.0, 27.0, 0.38):
            flux = float(_flux(mag))
            if flux <= budget:
                mags.append(mag)
                budget -= flux
            if budget < floor:
                return np.array(mags)
    return np.array(mags)


def _young_clusters(rng, pop, region):
    """Smooth King/EFF-like light plus a few bright resolved members."""
    catalogue = phat_young_clusters()
    x0, y0 = region.scatter(rng, SURFACE_DENSITY["young_cluster"], disc=True)
    rows = rng.integers(len(catalogue["g"]), size=len(x0))
    for xc, yc, row in zip(x0, y0, rows, strict=True):
        g, i, reff = catalogue["g"][row], catalogue["i"][row], catalogue["reff"][row]
        if not np.isfinite(i):
            i = g - rng.uniform(0.0, 0.6)
        if rng.uniform() < 0.5:
            smooth = galsim.Sersic(n=rng.uniform(0.5, 1.5), half_light_radius=reff)
        else:  # an EFF profile is a Moffat of beta = gamma / 2
            smooth = galsim.Moffat(
                beta=rng.uniform(1.1, 1.75), half_light_radius=reff, trunc=10.0 * reff
            )
        smooth = _sheared(smooth, rng, 0.2)
        total_g, total_i = float(_flux(g)), float(_flux(i))
        members = _member_magnitudes(rng, (1.0 - rng.uniform(0.3, 0.7)) * total_g)
        blue = rng.uniform(size=len(members)) < 0.7
        colour = np.where(
            blue, rng.normal(-0.1, 0.2, len(members)), rng.normal(1.7, 0.3, len(members))
        )
        star_g, star_i = _flux(members), _flux(members - colour)
        owner = pop.add_objects("young_cluster", [xc], [yc], reff)[0]
        if len(members):
            photons = smooth.shoot(len(members), _deviate(rng))
            px = xc + photons.x / region.pixel_scale
            py = yc + photons.y / region.pixel_scale
            pop.add_points(owner, px, py, star_g, star_i)
        smooth_g = total_g - star_g.sum()
        smooth_i = max(total_i - star_i.sum(), 0.1 * total_i)
        pop.add_blob(owner, xc, yc, smooth, smooth_g, smooth_i)


def _old_clusters(rng, pop, region):
    """Globular clusters: smooth, concentrated Sersic light."""
    x0, y0 = region.scatter(rng, SURFACE_DENSITY["old_cluster"], disc=True)
    n = len(x0)
    g = np.clip(rng.normal(17.3, 1.1, n), 15.0, 22.0)
    colour = rng.uniform(0.6, 1.2, n)
    reff_pc = np.clip(10.0 ** rng.normal(np.log10(2.7), 0.2, n), 1.0, 10.0)
    reff = reff_pc / _PC_PER_ARCSEC
    owners = pop.add_objects("old_cluster", x0, y0, reff)
    for k in range(n):
        profile = galsim.Sersic(
            n=rng.uniform(2.0, 4.0), half_light_radius=reff[k], trunc=10 * reff[k]
        )
        profile = _sheared(profile, rng, 0.15)
        pop.add_blob(owners[k], x0[k], y0[k], profile, _flux(g[k]), _flux(g[k] - colour[k]))


def _galaxies(rng, pop, region):
    """Background galaxies: Sersic profiles, brighter ones larger."""
    x0, y0 = region.scatter(rng, SURFACE_DENSITY["galaxy"], disc=False)
    n = len(x0)
    g = _lf_magnitudes(rng, n, 18.5, 25.5, 0.35)
    colour = rng.uniform(0.2, 1.6, n)
    r_e = np.clip(0.6 * 10.0 ** (-0.1 * (g - 22.0) + rng.normal(0.0, 0.2, n)), 0.1, 1.5)
    owners = pop.add_objects("galaxy", x0, y0, r_e)
    for k in range(n):
        profile = galsim.Sersic(n=rng.uniform(1.0, 4.0), half_light_radius=r_e[k], trunc=8 * r_e[k])
        profile = _sheared(profile, rng, 0.7)
        pop.add_blob(owners[k], x0[k], y0[k], profile, _flux(g[k]), _flux(g[k] - colour[k]))


def _hii_regions(rng, pop, region):
    """Diffuse blue nebulae, some with compact knots."""
    x0, y0 = region.scatter(rng, SURFACE_DENSITY["hii_region"], disc=True)
    n = len(x0)
    g = _lf_magnitudes(rng, n, 18.5, 23.5, 0.3)
    colour = rng.normal(-0.4, 0.12, n)
    r_e = np.exp(rng.uniform(np.log(0.3), np.log(6.0), n))
    owners = pop.add_objects("hii_region", x0, y0, r_e)
    for k in range(n):
        diffuse = _sheared(
            galsim.Sersic(n=rng.uniform(0.5, 1.0), half_light_radius=r_e[k]), rng, 0.4
        )
        n_knots = int(rng.integers(0, 5))
        if n_knots:
            knot_share = rng.uniform(0.1, 0.4) * rng.dirichlet(np.ones(n_knots))
            where = diffuse.shoot(n_knots, _deviate(rng))
            knots = [
                galsim.Gaussian(sigma=rng.uniform(0.1, 0.3), flux=share).shift(dx, dy)
                for share, dx, dy in zip(knot_share, where.x, where.y, strict=True)
            ]
            profile = galsim.Add([diffuse.withFlux(1.0 - knot_share.sum()), *knots])
        else:
            profile = diffuse
        pop.add_blob(owners[k], x0[k], y0[k], profile, _flux(g[k]), _flux(g[k] - colour[k]))


_DRAWERS = {
    "mw_star": _mw_stars,
    "m31_star": _m31_stars,
    "asterism": _asterisms,
    "young_cluster": _young_clusters,
    "old_cluster": _old_clusters,
    "galaxy": _galaxies,
    "hii_region": _hii_regions,
}


def draw_population(rng, *, wcs, size, margin=80):
    """Draw every object of a field and of a margin around it.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        The source of randomness. Each kind is drawn from its own child stream, so
        the objects of one kind do not depend on how many of another were drawn.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the *g* image; positions are drawn on its pixel grid.
    size : int
        Side of the square image in pixels.
    margin : int, optional
        Objects are also drawn this many pixels beyond each edge, so that their
        light enters the image.

    Returns
    -------
    `Population`

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.crval = [11.15, 41.75]
    >>> wcs.wcs.crpix = [64.5, 64.5]
    >>> wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    >>> pop = draw_population(np.random.default_rng(1), wcs=wcs, size=128)
    >>> set(pop.kind) <= set(KINDS), pop.magnitudes().shape == (len(pop), 2)
    (True, True)
    """
    region = _Region(wcs, size, margin)
    pop = _Collector()
    streams = rng.spawn(len(KINDS))
    for kind, stream in zip(KINDS, streams, strict=True):
        _DRAWERS[kind](stream, pop, region)
    return pop.population()
