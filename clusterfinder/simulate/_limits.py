"""Refusing simulations that cannot fit in memory, before they try to allocate it.

A simulated field holds, per band, its image (float32, in memory for `simulate_field`)
and a pixel-integrated PSF table (`~clusterfinder.simulate.profiles.PixelPSF`) whose
side grows with the PSF width: ``2 * 16 * (ceil(14 alpha) + 1) + 1`` cells of float64,
built with about three arrays of that size alive at once. A FWHM given in the wrong unit
(``fwhm=20 * u.arcsec`` for 0.2 arcsec pixels, ``--fwhm 1000``) or a field far larger
than the machine would otherwise end in a `MemoryError` asking for 16 GiB to 40 TiB, or
in the system killing the process. `check_simulation_limits` estimates those arrays from
the arguments alone and refuses, with the estimate, what cannot fit; it also refuses a
FWHM wider than the image itself, which no survey image has.

Arguments it cannot interpret are left alone: the simulator's own checks refuse them
with their own messages.
"""

import math
import os

import astropy.units as u
import numpy as np

__all__ = ["available_memory", "check_simulation_limits", "estimate_psf_table_bytes"]

#: Sub-pixel sampling of the PSF tables (`clusterfinder.simulate.profiles.PSF_OVERSAMPLE`).
_OVERSAMPLE = 16

#: Arrays of the size of a PSF table alive at once while it is built.
_TABLE_COPIES = 3

#: float64 arrays of the size of a block alive at once while it is rendered.
_BLOCK_COPIES = 4

#: Largest FWHM (arcsec) that ``fwhm="random"`` draws (`clusterfinder.simulate.plan`).
_RANDOM_FWHM_MAX = 0.9


def available_memory():
    """Bytes of memory this process may still use, or None if it cannot be told.

    The smallest of the system's available memory (``MemAvailable`` of ``/proc/meminfo``,
    else the free physical pages) and the room left under a control-group limit.

    Examples
    --------
    >>> value = available_memory()
    >>> value is None or value > 0
    True
    """
    candidates = []
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, OSError, ValueError):
            pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            with open(limit_file) as handle:
                limit = handle.read().strip()
            with open(usage_file) as handle:
                usage = int(handle.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:  # "max" or a huge number: no limit
            candidates.append(max(int(limit) - usage, 0))
        break
    positive = [value for value in candidates if value > 0]
    return min(positive) if positive else None


def estimate_psf_table_bytes(fwhm_pixels, shape):
    """Bytes allocated while the PSF table of ``shape`` at ``fwhm_pixels`` is built.

    Follows the sizes chosen by `~clusterfinder.simulate.profiles.PixelPSF`.

    Parameters
    ----------
    fwhm_pixels : float
        FWHM of the PSF core, in pixels.
    shape : `~clusterfinder.simulate.PSFShape`
        Family, ellipticity and halo of the PSF.

    Returns
    -------
    int

    Examples
    --------
    >>> from clusterfinder.simulate import PSFShape
    >>> round(estimate_psf_table_bytes(3.6, PSFShape("moffat", beta=3.0)) / 2**20)
    61
    """
    alpha = shape.width(fwhm_pixels)
    reach = max(5.0 * alpha, shape.halo_radius(fwhm_pixels))
    small = max(6, math.ceil(reach))
    large = max(small, math.ceil(14.0 * alpha))
    side = 2 * (large + 1) * _OVERSAMPLE + 1
    return _TABLE_COPIES * 8 * side * side


def _varying_psf_bytes(fwhm_pixels, shape, change):
    """Bytes kept by the node tables and stamps of a PSF varying by ``change`` at most.

    Follows `~clusterfinder.simulate.varying_psf.VaryingPSF`: its widest node is
    ``1 + change / 2`` times the centre's FWHM, and each node keeps a table and a
    library of 16 x 16 small stamps.
    """
    from .psf_variation import PSFVariation

    widest = fwhm_pixels * (1.0 + 0.5 * change)
    nodes = PSFVariation(fwhm_change=change).nodes ** 2
    small = max(6, math.ceil(max(5.0 * shape.width(widest), shape.halo_radius(widest))))
    library = _OVERSAMPLE**2 * (2 * small + 1) ** 2 * 8
    return nodes * (estimate_psf_table_bytes(widest, shape) // _TABLE_COPIES + library)


def _format_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024.0
    return f"{n:.3g} PiB"  # pragma: no cover


def _shape_of(size):
    """``(ny, nx)`` of ``size``, or None where the simulator's own check should speak."""
    if isinstance(size, (bool, np.bool_)):
        return None
    if isinstance(size, (int, np.integer)):
        return (int(size), int(size)) if size > 0 else None
    try:
        ny, nx = size
    except (TypeError, ValueError):
        return None
    if all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in (ny, nx)
    ):
        return int(ny), int(nx)
    return None


def _arcsec(value):
    """A positive finite angle as arcsec, or None."""
    if not isinstance(value, u.Quantity) or not value.isscalar:
        return None
    if not value.unit.is_equivalent(u.arcsec):
        return None
    number = float(value.to_value(u.arcsec))
    return number if math.isfinite(number) and number > 0 else None


def _widest_fwhm(fwhm, config, randomization):
    """Band -> the widest FWHM (arcsec) this field may get, or None if not interpretable."""
    nominal = {band: float(conf.fwhm.to_value(u.arcsec)) for band, conf in config.bands.items()}
    drawn = _RANDOM_FWHM_MAX if randomization is None else float(randomization.seeing[1])
    if fwhm is None:
        return dict.fromkeys(nominal, drawn) if randomization is not None else nominal
    if isinstance(fwhm, str):
        return dict.fromkeys(nominal, drawn) if fwhm == "random" else None
    if isinstance(fwhm, dict):
        out = dict(nominal)
        for band, value in fwhm.items():
            if band not in out or _arcsec(value) is None:
                return None
            out[band] = _arcsec(value)
        return out
    value = _arcsec(fwhm)
    return None if value is None else dict.fromkeys(nominal, value)


def _widest_shapes(psf, config, randomization):
    """Band -> the PSF shape that needs the largest table, or None if not interpretable."""
    from .psf import PSFShape

    if randomization is not None:
        r = randomization
        beta = max(r.beta[1], 3.0) if r.kolmogorov_fraction > 0 else r.beta[1]
        halo = r.halo_probability > 0
        worst = PSFShape(
            "moffat",
            beta=beta,
            ellipticity=r.ellipticity[1],
            halo_fraction=r.halo_fraction[1] if halo else 0.0,
            halo_scale=r.halo_scale[1],
        )
        shapes = dict.fromkeys(config.bands, worst)
    else:
        shapes = {
            band: PSFShape("moffat", beta=conf.moffat_beta) for band, conf in config.bands.items()
        }
    if psf is None:
        return shapes
    if isinstance(psf, PSFShape):
        return dict.fromkeys(config.bands, psf)
    if isinstance(psf, dict) and all(
        band in shapes and isinstance(shape, PSFShape) for band, shape in psf.items()
    ):
        return {**shapes, **psf}
    return None


def _randomization(randomize):
    from .randomize import DomainRandomization

    if randomize is True:
        return DomainRandomization()
    if isinstance(randomize, DomainRandomization):
        return randomize
    return None


def check_simulation_limits(
    caller, size, config, fwhm=None, psf=None, randomize=None, *, in_memory=True, block_size=2048
):
    """Refuse a simulation whose PSF is wider than its image or whose arrays cannot fit.

    Parameters
    ----------
    caller : str
        The function to name in messages (``"simulate_field"``, ``"write_field"``).
    size, config, fwhm, psf, randomize
        As given to `~clusterfinder.simulate.simulate_field`.
    in_memory : bool, optional
        True when the whole image is held in memory (`simulate_field`); False when it is
        streamed to disk block by block (`write_field`).
    block_size : int, optional
        Side of the blocks rendered at once (`simulate_field` renders 2048).

    Raises
    ------
    ValueError
        If a band's FWHM is wider than the image, or if the estimated memory of the
        images, PSF tables and render blocks exceeds `available_memory`.

    Examples
    --------
    >>> import astropy.units as u
    >>> from clusterfinder.simulate import PANDAS
    >>> check_simulation_limits("simulate_field", 64, PANDAS, fwhm=20 * u.arcsec)
    Traceback (most recent call last):
    ...
    ValueError: simulate_field: fwhm of 20 arcsec in band 'g' is 108 pixels, wider than ...
    """
    from .config import SurveyConfig

    shape = _shape_of(size)
    if shape is None or not isinstance(config, SurveyConfig):
        return
    randomization = _randomization(randomize)
    widths = _widest_fwhm(fwhm, config, randomization)
    shapes = _widest_shapes(psf, config, randomization)
    if widths is None or shapes is None:
        return
    ny, nx = shape
    scale = config.arcsec_per_pixel
    for band, width in widths.items():
        pixels = width / scale
        if pixels > max(ny, nx):
            raise ValueError(
                f"{caller}: fwhm of {width:.4g} arcsec in band {band!r} is {pixels:.3g} pixels, "
                f"wider than the image itself ({ny} x {nx} pixels of {scale:g} arcsec); give "
                f"the seeing in arcsec (e.g. {config.bands[band].fwhm:.3g}, "
                f"{config.bands[band].fwhm.to_value(u.arcsec) / scale:.3g} pixels) or a "
                "larger size"
            )
    parts = {}
    for band, width in widths.items():
        parts[f"PSF table of band {band!r} at FWHM {width / scale:.3g} pixels"] = (
            estimate_psf_table_bytes(width / scale, shapes[band])
        )
        if randomization is not None and (
            randomization.psf_variation[1] > 0 or randomization.psf_ellipticity_gradient[1] > 0
        ):
            parts[f"varying PSF of band {band!r}"] = _varying_psf_bytes(
                width / scale, shapes[band], randomization.psf_variation[1]
            )
    if in_memory:
        parts[f"{len(config.bands)} image(s) of {ny} x {nx} float32"] = (
            4 * ny * nx * len(config.bands)
        )
    block = max(1, int(block_size)) if isinstance(block_size, (int, np.integer)) else 2048
    parts["render blocks"] = _BLOCK_COPIES * 8 * min(ny, block) * min(nx, block)
    total = sum(parts.values())
    available = available_memory()
    if available is None or total <= available:
        return
    largest = sorted(parts.items(), key=lambda item: -item[1])[:3]
    detail = ", ".join(f"{name}: {_format_bytes(n)}" for name, n in largest)
    hint = (
        "; use a smaller size, or write_field, which streams the image to disk"
        if in_memory and ny * nx * 4 * len(config.bands) > total / 2
        else "; give a smaller fwhm (in arcsec) or size"
    )
    raise ValueError(
        f"{caller}: a {ny} x {nx} field would need ~{_format_bytes(total)} of memory "
        f"({detail}); at most {_format_bytes(available)} is available{hint}"
    )
