"""The main view's page in a real headless Chromium: the layout at laptop sizes, the tables and lists, language, the session's end, replay."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.by import By

from dashboard.components.times import clock_time
from nsp import db, users
from tests.support.browser import ZOOM_SCALE, refreshed, wait
from tests.support.chrome import renderer_pids, screenshot, window
from tests.support.dashboard import MAIN_FIT, external_requests, grid_column, steady, svg_scales, wait_for_sections
from tests.support.seed import insert_event


def test_the_main_view_switches_to_latvian_keeping_its_filters(logged_in, live_server):
    d = logged_in
    text = lambda x: x.execute_script("return document.body.textContent")  # noqa: E731 - before CSS upper case
    d.get(live_server + "/?window=6h&category=other")
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#main-section-table .nsp-table"))
    d.find_element(By.CSS_SELECTOR, "a.nsp-lang-link[data-lang='lv']").click()
    wait(d).until(lambda x: "Robežas posmi periodā" in text(x))
    assert "window=6h" in d.current_url and "category=other" in d.current_url
    wait(d).until(lambda x: "vietējais" in x.find_element(By.ID, "main-clock").text)
    wait(d).until(lambda x: "Pēdējais (UTC)" in text(x))
    screenshot(d, "main_lv")
    d.get(live_server + "/")  # the choice is kept (cookie)
    wait(d).until(lambda x: "Robežas posmi periodā" in text(x))
    d.find_element(By.CSS_SELECTOR, "a.nsp-lang-link[data-lang='en']").click()
    wait(d).until(lambda x: "Border sections in the window" in text(x))
    assert external_requests(d) == []


def test_main_page_goes_to_the_login_with_its_deep_link_when_the_session_ends(logged_in, live_server,
                                                                              picture_db):
    d = logged_in
    d.get(live_server + "/?window=6h&category=other")
    wait(d).until(lambda x: x.find_elements(By.ID, "main-map"))
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#main-section-table .nsp-table"))  # loaded
    # The session ends on the server, as a new password ends it (nsp.users.set_password ends
    # the user's open sessions; auth.py _load_user then finds none). Deleting the browser's
    # cookie raced the callbacks in flight, whose answers set it again (the cookie is signed,
    # and a callback that notes the session's activity sends it anew): the page then went on.
    with db.connect(picture_db, autocommit=True) as conn:
        users.set_password(conn, "anna", "a new password for the test, long enough", actor="test")

    def signed_out(x) -> bool:
        # the next callback finds out: the refresh (2 s here), or a click (the alert bar's
        # Acknowledge fires a callback and changes no filter), tried until the page goes
        if "/login" in x.current_url:
            return True
        x.execute_script("const b = document.getElementById('main-alert-ack-button'); if (b) b.click();")
        return False

    wait(d, 60).until(signed_out)  # the refresh every 2 s; 60 s for a loaded machine
    assert "next=" in d.current_url and "window%3D6h" in d.current_url and "category%3Dother" in d.current_url


def test_a_second_load_of_the_main_view_takes_its_scripts_and_basemap_from_the_browsers_cache(
        logged_in, live_server):
    # The session cookie is signed anew at every answer and the bundles' answers varied by it:
    # after a new sign-in a page load fetched some 3 MB of Dash's scripts again (and the
    # vocabulary and basemap at every load), on a commander's slow link too.
    d = logged_in
    d.execute_cdp_cmd("Network.clearBrowserCache", {})  # earlier tests of this process had this origin
    kept = """return performance.getEntriesByType('resource')
        .filter(r => /\\/_dash-component-suites\\/.*\\.v[0-9_]+m\\d+|\\/vocab\\.js\\?v=|\\/basemap\\/countries\\.geojson\\?v=/.test(r.name))
        .map(r => [r.name.replace(location.origin, ''), r.transferSize])"""
    for load in ("first", "second"):
        d.get(live_server + "/")
        wait_for_sections(d)
        wait(d).until(lambda x: any("/basemap/countries" in n for n, _ in x.execute_script(kept)))
        loaded = d.execute_script(kept)
        assert any(n.startswith("/vocab.js?v=") for n, _ in loaded) and len(loaded) >= 10, loaded
        fetched = [n for n, size in loaded if size > 0]  # 0: from the browser's cache
        if load == "first":  # an empty cache; a file asked for twice
            assert set(fetched) == {n for n, _ in loaded}, loaded  # in a load is fetched once
    assert fetched == [], fetched


def test_the_tests_browser_draws_page_after_page_in_one_renderer_process(logged_in, live_server):
    # tests/support/chrome.py LESS_WORK: a page loaded in a new renderer process compiled Dash's
    # scripts again (some 4 core-s of the browser's CPU a main view, not 3)
    d = logged_in
    seen = []
    for page in ("/", "about:blank", "/wall", "/healthz", "/"):
        d.get(page if page.startswith("about:") else live_server + page)
        if page == "/":
            wait_for_sections(d)
        seen.append(renderer_pids(d))
    assert seen[0] and all(pids == seen[0] for pids in seen), seen  # the same processes, none new


def test_the_header_clock_ticks_every_second_without_a_dash_callback(logged_in, live_server):
    # nsp_clock.js writes the time; a Dash timer's tick went through Dash's store (its renderer
    # checked every component of the page once a second)
    d = logged_in
    d.get(live_server + "/")
    wait_for_sections(d)
    clock = lambda x: x.find_element(By.ID, "main-clock").text  # noqa: E731
    pattern = r"\d\d:\d\d:\d\d local · \d\d:\d\d UTC"
    wait(d).until(lambda x: re.fullmatch(pattern, clock(x)))
    first = clock(d)
    wait(d, 5).until(lambda x: clock(x) != first and re.fullmatch(pattern, clock(x)))
    deps = d.execute_async_script("""const done = arguments[arguments.length - 1];
        fetch('/_dash-dependencies').then(r => r.json()).then(done, e => done(String(e)));""")
    assert isinstance(deps, list) and deps, deps
    assert not [c for c in deps if "clock" in repr(c)], "a Dash callback of a clock"


def test_replay_moves_the_picture_through_time_and_returns_live(logged_in, live_server):
    """Replay: the "as at" time steps forward by itself (one hour a tick, NSP_WEB_REPLAY_TICK_SECONDS
    = 1 in web_env), the URL and the as-at field follow, and pausing stops it."""
    d = logged_in
    d.get(live_server + "/?window=6h")
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#main-section-table .nsp-table"))
    assert "at=" not in d.current_url
    d.find_element(By.ID, "main-replay-play").click()

    def at_in_url(x):
        q = dict(p.split("=", 1) for p in x.current_url.split("?", 1)[-1].split("&") if "=" in p)
        return q.get("at")

    first = wait(d).until(at_in_url)
    later = wait(d, 20).until(lambda x: (at_in_url(x) or "") > first and at_in_url(x))
    t_first = datetime.fromisoformat(first.replace("%3A", ":"))
    t_later = datetime.fromisoformat(later.replace("%3A", ":"))
    assert timedelta(hours=1) <= t_later - t_first <= timedelta(hours=6)
    assert t_first < datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=18)  # started a day back
    # the field follows (a few ticks may land between the two reads on a busy machine)
    t_field = datetime.fromisoformat(d.find_element(By.ID, "main-at").get_attribute("value"))
    assert t_later <= t_field <= t_later + timedelta(hours=4)
    assert "Pause" in d.find_element(By.ID, "main-replay-play").text
    d.find_element(By.ID, "main-replay-play").click()  # pause
    wait(d).until(lambda x: "Replay" in x.find_element(By.ID, "main-replay-play").text)
    time.sleep(3)  # a tick already on its way may still land (it moves the slider, never restarts it)
    paused = at_in_url(d)
    time.sleep(2.5)
    assert at_in_url(d) == paused
    screenshot(d, "main_replay")


def test_the_section_table_fits_its_column_with_times_of_earlier_days(logged_in, live_server, picture_db):
    # "12-02 20:10" unbroken widened the table past its 470 px column: a sideways scroll, the
    # last column cut ("LAST (UTC" and "12-02 20:1") on a 1600 px window
    d = logged_in
    window(d, 1600, 1000)
    with db.connect(picture_db, autocommit=True) as conn:
        for code in ("LV-BY-01", "LV-BY-02", "LV-RU-01", "LV-RU-02"):
            two_days = datetime.now(UTC) - timedelta(days=2)
            insert_event(conn, code=code, ref=f"earlier-{code}", persons=1234, occurred_at=two_days,
                         received_at=two_days + timedelta(hours=1))
    # the picture as it was a day ago (the seed's events are all of the last hours)
    at = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    d.get(live_server + f"/?window=7d&at={at}")
    wait(d).until(lambda x: x.execute_script(  # a time of an earlier day: "MM-DD HH:MM"
        "return Array.from(document.querySelectorAll('#main-section-table-body tbody td:last-child'))"
        ".some(td => /\\d\\d-\\d\\d/.test(td.textContent))"))
    table_w, box_w = d.execute_script("const b = document.getElementById('main-section-table');"
                                      "return [b.scrollWidth, b.clientWidth]")
    assert table_w <= box_w, (table_w, box_w)


def test_a_laptop_screen_gets_the_map_clear_and_no_sideways_scroll(logged_in, live_server):
    # At 1366x768 the legend covered most of the map, the replay slider ran under the
    # category filter, and an invisible input of Dash's dropdown widened the page.
    d = logged_in
    legend_open = "return document.querySelector('details.nsp-legend-box').open"
    window(d, 1366, 768)
    d.get(live_server + "/")
    wait_for_sections(d)
    wait(d, 5).until(lambda x: x.find_elements(By.CSS_SELECTOR, "details.nsp-legend-box[data-nsp-box]"))
    assert d.execute_script(legend_open) is False
    assert d.execute_script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    # the header keeps to one line, in Latvian too (each item broke onto two, 56 px tall)
    one_line = "return [document.querySelector('.nsp-header').offsetHeight," \
               " document.documentElement.scrollWidth <= document.documentElement.clientWidth]"
    height, no_sideways = d.execute_script(one_line)
    assert height <= 44 and no_sideways, height
    d.get(live_server + "/?lang=lv")
    wait_for_sections(d)
    height, no_sideways = d.execute_script(one_line)
    assert height <= 44 and no_sideways, height
    d.get(live_server + "/")
    wait_for_sections(d)
    # (the slider and the dropdowns may come after the map: Dash loads their code apart)
    wait(d).until(lambda x: x.execute_script(
        "return !!document.querySelector('.nsp-replay-slider') && !!document.getElementById('main-category')"))
    slider_right, category_left = d.execute_script(
        "const s = document.querySelector('.nsp-replay-slider').getBoundingClientRect();"
        "const marks = Array.from(document.querySelectorAll('.nsp-replay-slider *')).map(e => e.getBoundingClientRect().right);"
        "const c = document.getElementById('main-category').getBoundingClientRect();"
        "return [Math.max(s.right, ...marks), c.left]")
    row = lambda sel: d.find_element(By.CSS_SELECTOR, sel).location["y"]  # noqa: E731
    if row(".nsp-replay-slider") == row("#main-category"):  # side by side: no overlap
        assert slider_right <= category_left, (slider_right, category_left)
    # the as-at field shows its whole date and time (its box was cut to "mm/dd/yyy")
    whole, field, box = d.execute_script(
        "const e = document.getElementById('main-at'), v = e.value; e.value = '2026-12-04 14:05';"
        "const whole = e.scrollWidth <= e.clientWidth; e.value = v;"
        "return [whole, e.offsetWidth, e.closest('.nsp-f').clientWidth]")
    assert whole and box >= field, (whole, field, box)
    # the user's choice is kept, whatever the screen
    d.find_element(By.CSS_SELECTOR, "details.nsp-legend-box summary").click()
    assert d.execute_script(legend_open) is True
    # the four impact sizes at their own size (the label beside them squeezed them to 74 %)
    sizes = d.execute_script(svg_scales(".nsp-legend-box .nsp-legend-sizes svg"))
    assert len(sizes) == 4 and all(abs(r - 1) < 0.02 for r in sizes), sizes
    # taller than this map, the open legend scrolls inside it, its title in view to close it
    title, box, wrap = d.execute_script(
        "return ['.nsp-legend-box summary', '.nsp-legend-box', '#main-map-wrap'].map("
        "s => document.querySelector(s).getBoundingClientRect()).map(r => [r.top, r.bottom])")
    assert wrap[0] <= box[0] <= title[0] and box[1] <= wrap[1], (title, box, wrap)
    d.refresh()
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "details.nsp-legend-box[data-nsp-box]"))
    assert d.execute_script(legend_open) is True
    d.find_element(By.CSS_SELECTOR, "details.nsp-legend-box summary").click()
    window(d, 1920, 1080)
    d.refresh()
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "details.nsp-legend-box[data-nsp-box]"))
    assert d.execute_script(legend_open) is False
    # with room, Dash 4's slider added a number box (minutes from now) beside "now"
    assert d.find_elements(By.CSS_SELECTOR, ".nsp-replay-slider input") == []
    # without a choice a tall map starts with the legend open
    d.execute_script("localStorage.removeItem('nsp-legend-open')")
    d.refresh()
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "details.nsp-legend-box[data-nsp-box]"))
    assert d.execute_script(legend_open) is True


def test_the_main_map_fits_the_window_and_refits_when_its_size_changes(logged_in, live_server, picture_db):
    # The map's height was a fixed calc(100vh - 150px): with the filters on two rows and the
    # alert bar showing, its lower 60-180 px lay below the window, where a sector commander's
    # fitted sections ended up. And Leaflet kept the centre, not the fit, when the map's size
    # changed: the country ran off a map that the alert bar had made shorter.
    d = logged_in
    window(d, 1366, 768)
    d.get(live_server + "/?window=24h")
    wait_for_sections(d)
    *margins, map_bottom, window_h = steady(d, MAIN_FIT)
    assert map_bottom <= window_h and min(margins) >= 0, (margins, map_bottom, window_h)
    # the alert bar comes: the map is shorter, the country still in it, the window still holds it
    alert = lambda x: x.find_element(By.ID, "main-alert")  # noqa: E731
    with db.connect(picture_db, autocommit=True) as conn:
        insert_event(conn, code="LV-RU-02", impact="very_high", ref="fit-alert",
                     occurred_at=datetime.now(UTC) - timedelta(minutes=1))
    wait(d, 8).until(lambda x: alert(x).is_displayed())
    *margins, map_bottom, window_h = steady(d, MAIN_FIT)
    assert map_bottom <= window_h and min(margins) >= 0, (margins, map_bottom, window_h)
    # a much shorter window: the country is fitted again (the centre alone would cut it off)
    window(d, 1366, 620)
    wait(d, 5).until(lambda x: min(steady(x, MAIN_FIT)[:4]) >= 0)
    # a view the user moved is the user's: a change of size keeps its zoom
    d.find_element(By.CSS_SELECTOR, ".leaflet-control-zoom-in").click()
    zoom = steady(d, ZOOM_SCALE)
    window(d, 1366, 900)
    time.sleep(1)
    assert steady(d, ZOOM_SCALE) == zoom
    *margins, map_bottom, window_h = steady(d, MAIN_FIT)
    assert map_bottom <= window_h and min(margins) < 0, margins  # zoomed in: the lines run off
    # so is a flight to one event (a click in the list, no hand on the map): the page opened
    # anew has the country fitted, and after the flight no fit of the country comes back
    d.refresh()
    wait_for_sections(d)
    zoom = steady(d, ZOOM_SCALE)
    d.find_element(By.CSS_SELECTOR, "#main-events .ag-center-cols-container .ag-row [col-id='kind_text']").click()
    wait(d).until(lambda x: steady(x, ZOOM_SCALE) > 4 * zoom)  # zoom 12 against the country's 7 or 8
    zoom = steady(d, ZOOM_SCALE)
    window(d, 1366, 700)
    time.sleep(1)
    assert steady(d, ZOOM_SCALE) == zoom


def test_the_event_list_speaks_words_and_sorts_impact_by_rank(logged_in, live_server, picture_db):
    """The list showed the data's codes (unauthorised_border_crossing, very_high, open, an ISO
    time), in Latvian too, and its impact sorted as words (high, low, medium, very high)."""
    d = logged_in
    now = datetime.now(UTC)
    with db.connect(picture_db, autocommit=True) as conn:
        for i, impact in enumerate(("low", "very_high", "medium", "high")):
            insert_event(conn, impact=impact, source="grid-test", ref=f"g-{i}", occurred_at=now - timedelta(hours=i + 1))
    d.get(live_server + "/?window=24h&source=grid-test")
    wait(d).until(lambda x: len(grid_column(x, "impact")) == 4)
    assert grid_column(d, "impact") == ["low", "very high", "medium", "high"]  # newest first
    # what happened in one column, the category then the subtype
    assert {r.split(" · ")[0] for r in grid_column(d, "kind_text")} == {"Unauthorised border crossing"}
    assert set(grid_column(d, "status_text")) == {"open"}
    # the time as everywhere on the page (dashboard/components/times.py): HH:MM today, else MM-DD HH:MM
    first = clock_time((now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), now)
    assert grid_column(d, "occurred_at")[0] == first
    d.find_element(By.CSS_SELECTOR, "#main-events .ag-header-cell[col-id='impact'] .ag-header-cell-label").click()
    wait(d).until(lambda x: grid_column(x, "impact") == ["low", "medium", "high", "very high"])
    d.find_element(By.CSS_SELECTOR, "a.nsp-lang-link[data-lang='lv']").click()
    wait(d).until(lambda x: {r.split(" · ")[0] for r in grid_column(x, "kind_text")} == {"Neatļauta robežšķērsošana"})
    assert sorted(grid_column(d, "impact")) == sorted(["zema", "vidēja", "augsta", "ļoti augsta"])
    assert set(grid_column(d, "status_text")) == {"atvērts"}


def test_a_watch_officer_changes_an_events_impact_from_the_list(logged_in, live_server, picture_db):
    """Click an event in the list, choose the new impact, give the reason: the list shows the
    new impact and the form the decision."""
    d = logged_in
    with db.connect(picture_db, autocommit=True) as conn:
        insert_event(conn, impact="low", source="decide-test", ref="d-1")
    d.get(live_server + "/?window=24h&source=decide-test")
    wait(d).until(lambda x: grid_column(x, "impact") == ["low"])
    d.find_element(By.CSS_SELECTOR, "#main-events .ag-center-cols-container .ag-row [col-id='kind_text']").click()
    wait(d).until(lambda x: "No decision on this event yet." in x.find_element(By.ID, "main-event-decide").text)
    d.find_element(By.ID, "main-event-impact").click()  # Dash 4's dropdown: a button, then a list
    wait(d).until(lambda x: x.find_elements(By.XPATH, "//*[@role='option'][normalize-space()='very high']"))[0].click()
    d.find_element(By.ID, "main-event-reason").send_keys("armed group reported by the patrol")
    d.find_element(By.ID, "main-event-set-impact").click()
    wait(d).until(lambda x: "Impact set to very high by" in x.find_element(By.ID, "main-event-message").text)
    wait(d).until(lambda x: grid_column(x, "impact") == ["very high"])
    wait(d).until(lambda x: "armed group reported by the patrol" in x.find_element(By.ID, "main-event-history").text)
    assert d.find_element(By.ID, "main-event-reason").get_attribute("value") == ""
    screenshot(d, "main_event_decision")
    # very high now: the map's next update (a callback of its own, after the list's) makes it pulse
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .nsp-ev.nsp-pulse"))
    # closed: the list says so, and the map draws it faded (and no longer pulsing) at its next refresh
    d.find_element(By.ID, "main-event-reason").send_keys("group apprehended")
    d.find_element(By.ID, "main-event-close").click()
    wait(d).until(lambda x: grid_column(x, "status_text") == ["closed"])
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .nsp-ev.nsp-ev-closed"))
    assert not d.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .nsp-ev.nsp-pulse")


def test_a_replay_says_replay_with_its_time_hides_todays_alerts_and_writes_times_as_the_centre(
        logged_in, live_server, picture_db):
    """While showing yesterday the header said LIVE and the alert bar showed today, and the "as
    at" field was in the browser's US format with a 12-hour clock, in Latvian too."""
    d = logged_in
    with db.connect(picture_db, autocommit=True) as conn:
        insert_event(conn, code="LV-BY-01", impact="very_high", ref="replay-alert",
                     occurred_at=datetime.now(UTC) - timedelta(minutes=1))
    d.get(live_server + "/?window=24h")
    wait(d).until(lambda x: x.find_element(By.ID, "main-alert").is_displayed())  # live: the alert shows
    at = (datetime.now(UTC) - timedelta(days=1)).replace(hour=14, minute=5)
    for lang, word in (("en", "REPLAY"), ("lv", "ATKĀRTOJUMS")):
        d.get(f"{live_server}/?window=24h&at={at:%Y-%m-%dT%H:%M}&lang={lang}")
        wait(d).until(lambda x: word in x.find_element(By.ID, "main-status").text)
        assert f"{at:%Y-%m-%d} 14:05 UTC" in d.find_element(By.ID, "main-status").text
        assert "LIVE" not in d.find_element(By.ID, "main-status").text
        refreshed(d)  # a refresh leaves it so
        assert word in d.find_element(By.ID, "main-status").text
        assert not d.find_element(By.ID, "main-alert").is_displayed()
        field = d.find_element(By.ID, "main-at")
        assert field.get_attribute("type") == "text" and field.get_attribute("value") == f"{at:%Y-%m-%d} 14:05"
    screenshot(d, "main_replay")
    # a time typed day first, 24 h, is read as such
    field = d.find_element(By.ID, "main-at")
    field.clear()
    field.send_keys(f"{at:%d.%m.%Y} 16:30\n")
    wait(d, 8).until(lambda x: f"at={at:%Y-%m-%d}T16%3A30" in x.current_url or f"at={at:%Y-%m-%d}T16:30" in x.current_url)
    wait(d, 8).until(lambda x: f"{at:%Y-%m-%d} 16:30 UTC" in x.find_element(By.ID, "main-status").text)


# The commander's section lines sampled every 4 px along each path (screen coordinates), and the
# legend box: [points sampled, points under the box, the box's rect, whether it is open]
_LINES_UNDER_LEGEND = """
const box = document.querySelector('#main-map-wrap details.nsp-legend-box');
const b = box.getBoundingClientRect();
const paths = Array.from(document.querySelectorAll('.leaflet-overlay-pane path.nsp-sec-line'));
let n = 0; const under = [];
for (const p of paths) {
    const ctm = p.getScreenCTM(), len = p.getTotalLength();
    for (let s = 0; s <= len; s += 4) {
        const q = p.getPointAtLength(s), x = ctm.a * q.x + ctm.c * q.y + ctm.e, y = ctm.b * q.x + ctm.d * q.y + ctm.f;
        n++;
        if (x >= b.left - 2 && x <= b.right + 2 && y >= b.top - 2 && y <= b.bottom + 2) under.push([Math.round(x), Math.round(y)]);
    }
}
return [n, under.slice(0, 5), [Math.round(b.left), Math.round(b.top), Math.round(b.right), Math.round(b.bottom)], box.open];"""


def test_the_commanders_section_is_fitted_clear_of_the_legend(browser, live_server, picture_db, screen):
    """At 1920x1080 the open legend covered the western part of LV-BY-01, the commander's
    section: the fit now keeps the section clear of the box, open or folded, and again when
    the commander opens or folds it."""
    from tests.auth_helpers import login, make_user

    make_user(picture_db, "silene", "sector_commander", "correct horse battery staple", sections=["LV-BY-01"])
    browser.delete_all_cookies()
    login(browser, live_server, "silene", "correct horse battery staple")
    for width, height in ((1920, 1080), (1366, 768)):
        screen(width, height)
        browser.execute_script("localStorage.removeItem('nsp-legend-open')")  # the box as a first visit has it
        browser.get(live_server + "/")
        wait(browser, 30).until(lambda x: x.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane path.nsp-sec-line"))
        wait(browser, 10).until(lambda x: x.find_elements(By.CSS_SELECTOR, "details.nsp-legend-box[data-nsp-box]"))
        states = []
        for toggled in (False, True):  # as it starts (open on a tall map, folded on a short one), then the other
            if toggled:
                browser.find_element(By.CSS_SELECTOR, "details.nsp-legend-box summary").click()
            # the fit to the section has come (a loaded run read the national view, where the
            # section's line is some 100 px long), and its flight has ended
            wait(browser, 60).until(lambda x: x.execute_script(_LINES_UNDER_LEGEND)[0] > 50)
            n, under, rect, is_open = steady(browser, _LINES_UNDER_LEGEND, 0.5)
            screenshot(browser, f"commander_legend_{width}_{'open' if is_open else 'folded'}")
            assert n > 50 and under == [], (width, height, is_open, rect, under)
            states.append(is_open)
        assert sorted(states) == [False, True], (width, height, states)
