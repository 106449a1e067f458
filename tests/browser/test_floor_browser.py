"""The main page for the watch floor, in a real headless Chromium: replay's two modes, the
event's details beside the list, cross-filtering by clicks, and one time format everywhere."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from dashboard.components.times import clock_time
from nsp import db
from tests.support.browser import ZOOM_SCALE, wait
from tests.support.chrome import screenshot
from tests.support.seed import insert_event

RAW_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _query(driver) -> dict[str, list[str]]:
    return parse_qs(urlparse(driver.current_url).query)


def _click_at_centre(driver, element) -> None:
    """A real mouse click (Chrome DevTools input events) at the element's centre."""
    x, y = driver.execute_script(
        "const b = arguments[0].getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]", element)
    for kind in ("mousePressed", "mouseReleased"):
        driver.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                            "clickCount": 1})


def _rows(driver, col_id: str) -> list[str]:
    """The texts of a column of the event list, top to bottom."""
    return driver.execute_script(
        """const grid = document.querySelector('#main-events');
           if (!grid) return [];
           const box = grid.getBoundingClientRect();
           if (box.top < 0 || box.bottom > innerHeight) grid.scrollIntoView({block: 'end'});  // drawn in view
           return Array.from(grid.querySelectorAll('.ag-center-cols-container .ag-row'))
               .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
               .map(r => (r.querySelector(`[col-id="${arguments[0]}"]`) || {}).innerText)""", col_id)


def _map_note(driver) -> int:
    text = driver.find_element(By.ID, "main-map-note").text
    found = re.match(r"([\d,]+)\+? events", text)
    return int(found.group(1).replace(",", "")) if found else -1


# the first answers of a page: slow on a loaded machine (2 cores shared by many test runs)
FIRST = 90


def _click(driver, css: str) -> None:
    """Click the element ``css`` finds, found again if a refresh replaced it meanwhile."""
    def clicked(x):
        try:
            x.find_element(By.CSS_SELECTOR, css).click()
        except (StaleElementReferenceException, NoSuchElementException):
            return False
        return True
    wait(driver, FIRST).until(clicked, f"never clicked {css}")


def _esc(driver) -> None:
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


# ------------------------------------------------------------------- replay modes


def test_the_replay_switch_shows_the_past_as_known_then_or_as_happened(logged_in, live_server, picture_db):
    d = logged_in
    at = (datetime.now(UTC) - timedelta(hours=10)).replace(second=0, microsecond=0)
    with db.connect(picture_db, autocommit=True) as conn:
        # the seed's events were all received 10 min ago: none was known at T
        insert_event(conn, code="LV-BY-02", source="late-board", ref="late-1", occurred_at=at - timedelta(hours=2),
                     received_at=at + timedelta(hours=5))  # a late report
        insert_event(conn, code="LV-BY-02", source="late-board", ref="in-time-1", occurred_at=at - timedelta(hours=3),
                     received_at=at - timedelta(hours=2))  # known then
        happened = conn.execute("SELECT count(*) AS n FROM event WHERE occurred_at >= %s AND occurred_at < %s",
                                (at - timedelta(hours=24), at)).fetchone()["n"]
    assert happened > 2
    d.get(f"{live_server}/?window=24h&at={at:%Y-%m-%dT%H:%M}")
    wait(d, FIRST).until(lambda x: _map_note(x) == 1)
    assert "as known then" in d.find_element(By.ID, "main-status").text
    assert "replay" not in _query(d)  # the default mode is not written
    d.find_element(By.XPATH, "//*[@id='main-replay-mode']//label[normalize-space()='as happened']").click()
    wait(d).until(lambda x: _query(x).get("replay") == ["happened"])
    wait(d).until(lambda x: _map_note(x) == happened)
    wait(d).until(lambda x: "as happened" in x.find_element(By.ID, "main-status").text)
    screenshot(d, "main_replay_as_happened")
    # the link keeps the mode: opened again, the page is in it
    d.get(d.current_url)
    wait(d).until(lambda x: _map_note(x) == happened)
    assert d.find_element(By.CSS_SELECTOR, "#main-replay-mode input[value='happened']").is_selected()
    # Reset: live, and the default mode again
    d.find_element(By.ID, "main-reset").click()
    wait(d).until(lambda x: "replay" not in _query(x) and "at" not in _query(x))
    assert d.find_element(By.CSS_SELECTOR, "#main-replay-mode input[value='known']").is_selected()


# ------------------------------------------------------------------- event details


def test_a_row_opens_the_events_details_beside_the_list_with_the_map_on_it(logged_in, live_server, picture_db):
    d = logged_in  # 1920x1080
    now = datetime.now(UTC)
    with db.connect(picture_db, autocommit=True) as conn:
        ev = insert_event(conn, code="LV-BY-01", impact="high", source="details-test", ref="DET-1",
                          subtype="group_crossing_attempt", occurred_at=now - timedelta(hours=2), persons=14)
        conn.execute("""UPDATE event SET description = 'Group of 14 stopped at the fence', crossing_stage = 'attempted',
                               direction = 'entry' WHERE id = %s""", (ev,))
    d.get(live_server + "/?window=24h")
    wait(d, FIRST).until(lambda x: "details-test" in _rows(x, "source"))
    # the columns that matter first: time, impact, what, where
    heads = d.execute_script("""return Array.from(document.querySelectorAll('#main-events .ag-header-row-column .ag-header-cell'))
        .sort((a, b) => a.getBoundingClientRect().left - b.getBoundingClientRect().left)
        .map(c => c.getAttribute('col-id'))""")
    assert heads[:6] == ["occurred_at", "impact", "kind_text", "section_code", "persons", "source"], heads
    # as many rows as the grid holds (60 seed events): no page of 20 with 7 in view
    shown = d.execute_script("""const body = document.querySelector('#main-events .ag-body-viewport').getBoundingClientRect();
        return Array.from(document.querySelectorAll('#main-events .ag-center-cols-container .ag-row'))
            .filter(r => { const b = r.getBoundingClientRect(); return b.top >= body.top - 1 && b.bottom <= body.bottom + 1; })
            .length""")
    assert shown >= 12, shown
    row = next(r for r in d.find_elements(By.CSS_SELECTOR, "#main-events .ag-center-cols-container .ag-row")
               if "details-test" in r.text)
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.find_element(By.CSS_SELECTOR, "[col-id='kind_text']").click()
    details = wait(d).until(lambda x: (e := x.find_element(By.ID, "main-event-details"))
                            and "Group of 14 stopped at the fence" in e.text and e)
    text = details.text
    for words in ("group crossing attempt", "high", "LV-BY-01", "attempted", "entry", "details-test", "DET-1",
                  "No decision on this event yet."):
        assert words in text, words
    assert "group_crossing_attempt" not in text and not RAW_ISO.search(text)
    # beside the list, and its small map in the window, centred on the event with the ring
    box = d.execute_script("""const r = e => document.querySelector(e).getBoundingClientRect();
        const g = r('#main-events'), c = r('#main-details-card'), m = r('#main-detail-map');
        return [g.right, g.top, g.bottom, c.left, c.top, m.top, m.bottom, m.left, m.right, innerHeight]""")
    grid_right, grid_top, grid_bottom, card_left, card_top, map_top, map_bottom, map_left, map_right, height = box
    assert card_left >= grid_right - 1 and card_top < grid_bottom, box
    assert 0 <= map_top and map_bottom <= height, box  # the map is in view with the list
    ring = wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#main-detail-map .nsp-highlight-ring"))[0]
    rx, ry = d.execute_script("const b = arguments[0].getBoundingClientRect(); "
                              "return [b.left + b.width / 2, b.top + b.height / 2]", ring)
    assert abs(rx - (map_left + map_right) / 2) < 30 and abs(ry - (map_top + map_bottom) / 2) < 30
    # the main map flies to it and rings it too
    wait(d).until(lambda x: x.execute_script(ZOOM_SCALE) >= 2 ** 11)
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#main-map .nsp-highlight-ring"))
    screenshot(d, "main_event_details")


# ------------------------------------------------------------------ cross-filtering


def test_a_click_on_a_section_row_filters_the_view_and_esc_undoes_it(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/?window=24h")
    wait(d, FIRST).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#main-section-table tbody tr[id*='LV-BY-02']")
                         and _map_note(x) > 0)
    before = _map_note(d)
    _click(d, "#main-section-table tbody tr[id*='LV-BY-02'] td:nth-child(3)")
    wait(d).until(lambda x: _query(x).get("sections") == ["LV-BY-02"])
    wait(d).until(lambda x: set(_rows(x, "section_code")) == {"LV-BY-02"})
    wait(d).until(lambda x: 0 < _map_note(x) < before)
    _esc(d)
    wait(d).until(lambda x: "sections" not in _query(x))
    wait(d).until(lambda x: len(set(_rows(x, "section_code"))) > 1 and _map_note(x) == before)


def test_a_click_on_a_section_line_on_the_map_filters_the_view(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/?window=24h")
    line = wait(d, FIRST).until(lambda x: [p for p in x.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane path.nsp-sec-line")
                                    if x.execute_script("return arguments[0].getTotalLength() > 50", p)])
    # the point half way along a line, where a click hits it
    code = None
    for path in line:
        x, y = d.execute_script("""const p = arguments[0], pt = p.getPointAtLength(p.getTotalLength() / 2);
            const m = p.getScreenCTM(); return [pt.x * m.a + pt.y * m.c + m.e, pt.x * m.b + pt.y * m.d + m.f]""", path)
        hit = d.execute_script("return document.elementFromPoint(arguments[0], arguments[1]) === arguments[2]", x, y, path)
        if hit:
            for kind in ("mousePressed", "mouseReleased"):
                d.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                               "clickCount": 1})
            code = wait(d).until(lambda x: (_query(x).get("sections") or [None])[0])
            break
    assert code, "no section line could be clicked"
    wait(d).until(lambda x: x.find_element(By.ID, "main-sections").text.startswith(code))
    wait(d).until(lambda x: set(_rows(x, "section_code")) <= {code})
    d.find_element(By.ID, "main-reset").click()
    wait(d).until(lambda x: "sections" not in _query(x))


def test_a_click_on_a_chart_bar_filters_its_category_and_hour(logged_in, live_server, picture_db):
    d = logged_in
    hour = (datetime.now(UTC) - timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    with db.connect(picture_db, autocommit=True) as conn:
        for k in range(12):  # a tall bar of crisis situations in one hour
            insert_event(conn, code="LV-RU-01", category="crisis_situation", source="bar-test", ref=f"bar-{k}",
                         occurred_at=hour + timedelta(minutes=4 * k))
    d.get(live_server + "/?window=24h")
    wait(d, FIRST).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#main-timeseries .bars .point path"))
    # drawn by plotly.js's basic bundle (dashboard/plotly_basic.py), not the full one (40-odd kinds of trace)
    assert d.execute_script("return Object.keys(Plotly.PlotSchema.get().traces).sort()") == ["bar", "pie", "scatter"]
    # the tallest bar is the hour of the crisis situations
    bar = d.execute_script("""return Array.from(document.querySelectorAll('#main-timeseries .bars .point path'))
        .sort((a, b) => b.getBoundingClientRect().height - a.getBoundingClientRect().height)[0]""")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", bar)
    _click_at_centre(d, bar)
    wait(d).until(lambda x: _query(x).get("category") == ["crisis_situation"])
    q = _query(d)
    assert q["window"] == ["custom"] and q["start"] == [f"{hour:%Y-%m-%dT%H:%M}"]
    assert q["end"] == [f"{hour + timedelta(hours=1):%Y-%m-%dT%H:%M}"]
    wait(d).until(lambda x: sorted(set(_rows(x, "source"))) == ["bar-test"] and len(_rows(x, "source")) == 12)
    _esc(d)
    wait(d).until(lambda x: "category" not in _query(x) and _query(x).get("window") == ["24h"])


def test_a_click_on_a_legend_category_filters_the_view_and_reset_undoes_it(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/?window=24h")
    wait(d, FIRST).until(lambda x: len(set(_rows(x, "kind_text"))) > 1)
    _click(d, "#main-legend [data-nsp-cat='cross_border_crime']")
    wait(d).until(lambda x: _query(x).get("category") == ["cross_border_crime"])
    wait(d).until(lambda x: {r.split(" · ")[0] for r in _rows(x, "kind_text")} == {"Cross-border crime"})
    # the same click again clears it
    _click(d, "#main-legend [data-nsp-cat='cross_border_crime']")
    wait(d).until(lambda x: "category" not in _query(x))
    _click(d, "#main-legend [data-nsp-cat='other']")
    wait(d).until(lambda x: _query(x).get("category") == ["other"])
    d.find_element(By.ID, "main-reset").click()
    wait(d).until(lambda x: "category" not in _query(x))
    _esc(d)  # nothing left to undo: Reset cleared it
    assert "category" not in _query(d)


# ------------------------------------------------------------------ one time format


def test_popups_lists_and_details_write_times_in_one_format_never_raw_iso(logged_in, live_server, picture_db):
    d = logged_in
    now = datetime.now(UTC).replace(microsecond=0)
    old = now - timedelta(days=3, hours=2)
    with db.connect(picture_db, autocommit=True) as conn:
        ev = insert_event(conn, code="LV-BY-01", impact="very_high", source="time-test", ref="t-1",
                          occurred_at=old)
        follow = insert_event(conn, code="LV-BY-01", source="time-test", ref="t-2", occurred_at=old + timedelta(hours=1))
        conn.execute("UPDATE event SET parent_id = %s WHERE id = %s", (ev, follow))
        occurred = conn.execute("SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS t "
                                "FROM event WHERE id = %s", (ev,)).fetchone()["t"]
    # the browser's formatter writes what Python's does (dashboard/components/times.py)
    samples = [occurred, now.strftime("%Y-%m-%dT%H:%M:%SZ"), "2026-01-02T03:04:05Z", None]
    d.get(live_server + "/?window=7d&source=time-test")
    got = wait(d, FIRST).until(lambda x: x.execute_script(
        "return window.nsp && window.nsp.time && arguments[0].map(s => window.nsp.time.clock(s))", samples))
    assert got == [clock_time(s, now) for s in samples]
    expected = clock_time(occurred, now)
    assert expected == f"{occurred[5:10]} {occurred[11:16]}"
    # the list
    wait(d).until(lambda x: _rows(x, "occurred_at") == [expected])
    # the popup (a real click on the marker)
    wait(d).until(lambda x: x.execute_script(ZOOM_SCALE) > 0)
    d.find_element(By.CSS_SELECTOR, "#main-events .ag-center-cols-container .ag-row [col-id='kind_text']").click()
    wait(d).until(lambda x: x.execute_script(ZOOM_SCALE) >= 2 ** 11)
    d.execute_script("document.getElementById('main-map').scrollIntoView({block: 'center'})")
    popup_text = "return Array.from(document.querySelectorAll('.leaflet-popup')).map(p => p.innerText).join('|')"

    def opened(x):
        markers = x.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .nsp-ev")
        if markers:
            try:
                _click_at_centre(x, markers[0])
            except StaleElementReferenceException:
                return False
        return "follow-up reports: 1" in x.execute_script(popup_text)
    wait(d).until(opened)
    popup = d.execute_script(popup_text)
    assert expected in popup and not RAW_ISO.search(popup), popup
    # the details, the decision form's line, the tables beside the map: no raw ISO anywhere
    wait(d).until(lambda x: "time-test" in x.find_element(By.ID, "main-event-details").text)
    page = d.execute_script("return document.body.innerText")
    assert not RAW_ISO.search(page), RAW_ISO.findall(page)[:5]
    assert expected in d.find_element(By.ID, "main-event-details").text
