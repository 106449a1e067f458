"""The dashboard in a real headless Chromium: /, /wall, layers, deep links, live updates."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from nsp import db
from tests.browser.conftest import screenshot
from tests.browser.seed import insert_event

LEVEL_RGB = {
    "low": "#2e9e44", "medium": "#f2c80f", "high": "#f07f09", "critical": "#d7191c",
}


def wait(driver, seconds=20):
    return WebDriverWait(driver, seconds, poll_frequency=0.2)


def wait_for_sections(driver, n_min=5):
    """Until the section lines are drawn: Leaflet renders them as SVG paths with our colours."""
    def drawn(d):
        strokes = set(d.execute_script(
            "return Array.from(document.querySelectorAll('.leaflet-overlay-pane path'))"
            ".map(p => p.getAttribute('stroke'))"))
        return strokes if len(strokes & set(LEVEL_RGB.values())) >= 3 else False
    return wait(driver).until(drawn)


def event_markers(driver, category_css: str) -> int:
    return driver.execute_script(
        "return document.querySelectorAll(arguments[0]).length", f".leaflet-marker-pane .{category_css}")


def external_requests(driver) -> list[str]:
    """Every URL the page requested that is not served by the app itself."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            if not url.startswith(("http://127.0.0.1", "data:", "blob:", "about:")):
                urls.append(url)
    return urls


def test_main_page_loads_coloured_sections_and_no_external_url(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/")
    strokes = wait_for_sections(d)
    # every level present in the test data is drawn in its colour; internal border grey
    assert {LEVEL_RGB["medium"], LEVEL_RGB["high"], LEVEL_RGB["critical"], LEVEL_RGB["low"]} <= strokes
    assert "#6b7280" in strokes
    wait(d).until(lambda x: event_markers(x, "nsp-ev") + event_markers(x, "nsp-cluster") > 0)
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#main-section-table .nsp-table"))
    assert "Krāslava" in d.find_element(By.ID, "main-section-table").text
    assert "Made with Natural Earth" in d.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution").text
    legend = d.find_element(By.ID, "main-legend").text
    for word in ("critical impact level", "internal border", "Unauthorised border crossing", "patrol track"):
        assert word in legend
    time.sleep(1)
    screenshot(d, "main")
    assert external_requests(d) == []
    foreign = d.execute_script(
        "return Array.from(document.querySelectorAll('script[src],link[href],img[src],iframe[src]'))"
        ".map(e => e.src || e.href).filter(u => !u.startsWith(location.origin) && !u.startsWith('data:'))")
    assert foreign == []


def test_wall_renders_dark_with_clock_and_live_sign(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/wall")
    wait_for_sections(d)
    wait(d).until(lambda x: x.find_element(By.ID, "wall-clock-local").text.count(":") == 2)
    assert "UTC" in d.find_element(By.ID, "wall-clock-utc").text
    wait(d).until(lambda x: "LIVE" in x.find_element(By.ID, "wall-status").text)
    assert not d.find_element(By.ID, "wall-stale").is_displayed()
    bg = d.execute_script("return getComputedStyle(document.querySelector('.wall-page')).backgroundColor")
    assert bg == "rgb(11, 26, 40)"
    # no zoom or layer controls on the wall
    assert not d.find_elements(By.CSS_SELECTOR, ".leaflet-control-zoom, .leaflet-control-layers")
    time.sleep(1)
    screenshot(d, "wall")
    assert external_requests(d) == []
