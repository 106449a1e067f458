"""The main view's map in a real headless Chromium: sections, layers, crossing points, deep links, zoom, labels, popups, own units."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from nsp import db
from tests.support.browser import ZOOM_SCALE, refreshed, stale, wait, zoom_in
from tests.support.chrome import kiosk, screenshot, window
from tests.support.dashboard import (
    ALFA_1_FROM_CENTRE,
    LEVEL_RGB,
    SHOWN_LABELS,
    asset_label_hidden,
    asset_label_side,
    callback_requests,
    click_at_centre,
    event_markers,
    external_requests,
    label_overlaps,
    layer_toggle,
    wait_for_sections,
    zoom_inputs,
)
from tests.support.seed import insert_event


def test_main_page_loads_coloured_sections_and_no_external_url(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/")
    strokes = wait_for_sections(d)
    # every level present in the test data is drawn in its colour; internal border grey
    assert {LEVEL_RGB["medium"], LEVEL_RGB["high"], LEVEL_RGB["critical"], LEVEL_RGB["low"]} <= strokes
    assert "#6b7280" in strokes
    wait(d).until(lambda x: event_markers(x, "nsp-ev") + event_markers(x, "nsp-cluster") > 0)
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#main-section-table .nsp-table"))
    # own units with their last report, beside the map
    wait(d).until(lambda x: "LUDZA-12" in x.find_element(By.ID, "main-units").text)
    assert "Krāslava" in d.find_element(By.ID, "main-section-table").text
    assert "Made with Natural Earth" in d.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution").text
    # where the offline basemap's data ends, the map is grey, not sea
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "path.nsp-outside"))
    legend = d.find_element(By.ID, "main-legend").text
    for word in ("critical impact level", "internal border", "Unauthorised border crossing", "patrol track"):
        assert word in legend
    refreshed(d)  # what a refresh loads is in, too
    screenshot(d, "main")
    assert external_requests(d) == []
    foreign = d.execute_script(
        "return Array.from(document.querySelectorAll('script[src],link[href],img[src],iframe[src]'))"
        ".map(e => e.src || e.href).filter(u => !u.startsWith(location.origin) && !u.startsWith('data:'))")
    assert foreign == []


def test_the_header_leads_to_the_export_and_back(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/")
    wait(d).until(lambda x: x.find_elements(By.LINK_TEXT, "Export week"))
    assert d.find_element(By.LINK_TEXT, "Log out").get_attribute("href").endswith("/logout")
    d.find_element(By.LINK_TEXT, "Export week").click()
    wait(d).until(lambda x: x.find_elements(By.ID, "export-run"))
    assert d.current_url.endswith("/export")
    d.find_element(By.LINK_TEXT, "Map").click()
    wait_for_sections(d)


def test_layer_toggles_hide_and_show_a_category(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/")
    wait_for_sections(d)
    crime = "nsp-ev-cross_border_crime, .leaflet-marker-pane .nsp-cluster-cross_border_crime"
    wait(d).until(lambda x: event_markers(x, crime) > 0)
    ubc_before = event_markers(d, "nsp-ev-unauthorised_border_crossing, .leaflet-marker-pane .nsp-cluster-unauthorised_border_crossing")
    layer_toggle(d, "Cross-border crime").click()
    wait(d).until(lambda x: event_markers(x, crime) == 0)
    # and it stays off over the next refreshes: new data used to bring the layer back
    refreshed(d, 2)
    assert event_markers(d, crime) == 0
    assert not layer_toggle(d, "Cross-border crime").is_selected()
    # the other categories stay
    assert ubc_before > 0
    assert event_markers(d, "nsp-ev-unauthorised_border_crossing, .leaflet-marker-pane .nsp-cluster-unauthorised_border_crossing") == ubc_before
    # the switch's title counts what is off, and still does with the switch folded away and
    # after a reload (the fold and the layers are both kept in the browser)
    title = lambda x: x.find_element(By.CSS_SELECTOR, "details.nsp-layer-box summary").text  # noqa: E731
    assert title(d).endswith("· 1 off"), title(d)
    d.find_element(By.CSS_SELECTOR, "details.nsp-layer-box summary").click()
    assert not d.find_element(By.ID, "main-layers").is_displayed()
    d.refresh()
    wait_for_sections(d)
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "details.nsp-layer-box[data-nsp-box]"))
    assert not d.find_element(By.ID, "main-layers").is_displayed() and title(d).endswith("· 1 off"), title(d)
    assert event_markers(d, crime) == 0
    layer_toggle(d, "Cross-border crime").click()
    wait(d).until(lambda x: event_markers(x, crime) > 0)
    assert title(d).upper() == "LAYERS", title(d)
    # operational layers: the own asset with its call sign and report age (whose text may be
    # hidden at this zoom where it would overlap an event: asset_shown looks at the symbol)
    asset_shown = "return Array.from(document.querySelectorAll('.leaflet-marker-pane .nsp-asset-icon'))" \
                  ".some(e => e.textContent.includes('LUDZA-12') && getComputedStyle(e).display !== 'none')"
    wait(d).until(lambda x: x.execute_script(asset_shown))
    layer_toggle(d, "Own assets").click()
    wait(d).until(lambda x: not x.execute_script(asset_shown))
    refreshed(d, 2)
    assert not d.execute_script(asset_shown)


def test_border_crossing_points_are_drawn_with_their_kind_and_can_be_switched_off(logged_in, live_server):
    """The domain notes' ten crossing points (road, rail, air, sea): a gate symbol, the name as a
    label, a tooltip that says when the position is approximate."""
    d = logged_in
    d.get(live_server + "/")
    wait_for_sections(d)
    shown = ("return Array.from(document.querySelectorAll('.leaflet-marker-pane .nsp-bcp'))"
             ".filter(e => getComputedStyle(e).display !== 'none').map(e => e.getAttribute('title'))")
    titles = wait(d, 60).until(lambda x: (t := x.execute_script(shown)) and len(t) == 10 and t)
    assert "border crossing point Terehova: road (position approximate)" in titles
    assert "border crossing point Riga airport: air" in titles  # Natural Earth's: not approximate
    layer_toggle(d, "Crossing points").click()
    wait(d).until(lambda x: x.execute_script(shown) == [])
    layer_toggle(d, "Crossing points").click()
    wait(d).until(lambda x: len(x.execute_script(shown)) == 10)
    d.get(live_server + "/?lang=lv")
    wait_for_sections(d)
    titles = wait(d, 60).until(lambda x: (t := x.execute_script(shown)) and len(t) == 10 and t)
    assert "robežšķērsošanas vieta Silene: autoceļa (novietojums aptuvens)" in titles
    d.get(live_server + "/?lang=en")


def test_deep_link_reproduces_the_view_and_the_url_follows_changes(logged_in, live_server, picture_db):
    d = logged_in
    with db.connect(picture_db, autocommit=True) as conn:  # one for the 6 h download below, at least
        insert_event(conn, code="LV-BY-02", ref="dl-1", occurred_at=datetime.now(UTC) - timedelta(hours=1))
        expected = conn.execute(
            """SELECT count(*) AS n FROM event WHERE section_code = 'LV-BY-02' AND parent_id IS NULL
                 AND category = 'unauthorised_border_crossing' AND occurred_at > now() - interval '6 hours'"""
        ).fetchone()["n"]
    d.get(live_server + "/?sections=LV-BY-02&window=7d&category=unauthorised_border_crossing")
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#main-section-table .nsp-table"))
    table = d.find_element(By.ID, "main-section-table").text
    assert "LV-BY-02" in table and "LV-BY-01" not in table and "LV-RU-01" not in table
    # Dash may still be rendering the filter bar's controls when the table is in: wait for them
    wait(d).until(lambda x: "LV-BY-02" in x.find_element(By.ID, "main-sections").text)
    wait(d).until(lambda x: x.find_element(By.CSS_SELECTOR, "#main-window input[value='7d']").is_selected())
    # only the chosen category is on the map, and the map zoomed to the section
    wait(d).until(lambda x: event_markers(x, "nsp-ev-unauthorised_border_crossing, .leaflet-marker-pane .nsp-cluster") > 0)
    assert event_markers(d, "nsp-ev-cross_border_crime") == 0
    # Leaflet's zoom proxy is scaled by 2^zoom: the national view is about zoom 7, one section >= 9
    wait(d).until(lambda x: x.execute_script(ZOOM_SCALE) >= 2 ** 9)
    # a changed filter goes into the URL without reloading the page
    d.execute_script("window.__nsp_marker = 1")
    d.find_element(By.XPATH, "//div[@id='main-window']//label[.//input[@value='6h']]").click()
    wait(d).until(lambda x: "window=6h" in x.current_url)
    assert "sections=LV-BY-02" in d.current_url and "category=unauthorised_border_crossing" in d.current_url
    assert d.execute_script("return window.__nsp_marker") == 1
    screenshot(d, "main_deeplink")
    # the downloads carry the same filter, and give this browser's session the filter's events
    link = d.find_element(By.ID, "main-download-csv")
    wait(d).until(lambda x: "window=6h" in link.get_attribute("href"))
    assert link.get_attribute("href").endswith("/export/events.csv" + d.current_url[d.current_url.index("?"):])
    status, kind, text = d.execute_script(
        "return fetch(arguments[0]).then(r => r.text().then(t => [r.status, r.headers.get('content-type'), t]))",
        link.get_attribute("href"))
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert status == 200 and kind.startswith("text/csv") and len(rows) == expected >= 1
    assert {(r["section_code"], r["category"]) for r in rows} == {("LV-BY-02", "unauthorised_border_crossing")}


def test_zooming_in_tells_the_server_and_the_map_shows_only_the_view(logged_in, live_server):
    # dash-leaflet's own viewport tracking threw on every move of a map opened with bounds
    # (emilhe/dash-leaflet#254): the server never heard of a zoom and kept the national view.
    d = logged_in
    d.get(live_server + "/?window=7d")
    wait_for_sections(d)
    note = lambda x: x.find_element(By.ID, "main-map-note").text  # noqa: E731
    wait(d).until(lambda x: note(x).split(" ")[0].replace(",", "").isdigit() and not note(x).startswith("0 "))
    d.get_log("browser")
    d.get_log("performance")
    # [codes shown, names shown] of the section labels, read at one moment (a refresh redraws them)
    shown = "return ['code', 'name'].map(k => Array.from(document.querySelectorAll(" \
            "'.nsp-section-label .nsp-label-' + k)).filter(e => getComputedStyle(e).display !== 'none').length)"
    # at the national zoom the section labels are codes only (36 full names overlap)
    codes, names = d.execute_script(shown)
    assert codes > 0 and names == 0
    sent = []
    # Zoom in on the middle of the country, where no test section lies (tests/support/seed.py).
    while d.execute_script(ZOOM_SCALE) < 2 ** 11:
        zoom_in(d)
        sent += zoom_inputs(d)
    wait(d).until(lambda x: note(x).startswith("0 events"))
    sent += zoom_inputs(d)
    # (refreshes before the first zoom-in send no zoom: the map has not moved yet)
    assert max((z for z in sent if z is not None), default=0) >= 11, sent
    codes, names = d.execute_script(shown)
    assert names == codes > 0
    # a pan at this zoom asks for the new view at once, not at the next refresh
    d.get_log("performance")
    ActionChains(d).move_to_element(d.find_element(By.CSS_SELECTOR, ".leaflet-container")) \
        .click_and_hold().move_by_offset(250, -150).release().perform()
    # (the time is generous for a loaded machine: a refresh, every 2 s here, never names the
    # bounds; a pan while a refresh is on its way may go out with it, naming both)
    wait(d, 20).until(lambda x: any("main-map.bounds" in b.get("changedPropIds", [])
                                   and any(o.get("id") == "main-map-note" for o in b.get("outputs", []))
                                   for b in callback_requests(x)))
    assert not [e for e in d.get_log("browser") if e["level"] == "SEVERE"]


def test_map_labels_never_overlap_and_a_hidden_one_returns_when_zoomed_in(logged_in, live_server, picture_db):
    # Section codes, own assets' call signs and place names were drawn wherever their anchor
    # was, so in the busy south-east they covered one another and the events.
    now = datetime.now(UTC)
    with db.connect(picture_db, autocommit=True) as conn:
        conn.execute("INSERT INTO tracked_object (object_id, kind, name, callsign) VALUES "
                     "('ALFA-1', 'own', 'Alfa 1', 'ALFA-1'), ('ALFA-2', 'own', 'Alfa 2', 'ALFA-2'), "
                     "('ALFA-3', 'own', 'Alfa 3', 'ALFA-3')")
        # 1 km apart, in the middle of the country (no test section, no event): one place at
        # the national zoom, apart from zoom 10
        for unit, minutes, lat in (("ALFA-1", 5, 56.80), ("ALFA-2", 40, 56.82), ("ALFA-3", 60, 56.81)):
            conn.execute("INSERT INTO asset_position (source, object_id, kind, observed_at, geom) "
                         "VALUES ('test', %s, 'own', %s, ST_SetSRID(ST_MakePoint(25.6, %s), 4326))",
                         (unit, now - timedelta(minutes=minutes), lat))
    d = logged_in
    d.get(live_server + "/")
    wait_for_sections(d)
    # the freshest report keeps its label right of its symbol, the next takes the left side, the
    # oldest one's waits for room
    labels = lambda x: [(asset_label_hidden(x, u), asset_label_side(x, u)) for u in ("ALFA-1", "ALFA-2", "ALFA-3")]  # noqa: E731
    try:
        wait(d).until(lambda x: (now := labels(x))[:2] == [(False, "right"), (False, "left")] and now[2][0] is True)
    except TimeoutException:
        pytest.fail(f"ALFA-1..3's labels (hidden, side): {labels(d)}")
    screenshot(d, "main_labels_both_sides")
    wait(d, 5).until(lambda x: not label_overlaps(x))
    # the place names come with their own layer, which a loaded machine may draw last
    kinds = lambda x: {k for k, *_rest in x.execute_script(SHOWN_LABELS)}  # noqa: E731
    try:
        wait(d, 10).until(lambda x: {"section", "asset", "place"} <= kinds(x))
    except TimeoutException:
        pytest.fail(f"labels shown: {d.execute_script(SHOWN_LABELS)}")
    assert not label_overlaps(d)
    assert int(d.find_element(By.CSS_SELECTOR, ".leaflet-container").get_attribute("data-nsp-labels-hidden")) >= 1
    # zoom in just south of the three (ALFA-1 is the southernmost; their labels lie left and right
    # of them), a level at a time (a double click zooms on that point; on a marker it would not)
    container = d.find_element(By.CSS_SELECTOR, ".leaflet-container")
    for _attempt in range(10):  # a busy browser may take a double click for two clicks: again
        if (scale := d.execute_script(ZOOM_SCALE)) >= 2 ** 10:
            break
        dx, dy = d.execute_script(ALFA_1_FROM_CENTRE)
        ActionChains(d).move_to_element_with_offset(container, int(dx), int(dy) + 30).double_click().perform()
        try:
            wait(d, 5).until(lambda x: x.execute_script(ZOOM_SCALE) >= 2 * scale)
        except TimeoutException:
            continue
        time.sleep(0.4)  # the end of the zoom animation
    assert d.execute_script(ZOOM_SCALE) >= 2 ** 10
    dx, dy = d.execute_script(ALFA_1_FROM_CENTRE)
    assert abs(dx) < container.size["width"] / 2 - 100 and abs(dy) < container.size["height"] / 2 - 40, (dx, dy)
    wait(d).until(lambda x: [h for h, _side in labels(x)] == [False, False, False])
    wait(d, 5).until(lambda x: not label_overlaps(x))
    screenshot(d, "main_labels_zoomed")
    # the wall, in desktop windows of 1080p and 720p and full screen at 720p and 1080p (a
    # wall's kiosk browser: the page is the whole screen)
    for size, width, height in ((window, 1920, 1080), (window, 1280, 720), (kiosk, 1280, 720), (kiosk, 1920, 1080)):
        size(d, width, height)
        d.get(live_server + "/wall")
        wait_for_sections(d)
        wait(d).until(lambda x: asset_label_hidden(x, "ALFA-1") is False,
                      f"ALFA-1's call sign hidden on the wall at {width}x{height} ({size.__name__})")
        wait(d, 5).until(lambda x: not label_overlaps(x))
    screenshot(d, "wall_labels_small")


def test_a_section_label_moved_off_its_line_is_tied_to_it_by_a_leader(logged_in, live_server):
    # Labels move up to 44 px off their line to clear the markers; at the far spots, in the
    # busy south-east, a code could read as the neighbouring line's.
    d = logged_in
    d.get(live_server + "/")
    wait_for_sections(d)
    # a label on its line (spot 0: centred on its point), away from the map's edges
    wait(d).until(lambda x: x.execute_script("""const m = document.querySelector('.leaflet-container').getBoundingClientRect();
        window.__nsp_label = [...document.querySelectorAll('.nsp-section-label')].find(e => {
            const r = e.getBoundingClientRect();
            return e.dataset.nspSpot === '0' && !e.classList.contains('nsp-label-off') && r.left > m.left + 150
                && r.right < m.right - 300 && r.top > m.top + 80 && r.bottom < m.bottom - 80; });
        return !!window.__nsp_label"""))
    label = "window.__nsp_label"
    # cover the label's place on its line and the near spots around it with the layer switch
    # (the placement keeps clear of what lies over the map), then let it place again
    px, py = d.execute_script(f"""const r = {label}.getBoundingClientRect();
        const box = document.querySelector('details.nsp-layer-box'), wrap = box.parentElement.getBoundingClientRect();
        box.open = false;
        Object.assign(box.style, {{left: (r.left - wrap.left - 22) + 'px', top: (r.top - wrap.top - 18) + 'px',
            right: 'auto', width: (r.width + 44) + 'px', height: (r.height + 36) + 'px', boxSizing: 'border-box'}});
        box.parentElement.classList.add('nsp-test-moved');
        return [r.left + r.width / 2, r.top + r.height / 2];""")
    wait(d, 5).until(lambda x: int(x.execute_script(f"return {label}.dataset.nspSpot")) >= 5)
    time.sleep(0.3)
    # a leader from the label's point on the line to the label's box
    lead, box = d.execute_script(f"""const e = {label};
        const l = e._nspLeader;  // its own (others may have one too)
        const r = l.getBoundingClientRect(), b = e.getBoundingClientRect();
        return [[r.left, r.top, r.right, r.bottom], [b.left, b.top, b.right, b.bottom]];""")
    # the leader starts at the label's point; px, py is the centre of the label's box when it sat
    # on that point (spot 0), which the text's glyphs (the level's bars) may shift by a few pixels
    near = lambda v, lo, hi: lo - 4 <= v <= hi + 4  # noqa: E731
    assert near(px, lead[0], lead[2]) and near(py, lead[1], lead[3]), (px, py, lead)  # starts on the line
    assert lead[0] <= box[2] + 2 and lead[2] >= box[0] - 2 and lead[1] <= box[3] + 2 and lead[3] >= box[1] - 2, \
        (lead, box)  # and reaches the label
    assert max(lead[2] - lead[0], lead[3] - lead[1]) >= 20, lead  # a real length: the label moved away
    # the lines switched off: the leader goes with the label
    layer_toggle(d, "Border sections").click()
    wait(d, 5).until(lambda x: not x.execute_script(
        "return [...document.querySelectorAll('.nsp-leader')].some(l => l.getBoundingClientRect().width > 0)"))


def test_an_events_popup_shows_its_report_and_follow_ups_and_outlives_the_refreshes(logged_in, live_server,
                                                                                    picture_db):
    """The popup's layer is replaced on every refresh (2 s here) and, from zoom 9, on the pan the
    popup makes to fit: it used to vanish within a second. The user's close is kept."""
    d = logged_in
    now = datetime.now(UTC)
    with db.connect(picture_db, autocommit=True) as conn:
        first = insert_event(conn, code="LV-BY-01", impact="very_high", source="popup-test", ref="p-1",
                             occurred_at=now - timedelta(hours=3), subtype="group_crossing_attempt")
        follow = insert_event(conn, code="LV-BY-01", impact="very_high", source="popup-test", ref="p-2",
                              occurred_at=now - timedelta(hours=1))
        conn.execute("UPDATE event SET description = 'Group of 3 persons stopped at the fence' WHERE id = %s",
                     (first,))
        conn.execute("UPDATE event SET parent_id = %s, description = 'All 3 returned' WHERE id = %s",
                     (first, follow))
        patrol = conn.execute(
            """INSERT INTO patrol (source, source_ref, unit, mode, started_at, ended_at, track)
               VALUES ('popup-test', 'pt-1', 'SILENE-P7', 'foot', now() - interval '4 hours', now() - interval '2 hours',
                       ST_Multi(ST_GeomFromText('LINESTRING(27.0 55.85, 27.05 55.86)', 4326)))
               RETURNING id""").fetchone()["id"]
        conn.execute("INSERT INTO patrol_event (patrol_id, event_id) VALUES (%s, %s)", (patrol, first))
    d.get(live_server + "/?sections=LV-BY-01&window=24h&source=popup-test")
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#main-section-table .nsp-table"))
    # the section's fit, clear of the legend, may stop at zoom 8 on this window: the user zooms in
    wait(d).until(lambda x: x.execute_script(ZOOM_SCALE) >= 2 ** 8)
    if d.execute_script(ZOOM_SCALE) < 2 ** 9:
        zoom_in(d)
    marker = wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .nsp-ev"))
    assert len(marker) == 1  # the follow-up is not drawn
    popup_text = "return Array.from(document.querySelectorAll('.leaflet-popup')).map(p => p.innerText).join('|')"
    wait(d).until(lambda x: (click_at_centre(x, x.find_element(By.CSS_SELECTOR, ".leaflet-marker-pane .nsp-ev"))
                             or True) and "follow-up reports: 1" in x.execute_script(popup_text))
    text = d.execute_script(popup_text)
    assert "Group of 3 persons stopped at the fence" in text and "All 3 returned" in text
    assert "group crossing attempt" in text and "group_crossing_attempt" not in text  # the subtype in words
    assert "observed by patrol\tSILENE-P7 (foot)" in text  # Art 24(2): the patrol that saw it
    refreshed(d, 2)  # two refreshes of the layers
    wait(d, 3).until(lambda x: x.execute_script(popup_text) == text)
    screenshot(d, "main_event_popup")
    # the close button is not under a box over the map: a click there reaches it
    on_top = """const b = document.querySelector('.leaflet-popup-close-button').getBoundingClientRect();
                const x = b.x + b.width / 2, y = b.y + b.height / 2, top = document.elementFromPoint(x, y);
                return top && top.closest('.leaflet-popup-close-button') ? [x, y] : null"""
    x, y = wait(d).until(lambda drv: drv.execute_script(on_top), "the popup's close button is covered")
    # pressed, then a refresh replaces the popup (its button with it), then released: still closed
    old_button = d.find_element(By.CSS_SELECTOR, ".leaflet-popup-close-button")
    d.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x, "y": y, "button": "left", "clickCount": 1})
    with db.connect(picture_db, autocommit=True) as conn:  # new data: the layer is drawn anew
        conn.execute("UPDATE event SET description = 'All 3 returned to Belarus' WHERE id = %s", (follow,))
    refreshed(d)
    wait(d).until(lambda drv: stale(old_button) and drv.execute_script(on_top)
                  and "All 3 returned to Belarus" in drv.execute_script(popup_text), "the refresh did not replace the popup")
    d.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x, "y": y, "button": "left", "clickCount": 1})
    wait(d).until(lambda drv: drv.execute_script(popup_text) == "")
    refreshed(d, 2)
    assert d.execute_script(popup_text) == ""  # closed by the user: not opened again


def test_own_units_are_framed_apart_from_events_on_the_map_and_in_the_legend(logged_in, live_server):
    """Own units and border-crossing events were both triangles: an own unit is the friendly
    frame (a 3:2 rectangle with a cross) the legend shows, and no event marker is one."""
    from geo.symbology import OWN_UNIT_STYLE

    d = logged_in
    d.get(live_server + "/?window=24h")
    units = wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, ".nsp-asset .nsp-asset-sym svg.nsp-unit-frame"))
    shapes = d.execute_script("""return Array.from(arguments[0]).map(s => {
        const r = s.getBoundingClientRect(), rect = s.querySelector('rect');
        return [r.width / r.height, rect.getAttribute('fill'), s.querySelectorAll('polygon, circle').length,
                s.closest('.nsp-asset').textContent.includes('\u25B2')]; })""", units)
    assert all(abs(ratio - 1.5) < 0.05 and polygons == 0 and not glyph for ratio, _f, polygons, glyph in shapes), shapes
    assert {fill for _r, fill, _p, _g in shapes} <= {OWN_UNIT_STYLE["fill"], OWN_UNIT_STYLE["silentFill"]}
    legend = d.find_element(By.CSS_SELECTOR, "#main-legend .nsp-legend-asset svg.nsp-unit-frame")
    assert legend.find_element(By.TAG_NAME, "rect").get_attribute("fill") == OWN_UNIT_STYLE["fill"]
    # no event marker is drawn in the frame
    assert not d.find_elements(By.CSS_SELECTOR, ".leaflet-marker-icon:not(.nsp-asset-icon) svg.nsp-unit-frame")
    screenshot(d, "own_units_framed")


def test_the_map_writes_an_assets_age_as_the_units_table_does(logged_in, live_server):
    """The map's own formatter wrote "2 h 0 min" where the table beside it says "2 h"."""
    from nsp.durations import duration_text

    d = logged_in
    d.get(live_server + "/")
    wait(d).until(lambda x: x.execute_script("return !!(window.nsp && window.nsp.map)"))
    for minutes in (1, 59, 60, 61, 120, 998, 1439, 2880, 2941, 4320, 4400):
        assert d.execute_script("return window.nsp.map.ageText(arguments[0])", minutes) == \
            duration_text(timedelta(minutes=minutes)), minutes
    assert d.execute_script("return window.nsp.map.ageText(0)") == "0 min"  # as the table: a report this minute


def test_the_category_menu_opens_above_the_maps_layers_box(logged_in, live_server, screen):
    """At 1920×1080 the category filter's menu opened under the map's Layers box, and a click
    on an option hit the box: every option of the open menu is on top where it is drawn."""
    d = logged_in
    screen(1920, 1080)
    d.get(live_server + "/?window=24h")
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, "details.nsp-layer-box")
                  and x.find_elements(By.ID, "main-category"))
    d.find_element(By.ID, "main-category").click()
    options = wait(d, 5).until(lambda x: [o for o in x.find_elements(By.CSS_SELECTOR, ".dash-dropdown-content [role='option']")
                                         if o.is_displayed()])
    hidden = d.execute_script("""const box = document.querySelector('details.nsp-layer-box').getBoundingClientRect();
        return arguments[0].map(o => { const r = o.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2, hit = document.elementFromPoint(x, y);
            return [o.textContent, x >= box.left && x <= box.right && y >= box.top && y <= box.bottom,
                    !!hit && (o === hit || o.contains(hit))]; })""", options)
    assert any(over for _t, over, _on_top in hidden), hidden  # the menu does reach over the box
    assert all(on_top for _t, _over, on_top in hidden), [h for h in hidden if not h[2]]
    # a click on the option that lies over the box chooses it
    options[next(i for i, h in enumerate(hidden) if h[1])].click()
    wait(d, 5).until(lambda x: "category=" in x.current_url)
