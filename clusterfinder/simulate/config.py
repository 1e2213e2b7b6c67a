"""Survey configurations for the simulator: pixels, depth, PSF, detector and sky content.

A `SurveyConfig` holds everything that makes a simulated image look like one survey
rather than another. Two presets are provided, `PANDAS` (CFHT/MegaCam as used by the
Pan-Andromeda Archaeological Survey) and `HSC` (Subaru Hyper Suprime-Cam, deeper and
finer). Another survey is another configuration, built with the constructors below or
with `dataclasses.replace` on a preset; the simulator code does not change.
"""

import functools
import math
from dataclasses import dataclass, field
from types import MappingProxyType

import astropy.units as u

__all__ = ["CLUSTER_KINDS", "HSC", "KINDS", "PANDAS", "BandConfig", "DiscModel", "SurveyConfig"]

#: The object kinds the simulator draws, in the order they are drawn.
KINDS = (
    "mw_star",
    "m31_star",
    "asterism",
    "young_cluster",
    "old_cluster",
    "galaxy",
    "hii_region",
)

#: The kinds that are star clusters (label 1): the one definition the package uses.
CLUSTER_KINDS = ("young_cluster", "old_cluster")

# Kinds whose surface density follows the light of the M31 disc.
DISC_KINDS = ("m31_star", "asterism", "young_cluster", "hii_region")


def _positive_float(value, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number; got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return value


def _angle_arcsec(value, name):
    if not isinstance(value, u.Quantity) or not value.unit.is_equivalent(u.arcsec):
        raise TypeError(f"{name} must be an angle Quantity (e.g. 0.67 * u.arcsec); got {value!r}")
    if not value.isscalar or not math.isfinite(value.value) or value.to_value(u.arcsec) <= 0:
        raise ValueError(f"{name} must be a positive finite angle; got {value!r}")
    return value.to(u.arcsec)


def moffat_alpha(fwhm, beta):
    """Core width alpha of a Moffat profile of full width at half maximum ``fwhm``.

    ``FWHM = 2 * alpha * sqrt(2**(1/beta) - 1)``; the result has the unit of ``fwhm``.

    Examples
    --------
    >>> round(moffat_alpha(3.0, 3.0), 4)
    2.9422
    """
    return fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))


def moffat_sigma_equivalent(fwhm, beta):
    """Width of the Gaussian with the same noise-equivalent area as a Moffat PSF.

    A Gaussian of width sigma has the noise-equivalent area ``4 * pi * sigma**2``. This
    sigma is what the depth formula uses, so that the 5-sigma limit holds for optimal PSF
    photometry. The noise-equivalent area of a Moffat profile is ``pi * alpha**2 * (2 * beta - 1) /
    (beta - 1)**2``.

    Examples
    --------
    >>> round(moffat_sigma_equivalent(2.3548, 1e6), 3)  # a Moffat with huge beta is Gaussian
    1.0
    """
    alpha = moffat_alpha(fwhm, beta)
    return alpha * math.sqrt(2.0 * beta - 1.0) / (2.0 * (beta - 1.0))


@functools.lru_cache(maxsize=64)
def pixel_noise_area(fwhm, beta):
    """Noise-equivalent area ``1 / sum(P**2)`` (pixels) of a pixel-integrated Moffat PSF.

    ``fwhm`` is in pixels; the PSF is centred on a pixel. Pixel integration makes it a
    little larger than the analytic area of the continuous profile.

    Examples
    --------
    >>> continuous = 4 * math.pi * moffat_sigma_equivalent(3.6022, 3.0) ** 2
    >>> round(pixel_noise_area(3.6022, 3.0) / continuous, 2)
    1.03
    """
    import numpy as np

    alpha = moffat_alpha(fwhm, beta)
    oversample = 8
    radius = math.ceil(25.0 * alpha)
    u = (np.arange(-radius * oversample, (radius + 1) * oversample) + 0.5) / oversample - 0.5
    cells = (1.0 + (u[:, None] ** 2 + u[None, :] ** 2) / alpha**2) ** (-beta)
    size = 2 * radius + 1
    pixels = cells.reshape(size, oversample, size, oversample).sum(axis=(1, 3))
    pixels /= pixels.sum()
    return float(1.0 / np.sum(pixels**2))


@dataclass(frozen=True)
class BandConfig:
    """Depth, PSF and detector of one band of a survey.

    Parameters
    ----------
    depth : float
        Point-source limiting magnitude (AB) at ``SurveyConfig.depth_nsigma`` sigma.
    fwhm : `~astropy.units.Quantity`
        Typical full width at half maximum of the Moffat PSF (an angle).
    moffat_beta : float
        Moffat power index beta (larger is closer to a Gaussian; beyond 1).
    gain : float
        Effective gain of the stacked image in electrons per ADU; sets the Poisson noise
        of the sources.
    saturation : float
        AB magnitude of the point source whose peak pixel just reaches the saturation
        level, at the nominal ``fwhm``. The level in ADU (`saturation_level`) is then a
        property of the detector and does not move with the seeing of a field.
    extinction : float, optional
        ``A_band / E(B-V)``, used to redden objects in and behind the disc.

    Examples
    --------
    >>> import astropy.units as u
    >>> band = BandConfig(depth=26.0, fwhm=0.67 * u.arcsec, moffat_beta=3.0, gain=50.0,
    ...                   saturation=17.0)
    >>> band.fwhm
    <Quantity 0.67 arcsec>
    """

    depth: float
    fwhm: u.Quantity
    moffat_beta: float
    gain: float
    saturation: float
    extinction: float = 3.3

    def __post_init__(self):
        object.__setattr__(self, "fwhm", _angle_arcsec(self.fwhm, "fwhm"))
        depth = _positive_float(self.depth, "depth")
        object.__setattr__(self, "depth", depth)
        beta = _positive_float(self.moffat_beta, "moffat_beta")
        if beta <= 1.0:
            raise ValueError(f"moffat_beta must be larger than 1; got {beta}")
        object.__setattr__(self, "moffat_beta", beta)
        object.__setattr__(self, "gain", _positive_float(self.gain, "gain"))
        object.__setattr__(self, "saturation", _positive_float(self.saturation, "saturation"))
        object.__setattr__(self, "extinction", _positive_float(self.extinction, "extinction"))


@dataclass(frozen=True)
class DiscModel:
    """Smooth light of the host galaxy: an exponential disc plus a Sersic bulge.

    The disc surface brightness falls exponentially with the deprojected radius; the bulge
    follows a Sersic law of the projected radius (a bulge is round, so it is not deprojected
    with the thin disc). Surface brightnesses are the observed ones (AB mag arcsec^-2, the
    inclination already included).

    Parameters
    ----------
    scale_length : `~astropy.units.Quantity`
        Exponential scale length of the disc.
    disc_mu0 : dict
        Band -> central surface brightness of the disc.
    bulge_n : float
        Sersic index of the bulge.
    bulge_re : `~astropy.units.Quantity`
        Effective radius of the bulge.
    bulge_mue : dict
        Band -> surface brightness of the bulge at ``bulge_re``.
    reference_radius : `~astropy.units.Quantity`
        Deprojected radius at which the densities of disc objects
        (``SurveyConfig.densities``) are given; they scale with the disc light elsewhere.
    foreground_ebv : float
        Milky Way reddening E(B-V) toward the galaxy.
    internal_ebv : float
        Mean internal E(B-V) of objects in the disc (drawn from an exponential law).

    Examples
    --------
    >>> from clusterfinder.simulate import PANDAS
    >>> PANDAS.disc.scale_length
    <Quantity 5.3 kpc>
    """

    scale_length: u.Quantity = 5.3 * u.kpc
    disc_mu0: dict = field(default_factory=lambda: {"g": 20.4, "i": 19.4})
    bulge_n: float = 2.2
    bulge_re: u.Quantity = 1.0 * u.kpc
    bulge_mue: dict = field(default_factory=lambda: {"g": 19.6, "i": 18.3})
    reference_radius: u.Quantity = 8.0 * u.kpc
    foreground_ebv: float = 0.06
    internal_ebv: float = 0.2

    def __post_init__(self):
        for name in ("scale_length", "bulge_re", "reference_radius"):
            value = getattr(self, name)
            if not isinstance(value, u.Quantity) or not value.unit.is_equivalent(u.kpc):
                raise TypeError(f"{name} must be a length Quantity; got {value!r}")
            if not value.to_value(u.kpc) > 0:
                raise ValueError(f"{name} must be positive; got {value!r}")
            object.__setattr__(self, name, value.to(u.kpc))
        _positive_float(self.bulge_n, "bulge_n")
        object.__setattr__(self, "disc_mu0", MappingProxyType(dict(self.disc_mu0)))
        object.__setattr__(self, "bulge_mue", MappingProxyType(dict(self.bulge_mue)))
        for name in ("foreground_ebv", "internal_ebv"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"{name} must be non-negative; got {getattr(self, name)!r}")


_DEFAULT_DENSITIES = {
    # deg^-2. Disc kinds (see DISC_KINDS) at DiscModel.reference_radius.
    "mw_star": 7.5e3,  # Milky Way stars to g ~ 23.5 toward M31
    "m31_star": 3.0e5,  # resolved M31 stars to g ~ 26.5
    "asterism": 1.5e3,  # chance groups of 2-5 disc stars within ~1"
    "young_cluster": 5.0e3,  # PHAT: ~2,750 clusters in ~0.5 deg^2 of disc
    "old_cluster": 150.0,  # globular clusters seen through the disc
    "galaxy": 4.5e3,  # background galaxies behind the disc
    "hii_region": 1.0e3,  # HII regions of the star-forming disc
}


@dataclass(frozen=True)
class SurveyConfig:
    """Everything the simulator needs to know about a survey.

    Parameters
    ----------
    name : str
        Name of the survey, written in headers and table metadata.
    pixel_scale : `~astropy.units.Quantity`
        Pixel scale (arcsec per pixel, or an angle per pixel) of a gnomonic (TAN) projection.
    bands : dict
        Band name -> `BandConfig`. Images are made for every band, in this order.
    zero_point : float, optional
        AB zero point of the images: ``AB = -2.5 log10(ADU) + zero_point``.
    depth_nsigma : float, optional
        Signal-to-noise ratio at which ``BandConfig.depth`` is defined.
    densities : dict, optional
        Kind -> surface density (deg^-2) of each object kind (see `KINDS`).
    disc : `DiscModel`, optional
        Smooth light of the host galaxy and its reddening.

    Examples
    --------
    >>> import dataclasses
    >>> from clusterfinder.simulate import PANDAS
    >>> PANDAS.pixel_scale
    <Quantity 0.186 arcsec / pix>
    >>> tuple(PANDAS.bands)
    ('g', 'i')
    >>> round(PANDAS.sky_sigma("g"), 3)  # sky noise (ADU per pixel) from the depth
    1.122
    >>> deeper = dataclasses.replace(PANDAS, name="deep PAndAS")
    """

    name: str
    pixel_scale: u.Quantity
    bands: dict
    zero_point: float = 30.0
    depth_nsigma: float = 5.0
    densities: dict = field(default_factory=lambda: dict(_DEFAULT_DENSITIES))
    disc: DiscModel = field(default_factory=DiscModel)

    def __post_init__(self):
        scale = self.pixel_scale
        if isinstance(scale, u.Quantity) and scale.unit.is_equivalent(u.arcsec / u.pix):
            scale = scale.to(u.arcsec / u.pix)
        elif isinstance(scale, u.Quantity) and scale.unit.is_equivalent(u.arcsec):
            scale = scale.to_value(u.arcsec) * u.arcsec / u.pix
        else:
            raise TypeError(
                f"pixel_scale must be an angle per pixel Quantity (e.g. 0.186 * u.arcsec / u.pix)"
                f"; got {self.pixel_scale!r}"
            )
        if not scale.isscalar or not scale.value > 0 or not math.isfinite(scale.value):
            raise ValueError(f"pixel_scale must be positive and finite; got {scale!r}")
        object.__setattr__(self, "pixel_scale", scale)
        if not isinstance(self.bands, dict | MappingProxyType) or not self.bands:
            raise TypeError(
                f"bands must be a non-empty dict band -> BandConfig; got {self.bands!r}"
            )
        for band, conf in self.bands.items():
            if not isinstance(band, str) or not band:
                raise TypeError(f"band names must be non-empty strings; got {band!r}")
            if not isinstance(conf, BandConfig):
                raise TypeError(f"bands[{band!r}] must be a BandConfig; got {type(conf).__name__}")
        object.__setattr__(self, "bands", MappingProxyType(dict(self.bands)))
        zp = float(self.zero_point)
        if not math.isfinite(zp):
            raise ValueError(f"zero_point must be finite; got {self.zero_point!r}")
        object.__setattr__(self, "zero_point", zp)
        object.__setattr__(self, "depth_nsigma", _positive_float(self.depth_nsigma, "depth_nsigma"))
        densities = dict(_DEFAULT_DENSITIES)
        for kind, value in dict(self.densities).items():
            if kind not in KINDS:
                raise ValueError(f"densities has an unknown kind {kind!r}; expected one of {KINDS}")
            if not float(value) >= 0:
                raise ValueError(f"densities[{kind!r}] must be non-negative; got {value!r}")
            densities[kind] = float(value)
        object.__setattr__(self, "densities", MappingProxyType(densities))
        if not isinstance(self.disc, DiscModel):
            raise TypeError(f"disc must be a DiscModel; got {type(self.disc).__name__}")
        missing = [
            b for b in self.bands if b not in self.disc.disc_mu0 or b not in self.disc.bulge_mue
        ]
        if missing:
            raise ValueError(f"disc has no surface brightness for band(s) {missing}")

    @property
    def arcsec_per_pixel(self):
        """The pixel scale as a plain float (arcsec per pixel)."""
        return float(self.pixel_scale.to_value(u.arcsec / u.pix))

    def band(self, name):
        """The `BandConfig` of band ``name`` (a clear error for an unknown band)."""
        try:
            return self.bands[name]
        except (KeyError, TypeError):
            raise ValueError(
                f"unknown band {name!r} for survey {self.name}; expected one of {tuple(self.bands)}"
            ) from None

    def sky_sigma(self, band, fwhm=None, *, noise_area=None):
        """Sky noise per pixel (ADU on ``zero_point``) that gives the configured depth.

        ``sigma_pix = 10**(-0.4 * (depth - zero_point)) / (N_sigma * sqrt(4 pi) * sigma_psf)``
        with sigma_psf (pixels) the Gaussian-equivalent width of the pixel-integrated Moffat
        PSF: ``4 pi sigma_psf**2`` is its noise-equivalent area (`pixel_noise_area`), so a
        point source at the depth has that signal-to-noise ratio in optimal (PSF-weighted)
        photometry.

        Parameters
        ----------
        band : str
            Band name.
        fwhm : `~astropy.units.Quantity`, optional
            The seeing of the field; the configured FWHM by default.
        noise_area : float, optional
            Noise-equivalent area (pixels) of the field's PSF when it is not the configured
            Moffat (see `~clusterfinder.simulate.profiles.PixelPSF.noise_area`); it then
            replaces the Moffat's and ``fwhm`` is not used.
        """
        conf = self.band(band)
        if noise_area is None:
            fwhm_pix = (conf.fwhm if fwhm is None else fwhm).to_value(
                u.arcsec
            ) / self.arcsec_per_pixel
            noise_area = pixel_noise_area(fwhm_pix, conf.moffat_beta)
        sigma_psf = math.sqrt(noise_area / (4.0 * math.pi))
        flux = 10.0 ** (-0.4 * (conf.depth - self.zero_point))
        return flux / (self.depth_nsigma * math.sqrt(4.0 * math.pi) * sigma_psf)

    def saturation_level(self, band):
        """Saturation level (ADU): the peak pixel of a point source of ``saturation`` mag.

        The peak of a Moffat PSF of unit flux is ``(beta - 1) / (pi * alpha**2)`` per pixel.
        """
        conf = self.band(band)
        fwhm_pix = conf.fwhm.to_value(u.arcsec) / self.arcsec_per_pixel
        alpha = moffat_alpha(fwhm_pix, conf.moffat_beta)
        peak = (conf.moffat_beta - 1.0) / (math.pi * alpha**2)
        return 10.0 ** (-0.4 * (conf.saturation - self.zero_point)) * peak


#: CFHT/MegaCam as in PAndAS (McConnachie et al. 2018; Ibata et al. 2014): 0.186"/pix,
#: 5-sigma depths g 26.0 and i 25.3 AB, median seeing g 0.67" and i 0.60".
PANDAS = SurveyConfig(
    name="PAndAS",
    pixel_scale=0.186 * u.arcsec / u.pix,
    bands={
        "g": BandConfig(
            depth=26.0,
            fwhm=0.67 * u.arcsec,
            moffat_beta=3.0,
            gain=50.0,
            saturation=17.0,
            extinction=3.30,
        ),
        "i": BandConfig(
            depth=25.3,
            fwhm=0.60 * u.arcsec,
            moffat_beta=3.0,
            gain=30.0,
            saturation=17.0,
            extinction=1.70,
        ),
    },
)

#: Subaru Hyper Suprime-Cam (Aihara et al. 2018, wide-layer-like but deeper): 0.168"/pix,
#: 5-sigma depths g 26.5 and i 26.2 AB, seeing g 0.60" and i 0.55".
HSC = SurveyConfig(
    name="HSC",
    pixel_scale=0.168 * u.arcsec / u.pix,
    bands={
        "g": BandConfig(
            depth=26.5,
            fwhm=0.60 * u.arcsec,
            moffat_beta=3.0,
            gain=60.0,
            saturation=17.5,
            extinction=3.30,
        ),
        "i": BandConfig(
            depth=26.2,
            fwhm=0.55 * u.arcsec,
            moffat_beta=3.0,
            gain=60.0,
            saturation=17.5,
            extinction=1.70,
        ),
    },
)
