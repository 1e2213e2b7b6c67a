"""Make the screenshot of the inspection page shown in the documentation.

Run from the repository root (needs chromium, chromedriver and selenium)::

    python tests/inspect/make_screenshot.py docs/_static/inspect_page.png

It simulates a small M31 field, scores its sources with a stand-in probability (the
true young clusters high), writes the page, makes a few decisions with the keyboard
and saves a screenshot of the browser window.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
from astropy.table import QTable


def main(output):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains

    from clusterfinder.inspect import make_inspection_page
    from clusterfinder.simulate import simulate_field

    field = simulate_field(size=1024, seed=7)
    truth = field.truth
    rng = np.random.default_rng(7)
    young = truth["kind"] == "young_cluster"
    keep = young | (rng.uniform(size=len(truth)) < 0.6)
    truth = truth[keep & (truth["mag_g"] < 23.5)]
    young = truth["kind"] == "young_cluster"
    table = QTable()
    table["name"] = [f"PA-{index:04d}" for index in range(len(truth))]
    table["coord"] = truth["coord"]
    table["prob_cluster"] = np.where(
        young, rng.uniform(0.7, 1.0, len(truth)), rng.uniform(0, 0.8, len(truth))
    ).round(3)
    table["mag_g"] = truth["mag_g"]
    table["mag_i"] = truth["mag_i"]
    table["r_proj"] = truth["r_proj"]
    table["known"] = young & (rng.uniform(size=len(truth)) < 0.3)
    table["name_phat"] = np.where(table["known"], [f"AP{k}" for k in range(len(truth))], "")
    with tempfile.TemporaryDirectory() as tmp:
        page = make_inspection_page(
            table, field.images, output=Path(tmp) / "page.html", title="M31 disc field"
        )
        options = webdriver.ChromeOptions()
        for argument in ("--headless=new", "--no-sandbox", "--window-size=1100,640"):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(page.as_uri())
            driver.find_element("id", "inspector").send_keys("ana")
            driver.find_element("tag name", "h1").click()
            ActionChains(driver).send_keys("ccnuc").perform()
            driver.save_screenshot(str(output))
        finally:
            driver.quit()
    print(f"wrote {output}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "inspect_page.png")
