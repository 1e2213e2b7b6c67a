"""write_ecsv writes the file astropy's ECSV writer writes, byte for byte."""

import io

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import MaskedColumn, QTable, Table

from clusterfinder.catalog.ecsv import write_ecsv


def astropy_text(table, **kwargs):
    out = io.StringIO()
    table.write(out, format="ascii.ecsv", **kwargs)
    return out.getvalue()


def our_text(table, **kwargs):
    out = io.StringIO()
    write_ecsv(table, out, **kwargs)
    return out.getvalue()


def scan_like(n, seed=0):
    rng = np.random.default_rng(seed)
    table = QTable()
    table["coord"] = SkyCoord(rng.uniform(10, 11, n) * u.deg, rng.uniform(41, 42, n) * u.deg)
    table["x"] = rng.uniform(0, 4096, n)
    table["source_index"] = np.arange(n)
    table["psf_fwhm_g"] = rng.uniform(0.5, 1.2, n) * u.arcsec
    table["prob_cluster"] = rng.random(n)
    table["flag_edge"] = rng.random(n) < 0.1
    table["field"] = rng.choice(["field_1", "m31 disc"], n)
    table.meta = {"threshold": 0.8, "images": ["a", "b"], "date_utc": "2026-12-05T00:00:00"}
    return table


def awkward_values():
    floats = np.array(
        [0.0, -0.0, np.nan, np.inf, -np.inf, 1e16, 1e15, 1e-4, 1e-5, 5e-324, 1.7976931348623157e308]
    )
    rng = np.random.default_rng(1)
    floats = np.concatenate([floats, rng.normal(size=189) * 10.0 ** rng.integers(-30, 30, 189)])
    n = len(floats)
    strings = ["", " ", "a b", ' "quoted" ', "tab\there", "new\nline", "é ü", "#hash", "x"]
    table = Table()
    table["f8"] = floats
    table["f8_big_endian"] = floats.astype(">f8")  # as FITS columns are
    table["f4"] = floats.astype(np.float32)
    table["f2"] = rng.normal(size=n).astype(np.float16)
    table["i8"] = rng.integers(-(2**62), 2**62, n)
    table["i4_big_endian"] = table["i8"].astype(">i4")
    table["u1"] = rng.integers(0, 255, n).astype(np.uint8)
    table["b"] = rng.random(n) < 0.5
    table["s"] = rng.choice(strings, n)
    return table


def test_a_scan_catalogue_is_written_byte_for_byte():
    table = scan_like(500)
    assert our_text(table) == astropy_text(table)


def test_awkward_values_are_written_byte_for_byte():
    with np.errstate(over="ignore"):
        table = awkward_values()
    assert our_text(table) == astropy_text(table)
    back = Table.read(our_text(table), format="ascii.ecsv")
    np.testing.assert_array_equal(back["f8"], table["f8"])
    # astropy strips spaces and tabs around strings and reads "" back as masked
    written = [value.strip(" \t") for value in table["s"]]
    assert np.ma.filled(back["s"], "").tolist() == written


def test_masked_values_are_written_byte_for_byte():
    table = Table()
    table["m"] = MaskedColumn([1.5, 2.5, 3.5], mask=[False, True, False])
    table["k"] = MaskedColumn([1, 2, 3], mask=[True, False, False])
    table["s"] = MaskedColumn(["a", "b c", ""], mask=[False, False, True])
    assert our_text(table) == astropy_text(table)


def test_mixins_whose_text_depends_on_the_rows():
    """A Time column is text with rows and float64 without: the header must follow."""
    from astropy.time import Time
    from astropy.utils.masked import Masked

    table = QTable()
    table["when"] = Time(["2020-01-01", "2021-06-01T12:00:00", "2022-01-01"])
    table["mag"] = Masked([21.5, 22.5, 23.5] * u.mag, mask=[False, True, False])
    assert our_text(table) == astropy_text(table)


def test_a_first_line_unlike_astropys_sends_the_table_to_astropy(monkeypatch):
    from clusterfinder.catalog import ecsv

    def rounded(column):
        return [f"{value:.3g}" for value in np.asarray(column).tolist()]

    table = Table({"x": [0.123456, 2.5]})
    monkeypatch.setattr(ecsv, "_column_text", rounded)
    assert ecsv._fast_text(table) is None
    assert our_text(table) == astropy_text(table)


def test_other_tables_go_to_astropy_unchanged():
    table = Table({"vector": np.arange(6.0).reshape(3, 2), "z": [1j, 2j, 3j]})
    assert our_text(table) == astropy_text(table)
    assert our_text(scan_like(0)) == astropy_text(scan_like(0))


def test_candidate_catalogues_are_written_with_it_unless_given_astropy_options(monkeypatch):
    from clusterfinder import CandidateCatalog
    from clusterfinder.catalog import io as catalog_io

    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        write_ecsv(*args, **kwargs)

    monkeypatch.setattr(catalog_io, "write_ecsv", counted)
    table = scan_like(30)
    catalog = CandidateCatalog(table)
    out = io.StringIO()
    catalog.write(out, format="ascii.ecsv")
    assert len(calls) == 1 and out.getvalue() == astropy_text(table)
    out = io.StringIO()
    catalog.write(out, format="ascii.ecsv", delimiter=",")  # astropy's own writer
    assert len(calls) == 1 and out.getvalue() == astropy_text(table, delimiter=",")


def test_files_and_overwrite(tmp_path):
    table = scan_like(50)
    path = tmp_path / "cat.ecsv"
    write_ecsv(table, path)
    assert path.read_text() == astropy_text(table)
    with pytest.raises(OSError, match="already exists"):
        write_ecsv(table, path)
    assert path.read_text() == astropy_text(table)
    write_ecsv(scan_like(20, seed=3), str(path), overwrite=True)
    assert path.read_text() == astropy_text(scan_like(20, seed=3))
