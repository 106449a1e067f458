"""Waiting in the browser on a condition, never on the clock.

A refreshing page (the main view, the wall) counts its refreshes on its <html> element
(dashboard/assets/nsp_refreshes.js): ``data-nsp-refresh-sent`` is the last tick of its
refresh timer whose callback requests went out, ``data-nsp-refreshes`` the last tick whose
every answer has been drawn. ``refreshed`` asks the page for refreshes at once (the same
callbacks the timer starts, by Dash's ``dash_clientside.set_props``) and returns when they
are on the page: "it stays so over the next two refreshes" takes two round trips, not 5 s.
"""

from __future__ import annotations

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

# Leaflet's zoom proxy is scaled by 2^zoom: this script returns that scale.
ZOOM_SCALE = "const t = getComputedStyle(document.querySelector('.leaflet-proxy')).transform;" \
             "return t && t !== 'none' ? parseFloat(t.slice(7).split(',')[0]) : 0"

_COUNTS = """const d = document.documentElement.dataset;
    return [d.nspRefreshTimer || null, parseInt(d.nspRefreshSent || '0', 10), parseInt(d.nspRefreshes || '0', 10)]"""


# The refresh timer of the page shown, once the page is drawn (a refreshing page's root has
# data-nsp-refresh-ms): the wall's on /wall, the main view's elsewhere.
_TIMER = """return document.querySelector('[data-nsp-refresh-ms]')
    ? (location.pathname.startsWith('/wall') ? 'wall-refresh' : 'main-refresh') : null"""


def wait(driver, seconds: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, seconds, poll_frequency=0.1)


def refresh_counts(driver) -> tuple[str | None, int, int]:
    """[the refresh timer whose ticks went out, the last tick sent, the last tick drawn]."""
    timer, sent, done = driver.execute_script(_COUNTS)
    return timer, sent, done


def refreshed(driver, times: int = 1, timeout: float = 20) -> int:
    """Refresh the page ``times`` times, one after the other, each started now and drawn before
    the next; returns the last tick drawn. The page's own timer goes on ticking meanwhile: a
    tick of its own that starts after the call counts as well."""
    timer = wait(driver, timeout).until(lambda x: x.execute_script(_TIMER), "not a page that refreshes itself")
    done = 0
    for _ in range(times):
        _timer, sent, _done = refresh_counts(driver)
        target = sent + 1
        driver.execute_script("window.dash_clientside.set_props(arguments[0], {n_intervals: arguments[1]})",
                              timer, target)
        done = wait(driver, timeout).until(lambda x: (n := refresh_counts(x)[2]) >= target and n,
                                           f"refresh {target} of {timer} never drawn")
    return done


def stale(element) -> bool:
    """Whether a found element has left the page (replaced by a redraw)."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    return False


def zoom_in(driver, timeout: float = 20) -> None:
    """One click on the map's zoom-in button, returned once the zoom has ended (the scale
    grew and Leaflet's zoom animation is over): a second click during the animation was
    taken as one more level on a slow machine. (Not "doubled": from a fitted, fractional
    zoom Leaflet snaps the new zoom to a whole level, less than one level up.)"""
    before = driver.execute_script(ZOOM_SCALE)
    driver.find_element(By.CSS_SELECTOR, ".leaflet-control-zoom-in").click()
    wait(driver, timeout).until(
        lambda x: x.execute_script(ZOOM_SCALE) > before * 1.01
        and not x.find_elements(By.CSS_SELECTOR, ".leaflet-map-pane.leaflet-zoom-anim"),
        "the zoom-in never ended")
