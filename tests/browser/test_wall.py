"""The wall (/wall) in a real headless Chromium: its look, its section list in pages, its signs (live, stale, no connection), screen sizes."""

from __future__ import annotations

import re
import time

from selenium.webdriver.common.by import By

from nsp import db
from tests.support.browser import ZOOM_SCALE, refreshed, wait
from tests.support.chrome import full_motion, screenshot, window
from tests.support.dashboard import (
    LEGEND_AGAINST_MAP,
    SVG_SCALE,
    WALL_PAGE,
    add_demo_sections,
    external_requests,
    offline_sign,
    steady,
    svg_scales,
    wait_for_sections,
    wall_country_clear,
)


def test_wall_renders_dark_with_clock_and_live_sign(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/wall")
    wait_for_sections(d)
    wait(d).until(lambda x: x.find_element(By.ID, "wall-clock-local").text.count(":") == 2)
    assert re.fullmatch(r"\d\d:\d\d UTC · \d{4}-\d\d-\d\d", d.find_element(By.ID, "wall-clock-utc").text)
    first = d.find_element(By.ID, "wall-clock-local").text
    wait(d, 5).until(lambda x: x.find_element(By.ID, "wall-clock-local").text != first)  # it ticks (nsp_clock.js)
    wait(d).until(lambda x: "LIVE" in x.find_element(By.ID, "wall-status").text)
    assert not d.find_element(By.ID, "wall-stale").is_displayed()
    bg = d.execute_script("return getComputedStyle(document.querySelector('.wall-page')).backgroundColor")
    assert bg == "rgb(11, 26, 40)"
    # no zoom or layer controls on the wall
    assert not d.find_elements(By.CSS_SELECTOR, ".leaflet-control-zoom, .leaflet-control-layers")
    # the whole country is in view, none of it under the header or the banners (the seed's
    # high-impact events have some): the first fit knew only the header, and the banners hid
    # the Estonian border
    wait(d, 5).until(wall_country_clear)
    refreshed(d)  # what a refresh loads is in, too
    screenshot(d, "wall")
    assert external_requests(d) == []


def test_wall_panel_keeps_the_legend_clear_of_the_sections(logged_in, live_server):
    # The legend was absolutely placed at the panel's bottom: with 36 sections on a 1080p
    # screen it covered the lower half of the list and the totals.
    d = logged_in
    rects = """return ['.wall-panel', '.wall-sections', '.wall-totals', '.wall-legend'].map(
        s => { const r = document.querySelector(s).getBoundingClientRect(); return [r.top, r.bottom]; })"""
    levels = """return Array.from(document.querySelectorAll('#wall-sections .wall-sec .nsp-level'))
        .map(e => e.className.replace(/.*nsp-level-/, ''))"""
    rank = {"low": 0, "medium": 1, "high": 2, "critical": 3}
    for width, height in ((1920, 1080), (1280, 720)):
        window(d, width, height)
        d.get(live_server + "/wall")
        wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#wall-sections .wall-sec")
                      and x.find_elements(By.CSS_SELECTOR, "#wall-totals .wall-tot"))
        (panel_top, panel_bottom), (_st, sections_bottom), (totals_top, totals_bottom), \
            (legend_top, legend_bottom) = d.execute_script(rects)
        assert sections_bottom <= totals_top + 1, (width, height)
        assert totals_bottom <= legend_top + 1, (width, height)
        assert legend_bottom <= panel_bottom + 1, (width, height)
        # most severe first, so a list cut short at the bottom loses the least important rows
        shown = [rank[v] for v in d.execute_script(levels)]
        assert shown == sorted(shown, reverse=True) and shown[0] == 3, shown
    screenshot(d, "wall_small")


def test_a_short_wall_shows_every_section_in_pages_of_whole_rows(logged_in, live_server, picture_db, screen,
                                                                 monkeypatch):
    # At 1280x720 the panel had room for one section of 22 (on the demo); the rest were never
    # on screen. Now it turns pages of whole rows: every section shows, one page at a time.
    import re

    from dashboard.settings import web_settings

    monkeypatch.setenv("NSP_WEB_WALL_PAGE_SECONDS", "1")
    web_settings.cache_clear()
    add_demo_sections(picture_db)
    d = logged_in
    window(d, 1280, 720)
    d.get(live_server + "/wall")
    wait(d).until(lambda x: x.find_element(By.ID, "wall-sections-page").text)
    pages, deadline = {}, time.time() + 15
    while time.time() < deadline and sum(map(len, pages.values())) < len((now := d.execute_script(WALL_PAGE))["all"]):
        m = re.fullmatch(r"(\d+)(?:–(\d+))? of (\d+)", now["mark"])  # "3–4 of 5", or "5 of 5"
        assert m and int(m[3]) == len(now["all"]), now
        first, last = int(m[1]), int(m[2] or m[1])
        shown = [c for c, _ in now["shown"]]
        # this page's rows, in the list's order, each whole inside the panel
        assert shown == now["all"][first - 1:last] and all(whole for _, whole in now["shown"]), now
        pages[first] = shown
        time.sleep(0.25)
    every = d.execute_script(WALL_PAGE)["all"]
    assert 1 in pages and pages[1][0] == every[0]  # the first page starts with the most severe
    assert sorted(c for page in pages.values() for c in page) == sorted(every), (pages, every)
    screenshot(d, "wall_pages")
    # with room for every row there are no pages
    screen(1920, 1080)
    wait(d, 5).until(lambda x: x.execute_script(WALL_PAGE)["mark"] == "")
    assert [c for c, whole in d.execute_script(WALL_PAGE)["shown"] if whole] == every


def test_a_1080p_wall_lists_the_demos_22_sections_on_one_page_and_a_laptop_whole_rows(logged_in, live_server,
                                                                                     picture_db, screen):
    """The list turned pages at "1–8 of 22" with about 250 px empty below it (15 rows fit):
    the rows per page were counted at the tallest row's height, and LV-AIR-RIX took two lines."""
    add_demo_sections(picture_db)
    d = logged_in
    screen(1920, 1080)
    d.get(live_server + "/wall")
    wait(d).until(lambda x: len(x.find_elements(By.CSS_SELECTOR, "#wall-sections .wall-sec")) == 22)
    parts = d.execute_script("""return ['.wall-panel', '#wall-sections', '.wall-totals', '.wall-legend', '.wall-sec']
        .map(s => Math.round(document.querySelector(s).getBoundingClientRect().height));""")
    time.sleep(0.6)  # nsp_wall.js looks for the list every 0.5 s
    now = d.execute_script(WALL_PAGE)
    assert now["mark"] == "" and len(now["shown"]) == 22 and all(whole for _, whole in now["shown"]), (parts, now)
    heights = d.execute_script("return Array.from(document.querySelectorAll('#wall-sections .wall-sec'))"
                               ".map(r => r.getBoundingClientRect().height)")
    assert max(heights) < 1.3 * min(heights), heights  # no code or name takes two lines
    # and the last hour above the map, clear of the panel, the country below it
    # read in one script: the strip is drawn again by each refresh (a loaded run's element went stale)
    hour = "const h = document.getElementById('wall-hour'); return h && h.offsetParent !== null ? h.innerText : null"
    wait(d, 10).until(lambda x: (x.execute_script(hour) or "").startswith("LAST HOUR"))
    assert d.execute_script("return document.getElementById('wall-hour').getBoundingClientRect().right"
                            " < document.querySelector('.wall-panel').getBoundingClientRect().left")
    wait(d, 5).until(wall_country_clear)
    screenshot(d, "wall_22_sections")
    screen(1366, 768)
    wait(d, 5).until(lambda x: x.execute_script(WALL_PAGE)["mark"] != "")
    now = d.execute_script(WALL_PAGE)
    print("1366x768:", now["mark"])
    assert now["mark"].startswith("1–") and all(whole for _, whole in now["shown"]), now
    # the page holds as many rows as fit: one more would not be whole
    room, used, row = d.execute_script("""const box = document.getElementById('wall-sections');
        const rows = Array.from(box.children).filter(r => r.getClientRects().length);
        return [box.clientHeight, rows[rows.length - 1].getBoundingClientRect().bottom - rows[0].getBoundingClientRect().top,
                rows[0].getBoundingClientRect().height];""")
    assert room - used < row, (room, used, row)


def test_the_wall_panel_shows_each_level_code_and_place_whole(logged_in, live_server, picture_db):
    # "Robežnieki" and "Rīga airport" were cut to "Robežni…" and "Rīga air…" at 1920 px: the
    # level's column was wider than "CRITICAL" needs. Also in Latvian ("KRITISKS", "VIDĒJS").
    d = logged_in
    with db.connect(picture_db, autocommit=True) as conn:
        conn.execute("UPDATE border_section SET name = 'Rīga airport' WHERE code = 'LV-SEA-01'")
        conn.execute("UPDATE border_section SET name = 'Robežnieki (Belarus)' WHERE code = 'LV-BY-01'")
    cut = """return Array.from(document.querySelectorAll('#wall-sections .wall-sec'))
        .filter(r => r.getClientRects().length).flatMap(r => Array.from(r.children).slice(0, 3))
        .filter(e => e.scrollWidth > e.clientWidth + 0.5).map(e => e.textContent)"""
    for width, height in ((1920, 1080), (1366, 768), (3840, 2160)):
        window(d, width, height)
        for lang in ("en", "lv"):
            d.get(f"{live_server}/wall?lang={lang}")
            wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#wall-sections .wall-sec"))
            names = d.execute_script("return Array.from(document.querySelectorAll('#wall-sections .wall-sec-name'))"
                                     ".map(e => e.textContent)")
            assert {"Rīga airport", "Robežnieki"} <= set(names), names
            assert d.execute_script(cut) == [], (width, lang)


def test_a_wall_rotates_at_the_pace_its_link_asks(logged_in, live_server):
    # Rotation was one setting for every wall of the centre (NSP_WEB_ROTATION_SECONDS, off by
    # default); a wall's own link can turn it on: ?rotate=5 (a kiosk link passes it on).
    d = logged_in
    d.get(live_server + "/wall?rotate=5")
    wait(d).until(lambda x: "LIVE" in x.find_element(By.ID, "wall-status").text)
    pane = "return document.querySelector('.leaflet-map-pane').style.transform + getComputedStyle(document.querySelector('.leaflet-proxy')).transform"
    before = steady(d, pane)
    # the next step of the rotation: the first section with events, and the map flies there
    wait(d, 12).until(lambda x: x.find_element(By.ID, "wall-view").text.startswith("LV-"))
    wait(d, 5).until(lambda x: steady(x, pane) != before)
    d.get(live_server + "/wall")  # without it, the setting's 0: no rotation
    wait(d).until(lambda x: "LIVE" in x.find_element(By.ID, "wall-status").text)
    time.sleep(6)
    assert d.find_element(By.ID, "wall-view").text == ""


def test_wall_shows_data_stale_when_feeds_stop(logged_in, live_server, picture_db):
    d = logged_in
    d.get(live_server + "/wall")
    wait(d).until(lambda x: "LIVE" in x.find_element(By.ID, "wall-status").text)
    assert not d.find_element(By.ID, "wall-stale").is_displayed()
    with db.connect(picture_db, autocommit=True) as conn:  # the feeds stopped an hour ago
        conn.execute("UPDATE ingest_batch SET finished_at = now() - interval '1 hour'")
        conn.execute("UPDATE event SET received_at = now() - interval '1 hour'")
    wait(d, 8).until(lambda x: x.find_element(By.ID, "wall-stale").is_displayed())
    assert "DATA STALE" in d.find_element(By.ID, "wall-stale").text
    assert "DATA STALE" in d.find_element(By.ID, "wall-status").text
    screenshot(d, "wall_stale")


def test_wall_says_no_connection_when_the_server_does_not_answer(logged_in, live_server):
    """The server cannot say DATA STALE when it cannot be reached: nsp_watchdog.js does, in
    the browser, and takes it back at the next answer."""
    d = logged_in
    d.get(live_server + "/wall")
    wait(d).until(lambda x: "LIVE" in x.find_element(By.ID, "wall-status").text)
    assert offline_sign(d) is None
    d.execute_script("window.nspWatchdogLimitMs = 5000")  # 3 refresh periods (2 s) is the rule; 5 s here
    d.execute_cdp_cmd("Network.enable", {})
    d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*_dash-update-component*"]})  # the server is gone
    try:
        sign = wait(d, 20).until(offline_sign)
        assert sign.text.startswith("NO CONNECTION — the picture is from ") and "UTC" in sign.text
        assert not d.find_element(By.ID, "wall-status").is_displayed()  # no green LIVE over an old picture
        screenshot(d, "wall_no_connection")
    finally:
        d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    wait(d, 20).until(lambda x: offline_sign(x) is None)
    assert d.find_element(By.ID, "wall-status").is_displayed()


def test_a_latvian_wall_says_everything_in_latvian_no_connection_included(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/wall?lang=lv")
    wait(d).until(lambda x: "TIEŠSAISTĒ" in x.find_element(By.ID, "wall-status").text)
    assert d.find_element(By.CSS_SELECTOR, ".wall-title").text == "VALSTS SITUĀCIJAS ATTĒLS"
    assert "ROBEŽAS POSMI" in d.find_element(By.CSS_SELECTOR, ".wall-panel").text  # CSS upper case
    d.execute_script("window.nspWatchdogLimitMs = 5000")
    d.execute_cdp_cmd("Network.enable", {})
    d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*_dash-update-component*"]})
    try:
        sign = wait(d, 20).until(offline_sign)
        assert sign.text.startswith("NAV SAVIENOJUMA — attēls ir no ") and sign.text.endswith("UTC; mēģina atkārtoti")
        screenshot(d, "wall_lv_no_connection")
    finally:
        d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    wait(d, 20).until(lambda x: offline_sign(x) is None)


def test_wall_markers_and_lines_grow_with_a_4k_screen(logged_in, live_server):
    # Text on the wall is sized by the screen's width; markers and lines were fixed pixels,
    # so at 3840x2160 an event was a 14 px speck among 30 px labels.
    d = logged_in
    full_motion(d)  # the pulse is measured
    sizes = f"""
    const ratio = Array.from(document.querySelectorAll('.leaflet-marker-pane .nsp-ev svg')).map({SVG_SCALE});
    const lines = Array.from(document.querySelectorAll('.leaflet-overlay-pane path.nsp-sec-line'))
        .map(p => parseFloat(p.getAttribute('stroke-width')));
    return [ratio.length ? Math.min(...ratio) : 0, Math.max(...lines)];"""
    from dashboard.components.mapview import CLUSTER_OPTIONS, event_layer_id
    from geo.symbology import OWN_UNIT_STYLE
    from nsp.vocab import CATEGORIES

    # the events' grouping radius, as the page's Dash layout holds it
    radii = "return arguments[0].map(id => window.dash_component_api.getLayout(id).props.superClusterOptions.radius)"
    ids = [event_layer_id("wall", c) for c in CATEGORIES]
    seen = {}
    for width, height, scale in ((1920, 1080, 1), (3840, 2160, 2)):
        window(d, width, height)
        d.get(live_server + "/wall")
        wait_for_sections(d)
        wait(d).until(lambda x: x.execute_script(sizes)[0] > 0)
        wait(d).until(wall_country_clear)  # the first fit, and the one below the banners
        seen[width] = steady(d, sizes)
        # a very high event pulses, from the page's scale up and back, never below it
        pulsing = svg_scales(".leaflet-marker-pane .nsp-pulse svg")
        over_a_pulse = []  # nsp-pulse lasts 1.6 s
        for _ in range(10):
            over_a_pulse += d.execute_script(pulsing)
            time.sleep(0.2)
        assert over_a_pulse and min(over_a_pulse) >= 0.95 * scale and max(over_a_pulse) > 1.1 * scale, \
            (width, over_a_pulse)
        # the legend's symbols are as large as the map's: the impact sizes stay apart (each
        # was squeezed to one text height), the own unit's frame is the map's size (its glyph
        # was 15 px navy on the dark panel), and the crossing point grows on both
        syms, asset, bcp = d.execute_script(LEGEND_AGAINST_MAP)
        assert all(abs(r - scale) < 0.02 for r in syms), (width, syms)
        assert all(abs(w - OWN_UNIT_STYLE["width"] * scale) < 0.5 for w in asset), (width, asset)
        assert abs(bcp[0] - 9 * scale) < 0.5 and abs(bcp[1] - 9 * scale) < 0.5, (width, bcp)
        # and the groups are as far apart as the markers are larger
        wait(d, 5).until(lambda x: set(x.execute_script(radii, ids)) == {scale * CLUSTER_OPTIONS["radius"]})
    (ratio_hd, line_hd), (ratio_4k, line_4k) = seen[1920], seen[3840]
    assert 0.95 <= ratio_hd <= 1.05 and ratio_4k >= 1.9, seen
    assert line_4k >= 1.9 * line_hd, seen
    screenshot(d, "wall_4k")


def test_the_wall_fills_its_map_with_the_country_at_any_screen_size(logged_in, live_server):
    # Fitted in whole zoom steps, the country filled 69-98 % of the wall's map depending on
    # the screen (at 2560x1440 about two thirds). Quarter steps: at least 84 %.
    import math

    from dashboard.settings import national_bounds

    (south, west), (north, east) = national_bounds()
    merc = lambda lat: math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))  # noqa: E731
    size = "const m = document.querySelector('.leaflet-container').getBoundingClientRect(); return [m.width, m.height]"
    d = logged_in

    def fill() -> float:
        world = 256 * 2 * steady(d, ZOOM_SCALE)  # the proxy's scale is 2^(zoom - 1)
        map_w, map_h = d.execute_script(size)
        # the fit's padding (nsp_wall.js): 10 px at the sides and the bottom, and at the top
        # 10 below the header and the banners
        top = d.execute_script("return window.nsp.wall.coveredTop()") + 10
        return max((east - west) / 360 * world / (map_w - 20),
                   (merc(north) - merc(south)) / (2 * math.pi) * world / (map_h - top - 10))

    for width, height in ((2560, 1440), (1366, 768)):
        window(d, width, height)
        d.get(live_server + "/wall")
        wait_for_sections(d)
        wait(d, 5).until(wall_country_clear)
        assert 0.84 <= fill() <= 1.0, (width, height, fill())
    # the screen changes size under the running wall (a kiosk browser goes full screen): the
    # country is fitted again, clear of the header, which has grown with the screen. Two
    # things do it, and either alone passes: nsp_map.js's size observer at once (with the
    # old header's padding), and the next refresh's fit (nsp_wall.js measures the header
    # again; the banners, rewritten at every refresh, trigger it). Leaflet alone keeps the
    # centre and the zoom: a small country in the middle of a large map.
    window(d, 2560, 1440)
    wait(d, 8).until(lambda x: wall_country_clear(x) and 0.84 <= fill() <= 1.0)
