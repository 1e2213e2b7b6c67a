"""The plan of a simulated field: everything decided before the first pixel is rendered.

`FieldPlan` checks the arguments of `~clusterfinder.simulate.simulate_field` and
`~clusterfinder.simulate.write_field`, builds the WCS, draws the seeing and the objects,
and prepares the `~clusterfinder.simulate.render.Scene`; it also makes the truth table
and the FITS headers. Both functions share it, which is why they agree pixel for pixel.
"""

import dataclasses
import math

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from astropy.wcs import WCS

from clusterfinder.galaxy import GalaxyGeometry
from clusterfinder.utils import as_generator

from .config import KINDS, SurveyConfig
from .disc import DiscLight
from .population import BAND_WAVELENGTHS, draw_population
from .profiles import PixelPSF
from .psf import PSFShape
from .psf_variation import PSFVariation
from .randomize import DomainRandomization, draw_conditions
from .render import Scene
from .varying_psf import VaryingPSF

__all__ = ["DEFAULT_CENTER", "FieldPlan"]

#: Default field centre: a disc field of M31 inside the PHAT footprint (R_deproj ~ 8 kpc).
DEFAULT_CENTER = SkyCoord(11.15 * u.deg, 41.75 * u.deg, frame="icrs")

#: Range of the per-field seeing drawn with ``fwhm="random"`` (arcsec).
RANDOM_FWHM = (0.5, 0.9)

#: Margin (pixels) around the image over which objects are drawn too.
MARGIN = 64


def _version():
    from clusterfinder import __version__

    return __version__


def _check_size(size):
    if isinstance(size, bool):
        raise TypeError(f"size must be an integer or a pair (ny, nx) of integers; got {size!r}")
    if isinstance(size, (int, np.integer)):
        shape = (int(size), int(size))
    else:
        try:
            shape = tuple(size)
        except TypeError:
            raise TypeError(
                f"size must be an integer or a pair (ny, nx) of integers; got {size!r}"
            ) from None
        if len(shape) != 2 or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape
        ):
            raise TypeError(f"size must be an integer or a pair (ny, nx) of integers; got {size!r}")
        shape = (int(shape[0]), int(shape[1]))
    if min(shape) < 1:
        raise ValueError(f"size must be positive; got {size!r}")
    return shape


def _check_center(center):
    if center is None:
        return DEFAULT_CENTER
    if not isinstance(center, SkyCoord):
        raise TypeError(f"center must be a scalar celestial SkyCoord or None; got {center!r}")
    if not center.isscalar:
        raise ValueError(f"center must be a scalar SkyCoord; got one of shape {center.shape}")
    try:
        return SkyCoord(center.transform_to("icrs").spherical, frame="icrs").reshape(())
    except Exception as exc:  # a frame that cannot become ICRS is not celestial
        raise ValueError(f"center must be a celestial coordinate; got {center!r} ({exc})") from None


def _check_kinds(kinds):
    if kinds is None:
        return KINDS
    if isinstance(kinds, str):
        kinds = (kinds,)
    try:
        kinds = tuple(kinds)
    except TypeError:
        raise TypeError(f"kinds must be None or a sequence of kind names; got {kinds!r}") from None
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"kinds has unknown kind(s) {unknown}; expected a subset of {KINDS}")
    return kinds


def _angle(value, name):
    if not isinstance(value, u.Quantity) or not value.unit.is_equivalent(u.arcsec):
        raise TypeError(f"{name} must be an angle Quantity (e.g. 0.7 * u.arcsec); got {value!r}")
    value = value.to_value(u.arcsec)
    if np.ndim(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive, finite, scalar angle; got {value!r} arcsec")
    return float(value)


def _resolve_fwhm(fwhm, config, rng):
    """Band -> FWHM (arcsec) of this field."""
    nominal = {band: conf.fwhm.to_value(u.arcsec) for band, conf in config.bands.items()}
    if fwhm is None:
        return nominal
    if isinstance(fwhm, str):
        if fwhm != "random":
            raise ValueError(f"fwhm must be None, 'random', an angle or a dict; got {fwhm!r}")
        first = next(iter(config.bands))
        value = rng.uniform(*RANDOM_FWHM)
        return {
            band: float(np.clip(value * f / nominal[first], *RANDOM_FWHM))
            for band, f in nominal.items()
        }
    if isinstance(fwhm, dict):
        unknown = [b for b in fwhm if b not in config.bands]
        if unknown:
            raise ValueError(f"fwhm has unknown band(s) {unknown}; bands are {tuple(config.bands)}")
        out = dict(nominal)
        for band, value in fwhm.items():
            out[band] = _angle(value, f"fwhm[{band!r}]")
        return out
    value = _angle(fwhm, "fwhm")
    return dict.fromkeys(nominal, value)


def _resolve_psf(psf, config):
    """Band -> `PSFShape` given explicitly, or None where the configuration decides."""
    if psf is None:
        return {}
    if isinstance(psf, PSFShape):
        return dict.fromkeys(config.bands, psf)
    if isinstance(psf, dict):
        unknown = [b for b in psf if b not in config.bands]
        if unknown:
            raise ValueError(f"psf has unknown band(s) {unknown}; bands are {tuple(config.bands)}")
        for band, shape in psf.items():
            if not isinstance(shape, PSFShape):
                raise TypeError(f"psf[{band!r}] must be a PSFShape; got {type(shape).__name__}")
        return dict(psf)
    raise TypeError(f"psf must be None, a PSFShape or a dict band -> PSFShape; got {psf!r}")


def _resolve_randomization(randomize):
    if randomize is None or randomize is False:
        return None
    if randomize is True:
        return DomainRandomization()
    if isinstance(randomize, DomainRandomization):
        return randomize
    raise TypeError(
        f"randomize must be None, a bool or a DomainRandomization; got {type(randomize).__name__}"
    )


def _with_depth_offsets(config, offsets):
    """The survey configuration with each band's depth moved by ``offsets[band]`` mag."""
    if not any(offsets.values()):
        return config
    bands = {
        band: dataclasses.replace(conf, depth=conf.depth + offsets.get(band, 0.0))
        for band, conf in config.bands.items()
    }
    return dataclasses.replace(config, bands=bands)


def _make_wcs(shape, center, config):
    ny, nx = shape
    scale = config.arcsec_per_pixel / 3600.0
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [center.ra.deg, center.dec.deg]
    wcs.wcs.crpix = [(nx + 1) / 2.0, (ny + 1) / 2.0]
    wcs.wcs.cdelt = [-scale, scale]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.radesys = "ICRS"
    wcs.wcs.set()
    return wcs


class FieldPlan:
    """Everything decided before the first pixel: arguments, WCS, population, scene."""

    def __init__(
        self,
        size,
        center,
        config,
        seed,
        fwhm,
        kinds,
        noise,
        disc_light,
        galaxy,
        *,
        psf=None,
        randomize=None,
    ):
        if not isinstance(config, SurveyConfig):
            raise TypeError(f"config must be a SurveyConfig; got {type(config).__name__}")
        if not isinstance(galaxy, GalaxyGeometry):
            raise TypeError(f"galaxy must be a GalaxyGeometry; got {type(galaxy).__name__}")
        unknown = [b for b in config.bands if b not in BAND_WAVELENGTHS]
        if unknown:
            raise ValueError(
                f"config has band(s) {unknown} the simulator cannot model; "
                f"known bands are {tuple(BAND_WAVELENGTHS)}"
            )
        self.shape = _check_size(size)
        self.center = _check_center(center)
        self.kinds = _check_kinds(kinds)
        self.config = config
        self.galaxy = galaxy
        self.noise = bool(noise)
        self.disc_light = bool(disc_light)
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % 2**63)
        self.seed = seed
        rng = as_generator(seed)
        population_rng, fwhm_rng, noise_rng, domain_rng = rng.spawn(4)
        randomization = _resolve_randomization(randomize)
        shapes = _resolve_psf(psf, config)
        self.randomization = randomization
        self.noise_shift = None
        self.band_offsets = {band: (0.0, 0.0) for band in config.bands}
        self.sky_residuals = {}
        self.psf_variation = {}
        hard_negatives = associations = False
        if randomization is not None:
            conditions = draw_conditions(randomization, config, domain_rng)
            # The randomisation draws the seeing unless one is given ("random" asks for a draw).
            drawn = fwhm is None or (isinstance(fwhm, str) and fwhm == "random")
            self.fwhm = conditions.fwhm if drawn else _resolve_fwhm(fwhm, config, fwhm_rng)
            shapes = {**conditions.psf, **shapes}
            config = _with_depth_offsets(config, conditions.depth_offset)
            self.config = config
            self.noise_shift = conditions.noise_shift
            self.band_offsets = dict(conditions.band_offsets)
            self.sky_residuals = dict(conditions.sky_residuals)
            self.psf_variation = dict(conditions.psf_variation)
            hard_negatives = randomization.hard_negatives
            associations = hard_negatives and randomization.associations
        else:
            self.fwhm = _resolve_fwhm(fwhm, config, fwhm_rng)
        self.psf_shapes = {
            band: shapes.get(band, PSFShape("moffat", beta=conf.moffat_beta))
            for band, conf in config.bands.items()
        }
        self.wcs = _make_wcs(self.shape, self.center, config)
        if self.center.separation(galaxy.center) > 80 * u.deg:
            raise ValueError(
                f"center must lie within 80 deg of {galaxy.name} (the simulated galaxy); got "
                f"RA {self.center.ra.deg:.4f} deg, Dec {self.center.dec.deg:.4f} deg"
            )
        disc = DiscLight(self.shape, self.wcs, config, galaxy, pad=MARGIN)
        self.population = draw_population(
            self.shape,
            config,
            galaxy,
            disc,
            population_rng,
            kinds=self.kinds,
            pad=MARGIN,
            hard_negatives=hard_negatives,
            associations=associations,
        )
        psfs = {
            band: PixelPSF.cached(
                float(self.fwhm[band] / config.arcsec_per_pixel), self.psf_shapes[band]
            )
            for band in config.bands
        }
        varying = {
            band: VaryingPSF(psfs[band].fwhm, self.psf_shapes[band], variation, self.shape)
            for band, variation in self.psf_variation.items()
        }
        self.scene = Scene(
            self.shape,
            self.population,
            disc if self.disc_light else None,
            psfs,
            config,
            noise_key=int(noise_rng.integers(2**63)),
            noise=self.noise,
            fwhm=self.fwhm,
            noise_shift=self.noise_shift,
            band_offsets={
                band: (dy / config.arcsec_per_pixel, dx / config.arcsec_per_pixel)
                for band, (dy, dx) in self.band_offsets.items()
            },
            sky_residuals={
                band: (stream, amplitude, over, mesh / config.arcsec_per_pixel)
                for (band, (amplitude, over, mesh)), stream in zip(
                    self.sky_residuals.items(), rng.spawn(len(self.sky_residuals)), strict=True
                )
            },
            varying_psfs=varying,
        )

    def truth(self):
        objects = self.population.objects
        ny, nx = self.shape
        x, y = objects["x"], objects["y"]
        on = (x >= -0.5) & (x < nx - 0.5) & (y >= -0.5) & (y < ny - 0.5)
        coord = self.wcs.pixel_to_world(x[on], y[on])
        table = QTable()
        table["coord"] = coord
        table["x"] = x[on]
        table["y"] = y[on]
        table["kind"] = objects["kind"][on]
        for band in self.config.bands:
            flux = self.scene.object_flux(band)[on]
            table[f"mag_{band}"] = self.config.zero_point - 2.5 * np.log10(flux)
        table["reff"] = objects["reff"][on] * u.arcsec
        for key in ("profile", "gamma", "concentration", "sersic_n", "ellipticity"):
            table[key] = objects[key][on]
        table["theta"] = np.degrees(objects["theta"][on]) * u.deg
        table["nstars"] = objects["nstars"][on]
        table["ebv"] = objects["ebv"][on]
        if len(table):
            table["r_proj"] = self.galaxy.projected_radius(coord)
            table["r_deproj"] = self.galaxy.deprojected_radius(coord)
        else:
            table["r_proj"] = np.zeros(0) * u.kpc
            table["r_deproj"] = np.zeros(0) * u.kpc
        table.meta.update(self.meta())
        return table

    def meta(self):
        config = self.config
        return {
            "seed": int(self.seed) if isinstance(self.seed, (int, np.integer)) else str(self.seed),
            "config": config.name,
            "version": _version(),
            "shape": list(self.shape),
            "center": [float(self.center.ra.deg), float(self.center.dec.deg)],
            "galaxy": self.galaxy.name,
            "pixel_scale": config.arcsec_per_pixel,
            "zero_point": config.zero_point,
            "fwhm": {band: round(v, 6) for band, v in self.fwhm.items()},
            "depth": {band: conf.depth for band, conf in config.bands.items()},
            "kinds": list(self.kinds),
            "noise": self.noise,
            "disc_light": self.disc_light,
            "psf": {band: shape.to_dict() for band, shape in self.psf_shapes.items()},
            "randomized": self.randomization is not None,
            "noise_shift": None if self.noise_shift is None else list(self.noise_shift),
            "band_offsets": {
                band: [round(v, 6) for v in offset] for band, offset in self.band_offsets.items()
            },
            "sky_residuals": {
                band: dict(zip(("amplitude", "oversubtraction", "mesh"), values, strict=True))
                for band, values in self.sky_residuals.items()
            },
            "psf_variation": {
                band: self.psf_variation.get(band, PSFVariation()).to_dict()
                for band in config.bands
            },
        }

    def header(self, band):
        config = self.config
        conf = config.band(band)
        header = self.wcs.to_header()
        header["BUNIT"] = ("adu", "counts on the PHOTZP scale")
        header["PHOTZP"] = (config.zero_point, "AB = -2.5 log10(counts) + PHOTZP")
        header["FILTER"] = (band, "band")
        shape = self.psf_shapes[band]
        header["FWHM"] = (round(self.fwhm[band], 6), "[arcsec] PSF FWHM (core)")
        header["PSFFAM"] = (shape.family, "PSF family of the core")
        if shape.family == "moffat":
            header["BETA"] = (round(shape.beta, 6), "Moffat PSF power index")
        header["PSFELL"] = (round(shape.ellipticity, 6), "PSF ellipticity 1 - b/a")
        header["PSFANG"] = (round(shape.angle, 4), "[deg] PSF major axis from +x to +y")
        header["HALOFRAC"] = (round(shape.halo_fraction, 6), "fraction of PSF flux in its halo")
        header["HALOSCL"] = (round(shape.halo_scale, 6), "halo FWHM / core FWHM")
        header["NOISECOR"] = (self.noise_shift is not None, "noise correlated by resampling")
        dy, dx = self.band_offsets[band]
        header["ASTOFFX"] = (round(dx, 6), "[arcsec] light displaced from the WCS along +x")
        header["ASTOFFY"] = (round(dy, 6), "[arcsec] light displaced from the WCS along +y")
        amplitude, over, mesh = self.sky_residuals.get(band, (0.0, 0.0, 0.0))
        header["SKYRES"] = (round(amplitude, 6), "smooth sky residuals (rms / SKYSIG)")
        header["SKYOVER"] = (round(over, 6), "bright-star flux over-subtracted around it")
        header["SKYMESH"] = (round(mesh, 6), "[arcsec] width of the over-subtracted patch")
        for card in self.psf_variation.get(band, PSFVariation()).header_cards():
            header[card[0]] = card[1:]
        header["GAIN"] = (conf.gain, "[e-/ADU] effective gain")
        header["SATURATE"] = (round(config.saturation_level(band), 3), "[ADU] saturation level")
        header["SKYSIG"] = (
            round(self.scene.state[band].sky_sigma, 6),
            "[ADU] sky noise per pixel",
        )
        header["MAGLIM"] = (conf.depth, f"{config.depth_nsigma:g}-sigma point-source depth (AB)")
        header["SURVEY"] = (config.name, "simulated survey configuration")
        header["NOISE"] = (self.noise, "noise and saturation added")
        seed = self.seed if isinstance(self.seed, (int, np.integer)) else -1
        header["SEED"] = (int(seed), "random seed of the simulation (-1: a Generator)")
        header["ORIGIN"] = (f"clusterfinder {_version()}", "simulated image")
        return header

    def blocks(self, block_size):
        ny, nx = self.shape
        return [
            (y0, min(y0 + block_size, ny), x0, min(x0 + block_size, nx))
            for y0 in range(0, ny, block_size)
            for x0 in range(0, nx, block_size)
        ]
