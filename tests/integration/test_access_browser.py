"""The dashboard under its Content-Security-Policy in a real Chromium (issue 6 part 5).

Logs in through the login page, loads the picture and the wall (by kiosk URL), and checks
that the pages draw and that Chromium reports no CSP violation (nothing blocked, so
nothing needed that the policy forbids: no inline script without its hash, no eval, no
external URL).
"""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By

from nsp.auth_settings import auth_settings
from tests.auth_helpers import kiosk_url, login, make_user
from tests.support.browser import ZOOM_SCALE, refreshed
from tests.support.chrome import window
from tests.support.live import dashboard_app, serve

PASSWORD = "correct horse battery"
pytestmark = pytest.mark.browser

# Records violations in the page itself as well (the console log may drop some).
LISTEN = """
window.__csp = window.__csp || [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
def chrome(browser):
    """The session's Chromium at 1600x1000, recording CSP violations in every page it opens."""
    window(browser, 1600, 1000)
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LISTEN})["identifier"]
    yield browser
    browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script})


@pytest.fixture
def dashboard(db_url, conn, monkeypatch, chromium):
    monkeypatch.setenv("NSP_AUTH_COOKIE_SECURE", "false")
    monkeypatch.setenv("NSP_AUTH_SECRET_KEY", "b" * 64)
    auth_settings.cache_clear()
    conn.execute(
        """INSERT INTO event (source, source_ref, category, occurred_at, geom, section_code,
                              distance_to_border_m, impact, persons)
           SELECT 'test', code || '-' || n, (ARRAY['unauthorised_border_crossing', 'cross_border_crime',
                  'crisis_situation', 'other'])[1 + n % 4], now() - n * interval '20 minutes',
                  ST_PointOnSurface(area), code, 50, 'high', 3
             FROM border_section, generate_series(1, 3) n"""
    )
    make_user(db_url, "anna", "watch_officer", PASSWORD)
    with serve(dashboard_app().server) as live:
        chromium.origins.add(live.url)
        yield live.url
    auth_settings.cache_clear()


def _violations(driver) -> list[str]:
    logged = [e["message"] for e in driver.get_log("browser")
              if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]
    return logged + list(driver.execute_script("return window.__csp || []"))


def _wait_for(driver, css: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.find_elements(By.CSS_SELECTOR, css):
            return
        time.sleep(0.25)
    raise AssertionError(f"{css} did not appear in {timeout}s at {driver.current_url}")


def test_pages_work_under_the_csp(chrome, dashboard, db_url):
    chrome.get(dashboard + "/")
    assert "/login" in chrome.current_url  # not logged in yet
    login(chrome, dashboard, "anna", PASSWORD)
    _wait_for(chrome, ".leaflet-container")
    _wait_for(chrome, ".leaflet-overlay-pane path")  # section lines drawn by the browser
    refreshed(chrome)  # a refresh and the chart, drawn
    assert _violations(chrome) == []
    # The wall, by kiosk URL: read-only session, same policy.
    chrome.delete_all_cookies()
    chrome.get(kiosk_url(db_url, dashboard))
    assert chrome.current_url.endswith("/wall")
    _wait_for(chrome, ".leaflet-container")
    _wait_for(chrome, ".leaflet-overlay-pane path")
    refreshed(chrome)
    assert _violations(chrome) == []
    # The listener works: an inline script injected into the page is blocked and reported.
    chrome.execute_script("const s = document.createElement('script'); s.textContent = 'window.__x = 1';"
                          "document.body.appendChild(s);")
    time.sleep(0.5)
    assert chrome.execute_script("return window.__x") is None
    assert any("script-src" in v for v in _violations(chrome))


def test_a_wall_of_some_sections_opens_on_those_sections(chrome, dashboard, db_url):
    # Without rotation a sections-only wall stayed on the whole country, its sections a corner
    # of it: its overview is its sections (rotate_wall already used that box).
    scales = {}
    for sections in ((), ("LV-BY-01",)):
        chrome.delete_all_cookies()
        chrome.get(kiosk_url(db_url, dashboard, sections))
        _wait_for(chrome, ".leaflet-overlay-pane path")
        time.sleep(1.5)  # the fit below the banners
        scales[sections] = chrome.execute_script(ZOOM_SCALE)
    # LV-BY-01 is 90 km from north to south: at 1600x1000 below three banners, zoom 8 against 6.25
    assert scales[("LV-BY-01",)] >= 2 * scales[()] > 0, scales
