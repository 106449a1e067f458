"""The wall read from 4 m on a 1920×1080 panel, measured in real Chromium: label and count
sizes, labels clear of the group counts, the markers' age, the NO CONNECTION band clear of
the title and the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.by import By

from nsp import db
from tests.support.browser import refreshed, wait
from tests.support.chrome import screenshot
from tests.support.dashboard import offline_sign, wait_for_sections
from tests.support.seed import insert_event

# [font sizes of the shown section labels], [font sizes of the group counts], [overlapping
# (label, count) pairs], the hidden labels' count
_MEASURE = """
const shown = e => !e.classList.contains('nsp-label-off') && getComputedStyle(e).visibility !== 'hidden'
    && getComputedStyle(e).display !== 'none';
const labels = Array.from(document.querySelectorAll('.wall-map .leaflet-tooltip.nsp-section-label')).filter(shown);
const counts = Array.from(document.querySelectorAll('.wall-map .leaflet-marker-pane .nsp-count'));
const r = e => e.getBoundingClientRect();
const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const pairs = [];
for (const l of labels) for (const c of counts) if (hit(r(l), r(c))) pairs.push([l.textContent, c.textContent]);
return [labels.map(e => parseFloat(getComputedStyle(e).fontSize)), counts.map(e => parseFloat(getComputedStyle(e).fontSize)),
        pairs, labels.length];"""


def _crowd(url: str) -> None:
    """Groups where the section labels are: 12 events at each test section's middle, recent;
    and a group on the southern border (LV-BY-02's line), at the national view's bottom edge."""
    from tests.support.seed import SECTIONS, section_box

    now = datetime.now(UTC)
    with db.connect(url, autocommit=True) as conn:
        for code, *_ in SECTIONS:
            x0, y0, x1, y1 = section_box(code)
            for i in range(12):
                insert_event(conn, code=code, occurred_at=now - timedelta(minutes=30 + i),
                             lon=x0 + (x1 - x0) * (0.3 + 0.04 * i), lat=(y0 + y1) / 2)
        for i in range(8):
            insert_event(conn, code="LV-BY-02", occurred_at=now - timedelta(minutes=20 + i),
                         lon=26.28 + 0.005 * i, lat=55.605)


def test_wall_labels_and_counts_are_sized_for_4_m_and_never_overlap(logged_in, live_server, picture_db):
    _crowd(picture_db)
    d = logged_in
    d.get(live_server + "/wall")
    wait_for_sections(d)
    wait(d, 30).until(lambda x: x.find_elements(By.CSS_SELECTOR, ".wall-map .nsp-count"))
    refreshed(d)
    labels, counts, pairs, _n = d.execute_script(_MEASURE)
    screenshot(d, "wall_legibility")
    assert labels and counts
    assert min(labels) >= 20 and min(counts) >= 18, (labels, counts)  # were 14 px and 12 px
    assert pairs == [], pairs  # no section label over a group's count
    cut = d.execute_script("""const m = document.querySelector('.wall-map').getBoundingClientRect();
        return Array.from(document.querySelectorAll('.wall-map .nsp-count')).map(e => e.getBoundingClientRect())
            .filter(r => r.bottom > m.bottom || r.top < m.top).map(r => [r.top, r.bottom, m.bottom]);""")
    assert cut == [], cut  # no group cut at the map's edge


def test_wall_label_sizes_follow_the_settings(logged_in, live_server, monkeypatch):
    from dashboard.settings import web_settings

    monkeypatch.setenv("NSP_WEB_WALL_LABEL_PX", "26")
    monkeypatch.setenv("NSP_WEB_WALL_COUNT_PX", "22")
    web_settings.cache_clear()
    d = logged_in
    d.get(live_server + "/wall")
    wait_for_sections(d)
    wait(d, 30).until(lambda x: x.execute_script(_MEASURE)[0])
    labels, counts, _pairs, _n = d.execute_script(_MEASURE)
    assert set(labels) == {26.0} and set(counts) <= {22.0}, (labels, counts)


def test_wall_markers_show_their_age(logged_in, live_server, picture_db):
    from tests.support.seed import section_box

    now = datetime.now(UTC)
    x0, y0, x1, y1 = section_box("LV-BY-01")
    with db.connect(picture_db, autocommit=True) as conn:  # far apart: no group takes them in
        new = insert_event(conn, code="LV-BY-01", occurred_at=now - timedelta(minutes=5), ref="age-new",
                           lon=x0 + 0.05, lat=y1 - 0.05)
        old = insert_event(conn, code="LV-BY-01", occurred_at=now - timedelta(hours=20), ref="age-old",
                           lon=x1 - 0.05, lat=y0 + 0.05)
    assert new and old
    d = logged_in
    d.get(live_server + "/wall?sections=LV-BY-01")  # the section's wall: zoomed in on it
    wait_for_sections(d)
    ages = """return ['nsp-age-new', 'nsp-age-mid', 'nsp-age-old'].map(c => Array.from(
        document.querySelectorAll('.wall-map .nsp-ev.' + c)).map(e => [parseFloat(getComputedStyle(e).opacity),
        getComputedStyle(e.querySelector('svg')).filter]))"""
    found = wait(d, 30).until(lambda x: (a := x.execute_script(ages))[0] and a[2] and a)
    new_marks, _mid, old_marks = found
    assert all(o == 1 and "drop-shadow" in f for o, f in new_marks), new_marks
    assert all(o == 0.5 for o, _f in old_marks), old_marks


def test_no_connection_band_leaves_the_title_and_the_clock_readable(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/wall")
    wait(d).until(lambda x: "LIVE" in x.find_element(By.ID, "wall-status").text)
    d.execute_script("window.nspWatchdogLimitMs = 5000")
    d.execute_cdp_cmd("Network.enable", {})
    d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*_dash-update-component*"]})
    try:
        sign = wait(d, 20).until(offline_sign)
        boxes = d.execute_script("""const r = s => document.querySelector(s).getBoundingClientRect();
            const b = r('#nsp-offline');
            return ['.wall-title', '.wall-clock-big', '.wall-clock-small'].map(s => { const a = r(s);
                return [s, a.bottom <= b.top || a.top >= b.bottom]; });""")
        screenshot(d, "wall_no_connection_band")
        assert sign.is_displayed() and all(clear for _s, clear in boxes), boxes
    finally:
        d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})


# The points of the map's event-count note (every 3 px) that lie on a drawn border line:
# [section line paths sampled, [x, y] of the points on a stroke]
_NOTE_ON_LINES = """
const note = document.getElementById('main-map-note');
if (!note || !note.textContent.trim()) return null;
const b = note.getBoundingClientRect(), paths = Array.from(document.querySelectorAll('.leaflet-overlay-pane path.nsp-sec-line'));
const svg = paths.length && paths[0].ownerSVGElement, hits = [];
for (let x = b.left; x <= b.right; x += 3) for (let y = b.top; y <= b.bottom; y += 3) {
    for (const p of paths) {
        const pt = svg.createSVGPoint(); pt.x = x; pt.y = y;
        if (p.isPointInStroke(pt.matrixTransform(p.getScreenCTM().inverse()))) { hits.push([x, y]); break; }
    }
}
return [paths.length, hits];"""


def test_the_event_count_note_covers_no_border_line(browser, live_server, picture_db):
    """The main map's note (*n events · …*) lay at the map's bottom centre, over the sector
    commander's border (LV-BY-01), at the national view and at the commander's."""
    from tests.auth_helpers import login, make_user

    make_user(picture_db, "silene", "sector_commander", "correct horse battery staple", sections=["LV-BY-01"])
    make_user(picture_db, "anna", "watch_officer", "correct horse battery staple")
    for user in ("anna", "silene"):
        browser.delete_all_cookies()
        login(browser, live_server, user, "correct horse battery staple")
        browser.get(live_server + "/")
        wait(browser, 30).until(lambda x: x.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane path.nsp-sec-line"))
        found = wait(browser, 30).until(lambda x: x.execute_script(_NOTE_ON_LINES))
        screenshot(browser, f"main_note_{user}")
        assert found[0] >= 1 and found[1] == [], (user, found)
