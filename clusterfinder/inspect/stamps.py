"""Colour-composite stamps for the inspection page, encoded as PNG without Pillow.

An inspector judges a candidate from a small picture: the bluest band goes to the
blue channel, the reddest to red, and their mean to green, each on the same asinh
stretch so that colours compare between channels and a single band can be shown
by reading one channel back. The PNG encoder is a few lines of numpy and `zlib`,
so the page needs no imaging library.
"""

import base64
import struct
import zlib

import numpy as np

from ..utils import progress_bar as _progress_bar

__all__ = ["asinh_rgb", "channel_of_band", "encode_png", "stamps_to_png_base64"]

#: Grey level (0-255) of invalid or off-image pixels, so that they stand out from the sky.
MASKED_LEVEL = 64

#: Softening of the asinh stretch, in units of the stamp's noise: fainter than
#: this the stretch is linear, brighter it is logarithmic.
SOFTENING = 3.0


def channel_of_band(bands):
    """Return which RGB channel (0 red, 1 green, 2 blue) shows each band alone.

    Parameters
    ----------
    bands : sequence of str
    One to three band names, bluest first.

    Returns
    -------
    dict
    Band name -> channel index. A single band is grey (all channels equal);
    with two bands the first is blue and the second red; with three, blue,
    green and red.

    Examples
    --------
    >>> from clusterfinder.inspect.stamps import channel_of_band
    >>> channel_of_band(("g", "i"))
    {'g': 2, 'i': 0}
    """
    bands = tuple(bands)
    if not 1 <= len(bands) <= 3:
        raise ValueError(f"bands must name one to three bands; got {bands!r}")
    if len(bands) == 1:
        return {bands[0]: 0}
    if len(bands) == 2:
        return {bands[0]: 2, bands[1]: 0}
    return {bands[0]: 2, bands[1]: 1, bands[2]: 0}


def _row_quantile(ordered, counts, q):
    """Quantile ``q`` of the first ``counts[k]`` entries of each sorted row ``k``."""
    position = q * (counts - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, counts - 1)
    frac = position - low
    rows = np.arange(len(ordered))
    with np.errstate(invalid="ignore"):
        return (1 - frac) * ordered[rows, low] + frac * ordered[rows, high]


def _stretch(data, invalid, softening):
    """Asinh-stretch a batch ``(n, B, H, W)`` to ``(n, H, W, 3)`` uint8; also return validity.

    Each band's median is subtracted; the noise of each stamp is then 1.4826 times
    the median absolute deviation of its valid pixels (all bands together), and
    full scale their 99.9th percentile.
    """
    n, nbands = data.shape[:2]
    # Sorting with invalid pixels at +inf puts the valid ones first in each row, so
    # that quantiles are read at positions set by the number of valid pixels.
    per_band = np.sort(np.where(invalid, np.inf, data).reshape(n * nbands, -1), axis=1)
    band_counts = np.maximum((~invalid).reshape(n * nbands, -1).sum(axis=1), 1)
    background = _row_quantile(per_band, band_counts, 0.5).reshape(n, nbands, 1, 1)
    background = np.where(np.isfinite(background), background, 0.0)
    data = data - background  # the local sky (or disc light) of each band goes to black
    flat = np.where(invalid, np.inf, data).reshape(n, -1)
    counts = (~invalid).reshape(n, -1).sum(axis=1)
    has_pixels = counts > 0
    counts = np.maximum(counts, 1)
    ordered = np.sort(flat, axis=1)
    deviations = np.sort(np.abs(flat), axis=1)
    sigma = 1.4826 * _row_quantile(deviations, counts, 0.5)
    sigma = np.where(np.isfinite(sigma) & (sigma > 0), sigma, 1.0)
    scale = softening * sigma
    top = np.maximum(_row_quantile(ordered, counts, 0.999), scale)
    top = np.where(np.isfinite(top), top, scale)
    norm = np.arcsinh(top / scale)
    data = np.where(invalid, 0.0, data)
    bands = data.shape[1]
    if bands == 1:
        rgb = np.repeat(data, 3, axis=1)
        bad = np.repeat(invalid, 3, axis=1)
    elif bands == 2:
        rgb = np.stack([data[:, 1], 0.5 * (data[:, 0] + data[:, 1]), data[:, 0]], axis=1)
        bad = np.stack([invalid[:, 1], invalid[:, 0] | invalid[:, 1], invalid[:, 0]], axis=1)
    else:
        rgb, bad = data[:, ::-1], invalid[:, ::-1]
    shape = (n, 1, 1, 1)
    stretched = np.arcsinh(np.clip(rgb, 0, None) / scale.reshape(shape)) / norm.reshape(shape)
    stretched = np.where(bad, MASKED_LEVEL / 255, np.clip(stretched, 0.0, 1.0))
    image = np.round(255 * stretched).astype(np.uint8)
    return np.ascontiguousarray(image.transpose(0, 2, 3, 1)), has_pixels


def asinh_rgb(stamp, *, mask=None, softening=SOFTENING):
    """Turn one multi-band stamp into an 8-bit RGB image with an asinh stretch.

    The median of each band (the local sky or disc light) is subtracted first, so
    that the background is black. All channels then share one stretch, set by the
    stamp itself: linear below ``softening`` times the noise (from the median
    absolute deviation of the valid pixels) and logarithmic above, with the
    brightest valid pixel (the 99.9th percentile) at full scale.

    Parameters
    ----------
    stamp : array-like, shape (B, H, W)
        The stamp, one to three bands, bluest first.
    mask : array-like of bool, shape (B, H, W), optional
        True where a pixel is invalid; those pixels are grey (`MASKED_LEVEL`).
    softening : float, optional
        Where the stretch turns from linear to logarithmic, in noise units.

    Returns
    -------
    numpy.ndarray or None
        ``(H, W, 3)`` uint8, or None when no pixel of the stamp is valid.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.inspect.stamps import asinh_rgb
    >>> stamp = np.zeros((2, 9, 9), dtype=np.float32)
    >>> stamp[:, 4, 4] = [50.0, 100.0]        # a red point source
    >>> rgb = asinh_rgb(stamp)
    >>> rgb.shape, rgb.dtype.name, rgb[4, 4].tolist()
    ((9, 9, 3), 'uint8', [255, 242, 217])
    """
    data = np.asarray(stamp, dtype=np.float64)
    if data.ndim != 3 or not 1 <= data.shape[0] <= 3:
        raise ValueError(f"stamp must have shape (B, H, W) with 1-3 bands; got {data.shape}")
    invalid = ~np.isfinite(data)
    if mask is not None:
        invalid |= np.broadcast_to(np.asarray(mask, dtype=bool), data.shape)
    image, valid = _stretch(data[None], invalid[None], softening)
    return image[0] if valid[0] else None


def _chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def encode_png(image):
    """Encode an 8-bit image as PNG bytes (no imaging library needed).

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W)`` grey or ``(H, W, 3)`` RGB, dtype uint8.

    Returns
    -------
    bytes
        A complete PNG file.

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.inspect.stamps import encode_png
    >>> png = encode_png(np.zeros((4, 5, 3), dtype=np.uint8))
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise TypeError(f"image must be a 2-D or 3-D uint8 array; got {image.dtype} {image.shape}")
    if image.ndim == 3 and image.shape[2] != 3:
        raise ValueError(f"an RGB image must have 3 channels; got {image.shape[2]}")
    height, width = image.shape[:2]
    colour_type = 2 if image.ndim == 3 else 0
    # Filter type 0 (none) on every row: on noisy stamps it compresses better than
    # the predictive filters.
    rows = image.reshape(height, -1)
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rows], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(raw.tobytes(), 3)),
            _chunk(b"IEND", b""),
        ]
    )


def stamps_to_png_base64(
    data, *, mask=None, channels=None, softening=SOFTENING, progress_bar=False
):
    """Encode many stamps as base64 PNG strings, None where a stamp has no valid pixel.

    Parameters
    ----------
    data : array-like, shape (N, B, H, W)
        The stamps, one to three bands, bluest first.
    mask : array-like of bool, shape (N, B, H, W), optional
        True where a pixel is invalid.
    channels : list of int, optional
        Which of the B channels make the composite (one to three, bluest first);
        all by default.
    softening : float, optional
        See `asinh_rgb`.
    progress_bar : bool, optional
        Show a progress bar.

    Returns
    -------
    list of (str or None)

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.inspect.stamps import stamps_to_png_base64
    >>> data = np.ones((2, 2, 8, 8), dtype=np.float32)
    >>> mask = np.zeros(data.shape, dtype=bool)
    >>> mask[1] = True
    >>> encoded = stamps_to_png_base64(data, mask=mask)
    >>> encoded[0][:8], encoded[1]
    ('iVBORw0K', None)
    """
    data = np.asarray(data)
    if data.ndim != 4:
        raise ValueError(f"data must have shape (N, B, H, W); got {data.shape}")
    channels = list(range(data.shape[1])) if channels is None else list(channels)
    if not 1 <= len(channels) <= 3:
        raise ValueError(f"channels must select one to three bands; got {channels}")
    out = []
    chunk = 256
    starts = range(0, data.shape[0], chunk)
    bar = _progress_bar(total=data.shape[0], enabled=progress_bar, desc="stamps", unit="stamp")
    for start in starts:
        block = np.asarray(data[start : start + chunk][:, channels], dtype=np.float32)
        invalid = ~np.isfinite(block)
        if mask is not None:
            invalid |= np.asarray(mask[start : start + chunk][:, channels], dtype=bool)
        images, valid = _stretch(block, invalid, softening)
        for image, ok in zip(images, valid, strict=True):
            out.append(base64.b64encode(encode_png(image)).decode("ascii") if ok else None)
        bar.update(len(block))
    if hasattr(bar, "close"):
        bar.close()
    return out
