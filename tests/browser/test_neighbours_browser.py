"""The neighbour picture drawn in its own layer on the main page and the wall (real Chromium)."""

from __future__ import annotations

from geo import neighbours
from nsp import db
from tests.support.browser import wait

SHOWN = ("return Array.from(document.querySelectorAll('.leaflet-marker-pane .nsp-neighbour-icon'))"
         ".map(e => e.textContent)")


def test_a_partners_share_is_drawn_on_the_main_page_and_the_wall_marked_with_its_country(
        logged_in, live_server, picture_db):
    with db.connect(picture_db) as conn, conn.transaction():
        neighbours.add_neighbour(conn, "lt", "LTU", secret="x", actor="test")
        neighbours.load(conn, "lt", [
            {"type": "Feature", "id": f"e{i}", "geometry": {"type": "Point", "coordinates": [24.0 + i / 10, 56.5]},
             "properties": {"layer": "events", "category": "other", "impact": "high", "persons": i}}
            for i in range(3)], origin="test")
    d = logged_in
    for page in ("/", "/wall"):
        d.get(live_server + page)
        texts = wait(d).until(lambda x: (t := x.execute_script(SHOWN)) and len(t) == 3 and t)
        assert all("LTU" in t for t in texts), texts
    # a new push shows at the wall's next refresh, without a reload
    with db.connect(picture_db) as conn, conn.transaction():
        neighbours.add_neighbour(conn, "ee", "EST", secret="y", actor="test")
        neighbours.load(conn, "ee", [{"type": "Feature", "id": "x", "properties": {"layer": "events"},
                                      "geometry": {"type": "Point", "coordinates": [25.5, 57.6]}}], origin="test")
    texts = wait(d).until(lambda x: (t := x.execute_script(SHOWN)) and len(t) == 4 and t)
    assert sorted(t.strip("◇") for t in texts) == ["EST", "LTU", "LTU", "LTU"]


VISIBLE = ("return Array.from(document.querySelectorAll(arguments[0]))"
           ".filter(e => getComputedStyle(e).display !== 'none').length")
ICONS, AREAS = ".leaflet-marker-pane .nsp-neighbour-icon", ".leaflet-overlay-pane path.nsp-neighbour-area"


def test_the_layer_switch_hides_and_shows_the_neighbour_picture_and_remembers_it(
        logged_in, live_server, picture_db):
    from selenium.webdriver.common.by import By

    from tests.support.dashboard import layer_toggle

    with db.connect(picture_db) as conn, conn.transaction():
        neighbours.add_neighbour(conn, "lt", "LTU", secret="x", actor="test")
        neighbours.load(conn, "lt", [
            {"type": "Feature", "id": "e1", "geometry": {"type": "Point", "coordinates": [24.3, 56.4]},
             "properties": {"layer": "events", "category": "other", "impact": "high"}},
            {"type": "Feature", "id": "LT-LV-01", "properties": {"layer": "border_sections"},
             "geometry": {"type": "Polygon", "coordinates": [[[24.0, 56.2], [24.6, 56.2], [24.6, 56.35],
                                                              [24.0, 56.35], [24.0, 56.2]]]}}], origin="test")
    d = logged_in
    d.get(live_server + "/")
    count = lambda x, css: x.execute_script(VISIBLE, css)  # noqa: E731
    wait(d).until(lambda x: count(x, ICONS) == 1 and count(x, AREAS) == 1)
    legend = d.find_element(By.ID, "main-legend").get_attribute("textContent")
    assert "neighbour picture: a partner centre's shared reports" in legend
    toggle = layer_toggle(d, "Neighbour picture")
    assert toggle.is_selected()
    toggle.click()
    wait(d, 5).until(lambda x: count(x, ICONS) == 0 and count(x, AREAS) == 0)
    # the choice is kept in the browser, as the other layers' is
    d.refresh()
    wait(d).until(lambda x: x.find_elements(By.CSS_SELECTOR, ICONS))  # drawn, and hidden
    assert count(d, ICONS) == 0 and count(d, AREAS) == 0
    assert not layer_toggle(d, "Neighbour picture").is_selected()
    layer_toggle(d, "Neighbour picture").click()
    wait(d, 5).until(lambda x: count(x, ICONS) == 1 and count(x, AREAS) == 1)
    # the wall's legend says what the diamond and the dashed outline are
    d.get(live_server + "/wall")
    wait(d).until(lambda x: count(x, ICONS) == 1)
    wall_legend = d.find_element(By.ID, "wall-legend").get_attribute("textContent")
    assert "neighbour picture" in wall_legend and wall_legend.count("◇") == 1
