"""The contract shared by the three row-like classes (issue #14 item 7).

`~clusterfinder.Cutout`, `~clusterfinder.LabelSet` and `~clusterfinder.CandidateCatalog`
all hold one row per source. Whatever else they do, they agree on how rows are
counted, selected, joined, saved and refused, as every photutils aperture class
passes one set of inherited tests. `ContractTests` states that behaviour once; each
``Test...Contract`` class below only says how to build a small object of its class and
how to compare two of them.

Where a class deliberately differs (a `CandidateCatalog` is an astropy table, so an
integer gives a `~astropy.table.Row`), its subclass overrides that one test and says
why.
"""

import inspect
import os
import warnings

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Row
from astropy.utils.exceptions import AstropyDeprecationWarning
from cutout_helpers import make_wcs

from clusterfinder import CandidateCatalog, Cutout, LabelSet
from clusterfinder.utils import ClusterFinderWarning

#: Metadata every test object carries; only JSON-like values, which every file keeps.
META = {"survey": "simulated", "seed": 3, "bands": ["g", "i"], "psf": {"fwhm_g": 0.67}}

#: Indices that are no row index at all: each must raise TypeError.
BAD_INDICES = [
    pytest.param(1.5, id="float"),
    pytest.param(None, id="None"),
    pytest.param({}, id="dict"),
    pytest.param(True, id="bool"),
    pytest.param(np.array([0.5, 1.0]), id="float-array"),
    pytest.param(np.zeros((2, 2), dtype=int), id="2d-array"),
    pytest.param((0, 1), id="tuple"),
    pytest.param(object(), id="object"),
]


def coords(n, start=0):
    """``n`` distinct sky positions near M31, the ``start``-th first."""
    k = np.arange(start, start + n)
    return SkyCoord((10.6 + 0.01 * k) * u.deg, (41.2 + 0.005 * k) * u.deg)


class ContractTests:
    """Tests every row-like class passes. Subclasses set `cls` and `suffix`, and
    implement `make`, `table` and `assert_same_content`."""

    #: The class under test.
    cls = None
    #: File name ending used by ``write``.
    suffix = None
    #: The keyword ``concatenate`` took before version 0.1 (None: the method is new).
    old_concatenate_keyword = None

    def make(self, n, *, start=0):
        """An object of ``n`` rows whose ``row_id`` runs from ``start``, with `META`."""
        raise NotImplementedError

    def table(self, obj):
        """The table of ``obj`` (``row_id`` and ``meta`` live there)."""
        raise NotImplementedError

    def assert_same_content(self, back, expected):
        """Everything a user put into ``expected`` is in ``back`` (rows, pixels, meta)."""
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------------------

    def ids(self, obj):
        return [int(v) for v in self.table(obj)["row_id"]]

    def meta(self, obj):
        return dict(self.table(obj).meta)

    def check_meta(self, obj):
        meta = self.meta(obj)
        for key, value in META.items():
            assert meta[key] == value, f"meta[{key!r}] lost or changed"

    # -- length and indexing ------------------------------------------------------------

    def test_len(self):
        assert len(self.make(5)) == 5
        assert len(self.make(1)) == 1
        assert len(self.make(0)) == 0

    def test_getitem_int(self):
        obj = self.make(5)
        for k, expected in ((0, 0), (3, 3), (-1, 4), (np.int64(2), 2)):
            one = obj[k]
            assert type(one) is self.cls
            assert len(one) == 1 and self.ids(one) == [expected]
        self.check_meta(obj[1])

    def test_getitem_slice(self):
        obj = self.make(6)
        assert self.ids(obj[1:4]) == [1, 2, 3]
        assert self.ids(obj[::-2]) == [5, 3, 1]
        assert self.ids(obj[10:]) == []
        assert type(obj[1:4]) is self.cls
        self.check_meta(obj[1:4])

    def test_getitem_bool_mask(self):
        obj = self.make(6)
        even = np.arange(6) % 2 == 0
        assert self.ids(obj[even]) == [0, 2, 4]
        assert self.ids(obj[list(even)]) == [0, 2, 4]
        assert self.ids(obj[np.nonzero(even)]) == [0, 2, 4]
        assert type(obj[even]) is self.cls
        self.check_meta(obj[even])

    def test_getitem_index_array(self):
        obj = self.make(6)
        assert self.ids(obj[np.array([3, 0, 0, -1])]) == [3, 0, 0, 5]
        assert self.ids(obj[[4, 1]]) == [4, 1]
        assert self.ids(obj[np.array([2], dtype=np.uint8)]) == [2]
        assert self.ids(obj[range(2, 4)]) == [2, 3]
        assert self.ids(obj[torch.tensor([5, 1])]) == [5, 1]  # anything with __array__
        assert type(obj[[4, 1]]) is self.cls
        self.check_meta(obj[[4, 1]])

    def test_iter(self):
        items = list(self.make(3))
        assert len(items) == 3
        assert all(type(one) is self.cls and len(one) == 1 for one in items)
        assert [self.ids(one) for one in items] == [[0], [1], [2]]
        assert list(self.make(0)) == []

    @pytest.mark.parametrize(
        "index",
        [6, -7, [0, 6], np.array([-7]), np.ones(5, dtype=bool), np.ones(7, dtype=bool)],
        ids=["int", "negative-int", "list", "negative-array", "short-mask", "long-mask"],
    )
    def test_getitem_out_of_range(self, index):
        with pytest.raises(IndexError, match=r"out of range|length 6"):
            self.make(6)[index]

    @pytest.mark.parametrize("index", BAD_INDICES)
    def test_bad_index_type(self, index):
        with pytest.raises(TypeError, match=self.cls.__name__):
            self.make(4)[index]

    def test_empty_selection(self, tmp_path):
        obj = self.make(4)
        for empty in (obj[np.zeros(4, dtype=bool)], obj[[]], obj[2:2], self.make(0)):
            assert type(empty) is self.cls and len(empty) == 0
            self.check_meta(empty)
            repr(empty)
        empty = obj[np.zeros(4, dtype=bool)]
        path = tmp_path / f"empty{self.suffix}"
        empty.write(path)
        back = self.cls.read(path)
        assert type(back) is self.cls and len(back) == 0
        self.assert_same_content(back, empty)

    def test_repr(self):
        for n in (0, 1, 7):
            text = repr(self.make(n))
            assert text.startswith(f"<{self.cls.__name__}")
            assert str(n) in text.splitlines()[0]

    # -- concatenation --------------------------------------------------------------------

    def test_concatenate(self):
        a, b = self.make(3), self.make(2, start=3)
        joined = self.cls.concatenate([a, b])
        assert type(joined) is self.cls
        assert len(joined) == 5 and self.ids(joined) == [0, 1, 2, 3, 4]
        self.check_meta(joined)
        self.assert_same_content(joined[3:], b)
        # any iterable, and empty parts
        again = self.cls.concatenate(iter([a, self.make(0), b]))
        assert self.ids(again) == [0, 1, 2, 3, 4]
        # the inputs are left as they were
        assert self.ids(a) == [0, 1, 2] and self.ids(b) == [3, 4]

    def test_concatenate_signature(self):
        # one name and one signature on the three classes: concatenate(items)
        assert list(inspect.signature(self.cls.concatenate).parameters) == ["items"]
        obj = self.make(2)
        assert len(self.cls.concatenate(items=[obj, obj])) == 4

    def test_concatenate_refusals(self):
        obj = self.make(2)
        with pytest.raises(ValueError, match="empty"):
            self.cls.concatenate([])
        with pytest.raises(TypeError, match=r"items\[1\]"):
            self.cls.concatenate([obj, QTable({"x": [1]})])
        with pytest.raises(TypeError, match="sequence"):
            self.cls.concatenate(5)

    def test_concatenate_old_keyword_is_deprecated(self):
        if self.old_concatenate_keyword is None:
            pytest.skip(f"{self.cls.__name__}.concatenate is new in 0.1: no earlier keyword")
        obj = self.make(2)
        with pytest.warns(AstropyDeprecationWarning, match="items"):
            joined = self.cls.concatenate(**{self.old_concatenate_keyword: [obj, obj]})
        assert len(joined) == 4

    # -- files ------------------------------------------------------------------------------

    def test_write_read_round_trip(self, tmp_path):
        obj = self.make(5)
        path = tmp_path / f"obj{self.suffix}"
        obj.write(path)
        back = self.cls.read(path)
        assert type(back) is self.cls
        self.assert_same_content(back, obj)
        self.check_meta(back)
        # str paths too, and nothing but the file is left in the folder
        back = self.cls.read(str(path))
        self.assert_same_content(back, obj)
        assert os.listdir(tmp_path) == [path.name]

    def test_overwrite_refused(self, tmp_path):
        path = tmp_path / f"obj{self.suffix}"
        self.make(3).write(path)
        before = path.read_bytes()
        with pytest.raises(FileExistsError, match=r"overwrite=True"):
            self.make(2, start=10).write(path)
        assert path.read_bytes() == before
        assert os.listdir(tmp_path) == [path.name]
        assert self.ids(self.cls.read(path)) == [0, 1, 2]

    def test_overwrite_true_replaces(self, tmp_path):
        path = tmp_path / f"obj{self.suffix}"
        self.make(3).write(path)
        replacement = self.make(2, start=10)
        replacement.write(path, overwrite=True)
        back = self.cls.read(path)
        assert self.ids(back) == [10, 11]
        self.assert_same_content(back, replacement)
        assert os.listdir(tmp_path) == [path.name]

    def test_read_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="no such"):
            self.cls.read(tmp_path / f"missing{self.suffix}")


# -- the three classes ----------------------------------------------------------------------


class TestCutoutContract(ContractTests):
    cls = Cutout
    suffix = ".fits"
    old_concatenate_keyword = "cutouts"

    def make(self, n, *, start=0):
        k = np.arange(start, start + n)
        data = np.broadcast_to(k[:, None, None, None], (n, 2, 7, 7)).astype(np.float32)
        data = data + np.linspace(0, 1, 2 * 7 * 7, dtype=np.float32).reshape(2, 7, 7)
        mask = np.zeros(data.shape, dtype=bool)
        mask[:, 1, 0, :] = True  # a masked row of pixels in band i
        table = QTable({"coord": coords(n, start), "row_id": k, "label": k % 2}, meta=META)
        wcs = [make_wcs(crpix=(40.0 - j, 40.0 + j)) for j in k]
        return Cutout(data, bands=("g", "i"), mask=mask, table=table, wcs=wcs)

    def table(self, obj):
        return obj.table

    def assert_same_content(self, back, expected):
        assert back.bands == expected.bands
        np.testing.assert_array_equal(back.data, expected.data)
        np.testing.assert_array_equal(back.mask, expected.mask)
        assert back.table.colnames == expected.table.colnames
        assert self.ids(back) == self.ids(expected)
        assert back.table["label"].tolist() == expected.table["label"].tolist()
        if len(expected):
            assert np.all(back.coords.separation(expected.coords) < 1 * u.marcsec)
        for k in range(len(expected)):
            got, want = back.stamp_wcs(k), expected.stamp_wcs(k)
            np.testing.assert_allclose(got.wcs.crpix, want.wcs.crpix)
            np.testing.assert_allclose(got.wcs.crval, want.wcs.crval)
        assert self.meta(back) == self.meta(expected)

    def test_pixel_index_is_pointed_to_data(self):
        with pytest.raises(TypeError, match=r"index \.data for pixels"):
            self.make(3)[0, 1]

    def test_meta_without_columns_survives(self, tmp_path):
        # A table with metadata but no columns: indexing, joining and files keep it.
        cut = Cutout(np.zeros((3, 1, 5, 5)), bands="g", table=QTable(meta=META))
        assert dict(cut[1:].table.meta) == META
        assert dict(cut.crop(3).table.meta) == META
        assert dict(Cutout.concatenate([cut, cut]).table.meta) == META
        cut.write(tmp_path / "c.fits")
        assert dict(Cutout.read(tmp_path / "c.fits").table.meta) == META


class TestLabelSetContract(ContractTests):
    cls = LabelSet
    suffix = ".ecsv"
    old_concatenate_keyword = "label_sets"

    def make(self, n, *, start=0):
        k = np.arange(start, start + n)
        table = QTable(
            {
                "coord": coords(n, start),
                "label": k % 2,
                "row_id": k,
                "mag_g": 19.0 + 0.1 * k,
                "source": np.array([f"cat{j % 3}" for j in k], dtype="U8"),
            },
            meta=META,
        )
        return LabelSet(table)

    def table(self, obj):
        return obj.table

    def assert_same_content(self, back, expected):
        assert back.table.colnames == expected.table.colnames
        assert self.ids(back) == self.ids(expected)
        assert back.labels.tolist() == expected.labels.tolist()
        np.testing.assert_allclose(back.table["mag_g"], expected.table["mag_g"])
        assert [str(s) for s in back.table["source"]] == [str(s) for s in expected.table["source"]]
        if len(expected):
            assert np.all(back.coords.separation(expected.coords) < 1 * u.marcsec)
        assert self.meta(back) == self.meta(expected)

    def test_string_index_is_a_column(self):
        labels = self.make(3)
        assert labels["row_id"].tolist() == [0, 1, 2]

    def test_repr_of_an_empty_split_part(self):
        labels = self.make(4)
        labels.table["split"] = ["train", "train", "test", "test"]
        assert (
            repr(labels)
            == "<LabelSet: 4 objects (2 clusters, 2 non-clusters); split test: 2, train: 2>"
        )
        assert repr(labels[[]]) == "<LabelSet: 0 objects (0 clusters, 0 non-clusters)>"


class TestCandidateCatalogContract(ContractTests):
    cls = CandidateCatalog
    suffix = ".ecsv"
    old_concatenate_keyword = None

    def make(self, n, *, start=0):
        k = np.arange(start, start + n)
        table = QTable(
            {
                "coord": coords(n, start),
                "prob_cluster": np.linspace(0.05, 0.95, n) if n else np.zeros(0),
                "row_id": k,
                "mag_g": 19.0 + 0.1 * k,
                "flag_edge": k % 3 == 0,
            }
        )
        return CandidateCatalog.from_table(table, threshold=0.669, meta=META)

    def table(self, obj):
        return obj

    def assert_same_content(self, back, expected):
        assert back.colnames == expected.colnames
        assert self.ids(back) == self.ids(expected)
        np.testing.assert_allclose(back["prob_cluster"], expected["prob_cluster"])
        np.testing.assert_allclose(back["mag_g"], expected["mag_g"])
        assert back["flag_edge"].tolist() == expected["flag_edge"].tolist()
        if len(expected):
            assert np.all(back["coord"].separation(expected["coord"]) < 1 * u.marcsec)
        assert self.meta(back) == self.meta(expected)

    def test_getitem_int(self):
        # Deliberate difference: a CandidateCatalog is an astropy QTable, and an integer
        # gives a table Row there, as for every astropy table; a slice or a list of one
        # index gives a one-row CandidateCatalog.
        cat = self.make(5)
        row = cat[3]
        assert isinstance(row, Row) and row["row_id"] == 3
        assert cat[-1]["row_id"] == 4 and cat[np.int64(2)]["row_id"] == 2
        assert type(cat[3:4]) is CandidateCatalog and self.ids(cat[[3]]) == [3]
        self.check_meta(cat[[1]])

    def test_iter(self):
        # As for test_getitem_int: iterating over an astropy table gives its Rows.
        rows = list(self.make(3))
        assert all(isinstance(row, Row) for row in rows)
        assert [row["row_id"] for row in rows] == [0, 1, 2]
        assert list(self.make(0)) == []

    def test_table_indexing_still_works(self):
        cat = self.make(4)
        assert cat["row_id"].tolist() == [0, 1, 2, 3]
        assert cat[["coord", "prob_cluster"]].colnames == ["coord", "prob_cluster"]
        assert self.ids(cat[cat["prob_cluster"] > 0.5]) == [2, 3]
        with pytest.raises(KeyError):
            cat["no_such_column"]

    def test_concatenate_keeps_each_provenance(self):
        a = self.make(2)
        b = CandidateCatalog.from_table(self.make(1, start=2), weights="other", threshold=0.5)
        with pytest.warns(ClusterFinderWarning, match="different thresholds"):
            joined = CandidateCatalog.concatenate([a, b])
        assert [part["threshold"] for part in joined.meta["parts"]] == [0.669, 0.5]
        assert joined.meta["parts"][1]["weights"] == "other"
        # the same provenance: no parts record, no warning
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert "parts" not in CandidateCatalog.concatenate([a, a]).meta
