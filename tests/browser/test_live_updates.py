"""Live updates in a real headless Chromium: a new high-impact event on the wall and the main view, its alert, pulse and chime, and refreshes that bring nothing new."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from selenium.webdriver.common.by import By

from nsp import db
from tests.support.browser import refreshed, wait
from tests.support.chrome import full_motion, less_motion, screenshot
from tests.support.dashboard import SOUND_SPY, WATCH_MOTION, steady, wait_for_sections, wall_country_clear
from tests.support.seed import insert_event


def test_wall_shows_a_new_high_impact_event_within_one_refresh(logged_in, live_server, picture_db):
    d = logged_in
    d.get(live_server + "/wall")
    wait(d).until(lambda x: "LIVE" in x.find_element(By.ID, "wall-status").text)
    with db.connect(picture_db, autocommit=True) as conn:
        event_id = insert_event(conn, code="LV-RU-02", category="crisis_situation", impact="very_high",
                                persons=17, ref="wall-new", occurred_at=datetime.now(UTC) - timedelta(minutes=1))
    t0 = time.monotonic()
    interval = 2.0  # NSP_WEB_REFRESH_SECONDS in web_env
    wait(d, 3 * interval + 2).until(
        lambda x: x.find_elements(By.CSS_SELECTOR, f".wall-banner[data-event='{event_id}']"))
    took = time.monotonic() - t0
    banner = d.find_element(By.CSS_SELECTOR, f".wall-banner[data-event='{event_id}']").text
    assert "VERY HIGH" in banner and "LV-RU-02" in banner and "17 persons" in banner
    # the banners end before the side panel begins (they ran 13 px over it)
    banners_right, panel_left = d.execute_script(
        "return [document.querySelector('.wall-banners').getBoundingClientRect().right,"
        " document.querySelector('.wall-panel').getBoundingClientRect().left]")
    assert banners_right < panel_left, (banners_right, panel_left)
    # one refresh interval plus the request's own time
    assert took <= interval + 2.5, f"the banner took {took:.1f} s"
    # the map moved only to keep the country clear of the new banner; the next refreshes, with
    # the same banners, leave the view as it is
    wait(d, 5).until(wall_country_clear)
    view = steady(d, "return document.querySelector('.leaflet-map-pane').style.transform")
    refreshed(d, 2)
    assert d.execute_script("return document.querySelector('.leaflet-map-pane').style.transform") == view
    screenshot(d, "wall_new_event")
    # a report that came three days after the event is no news: the wall counts it as a late
    # report under the banners, and shows no banner for it (the seed's history, received at
    # its start, is counted there already)
    late_count = "return (document.querySelector('.wall-banner-late') || {textContent: '0'}).textContent"
    before = int(d.execute_script(late_count).split()[0])
    with db.connect(picture_db, autocommit=True) as conn:
        late = insert_event(conn, code="LV-BY-02", impact="high", persons=40, ref="wall-late",
                            subtype="group_crossing_attempt", occurred_at=datetime.now(UTC) - timedelta(days=3, hours=1))
    wait(d, 3 * interval + 2).until(lambda x: x.execute_script(late_count).startswith(f"{before + 1} late report"))
    assert not d.find_elements(By.CSS_SELECTOR, f".wall-banner[data-event='{late}']")
    # the subtype goes under the category: on one line with the time, a 1920 px wall showed
    # "Unauthorised b…"
    with db.connect(picture_db, autocommit=True) as conn:
        group = insert_event(conn, code="LV-BY-02", impact="very_high", persons=40, ref="wall-group",
                             subtype="group_crossing_attempt", occurred_at=datetime.now(UTC) - timedelta(minutes=2))
    wait(d, 3 * interval + 2).until(
        lambda x: x.find_elements(By.CSS_SELECTOR, f".wall-banner[data-event='{group}']"))
    screenshot(d, "wall_late_banner")
    # read at once: a refresh may draw the banners anew between two reads
    (kind, kind_whole, kind_box), (sub, sub_whole, sub_box) = d.execute_script(
        """const b = document.querySelector(`.wall-banner[data-event='${arguments[0]}']`);
        return ['.wall-banner-cat > span', '.wall-banner-sub'].map(c => { const e = b.querySelector(c);
            const r = e.getBoundingClientRect();
            return [e.textContent, e.scrollWidth <= e.clientWidth, [r.top, r.height]]; });""", group)
    assert (kind, sub) == ("Unauthorised border crossing", "group crossing attempt")
    assert kind_whole and sub_whole
    assert sub_box[0] >= kind_box[0] + kind_box[1] - 1  # under the category


def test_main_page_alerts_a_new_high_impact_event_until_acknowledged(logged_in, live_server, picture_db):
    d = logged_in
    d.get(live_server + "/?window=24h")
    wait_for_sections(d)
    alert = lambda x: x.find_element(By.ID, "main-alert")  # noqa: E731
    refreshed(d)  # the seed's own high-impact events may be shown
    if alert(d).is_displayed():
        d.find_element(By.ID, "main-alert-ack-button").click()
        wait(d, 6).until(lambda x: not alert(x).is_displayed())
    with db.connect(picture_db, autocommit=True) as conn:
        insert_event(conn, code="LV-RU-02", category="crisis_situation", impact="very_high",
                     persons=17, ref="main-alert", occurred_at=datetime.now(UTC) - timedelta(minutes=1))
    wait(d, 8).until(lambda x: alert(x).is_displayed())
    text = alert(d).text
    assert "very high" in text and "LV-RU-02" in text and "17 persons" in text, text
    assert alert(d).get_attribute("role") == "alert"
    screenshot(d, "main_alert")
    d.find_element(By.ID, "main-alert-ack-button").click()
    wait(d, 6).until(lambda x: not alert(x).is_displayed())
    refreshed(d)  # and it stays hidden over the next refresh
    assert not alert(d).is_displayed()


def test_a_very_high_event_stops_pulsing_for_a_user_who_asked_for_less_motion(logged_in, live_server, picture_db):
    d = logged_in
    with db.connect(picture_db, autocommit=True) as conn:
        insert_event(conn, code="LV-RU-02", impact="very_high", ref="less-motion",
                     occurred_at=datetime.now(UTC) - timedelta(minutes=5))
    full_motion(d)
    d.get(live_server + "/?window=24h")
    wait_for_sections(d)
    animations = "return Array.from(document.querySelectorAll('.leaflet-marker-pane .nsp-pulse svg'))" \
                 ".map(e => getComputedStyle(e).animationName)"
    wait(d).until(lambda x: x.execute_script(animations))
    assert set(d.execute_script(animations)) == {"nsp-pulse"}
    less_motion(d)
    assert set(d.execute_script(animations)) == {"none"}
    # and the map jumps: a zoom without Leaflet's zoom animation, a flight to an event without
    # its frames. The same two moves with motion, first, show that the watch sees motion.
    rows = "#main-events .ag-center-cols-container .ag-row[row-index='{}'] [col-id='kind_text']"
    full_motion(d)
    seen = {}
    for less, zoom_button, row in ((False, "in", 0), (True, "out", 1)):
        if less:
            less_motion(d)
        d.execute_script(WATCH_MOTION)
        d.find_element(By.CSS_SELECTOR, f".leaflet-control-zoom-{zoom_button}").click()
        time.sleep(1)
        zoom_animated = d.execute_script("return window.nspMotion")[0]
        d.execute_script(WATCH_MOTION)
        d.find_element(By.CSS_SELECTOR, rows.format(row)).click()
        time.sleep(2)
        seen[less] = (zoom_animated, d.execute_script("return window.nspMotion")[1])
    assert seen[False][0] and seen[False][1] > 10, seen
    assert not seen[True][0] and seen[True][1] <= 5, seen


def test_a_new_high_impact_alert_chimes_once_where_sound_is_on(logged_in, live_server, picture_db):
    d = logged_in
    d.get(live_server + "/?window=24h")
    wait_for_sections(d)
    d.execute_script(SOUND_SPY)
    tones = lambda: d.execute_script("return window.nspTones")  # noqa: E731
    alert_says = lambda words: lambda x: words in x.find_element(By.ID, "main-alert").text  # noqa: E731

    def arrives(impact, persons, says=None):
        with db.connect(picture_db, autocommit=True) as conn:
            insert_event(conn, code="LV-RU-02", impact=impact, persons=persons, ref=f"chime-{persons}",
                         occurred_at=datetime.now(UTC) - timedelta(minutes=1))
        wait(d, 8).until(alert_says(says or f"{persons} persons"))

    # the box unticked: an alert, and no sound (nor for the seed's alerts, on the bar at the start)
    arrives("very_high", 21)
    refreshed(d)
    assert tones() == []
    d.find_element(By.CSS_SELECTOR, "#main-sound input").click()
    # a high one after it: the bar keeps the very high on top, and the chime is the high one's
    arrives("high", 22, says="(+ 1 more)")
    wait(d, 3).until(lambda x: tones() == [660, 880])  # high: two tones
    arrives("very_high", 23)
    wait(d, 3).until(lambda x: tones() == [660, 880, 660, 880, 1175])  # very high: three, rising
    refreshed(d, 2)  # the same alert over two more refreshes makes no more sound
    assert len(tones()) == 5
    # the box stays ticked in this browser, and a page opened anew makes no sound for what it shows
    d.refresh()
    wait_for_sections(d)
    d.execute_script(SOUND_SPY)
    assert d.find_element(By.CSS_SELECTOR, "#main-sound input").is_selected()
    refreshed(d, 2)
    assert tones() == []


def test_a_wall_with_sound_chimes_for_each_new_banner(logged_in, live_server, picture_db):
    d = logged_in
    for sound in ("0", "1"):
        d.get(f"{live_server}/wall?sound={sound}")
        wait(d).until(lambda x: "LIVE" in x.find_element(By.ID, "wall-status").text)
        d.execute_script(SOUND_SPY)
        with db.connect(picture_db, autocommit=True) as conn:
            new = insert_event(conn, code="LV-RU-02", impact="high", ref=f"wall-chime-{sound}",
                               occurred_at=datetime.now(UTC) - timedelta(minutes=1))
        wait(d, 8).until(lambda x: x.find_elements(By.CSS_SELECTOR, f".wall-banner[data-event='{new}']"))
        refreshed(d)
        # with sound, the new banner's two tones, and none for the banners it opened with
        assert d.execute_script("return window.nspTones") == ([660, 880] if sound == "1" else []), sound


@pytest.mark.parametrize("page", ["/wall", "/?window=24h"])
def test_layers_are_left_alone_when_a_refresh_brings_nothing_new(logged_in, live_server, picture_db, page):
    """Leaflet rebuilds a layer given the same data again (every marker replaced, the labels
    placed again, a hovered marker's tooltip gone): on an unattended wall, and on the main
    view, every refresh. The same marker nodes stay now, and a new event still arrives within
    a refresh."""
    d = logged_in
    d.get(live_server + page)
    wait_for_sections(d)
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, ".leaflet-marker-pane .nsp-ev, .leaflet-marker-pane .nsp-cluster"))
    refreshed(d)
    n = d.execute_script("""const ms = document.querySelectorAll('.leaflet-marker-pane .nsp-ev, .leaflet-marker-pane .nsp-cluster');
        window.__nsp_marks = Array.from(ms); return ms.length""")
    # the sections' lines and areas (vessels are not among them: their "minutes ago" changes
    # every minute, so that layer is sent again once a minute, as it should be)
    lines = d.execute_script("""window.__nsp_lines = Array.from(document.querySelectorAll(
        '.leaflet-overlay-pane path.nsp-sec-line, .leaflet-overlay-pane path.nsp-sec-area'));
        return window.__nsp_lines.length""")
    assert n > 0 and lines > 5
    refreshed(d, 2)
    assert d.execute_script("return window.__nsp_marks.filter(m => m.isConnected).length") == n
    assert d.execute_script("return window.__nsp_lines.filter(m => m.isConnected).length") == lines  # sections too
    with db.connect(picture_db, autocommit=True) as conn:
        insert_event(conn, code="LV-RU-01", category="crisis_situation", impact="very_high", ref="wall-new")
    wait(d, 10).until(lambda x: x.execute_script(
        "return window.__nsp_marks.filter(m => m.isConnected).length") < n)  # that layer was rebuilt
