"""Rendering a PSF that varies across the image, by interpolation between a few PSFs.

A PSF table for every star would cost seconds each. `VaryingPSF` builds the pixel-
integrated PSF (`~clusterfinder.simulate.profiles.PixelPSF`) of a
`~clusterfinder.simulate.psf_variation.PSFVariation` at a small grid of nodes over the
image (its corners, and the middles between them for a large change), and gives each
source the weighted mean of the stamps of the four nodes around it, with bilinear
weights. The FWHM and ellipticity planes of the variation are then followed exactly at
the nodes and smoothly between them, without seams, and every stamp still sums to one.
"""

import numpy as np

from .profiles import PSF_OVERSAMPLE, PixelPSF

__all__ = ["VaryingPSF"]


class VaryingPSF:
    """A pixel-integrated PSF that changes across an image.

    Parameters
    ----------
    fwhm : float
        FWHM at the centre of the image, pixels.
    shape : `~clusterfinder.simulate.PSFShape`
        The PSF at the centre of the image.
    variation : `~clusterfinder.simulate.PSFVariation`
        How it changes across the image.
    image_shape : tuple of int
        ``(ny, nx)`` of the image.

    Examples
    --------
    >>> from clusterfinder.simulate import PSFShape, PSFVariation
    >>> from clusterfinder.simulate.varying_psf import VaryingPSF
    >>> psf = VaryingPSF(3.5, PSFShape(), PSFVariation(fwhm_change=0.12), (200, 200))
    >>> len(psf.nodes), psf.nodes[0].fwhm < psf.nodes[-1].fwhm
    (9, True)
    >>> stamp = psf.stamp(120.3, 80.0, 0.3, 0.0, 10)
    >>> stamp.shape, round(float(stamp.sum()), 12)
    ((21, 21), 1.0)
    """

    def __init__(self, fwhm, shape, variation, image_shape):
        self.variation = variation
        self.image_shape = tuple(int(n) for n in image_shape)
        self.n = variation.nodes
        ny, nx = self.image_shape
        ys = np.linspace(-0.5, ny - 0.5, self.n)
        xs = np.linspace(-0.5, nx - 0.5, self.n)
        gy, gx = np.meshgrid(ys, xs, indexing="ij")
        widths, shapes = variation.at(
            gx.ravel(), gy.ravel(), fwhm=fwhm, shape=shape, image_shape=self.image_shape
        )
        radii = [PixelPSF.radii(w, s) for w, s in zip(widths, shapes, strict=True)]
        #: Radius (pixels) within which the light of the PSF is followed around a source.
        self.reach = max(r[0] for r in radii)
        self.small_radius = max(r[1] for r in radii)
        self.large_radius = max(self.small_radius, *(r[2] for r in radii))
        #: The `PixelPSF` of each node, row by row (y, then x).
        self.nodes = [
            PixelPSF(w, s, small_radius=self.small_radius, large_radius=self.large_radius)
            for w, s in zip(widths, shapes, strict=True)
        ]
        self._library = None

    @property
    def library(self):
        """The nodes' unit-flux small stamps for every phase, ``(nodes, 16, 16, 2r+1, 2r+1)``."""
        if self._library is None:
            self._library = np.stack([node.library for node in self.nodes])
            for node in self.nodes:  # the stack holds them now: do not keep two copies
                node._library = None
        return self._library

    def weights(self, x, y):
        """The four nodes around each position and their bilinear weights.

        Returns ``(index, weight)``, two ``(len(x), 4)`` arrays; positions off the image
        take the PSF of its nearest edge.
        """
        ny, nx = self.image_shape
        index, weight = [], []
        for value, size in ((y, ny), (x, nx)):
            t = np.clip((np.asarray(value, dtype=float) + 0.5) / size, 0.0, 1.0) * (self.n - 1)
            low = np.minimum(np.floor(t).astype(np.int64), self.n - 2)
            index.append(low)
            weight.append(t - low)
        (iy, ix), (fy, fx) = index, weight
        index = np.stack([iy * self.n + ix, iy * self.n + ix + 1,
                          (iy + 1) * self.n + ix, (iy + 1) * self.n + ix + 1], axis=-1)  # fmt: skip
        weight = np.stack([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx], axis=-1)
        return index, weight

    def small_stamps(self, index, weight, qy, qx):
        """Small stamps of sources with node ``index, weight`` at phases ``qy, qx``."""
        library = self.library
        half = PSF_OVERSAMPLE // 2
        stamps = 0.0
        for c in range(index.shape[-1]):
            part = library[index[:, c], qy + half, qx + half]
            stamps = stamps + weight[:, c, None, None] * part
        return stamps

    def stamp(self, x, y, dx, dy, radius):
        """Unit-flux stamp of a source at image position ``x, y``.

        ``dx, dy`` are its offsets from the stamp's central pixel and ``radius`` the
        stamp's half-size, as in `~clusterfinder.simulate.profiles.PixelPSF.stamp`.
        """
        index, weight = self.weights([x], [y])
        stamp = 0.0
        for k, w in zip(index[0], weight[0], strict=True):
            if w > 0:
                stamp = stamp + w * self.nodes[k].stamp(dx, dy, radius)
        return stamp

    def peak(self):
        """The largest fraction of a star's flux that its brightest pixel can receive."""
        half = PSF_OVERSAMPLE // 2
        return float(self.library[:, half, half].max())

    def local(self, x, y):
        """The PSF at image position ``x, y``, for convolving an extended object."""
        index, weight = self.weights([x], [y])
        return _LocalPSF(
            self.reach,
            [(self.nodes[k], w) for k, w in zip(index[0], weight[0], strict=True) if w > 0],
        )


class _LocalPSF:
    """A weighted mean of node PSFs: the ``reach`` and ``kernel`` that extended objects use."""

    def __init__(self, reach, parts):
        self.reach = reach
        self._parts = parts

    def kernel(self, oversample):
        kernels = [(node.kernel(oversample), w) for node, w in self._parts]
        half = max(k.shape[0] // 2 for k, _ in kernels)
        out = np.zeros((2 * half + 1, 2 * half + 1))
        for k, w in kernels:
            pad = half - k.shape[0] // 2
            out[pad : pad + k.shape[0], pad : pad + k.shape[0]] += w * k
        return out / out.sum()
