"""Rendering a simulated field block by block.

A `Scene` holds everything drawn once for a whole field (the population, the galaxy
light grid, the PSF of each band, the noise key). `Scene.render` turns any rectangle of
the image into pixels. Every pixel receives the same contributions in the same order
whatever rectangle it is rendered in (point sources in fixed global batches, extended
objects one by one in catalogue order, noise from fixed 256 x 256 tiles of the image each
with its own random stream), so that an image rendered in one piece or block by block is
identical bit for bit.
"""

import math
from dataclasses import dataclass

import astropy.units as u
import numpy as np

from .population import band_magnitude
from .profiles import PSF_OVERSAMPLE, MoffatPSF, extended_stamp
from .sky_residuals import OVERSUBTRACTED_BRIGHTER_THAN, draw_sky_residuals

__all__ = ["NOISE_TILE", "Scene"]

#: Side of the tiles of the image that each draw their noise from one random stream.
NOISE_TILE = 256
#: Number of faint stars rendered together (fixed over the whole field).
POINT_BATCH = 2048
#: Stars brighter than this (AB) get the large PSF stamp with its far wings.
BRIGHT_LIMIT = 20.0


@dataclass
class _BandState:
    psf: object
    sky_sigma: float
    gain: float
    saturation: float
    point_flux: np.ndarray
    point_big: np.ndarray
    extended_flux: np.ndarray
    bleeds: list
    residuals: object = None
    varying: object = None
    point_nodes: tuple = None


class Scene:
    """A field ready to be rendered.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)``.
    population : `~clusterfinder.simulate.population.Population`
    disc : `~clusterfinder.simulate.disc.DiscLight` or None
        Galaxy light to add (None for none).
    psfs : dict
        Band -> `~clusterfinder.simulate.profiles.PixelPSF`.
    config : `~clusterfinder.simulate.SurveyConfig`
    noise_key : int
        Seed material of the noise streams.
    noise : bool
        Add noise (and saturation); if False the ideal image is rendered.
    fwhm : dict
        Band -> FWHM of the field in arcsec (for the sky noise).
    noise_shift : tuple of float, optional
        Sub-pixel phase ``(dy, dx)`` of the bilinear resampling that correlates the noise
        as in a resampled stack; None (default) for white noise.
    band_offsets : dict, optional
        Band -> displacement ``(dy, dx)`` (pixels) of that band's light from the
        population's positions (an astrometric error); none by default.
    sky_residuals : dict, optional
        Band -> ``(rng, amplitude, oversubtraction, mesh)`` of its sky-subtraction
        residuals (`~clusterfinder.simulate.sky_residuals.draw_sky_residuals`; ``mesh``
        in pixels); none by default.
    varying_psfs : dict, optional
        Band -> `~clusterfinder.simulate.varying_psf.VaryingPSF` for the bands whose PSF
        changes across the image (their sources are drawn with it; ``psfs`` still gives
        the sky noise); none by default.
    """

    def __init__(
        self, shape, population, disc, psfs, config, *, noise_key, noise, fwhm, noise_shift=None,
        band_offsets=None, sky_residuals=None, varying_psfs=None,
    ):  # fmt: skip
        self.shape = tuple(shape)
        self.population = population
        self.disc = disc
        self.noise = bool(noise)
        self.noise_key = int(noise_key)
        self.noise_kernel = None if noise_shift is None else _resampling_kernel(*noise_shift)
        self.bands = tuple(config.bands)
        # Faint stars are rendered in batches of neighbours: sort them once, along y then x,
        # so that each batch touches a narrow strip of the image.
        points = population.points
        order = np.lexsort((np.rint(points["x"]), np.rint(points["y"])))
        population.points = points = {key: value[order] for key, value in points.items()}
        extended = population.extended
        self.band_offsets = {band: (0.0, 0.0) for band in self.bands}
        self.band_offsets.update(band_offsets or {})
        self._point_pix, self._ext_pix = {}, {}
        for band, (dy, dx) in self.band_offsets.items():
            self._point_pix[band] = (
                MoffatPSF.phases(points["x"] + dx),
                MoffatPSF.phases(points["y"] + dy),
            )
            self._ext_pix[band] = (
                np.rint(extended["x"] + dx).astype(np.int64),
                np.rint(extended["y"] + dy).astype(np.int64),
            )
        varying_psfs = varying_psfs or {}
        reach = max(p.reach for p in [*psfs.values(), *varying_psfs.values()])
        self._ext_radius = np.array(
            [math.ceil(rt + reach) + 1 for rt in extended["rt"]], dtype=np.int64
        )
        self.state = {}
        for band in self.bands:
            conf = config.band(band)
            point_flux = _flux(points, band, conf, config.zero_point)
            sat_level = config.saturation_level(band)
            psf = psfs[band]
            configured = psf.shape.is_plain_moffat and psf.shape.beta == conf.moffat_beta
            state = _BandState(
                psf=psf,
                sky_sigma=config.sky_sigma(
                    band, fwhm[band] * u.arcsec, noise_area=None if configured else psf.noise_area
                ),
                gain=conf.gain,
                saturation=sat_level,
                point_flux=point_flux,
                point_big=point_flux > 10.0 ** (-0.4 * (BRIGHT_LIMIT - config.zero_point)),
                extended_flux=_flux(extended, band, conf, config.zero_point),
                bleeds=[],
            )
            if band in varying_psfs:
                dy, dx = self.band_offsets[band]
                state.varying = varying_psfs[band]
                state.point_nodes = state.varying.weights(points["x"] + dx, points["y"] + dy)
            if self.noise:
                state.bleeds = self._bleed_trails(band, state)
            if band in (sky_residuals or {}):
                stream, amplitude, over, mesh = sky_residuals[band]
                limit = OVERSUBTRACTED_BRIGHTER_THAN - config.zero_point
                bright = point_flux > 10.0 ** (-0.4 * limit)
                dy, dx = self.band_offsets[band]
                state.residuals = draw_sky_residuals(
                    stream, self.shape, pad=int(mesh), sky_sigma=state.sky_sigma,
                    amplitude=amplitude, oversubtraction=over, mesh=mesh,
                    stars=(points["x"][bright] + dx, points["y"][bright] + dy, point_flux[bright]),
                )  # fmt: skip
            self.state[band] = state

    def object_flux(self, band):
        """Total flux (ADU) of every object of the population in ``band``."""
        state = self.state[band]
        n = len(self.population.objects["x"])
        total = np.zeros(n)
        total += np.bincount(self.population.points["owner"], state.point_flux, minlength=n)
        total += np.bincount(self.population.extended["owner"], state.extended_flux, minlength=n)
        return total

    def _bleed_trails(self, band, state):
        """Columns of saturated charge spilling up and down from the brightest stars."""
        trails = []
        psf = state.psf if state.varying is None else state.varying
        if state.varying is None:
            peak = psf.library[PSF_OVERSAMPLE // 2, PSF_OVERSAMPLE // 2].max()
        else:
            peak = psf.peak()
        (ix, _), (iy, _) = self._point_pix[band]
        for k in np.flatnonzero(state.point_flux * peak > state.saturation):
            model = state.point_flux[k] * self._point_stamp(band, state, k, ix[k], iy[k])
            excess = np.clip(model - state.saturation, 0.0, None)
            for col in np.flatnonzero(excess.sum(axis=0) > 0):
                rows = np.flatnonzero(model[:, col] > state.saturation)
                length = math.ceil(excess[:, col].sum() / state.saturation)
                down = length // 2
                x = int(ix[k] + col - psf.large_radius)
                y_lo = int(iy[k] + rows[0] - psf.large_radius - down)
                y_hi = int(iy[k] + rows[-1] - psf.large_radius + (length - down))
                trails.append((x, y_lo, y_hi))
        return trails

    def render(self, band, y0, y1, x0, x1):
        """Pixels ``[y0:y1, x0:x1]`` of band ``band`` as float32."""
        state = self.state[band]
        image = np.zeros((y1 - y0, x1 - x0))
        if self.disc is not None:
            image += self.disc.image(band, y0, y1, x0, x1)
        if state.residuals is not None:
            state.residuals.add(image, y0, y1, x0, x1)
        self._add_points(image, band, state, y0, y1, x0, x1)
        self._add_extended(image, band, state, y0, y1, x0, x1)
        if self.noise:
            variance = state.sky_sigma**2 + np.clip(image, 0.0, None) / state.gain
            image += np.sqrt(variance) * self._normal_deviates(band, y0, y1, x0, x1)
            np.minimum(image, state.saturation, out=image)
            for x, y_lo, y_hi in state.bleeds:
                if x0 <= x < x1 and y_hi >= y0 and y_lo < y1:
                    image[max(y_lo, y0) - y0 : min(y_hi + 1, y1) - y0, x - x0] = state.saturation
        return image.astype(np.float32)

    def _point_stamp(self, band, state, k, cx, cy):
        """Unit-flux large stamp of point source ``k`` centred on pixel ``cx, cy``."""
        points = self.population.points
        dy, dx = self.band_offsets[band]
        x, y = points["x"][k] + dx, points["y"][k] + dy
        if state.varying is None:
            return state.psf.stamp(x - cx, y - cy, state.psf.large_radius)
        return state.varying.stamp(x, y, x - cx, y - cy, state.varying.large_radius)

    def _add_points(self, image, band, state, y0, y1, x0, x1):
        psf = state.psf if state.varying is None else state.varying
        (ix, qx), (iy, qy) = self._point_pix[band]
        n = ix.size
        small = psf.small_radius
        size = 2 * small + 1
        offsets = np.arange(-small, small + 1)
        height, width = image.shape
        flat = image.reshape(-1)
        for start in range(0, n, POINT_BATCH):
            sl = slice(start, min(start + POINT_BATCH, n))
            faint = ~state.point_big[sl]
            ok = (
                faint
                & (ix[sl] + small >= x0)
                & (ix[sl] - small < x1)
                & (iy[sl] + small >= y0)
                & (iy[sl] - small < y1)
            )
            sel = np.flatnonzero(ok) + start
            if sel.size:
                if state.varying is None:
                    half = PSF_OVERSAMPLE // 2
                    stamps = psf.library[qy[sel] + half, qx[sel] + half]
                else:
                    index, weight = (part[sel] for part in state.point_nodes)
                    stamps = psf.small_stamps(index, weight, qy[sel], qx[sel])
                stamps = stamps * state.point_flux[sel, None, None]
                rows = (iy[sel, None] + offsets[None, :] - y0)[:, :, None]
                cols = (ix[sel, None] + offsets[None, :] - x0)[:, None, :]
                inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
                index = np.broadcast_to(rows * width + cols, (sel.size, size, size))[inside]
                if index.size:
                    low = int(index.min())
                    summed = np.bincount(index - low, stamps[inside])
                    flat[low : low + summed.size] += summed
            for k in np.flatnonzero(state.point_big[sl]) + start:
                self._add_stamp(image, band, state, ix[k], iy[k], None, k, y0, y1, x0, x1)

    def _add_stamp(self, image, band, state, cx, cy, stamp, k, y0, y1, x0, x1):
        psf = state.psf if state.varying is None else state.varying
        radius = psf.large_radius if stamp is None else (stamp.shape[0] - 1) // 2
        if cx + radius < x0 or cx - radius >= x1 or cy + radius < y0 or cy - radius >= y1:
            return
        if stamp is None:
            stamp = state.point_flux[k] * self._point_stamp(band, state, k, cx, cy)
        ya, yb = max(cy - radius, y0), min(cy + radius + 1, y1)
        xa, xb = max(cx - radius, x0), min(cx + radius + 1, x1)
        image[ya - y0 : yb - y0, xa - x0 : xb - x0] += stamp[
            ya - cy + radius : yb - cy + radius, xa - cx + radius : xb - cx + radius
        ]

    def _add_extended(self, image, band, state, y0, y1, x0, x1):
        ext = self.population.extended
        cx, cy = self._ext_pix[band]
        dy, dx = self.band_offsets[band]
        radius = self._ext_radius
        hit = (cx + radius >= x0) & (cx - radius < x1) & (cy + radius >= y0) & (cy - radius < y1)
        for k in np.flatnonzero(hit):
            psf = state.psf
            if state.varying is not None:
                psf = state.varying.local(ext["x"][k] + dx, ext["y"][k] + dy)
            stamp = extended_stamp(
                psf,
                ext["x"][k] + dx - cx[k],
                ext["y"][k] + dy - cy[k],
                ext["profile"][k],
                ext["scale"][k],
                ext["rt"][k],
                ext["ellipticity"][k],
                ext["theta"][k],
                **_shape(ext, k),
            )
            self._add_stamp(
                image, band, state, cx[k], cy[k], stamp * state.extended_flux[k], k, y0, y1, x0, x1
            )

    def _normal_deviates(self, band, y0, y1, x0, x1):
        """Unit-variance noise of the pixels ``[y0:y1, x0:x1]``, white or correlated."""
        if self.noise_kernel is None:
            return self._white_deviates(band, y0, y1, x0, x1)
        # Correlated: the white noise of a grid one pixel larger, resampled bilinearly.
        # Its tiles have their own streams (offset keys), so white and correlated fields
        # never share noise, and block rendering stays identical to whole-image rendering.
        white = self._white_deviates(band, y0 + 1, y1 + 2, x0 + 1, x1 + 2, key=1)
        k = self.noise_kernel
        height, width = y1 - y0, x1 - x0
        return (
            k[0, 0] * white[:height, :width]
            + k[0, 1] * white[:height, 1:]
            + k[1, 0] * white[1:, :width]
            + k[1, 1] * white[1:, 1:]
        )

    def _white_deviates(self, band, y0, y1, x0, x1, key=None):
        out = np.empty((y1 - y0, x1 - x0))
        band_index = self.bands.index(band)
        extra = [] if key is None else [key]
        for ty in range(y0 // NOISE_TILE, (y1 - 1) // NOISE_TILE + 1):
            for tx in range(x0 // NOISE_TILE, (x1 - 1) // NOISE_TILE + 1):
                rng = np.random.default_rng([self.noise_key, band_index, ty, tx, *extra])
                tile = rng.standard_normal((NOISE_TILE, NOISE_TILE))
                ya, yb = max(ty * NOISE_TILE, y0), min((ty + 1) * NOISE_TILE, y1)
                xa, xb = max(tx * NOISE_TILE, x0), min((tx + 1) * NOISE_TILE, x1)
                out[ya - y0 : yb - y0, xa - x0 : xb - x0] = tile[
                    ya - ty * NOISE_TILE : yb - ty * NOISE_TILE,
                    xa - tx * NOISE_TILE : xb - tx * NOISE_TILE,
                ]
        return out


def _resampling_kernel(dy, dx):
    """2 x 2 bilinear interpolation weights at phase ``(dy, dx)``, scaled to unit variance.

    Resampling white noise with these weights leaves each pixel's variance unchanged and
    correlates neighbours, as in a stack of resampled exposures.
    """
    kernel = np.outer([1.0 - dy, dy], [1.0 - dx, dx])
    return kernel / math.sqrt(np.sum(kernel**2))


def _flux(table, band, conf, zero_point):
    """Fluxes (ADU) of light components in ``band``, reddened by their E(B-V)."""
    mag = band_magnitude(table["mag_g"], table["mag_i"], band)
    mag = mag + conf.extinction * np.asarray(table["ebv"], dtype=float)
    return 10.0 ** (-0.4 * (mag - zero_point))


def _shape(ext, k):
    profile = ext["profile"][k]
    if profile == "eff":
        return {"gamma": ext["gamma"][k]}
    if profile == "king":
        return {"concentration": ext["concentration"][k]}
    return {"sersic_n": ext["sersic_n"][k]}
