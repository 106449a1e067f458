"""snapshot.html opens in a real headless Chromium with ALL network blocked."""

from __future__ import annotations

import json

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from geo.snapshot import export as snapshot
from geo.snapshot.settings import ExportSettings
from nsp.access import Scope
from tests.support.chrome import screenshot, window
from tests.support.export import WEEK, db_counts, seed_week


@pytest.fixture
def offline_driver(browser):
    """The session's Chromium with no network at all: DevTools takes the network offline and,
    belt and braces, blocks every http(s) and ws URL outright."""
    window(browser, 1400, 1000)
    browser.execute_cdp_cmd("Network.emulateNetworkConditions",
                            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*", "ws://*", "wss://*"]})
    return browser


def test_snapshot_map_works_offline(conn, tmp_path, offline_driver):
    seed_week(conn)
    expected = db_counts(conn)
    result = snapshot.export_weekly(WEEK, tmp_path, Scope("ana", "analyst"), settings=ExportSettings(pdf=False))
    driver = offline_driver
    driver.get((result.folder / "snapshot.html").as_uri())
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        "return document.querySelectorAll('.nsp-event').length") >= expected["events"])

    count = lambda css: driver.execute_script(f"return document.querySelectorAll({css!r}).length")  # noqa: E731
    assert driver.execute_script("return typeof L === 'object' && L.version") == "1.9.4"
    assert count(".leaflet-marker-icon.nsp-event") == expected["events"] == 10
    assert count("path.nsp-section") == expected["border_sections"] == 36
    assert count("path.nsp-patrol") == expected["patrols"] == 3
    by_cat = {c: count(f".nsp-event.nsp-{c}") for c in ("unauthorised_border_crossing", "cross_border_crime",
                                                        "crisis_situation", "other")}
    assert by_cat == {"unauthorised_border_crossing": 5, "cross_border_crime": 3, "crisis_situation": 1, "other": 1}
    # sections, section labels, patrols, crossing points, 4 categories
    assert count(".leaflet-control-layers-overlays input") == 8
    # each external section's code on the map, drawn (the summary's reader finds LV-BY-02 by it)
    external = conn.execute("SELECT count(*) AS n FROM border_section WHERE impact_level IS NOT NULL").fetchone()["n"]
    labels = driver.execute_script("return Array.from(document.querySelectorAll('.nsp-sec-label'))"
                                   ".filter(e => e.getBoundingClientRect().width > 0).map(e => e.textContent)")
    assert len(labels) == external > 0 and "LV-BY-02" in labels, labels
    assert count(".leaflet-marker-icon.nsp-bcp") == 10
    assert count("path.nsp-outside") == 1  # grey where the basemap's data ends
    # the map opens with every section clear of the title, the layer switch and the legend
    # (the legend used to cover the Belarusian border's events)
    covered = driver.execute_script("""
        const boxes = ['#nsp-title', '#nsp-legend', '.leaflet-control-layers']
            .map(s => document.querySelector(s).getBoundingClientRect());
        const hit = (r, b) => r.left < b.right && r.right > b.left && r.top < b.bottom && r.bottom > b.top;
        const map = document.querySelector('.folium-map').getBoundingClientRect();
        return Array.from(document.querySelectorAll('.leaflet-marker-icon.nsp-event, path.nsp-section'))
            .map(e => e.getBoundingClientRect())
            .filter(r => boxes.some(b => hit(r, b)) || r.left < map.left || r.right > map.right
                         || r.top < map.top || r.bottom > map.bottom).length""")
    assert covered == 0
    title = driver.execute_script("return document.getElementById('nsp-title').innerText")
    assert "2026-W40" in title and "all sections" in title
    legend = driver.execute_script("return document.getElementById('nsp-legend').innerText")
    assert "Unauthorised border crossing (5)" in legend and "critical" in legend
    assert "2026-W40" in driver.title

    # a layer toggle hides its markers
    driver.execute_script("""
        for (const l of document.querySelectorAll('.leaflet-control-layers-overlays label'))
            if (l.innerText.includes('Cross-border crime')) l.querySelector('input').click();""")
    assert count(".nsp-event.nsp-cross_border_crime") == 0
    assert count(".nsp-event") == 7

    # nothing but the file itself (and data: URIs) was requested; no script errors
    requested = set()
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            requested.add(msg["params"]["request"]["url"].split(":", 1)[0])
    assert requested <= {"file", "data"}, requested
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
    driver.save_screenshot(str(tmp_path / "snapshot.png"))

    # the summary's chart: each legend label ends before the next item's square (the first
    # ran into the second)
    driver.get((result.folder / "summary.html").as_uri())
    gaps = driver.execute_script("""
        const items = Array.from(document.querySelectorAll('svg.chart .legend-item'));
        return items.slice(1).map((g, i) => {
            const t = items[i].querySelector('text').getBBox();
            return g.querySelector('rect').getBBox().x - (t.x + t.width); });""")
    assert len(gaps) == 3 and min(gaps) > 4, gaps
    chart = driver.execute_script("return document.querySelector('svg.chart').getBoundingClientRect().width")
    ends = driver.execute_script("""const ts = document.querySelectorAll('svg.chart .legend-item text');
        const t = ts[ts.length - 1].getBBox(); return t.x + t.width""")
    assert ends <= chart, (ends, chart)


def test_export_page_queues_a_job_and_offers_the_download(logged_in, live_server, picture_db, tmp_path,
                                                           monkeypatch):
    """/export in a real browser: the click queues a job, a real worker runs it, the link downloads it."""
    import requests
    from selenium.webdriver.common.by import By

    from geo.snapshot.settings import export_settings
    from tests.support.delivery import run_worker_until_empty

    monkeypatch.setenv("NSP_EXPORT_OUT_DIR", str(tmp_path / "snapshots"))
    export_settings.cache_clear()
    driver = logged_in
    driver.get(f"{live_server}/export")
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "export-run"))
    # this week so far (the seeded picture is recent)
    driver.find_elements(By.CSS_SELECTOR, "#export-week input")[1].click()
    driver.find_element(By.ID, "export-run").click()
    WebDriverWait(driver, 20).until(lambda d: "queued" in d.find_element(By.ID, "export-status").text)

    done = run_worker_until_empty(picture_db, timeout=300, NSP_EXPORT_PDF="false")
    assert done.returncode == 0, done.stderr[-2000:]
    link = WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.ID, "export-download") if d.find_element(By.ID, "export-download").is_displayed()
        else None)
    assert "is ready" in driver.find_element(By.ID, "export-status").text
    screenshot(driver, "export")
    href = link.get_attribute("href")
    assert href.startswith(f"{live_server}/export/download/") and href.endswith(".zip")

    session = requests.Session()
    for c in driver.get_cookies():
        session.cookies.set(c["name"], c["value"])
    resp = session.get(href, timeout=30)
    assert resp.status_code == 200 and resp.content[:2] == b"PK"
    assert requests.get(href, timeout=30, allow_redirects=False).status_code in (302, 401, 403, 404)
    export_settings.cache_clear()
