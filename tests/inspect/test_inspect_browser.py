"""The inspection page in a real browser: headless Chromium driven by selenium.

These tests run wherever chromium and chromedriver are installed (CI installs them)
and are skipped, with the reason, where they are not.
"""

import json
import time

import pytest

from clusterfinder.inspect import (
    InspectionServer,
    apply_decisions,
    make_inspection_page,
    read_decisions,
)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def open_page(browser, page):
    browser.get(page.resolve().as_uri())
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    wait_for(browser, "return window.clusterfinderInspect !== undefined")


def wait_for(browser, script, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = browser.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script}")


def press(browser, keys):
    from selenium.webdriver.common.action_chains import ActionChains

    actions = ActionChains(browser)
    for key in keys:
        actions.send_keys(key)
    actions.perform()


def assert_no_script_errors(browser):
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def text(browser, element_id):
    return browser.find_element("id", element_id).text


@pytest.fixture
def page(catalog, cutouts, tmp_path):
    return make_inspection_page(catalog, cutouts=cutouts, output=tmp_path / "page.html")


def test_keyboard_decisions_persist_and_export(browser, page, catalog, tmp_path):
    open_page(browser, page)
    assert text(browser, "progress").startswith("0 decided / 12 total")
    # sorted by probability, high first: C0000, C0001, ...
    assert browser.execute_script("return window.clusterfinderInspect.current()") == "C0000"
    press(browser, "cnu")  # C0000 cluster, C0001 not, C0002 unsure
    press(browser, "jc")  # skip C0003, C0004 cluster
    press(browser, "kkn")  # back to C0003: not a cluster
    assert text(browser, "progress").startswith("5 decided / 12 total")
    press(browser, "z")  # undo the last decision (C0003)
    assert text(browser, "progress").startswith("4 decided / 12 total")
    assert browser.execute_script("return window.clusterfinderInspect.current()") == "C0003"

    browser.refresh()  # decisions survive a reload
    wait_for(browser, "return window.clusterfinderInspect !== undefined")
    assert text(browser, "progress").startswith("4 decided / 12 total")
    tiles = browser.find_elements("css selector", ".tile.cluster")
    assert len(tiles) == 2

    browser.find_element("id", "inspector").send_keys("ana")
    record = browser.execute_script("return window.clusterfinderInspect.exportRecord()")
    path = tmp_path / "ana.json"
    path.write_text(json.dumps(record))
    decisions = read_decisions(path, catalog)
    assert decisions.inspector == "ana"
    assert decisions.labels() == {
        "C0000": "cluster",
        "C0001": "not_cluster",
        "C0002": "unsure",
        "C0004": "cluster",
    }
    assert_no_script_errors(browser)
    inspected = apply_decisions(catalog, decisions)
    assert inspected["inspection"].tolist()[:5] == [
        "cluster",
        "not_cluster",
        "unsure",
        "",
        "cluster",
    ]


def test_export_button_downloads_the_file(browser, page, catalog, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    open_page(browser, page)
    press(browser, "uu")
    press(browser, "e")
    end = time.monotonic() + 20
    while time.monotonic() < end and not list(downloads.glob("*.json")):
        time.sleep(0.1)
    (path,) = downloads.glob("*.json")
    assert path.name.startswith("decisions_anonymous_")
    assert read_decisions(path, catalog).labels() == {"C0000": "unsure", "C0001": "unsure"}


def test_filters_sort_and_no_image(browser, page, catalog):
    open_page(browser, page)
    assert "no image" in browser.find_element("css selector", '.tile[data-index="2"]').text
    assert browser.find_elements("css selector", '.tile[data-index="0"] .stamp img')
    box = browser.find_element("id", "prob-min")
    box.clear()
    box.send_keys("0.5\n")
    browser.execute_script("document.getElementById('prob-min').dispatchEvent(new Event('change'))")
    shown = browser.execute_script("return window.clusterfinderInspect.view().length")
    assert shown == int((catalog["prob_cluster"] >= 0.5).sum())
    browser.execute_script(
        "const s = document.getElementById('sort'); s.value = 'mag-asc';"
        "s.dispatchEvent(new Event('change'))"
    )
    order = browser.execute_script("return window.clusterfinderInspect.view()")
    mags = [catalog["mag_g"][i] for i in order]
    assert mags == sorted(mags)
    assert text(browser, "shown") == f"{shown} shown"
    assert_no_script_errors(browser)


def test_single_band_view(browser, page):
    open_page(browser, page)
    image = browser.find_element("css selector", '.tile[data-index="0"] .stamp img')
    colour = image.get_attribute("src")
    press(browser, "b")  # colour -> g only
    wait_for(
        browser,
        "return document.querySelector('.tile[data-index=\"0\"] img').src !== "
        + json.dumps(colour),
    )
    assert browser.find_element("id", "view-band").get_attribute("value") == "g"
    grey = browser.execute_script(
        """
        const img = document.querySelector('.tile[data-index="0"] img');
        const c = document.createElement('canvas'); c.width = img.naturalWidth;
        c.height = img.naturalHeight; const x = c.getContext('2d'); x.drawImage(img, 0, 0);
        const d = x.getImageData(0, 0, c.width, c.height).data;
        for (let p = 0; p < d.length; p += 4) {
          if (d[p] !== d[p + 1] || d[p] !== d[p + 2]) return false;
        }
        return true;
        """
    )
    assert grey


def test_import_refuses_another_catalogue(browser, page):
    open_page(browser, page)
    message = browser.execute_script(
        """try { window.clusterfinderInspect.importRecord({format: 'clusterfinder-inspection',
            catalog_id: 'f'.repeat(64), decisions: {}}); return 'accepted'; }
           catch (err) { return err.message; }"""
    )
    assert "catalogue id mismatch" in message


def test_page_without_storage_warns_and_still_exports(new_browser, page, catalog):
    browser = new_browser()
    try:
        browser.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument",
            {
                "source": "Object.defineProperty(window, 'localStorage', {get() {"
                "throw new DOMException('storage disabled', 'SecurityError'); }});"
            },
        )
        browser.get(page.resolve().as_uri())
        wait_for(browser, "return window.clusterfinderInspect !== undefined")
        banner = browser.find_element("id", "banner")
        assert banner.is_displayed()
        assert "storage is unavailable" in banner.text
        assert (
            browser.execute_script("return window.clusterfinderInspect.storageAvailable") is False
        )
        press(browser, "nc")
        assert text(browser, "progress").startswith("2 decided / 12 total")
        record = browser.execute_script("return window.clusterfinderInspect.exportRecord()")
        assert read_decisions(record, catalog).labels() == {
            "C0000": "not_cluster",
            "C0001": "cluster",
        }
    finally:
        browser.quit()


def test_served_page_writes_each_decision_to_disk(browser, page, catalog, tmp_path):
    path = tmp_path / "served.json"
    with InspectionServer(page, path) as server:
        browser.get(server.url)
        browser.execute_script("localStorage.clear()")
        browser.refresh()
        wait_for(browser, "return window.clusterfinderInspect !== undefined")
        press(browser, "cn")
        wait_for(
            browser,
            "return document.getElementById('banner').textContent.includes('(2 decisions)')",
        )
        assert read_decisions(path, catalog).labels() == {
            "C0000": "cluster",
            "C0001": "not_cluster",
        }
        press(browser, "z")
        wait_for(
            browser,
            "return document.getElementById('banner').textContent.includes('(1 decisions)')",
        )
        assert read_decisions(path, catalog).labels() == {"C0000": "cluster"}

        # a fresh browser (no local storage) gets the decisions back from the server
        browser.execute_script("localStorage.clear()")
        browser.refresh()
        wait_for(browser, "return document.querySelectorAll('.tile.cluster').length === 1")
        assert_no_script_errors(browser)


@pytest.mark.slow
def test_five_thousand_candidates_open_quickly(browser, make_catalog, make_cutouts, tmp_path):
    n = 5000
    page = make_inspection_page(
        make_catalog(n), cutouts=make_cutouts(n, size=48), output=tmp_path / "big.html"
    )
    start = time.perf_counter()
    open_page(browser, page)
    elapsed = time.perf_counter() - start
    timing = browser.execute_script(
        "const t = performance.timing; return t.domContentLoadedEventEnd - t.navigationStart"
    )
    print(f"5000 candidates: page ready in {timing} ms ({elapsed:.1f} s with two loads)")
    assert timing < 15000
    # only what is near the viewport is turned into images
    assert browser.execute_script("return document.querySelectorAll('.stamp img').length") < 500
    press(browser, "c" * 20)
    assert text(browser, "progress").startswith("20 decided / 5000 total")


def test_empty_page_opens(browser, make_catalog, tmp_path):
    page = make_inspection_page(make_catalog(2)[:0], output=tmp_path / "empty.html")
    open_page(browser, page)
    assert text(browser, "progress").startswith("0 decided / 0 total")
    press(browser, "cz")  # nothing to decide, nothing to undo: no error
    assert browser.execute_script("return window.clusterfinderInspect.current()") is None
    assert_no_script_errors(browser)
