"""Measurement helpers shared by the simulator's validation tests (independent of its code)."""

import numpy as np
from astropy.modeling.functional_models import Moffat2D
from scipy.optimize import least_squares

FIT_HALF = 10  # half-size of the stamps fitted with a Moffat profile


def pixel_moffat(shape, x0, y0, alpha, beta, *, oversample=4):
    """Unit-flux Moffat profile integrated over the pixels of a ``shape`` grid."""
    ny, nx = shape
    sub_y = (np.arange(ny * oversample) + 0.5) / oversample - 0.5
    sub_x = (np.arange(nx * oversample) + 0.5) / oversample - 0.5
    yy, xx = np.meshgrid(sub_y, sub_x, indexing="ij")
    # astropy's Moffat2D calls the core width "gamma" and the power index "alpha"
    values = Moffat2D.evaluate(xx, yy, 1.0, x0, y0, alpha, beta)
    values = values.reshape(ny, oversample, nx, oversample).mean(axis=(1, 3))
    return values * (beta - 1.0) / (np.pi * alpha**2)


def fit_moffat(image, x, y, *, half=FIT_HALF):
    """Fit a pixel-integrated Moffat profile plus a constant around ``(x, y)``."""
    ix, iy = round(x), round(y)
    stamp = np.asarray(image[iy - half : iy + half + 1, ix - half : ix + half + 1], dtype=float)

    def residuals(p):
        flux, dx, dy, alpha, beta, background = p
        model = pixel_moffat(stamp.shape, half + dx, half + dy, alpha, beta)
        return (flux * model + background - stamp).ravel()

    start = [stamp.sum(), x - ix, y - iy, 3.0, 3.0, 0.0]
    lower = [0.0, -2.0, -2.0, 0.3, 1.05, -np.inf]
    upper = [np.inf, 2.0, 2.0, 30.0, 30.0, np.inf]
    result = least_squares(residuals, start, bounds=(lower, upper), x_scale="jac")
    flux, dx, dy, alpha, beta, _ = result.x
    fwhm = 2.0 * alpha * np.sqrt(2.0 ** (1.0 / beta) - 1.0)
    return {"flux": flux, "x": ix + dx, "y": iy + dy, "alpha": alpha, "beta": beta, "fwhm": fwhm}
