"""Tests of the asinh colour composites and the PNG encoder."""

import base64
import struct
import zlib

import numpy as np
import pytest

from clusterfinder.inspect.stamps import (
    MASKED_LEVEL,
    asinh_rgb,
    channel_of_band,
    encode_png,
    stamps_to_png_base64,
)


def decode_png(png):
    """A minimal independent PNG reader for 8-bit grey/RGB images with filter 0."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        body = png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, *_ = header
    assert depth == 8
    channels = 3 if colour == 2 else 1
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, -1)
    assert np.all(raw[:, 0] == 0)
    image = raw[:, 1:].reshape(height, width, channels)
    return image[..., 0] if channels == 1 else image


@pytest.mark.parametrize("shape", [(5, 7, 3), (6, 4)])
def test_png_round_trip(shape):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(encode_png(image)), image)


def test_png_readable_by_matplotlib(tmp_path):
    image_module = pytest.importorskip("matplotlib.image")
    image = np.arange(60, dtype=np.uint8).reshape(4, 5, 3)
    path = tmp_path / "x.png"
    path.write_bytes(encode_png(image))
    np.testing.assert_allclose(image_module.imread(path) * 255, image, atol=0.5)


def test_png_rejects_bad_input():
    with pytest.raises(TypeError, match="uint8"):
        encode_png(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="3 channels"):
        encode_png(np.zeros((3, 3, 4), dtype=np.uint8))


def test_colours_follow_the_bands():
    stamp = np.zeros((2, 9, 9))
    stamp[0, 2, 2] = 100.0  # only in g: blue
    stamp[1, 6, 6] = 100.0  # only in i: red
    rgb = asinh_rgb(stamp).astype(int)
    red, green, blue = rgb[2, 2]
    assert blue == 255 and red == 0 and 0 < green < blue
    red, green, blue = rgb[6, 6]
    assert red == 255 and blue == 0 and 0 < green < red
    assert rgb[0, 0].tolist() == [0, 0, 0]


def test_stretch_is_asinh_and_monotonic():
    # a flat zero background (noise from the MAD is 0: one count is used) and a ramp
    stamp = np.zeros((1, 40, 50))
    stamp[0, 0] = np.linspace(0, 1000, 50)
    rgb = asinh_rgb(stamp, softening=3.0)
    assert rgb[..., 0].tolist() == rgb[..., 1].tolist() == rgb[..., 2].tolist()
    grey = rgb[0, :, 0].astype(int)
    assert np.all(np.diff(grey) >= 0)
    top = np.percentile(stamp, 99.9)
    expected = np.clip(255 * np.arcsinh(stamp[0, 0] / 3.0) / np.arcsinh(top / 3.0), 0, 255)
    np.testing.assert_allclose(grey, expected, atol=1)
    assert grey[5] > 0.5 * 255  # compressive: a tenth of the flux range, half the grey levels


def test_three_bands_and_masks():
    stamp = np.zeros((3, 4, 4))
    stamp[:, 1, 1] = [10.0, 20.0, 30.0]
    mask = np.zeros(stamp.shape, dtype=bool)
    mask[:, 3, 3] = True
    stamp[:, 3, 3] = 1e6  # masked: must not set the scale nor show
    stamp[0, 0, 0] = np.nan  # invalid without a mask
    rgb = asinh_rgb(stamp, mask=mask)
    assert rgb[3, 3].tolist() == [MASKED_LEVEL] * 3
    assert rgb[1, 1, 0] == 255 and rgb[1, 1, 0] > rgb[1, 1, 1] > rgb[1, 1, 2]
    assert asinh_rgb(stamp, mask=np.ones(stamp.shape, dtype=bool)) is None


def test_stamps_to_png_base64_channels_and_blank():
    data = np.zeros((3, 3, 8, 8), dtype=np.float32)
    data[:, 0, 4, 4] = 50.0  # band 0 only
    data[2] = np.nan  # nothing valid
    encoded = stamps_to_png_base64(data, channels=[0, 2])
    assert encoded[2] is None
    rgb = decode_png(base64.b64decode(encoded[0]))
    assert rgb[4, 4, 2] == 255 and rgb[4, 4, 0] == 0  # band 0 is the bluest: blue
    with pytest.raises(ValueError, match="channels"):
        stamps_to_png_base64(data, channels=[0, 1, 2, 0])
    with pytest.raises(ValueError, match="shape"):
        stamps_to_png_base64(data[0])


def test_channel_of_band():
    assert channel_of_band(["g"]) == {"g": 0}
    assert channel_of_band(["g", "r", "i"]) == {"g": 2, "r": 1, "i": 0}
    with pytest.raises(ValueError, match="one to three"):
        channel_of_band(["u", "g", "r", "i"])
