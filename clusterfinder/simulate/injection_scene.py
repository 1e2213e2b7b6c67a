"""Injected objects on the pixel grid of one real image.

`~clusterfinder.simulate.population.draw_objects` draws each object around ``(0, 0)``
in a frame of `FRAME_SCALE` arcsec per unit whose +x points west and +y north (the
orientation of the simulator's own images). `population_on_grid` places those objects
at their sky positions on one image: every light component (a star of a cluster, the
smooth profile) goes through the local Jacobian of the image's WCS at the object's
centre, so an object keeps its size and orientation on the sky whatever the image's
pixel scale, rotation or parity. `image_scene` wraps the result in the simulator's
`~clusterfinder.simulate.render.Scene` with the image's own PSF and zero point, which
renders any section of the image, identically however the image is cut.
`add_source_noise` adds the photon noise of the injected light, from fixed tiles so that
it too does not depend on the sections.
"""

import math

import astropy.units as u
import numpy as np

from .config import BandConfig, DiscModel, SurveyConfig
from .population import Population
from .profiles import PixelPSF
from .psf import PSFShape
from .render import NOISE_TILE, Scene

__all__ = [
    "EXTINCTION",
    "FRAME_SCALE",
    "MAX_BETA",
    "add_source_noise",
    "image_scene",
    "local_jacobians",
    "pixel_psf",
    "population_on_grid",
]

#: Arcsec per unit of the frame in which injected objects are drawn.
FRAME_SCALE = 0.1

#: Largest Moffat index used to render a measured PSF. Beyond it a Moffat profile is
#: Gaussian-like within a few per cent, while its tabulated stamps grow without bound.
MAX_BETA = 10.0

#: ``A_band / E(B-V)`` for the bands the simulator models (Schlafly & Finkbeiner 2011,
#: SDSS ugriz and Pan-STARRS y, R_V = 3.1); reddens the disc objects (asterisms, old
#: clusters) injected in each band.
EXTINCTION = {"u": 4.24, "g": 3.30, "r": 2.29, "i": 1.70, "z": 1.26, "y": 1.07}


def local_jacobians(wcs, coords, *, step=1.0 * u.arcsec):
    """Pixel positions of ``coords`` and the local map from sky offsets to pixel offsets.

    Parameters
    ----------
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the image.
    coords : `~astropy.coordinates.SkyCoord`
        One-dimensional positions.
    step : `~astropy.units.Quantity`, optional
        Offset used for the finite differences.

    Returns
    -------
    x, y : `numpy.ndarray`
        Zero-based pixel positions.
    jacobian : `numpy.ndarray`
        Shape ``(n, 2, 2)``: pixels per arcsec; ``jacobian[k] @ (east, north)`` is the
        pixel offset ``(dx, dy)`` of a sky offset (arcsec) from ``coords[k]``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.crval = [10.0, 41.0]
    >>> wcs.wcs.cdelt = [-0.2 / 3600, 0.2 / 3600]
    >>> x, y, jac = local_jacobians(wcs, SkyCoord([10.0] * u.deg, [41.0] * u.deg))
    >>> (jac[0].round(3) + 0.0).tolist()  # east is -x, north is +y, 5 pixels per arcsec
    [[-5.0, 0.0], [0.0, 5.0]]
    """
    x0, y0 = (np.atleast_1d(v) for v in wcs.world_to_pixel(coords))
    d = step.to_value(u.arcsec)
    xe, ye = (
        np.atleast_1d(v) for v in wcs.world_to_pixel(coords.spherical_offsets_by(step, 0 * step))
    )
    xn, yn = (
        np.atleast_1d(v) for v in wcs.world_to_pixel(coords.spherical_offsets_by(0 * step, step))
    )
    jac = np.empty((x0.size, 2, 2))
    jac[:, 0, 0] = (xe - x0) / d
    jac[:, 1, 0] = (ye - y0) / d
    jac[:, 0, 1] = (xn - x0) / d
    jac[:, 1, 1] = (yn - y0) / d
    return np.asarray(x0, dtype=float), np.asarray(y0, dtype=float), jac


def _frame_to_pixels(jac, dx, dy):
    """Pixel offsets of frame offsets ``dx`` (west) and ``dy`` (north), frame units."""
    east, north = -dx * FRAME_SCALE, dy * FRAME_SCALE
    return (
        jac[:, 0, 0] * east + jac[:, 0, 1] * north,
        jac[:, 1, 0] * east + jac[:, 1, 1] * north,
    )


def population_on_grid(population, x, y, jacobian):
    """The objects of ``population`` centred on pixels ``x, y`` of one image.

    Parameters
    ----------
    population : `~clusterfinder.simulate.population.Population`
        Objects drawn around ``(0, 0)`` in the frame (`FRAME_SCALE` arcsec per unit).
    x, y : `numpy.ndarray`
        Pixel positions of the objects' centres on the image.
    jacobian : `numpy.ndarray`
        Local maps from sky to pixel offsets (`local_jacobians`).

    Returns
    -------
    `~clusterfinder.simulate.population.Population`
        A new population in the image's pixels (lengths in pixels, angles from +x
        toward +y of the image).

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.simulate.population import Population
    >>> point = {"x": np.array([10.0]), "y": np.array([0.0]), "owner": np.array([0])}
    >>> none = {key: np.zeros(0) for key in ("x", "y", "scale", "rt", "theta")}
    >>> none["owner"] = np.zeros(0, dtype=int)
    >>> frame = Population({"x": np.zeros(1), "y": np.zeros(1)}, point, none)
    >>> jac = np.array([[[-5.0, 0.0], [0.0, 5.0]]])  # 0.2"/pix, north up, east left
    >>> population_on_grid(frame, [100.0], [50.0], jac).points["x"].tolist()  # 1" west
    [105.0]
    """
    objects = dict(population.objects)
    objects["x"] = np.asarray(x, dtype=float)
    objects["y"] = np.asarray(y, dtype=float)
    parts = []
    for part in (population.points, population.extended):
        part = dict(part)
        owner = part["owner"]
        jac = jacobian[owner]
        px, py = _frame_to_pixels(jac, part["x"], part["y"])
        part["x"] = objects["x"][owner] + px
        part["y"] = objects["y"][owner] + py
        parts.append(part)
    points, extended = parts
    if len(extended["owner"]):
        jac = jacobian[extended["owner"]]
        stretch = FRAME_SCALE * np.sqrt(np.abs(np.linalg.det(jac)))
        extended["scale"] = extended["scale"] * stretch
        extended["rt"] = extended["rt"] * stretch
        vx, vy = _frame_to_pixels(jac, np.cos(extended["theta"]), np.sin(extended["theta"]))
        extended["theta"] = np.mod(np.arctan2(vy, vx), math.pi)
    return Population(objects=objects, points=points, extended=extended)


def pixel_psf(psf):
    """The simulator's pixel-integrated PSF for a PSF measured on an image.

    A `~clusterfinder.psf.PSFMeasurement` becomes the elliptical Moffat profile fitted to
    its stars (FWHM, ``beta`` within 1.5-`MAX_BETA`, ellipticity up to 0.5, angle);
    a `~clusterfinder.simulate.profiles.PixelPSF` is used as it is.

    Examples
    --------
    >>> import astropy.units as u
    >>> import numpy as np
    >>> from clusterfinder.psf import PSFMeasurement
    >>> measured = PSFMeasurement(0.7 * u.arcsec, 3.76, 3.2, 0.05, 30 * u.deg, 0.03, 20,
    ...                           0.186 * u.arcsec / u.pix, np.full((9, 9), 1 / 81))
    >>> psf = pixel_psf(measured)
    >>> psf.fwhm, psf.shape.beta, psf.shape.angle
    (3.76, 3.2, 30.0)
    """
    if isinstance(psf, PixelPSF):
        return psf
    beta = float(np.clip(psf.beta, 1.5, MAX_BETA))
    shape = PSFShape(
        "moffat",
        beta=round(beta, 6),
        ellipticity=round(float(np.clip(psf.ellipticity, 0.0, 0.5)), 6),
        angle=round(float(psf.theta.to_value(u.deg)), 4),
    )
    return PixelPSF.cached(round(float(psf.fwhm_pix), 6), shape)


def image_scene(population, shape, psf, *, band, zero_point, pixel_scale):
    """A `~clusterfinder.simulate.render.Scene` of injected objects on one image.

    Parameters
    ----------
    population : `~clusterfinder.simulate.population.Population`
        The objects in the image's pixels (`population_on_grid`).
    shape : tuple of int
        ``(ny, nx)`` of the image.
    psf : `~clusterfinder.simulate.profiles.PixelPSF`
        The image's PSF in its pixels.
    band : str
        The simulator band (``u``, ``g``, ``r``, ``i``, ``z``, ``y``) whose magnitudes the
        image receives.
    zero_point : float
        AB zero point of the image.
    pixel_scale : float
        Arcsec per pixel.

    Returns
    -------
    `~clusterfinder.simulate.render.Scene`
        Noise-free, without galaxy light: only the injected objects.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.galaxy import M31
    >>> from clusterfinder.simulate import PANDAS
    >>> from clusterfinder.simulate.population import draw_objects
    >>> from clusterfinder.simulate.profiles import MoffatPSF
    >>> frame = draw_objects({"young_cluster": 1}, np.random.default_rng(1),
    ...                      arcsec_per_pixel=FRAME_SCALE, galaxy=M31, disc_model=PANDAS.disc)
    >>> jac = np.array([[[-1 / 0.186, 0.0], [0.0, 1 / 0.186]]])
    >>> scene = image_scene(population_on_grid(frame, [60.0], [60.0], jac), (121, 121),
    ...                     MoffatPSF(3.6, 3.0), band="g", zero_point=30.0, pixel_scale=0.186)
    >>> image = scene.render("g", 0, 121, 0, 121)
    >>> bool(np.isclose(image.sum(), scene.object_flux("g")[0], rtol=1e-4))
    True
    """
    fwhm = psf.fwhm * pixel_scale
    beta = psf.shape.beta if psf.shape.family == "moffat" else 3.0
    conf = BandConfig(
        depth=25.0, fwhm=fwhm * u.arcsec, moffat_beta=beta, gain=1.0, saturation=10.0,
        extinction=EXTINCTION[band],
    )  # fmt: skip
    config = SurveyConfig(
        name="injection",
        pixel_scale=pixel_scale * u.arcsec / u.pix,
        bands={band: conf},
        zero_point=zero_point,
        disc=DiscModel(disc_mu0={band: 21.0}, bulge_mue={band: 21.0}),
    )
    return Scene(
        shape, population, None, {band: psf}, config, noise_key=0, noise=False,
        fwhm={band: fwhm},
    )  # fmt: skip


def add_source_noise(model, gain, *, key, y0, x0):
    """Add the photon noise of injected light ``model`` (counts) to it, in place.

    The noise of a pixel is ``sqrt(model / gain)`` times a normal deviate drawn from a
    stream of its own 256 x 256 tile of the image (seeded by ``key`` and the tile), so a
    pixel gets the same noise whatever section of the image it is computed in. Tiles
    without injected light draw nothing.

    Parameters
    ----------
    model : `numpy.ndarray`
        The injected light of the section ``[y0:y0 + ny, x0:x0 + nx]`` of the image.
    gain : float
        Electrons per count.
    key : sequence of int
        Seed material of the noise (the injection's seed and the image).
    y0, x0 : int
        Position of the section in the image.

    Examples
    --------
    >>> import numpy as np
    >>> model = np.zeros((300, 300), dtype=np.float32)
    >>> model[100:110, 100:110] = 400.0
    >>> whole = model.copy()
    >>> add_source_noise(whole, 4.0, key=[1, 0], y0=0, x0=0)
    >>> part = model[90:120].copy()
    >>> add_source_noise(part, 4.0, key=[1, 0], y0=90, x0=0)
    >>> bool(np.array_equal(part, whole[90:120])), bool(whole[0, 0] == 0)
    (True, True)
    """
    height, width = model.shape
    y1, x1 = y0 + height, x0 + width
    for ty in range(y0 // NOISE_TILE, (y1 - 1) // NOISE_TILE + 1):
        for tx in range(x0 // NOISE_TILE, (x1 - 1) // NOISE_TILE + 1):
            ya, yb = max(ty * NOISE_TILE, y0), min((ty + 1) * NOISE_TILE, y1)
            xa, xb = max(tx * NOISE_TILE, x0), min((tx + 1) * NOISE_TILE, x1)
            part = model[ya - y0 : yb - y0, xa - x0 : xb - x0]
            if not np.any(part > 0):
                continue
            rng = np.random.default_rng([*key, ty, tx])
            tile = rng.standard_normal((NOISE_TILE, NOISE_TILE))
            deviates = tile[
                ya - ty * NOISE_TILE : yb - ty * NOISE_TILE,
                xa - tx * NOISE_TILE : xb - tx * NOISE_TILE,
            ]
            part += (np.sqrt(np.clip(part, 0.0, None) / gain) * deviates).astype(part.dtype)
