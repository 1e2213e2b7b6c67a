"""Tests of the HTML page: self-contained, complete data, robust to odd catalogues."""

import json
import re
import time

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS

from clusterfinder import CandidateCatalog
from clusterfinder.inspect import catalog_id, make_inspection_page


def embedded(page):
    text = page.read_text(encoding="utf-8")
    match = re.search(r'<script id="cf-data" type="application/json">(.*?)</script>', text, re.S)
    return text, json.loads(match.group(1))


def test_page_is_self_contained(catalog, cutouts, tmp_path):
    page = make_inspection_page(catalog, cutouts=cutouts, output=tmp_path / "p.html")
    text, data = embedded(page)
    # no external asset of any kind: every URL is a data: URL or a relative API path
    assert not re.search(r"(src|href)\s*=\s*[\"'](?!data:|#)", text)
    assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert f'content="{catalog_id(catalog)}"' in text
    assert data["catalog_id"] == catalog_id(catalog)
    assert data["n"] == len(catalog) == len(data["stamps"])
    assert data["stamps"][2] is None  # off the image: "no image"
    assert all(s.startswith("iVBORw0KGgo") for k, s in enumerate(data["stamps"]) if k != 2)
    columns = data["columns"]
    assert columns["id"][:2] == ["C0000", "C0001"]
    assert columns["prob"][0] == pytest.approx(0.95)
    assert set(columns["mag"]) == {"g", "i"}
    assert columns["r_proj"][-1] == pytest.approx(25.0)
    assert columns["known"][1] is True and columns["names"]["rbc"][1] == "B042"
    assert columns["ra"][0] == pytest.approx(catalog["coord"][0].ra.deg, abs=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["p.html"]  # no temporary file left


def test_page_from_a_minimal_table_without_stamps(make_catalog, tmp_path):
    table = make_catalog(3)["coord",]
    page = make_inspection_page(table, output=tmp_path / "p.html", title="M31 <disc>")
    text, data = embedded(page)
    assert "<title>M31 &lt;disc&gt;</title>" in text
    assert data["stamps"] == [None, None, None]
    assert data["columns"]["prob"] is None and data["columns"]["mag"] == {}
    assert data["columns"]["id"] == ["0", "1", "2"]


def test_page_survives_hostile_and_missing_values(make_catalog, tmp_path):
    table = make_catalog(3)
    table["name"] = ["</script><script>alert(1)</script>", "ok", "é"]
    table["mag_g"] = np.ma.MaskedArray([19.0, np.nan, 20.0], mask=[False, False, True])
    table["r_proj"] = [500, 1500, 2500] * u.pc
    page = make_inspection_page(table, output=tmp_path / "p.html")
    text, data = embedded(page)
    assert text.count("</script>") == 2  # only the data block and the script close
    assert data["columns"]["id"][0].startswith("</script>")
    assert data["columns"]["mag"]["g"] == [19.0, None, None]
    assert data["columns"]["r_proj"] == [0.5, 1.5, 2.5]


def write_image(path, band, wcs, data):
    header = wcs.to_header()
    header["PHOTZP"] = 30.0
    fits.PrimaryHDU(data.astype(np.float32), header=header).writeto(path)
    return path


def test_page_cut_from_images_with_candidates_off_the_image(tmp_path):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [10.68, 41.27]
    wcs.wcs.crpix = [50.5, 50.5]
    wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    rng = np.random.default_rng(1)
    images = {
        band: write_image(tmp_path / f"f_{band}.fits", band, wcs, rng.normal(0, 1, (100, 100)))
        for band in ("g", "i")
    }
    table = QTable()
    table["coord"] = wcs.pixel_to_world([50, 10, 5000], [50, 60, 50])
    table["prob_cluster"] = [0.9, 0.5, 0.7]
    page = make_inspection_page(table, images, output=tmp_path / "p.html", size=16)
    data = embedded(page)[1]
    assert data["stamps"][0] is not None and data["stamps"][1] is not None
    assert data["stamps"][2] is None  # far off the image: shown as "no image"


def test_bad_input(catalog, cutouts, tmp_path):
    output = tmp_path / "p.html"
    with pytest.raises(TypeError, match="astropy Table"):
        make_inspection_page({"coord": 1}, output=output)
    with pytest.raises(ValueError, match="'coord'"):
        make_inspection_page(catalog["name",], output=output)
    with pytest.raises(ValueError, match="not both"):
        make_inspection_page(catalog, {"g": "x"}, cutouts=cutouts, output=output)
    with pytest.raises(ValueError, match="12 rows"):
        make_inspection_page(catalog, cutouts=cutouts[:5], output=output)
    with pytest.raises(ValueError, match=r"\['r'\]"):
        make_inspection_page(catalog, cutouts=cutouts, bands=("g", "r"), output=output)
    with pytest.raises(ValueError, match="no \\['i'\\] band"):
        make_inspection_page(catalog, {"g": "x.fits"}, output=output)
    with pytest.raises(ValueError, match="size"):
        make_inspection_page(catalog, cutouts=cutouts, size=2.5, output=output)
    with pytest.raises(TypeError, match="Cutout"):
        make_inspection_page(catalog, cutouts=np.zeros((12, 2, 8, 8)), output=output)
    assert not output.exists()


def test_single_band_page(catalog, cutouts, tmp_path):
    page = make_inspection_page(catalog, cutouts=cutouts, bands=("i",), output=tmp_path / "p.html")
    data = embedded(page)[1]
    assert data["bands"] == ["i"] and data["channels"] == {"i": 0}


@pytest.mark.slow
def test_five_thousand_candidates(make_catalog, make_cutouts, tmp_path):
    n = 5000
    catalog = make_catalog(n)
    cutouts = make_cutouts(n, size=48, blank=range(0, n, 100))
    start = time.perf_counter()
    page = make_inspection_page(catalog, cutouts=cutouts, output=tmp_path / "p.html")
    elapsed = time.perf_counter() - start
    size_mb = page.stat().st_size / 1e6
    print(f"5000 candidates, 48x48 stamps: {size_mb:.1f} MB written in {elapsed:.1f} s")
    assert size_mb < 40  # about 5.5 kB per candidate
    assert elapsed < 120
    assert sum(s is None for s in embedded(page)[1]["stamps"]) == 50


def test_empty_catalogue(make_catalog, tmp_path):
    page = make_inspection_page(make_catalog(3)[:0], output=tmp_path / "p.html")
    data = embedded(page)[1]
    assert data["n"] == 0 and data["stamps"] == [] and data["columns"]["id"] == []


def test_page_cut_from_images_takes_zero_points(tmp_path):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [10.68, 41.27]
    wcs.wcs.crpix = [50.5, 50.5]
    wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    data = np.random.default_rng(2).normal(0, 1, (100, 100)).astype(np.float32)
    images = {band: (data, wcs) for band in ("g", "i")}  # arrays: no zero point
    table = QTable({"coord": wcs.pixel_to_world([50], [50]), "prob_cluster": [0.9]})
    with pytest.raises(ValueError, match=r"no photometric zero point .*zero_points="):
        make_inspection_page(table, images, output=tmp_path / "p.html", size=16)
    page = make_inspection_page(
        table, images, output=tmp_path / "p.html", size=16, zero_points={"g": 30, "i": 30}
    )
    assert embedded(page)[1]["stamps"][0] is not None
    cands = CandidateCatalog.from_table(table)
    page = cands.inspect(images, output=tmp_path / "q.html", size=16, zero_points=30)
    assert embedded(page)[1]["stamps"][0] is not None
