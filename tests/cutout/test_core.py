"""The Cutout container: construction, validation and array behaviour."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from cutout_helpers import make_wcs

from clusterfinder import Cutout


def make_cutout(n=5, bands=("g", "i"), size=7):
    data = np.arange(n * len(bands) * size * size, dtype=np.float32).reshape(
        n, len(bands), size, size
    )
    table = QTable(
        {
            "coord": SkyCoord(np.linspace(10, 11, n) * u.deg, np.full(n, 41.0) * u.deg),
            "label": np.arange(n) % 2,
        }
    )
    return Cutout(data, bands=bands, table=table)


def test_constructor_properties():
    cut = make_cutout()
    assert len(cut) == 5
    assert cut.bands == ("g", "i")
    assert cut.stamp_size == 7
    assert cut.shape == (5, 2, 7, 7)
    assert cut.data.dtype == np.float32 and cut.data.flags.c_contiguous
    assert cut.mask.dtype == bool and not cut.mask.any()
    assert isinstance(cut.coords, SkyCoord) and len(cut.coords) == 5
    assert cut.wcs is None and cut.stamp_wcs(0) is None
    assert repr(cut) == "<Cutout 5 stamps, bands=('g', 'i'), 7x7 pix>"
    np.testing.assert_array_equal(cut.band_data("i"), cut.data[:, 1])


def test_data_is_not_copied_when_already_float32():
    data = np.zeros((2, 1, 3, 3), dtype=np.float32)
    assert Cutout(data, bands="g").data is data
    assert Cutout(data.astype(np.float64), bands="g").data.dtype == np.float32


def test_nan_pixels_are_zeroed_and_masked_without_touching_input():
    data = np.ones((1, 1, 3, 3))
    data[0, 0, 1, 1] = np.nan
    data[0, 0, 0, 0] = np.inf
    cut = Cutout(data, bands="g")
    assert cut.data[0, 0, 1, 1] == 0 and cut.data[0, 0, 0, 0] == 0
    assert cut.mask.sum() == 2 and cut.mask[0, 0, 1, 1]
    assert np.isnan(data[0, 0, 1, 1])  # the caller's array is unchanged


def test_mask_given():
    mask = np.zeros((2, 1, 3, 3), dtype=np.uint8)
    mask[1, 0, 2, 2] = 1
    cut = Cutout(np.zeros((2, 1, 3, 3)), bands=["g"], mask=mask)
    assert cut.mask.dtype == bool and cut.mask.sum() == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"data": np.zeros((2, 3, 3)), "bands": "g"}, ValueError, "4 dimensions"),
        ({"data": np.zeros((2, 1, 3, 4)), "bands": "g"}, ValueError, "square"),
        ({"data": np.zeros((2, 2, 3, 3)), "bands": "g"}, ValueError, "2 channel"),
        ({"data": np.zeros((2, 2, 3, 3)), "bands": ("g", "g")}, ValueError, "unique"),
        ({"data": np.zeros((2, 1, 3, 3)), "bands": 3}, TypeError, "sequence of band names"),
        ({"data": np.array([["a"]]), "bands": "g"}, TypeError, "real numbers"),
        (
            {"data": np.zeros((2, 1, 3, 3)), "bands": "g", "mask": np.zeros((2, 1, 3))},
            ValueError,
            "mask must have the shape",
        ),
        (
            {"data": np.zeros((2, 1, 3, 3)), "bands": "g", "mask": np.zeros((2, 1, 3, 3)) + 0.5},
            TypeError,
            "boolean",
        ),
        (
            {"data": np.zeros((2, 1, 3, 3)), "bands": "g", "table": QTable({"a": [1, 2, 3]})},
            ValueError,
            "3 rows but there are 2",
        ),
        ({"data": np.zeros((2, 1, 3, 3)), "bands": "g", "table": [1, 2]}, TypeError, "table"),
        ({"data": np.zeros((2, 1, 3, 3)), "bands": "g", "wcs": [None]}, ValueError, "1 items"),
        (
            {"data": np.zeros((1, 1, 3, 3)), "bands": "g", "wcs": make_wcs()},
            TypeError,
            "one WCS per stamp",
        ),
        ({"data": np.zeros((1, 1, 3, 3)), "bands": "g", "wcs": ["x"]}, TypeError, r"wcs\[0\]"),
    ],
)
def test_constructor_errors(kwargs, error, match):
    data = kwargs.pop("data")
    with pytest.raises(error, match=match):
        Cutout(data, **kwargs)


def test_indexing_variants():
    cut = make_cutout()
    one = cut[3]
    assert isinstance(one, Cutout) and len(one) == 1
    np.testing.assert_array_equal(one.data[0], cut.data[3])
    assert one.table["label"][0] == cut.table["label"][3]
    assert len(cut[-1]) == 1 and cut[-1].table["label"][0] == cut.table["label"][4]
    sliced = cut[1:4]
    assert len(sliced) == 3 and np.shares_memory(sliced.data, cut.data)
    picked = cut[np.array([4, 0])]
    np.testing.assert_array_equal(picked.data, cut.data[[4, 0]])
    chosen = cut[cut.table["label"] == 1]
    assert chosen.table["label"].tolist() == [1, 1]
    assert len(cut[[]]) == 0
    assert [len(c) for c in cut] == [1] * 5
    np.testing.assert_array_equal(np.concatenate([c.data for c in cut]), cut.data)


@pytest.mark.parametrize(
    ("index", "error"),
    [
        (5, IndexError),
        (-6, IndexError),
        (np.array([0, 7]), IndexError),
        (np.array([True, False]), IndexError),
        (True, TypeError),
        ((0, 1), TypeError),
        (np.array([0.5]), TypeError),
        ("a", TypeError),
    ],
)
def test_indexing_errors(index, error):
    with pytest.raises(error):
        make_cutout()[index]


def test_table_without_columns_accepts_new_columns():
    cut = Cutout(np.zeros((3, 1, 3, 3)), bands="g")
    assert cut.table.colnames == [] and cut.coords is None
    cut.table["label"] = [0, 1, 1]
    assert cut[1:].table["label"].tolist() == [1, 1]


def test_empty_cutout():
    cut = Cutout(np.zeros((0, 2, 5, 5)), bands=("g", "i"))
    assert len(cut) == 0 and not cut and list(cut) == []
    assert cut.mask.shape == (0, 2, 5, 5)


def test_concatenate():
    a, b = make_cutout(3), make_cutout(2)
    joined = Cutout.concatenate([a, b])
    assert len(joined) == 5
    np.testing.assert_array_equal(joined.data[3:], b.data)
    assert joined.table["label"].tolist() == [0, 1, 0, 0, 1]
    assert isinstance(joined.coords, SkyCoord)


def test_concatenate_keeps_stamp_wcs():
    w1, w2 = make_wcs(crpix=(1, 1)), make_wcs(crpix=(5, 5))
    a = Cutout(np.zeros((1, 1, 3, 3)), bands="g", wcs=[w1])
    b = Cutout(np.zeros((2, 1, 3, 3)), bands="g", wcs=[None, w2])
    joined = Cutout.concatenate([a, b])
    assert joined.stamp_wcs(0) is w1 and joined.stamp_wcs(1) is None
    assert joined.stamp_wcs(2) is w2
    assert len(joined.wcs) == 3 and joined[2:].stamp_wcs(0) is w2


@pytest.mark.parametrize(
    ("parts", "error", "match"),
    [
        ([], ValueError, "empty"),
        (None, TypeError, "sequence of Cutout"),
        ([np.zeros(3)], TypeError, "not a Cutout"),
        ("bands", ValueError, "different bands"),
        ("size", ValueError, "different stamp sizes"),
        ("columns", ValueError, "different columns"),
    ],
)
def test_concatenate_errors(parts, error, match):
    base = make_cutout(2)
    if parts == "bands":
        parts = [base, make_cutout(2, bands=("i", "g"))]
    elif parts == "size":
        parts = [base, make_cutout(2, size=9)]
    elif parts == "columns":
        other = make_cutout(2)
        other.table.remove_column("label")
        parts = [base, other]
    with pytest.raises(error, match=match):
        Cutout.concatenate(parts)


def test_select_bands_keeps_pixels_table_and_wcs():
    rng = np.random.default_rng(0)
    data = rng.random((3, 3, 5, 5)).astype(np.float32)
    mask = rng.random((3, 3, 5, 5)) < 0.1
    table = QTable({"x_stamp": [2.0, 2.1, 1.9], "label": [1, 0, 1]})
    stamps = Cutout(data, bands=("g", "r", "i"), mask=mask, table=table)
    picked = stamps.select_bands(["i", "g"])
    assert picked.bands == ("i", "g")
    np.testing.assert_array_equal(picked.data, data[:, [2, 0]])
    np.testing.assert_array_equal(picked.mask, mask[:, [2, 0]])
    assert list(picked.table["label"]) == [1, 0, 1]
    picked.table["label"][0] = 0  # the new stamps own their table
    assert stamps.table["label"][0] == 1
    assert stamps.select_bands("r").bands == ("r",)
    for bad in (["z"], [], ["g", "g"]):
        with pytest.raises(ValueError, match="distinct bands"):
            stamps.select_bands(bad)
