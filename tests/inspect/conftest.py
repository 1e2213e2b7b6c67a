"""Fixtures of the inspection-page tests: a small catalogue, stamps and a browser."""

import shutil
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from clusterfinder import Cutout

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
CHROMEDRIVER = CHROMEDRIVER or shutil.which("chromedriver")


def make_catalog(n=12, *, seed=3):
    """Candidates around M31 with every column the page shows."""
    rng = np.random.default_rng(seed)
    table = QTable()
    table["name"] = [f"C{index:04d}" for index in range(n)]
    table["coord"] = SkyCoord(
        (10.68 + rng.normal(0, 0.3, n)) * u.deg, (41.27 + rng.normal(0, 0.3, n)) * u.deg
    )
    table["prob_cluster"] = np.linspace(0.95, 0.05, n)
    table["mag_g"] = rng.uniform(17, 23, n)
    table["mag_i"] = table["mag_g"] - rng.uniform(0, 1.5, n)
    table["r_proj"] = np.linspace(1, 25, n) * u.kpc
    known = np.zeros(n, dtype=bool)
    known[1] = True
    table["known"] = known
    table["name_rbc"] = np.where(known, "B042", "")
    return table


def make_cutouts(n=12, *, size=24, seed=4, blank=(2,)):
    """Noisy stamps with a central source; the stamps in ``blank`` are off the image."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    centre = (size - 1) / 2
    profile = np.exp(-((xx - centre) ** 2 + (yy - centre) ** 2) / (2 * 2.0**2))
    data = rng.normal(0, 1, (n, 2, size, size)).astype(np.float32)
    data += (rng.uniform(10, 100, n)[:, None, None, None] * profile).astype(np.float32)
    mask = np.zeros(data.shape, dtype=bool)
    mask[list(blank)] = True
    return Cutout(data, bands=("g", "i"), mask=mask)


@pytest.fixture(name="make_catalog")
def make_catalog_fixture():
    """The factory of test catalogues, ``make_catalog(n, *, seed)``."""
    return make_catalog


@pytest.fixture(name="make_cutouts")
def make_cutouts_fixture():
    """The factory of test stamps, ``make_cutouts(n, *, size, seed, blank)``."""
    return make_cutouts


@pytest.fixture
def catalog():
    return make_catalog()


@pytest.fixture
def cutouts():
    return make_cutouts()


def _new_driver(download_dir=None):
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


def _skip_without_browser():
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "browser tests need chromium and chromedriver "
            "(apt-get install -y chromium chromium-driver)"
        )


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium driven by selenium (skipped when either is missing)."""
    _skip_without_browser()
    driver = _new_driver()
    yield driver
    driver.quit()


@pytest.fixture
def new_browser():
    """A factory of fresh headless Chromium sessions; the caller quits them."""
    _skip_without_browser()
    return _new_driver
