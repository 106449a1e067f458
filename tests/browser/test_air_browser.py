"""The air layer in a real headless Chromium: aircraft (SBS-1 lines from the real BaseStation
examples) and a UAV (Remote ID lines of the real Sky Spy capture's shape) loaded through the
real parsers, drawn on the main map and the wall with altitude labels, short trails, the UAV
in its own shape family and its operator tied to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.by import By

from ingest.loading.pipeline import ingest_file
from tests.support.browser import wait
from tests.support.captures import SBS_EXAMPLES as EXAMPLES
from tests.support.chrome import screenshot, window
from tests.support.tracks import remoteid_track

# the marks on the map: [kind, label text, circles and polygons of the symbol], shown ones only
MARKS = """return Array.from(document.querySelectorAll('.leaflet-marker-pane .nsp-air-mark'))
    .filter(e => getComputedStyle(e.closest('.leaflet-marker-icon')).display !== 'none')
    .map(e => [e.className.replace('nsp-air-mark nsp-air-', ''), e.textContent,
               e.querySelectorAll('svg circle').length, e.querySelectorAll('svg polygon').length]);"""
TRAILS = """return Array.from(document.querySelectorAll('.leaflet-overlay-pane path.nsp-air-trail'))
    .filter(e => getComputedStyle(e).display !== 'none').map(e => e.getAttribute('class'));"""


def sbs_lines(path, hex_: str, callsign: str, points, altitude: int, start: datetime):
    """The real examples' MSG,1 and MSG,3 lines moved to this aircraft, place and time."""
    lines = EXAMPLES.read_text().splitlines()
    pos = next(x for x in lines if x.startswith("MSG,3,")).split(",")
    ident = next(x for x in lines if x.startswith("MSG,1,")).split(",")
    day = start.strftime("%Y/%m/%d")
    out = []
    f = list(ident)
    f[4], f[6], f[7], f[8], f[9], f[10] = hex_, day, start.strftime("%H:%M:%S.000"), day, start.strftime("%H:%M:%S.000"), callsign
    out.append(",".join(f))
    for i, (lon, lat) in enumerate(points):
        t = start + timedelta(seconds=30 * i)
        f = list(pos)
        f[4], f[6], f[7], f[8], f[9] = hex_, t.strftime("%Y/%m/%d"), t.strftime("%H:%M:%S.000"), t.strftime("%Y/%m/%d"), t.strftime("%H:%M:%S.000")
        f[11], f[14], f[15] = str(altitude), str(lat), str(lon)
        out.append(",".join(f))
    path.write_text("\n".join(out) + "\n")
    return path


def test_aircraft_and_uavs_are_drawn_with_altitude_labels_trails_and_shapes_of_their_own(
        logged_in, live_server, picture_db, tmp_path):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4)
    plane = sbs_lines(tmp_path / "adsb.sbs", "502CB1", "BTI6RK",
                      [(24.0, 56.9), (24.1, 56.92), (24.2, 56.94)], 37000, start)
    assert ingest_file(plane, source="adsb").status == "done"
    drone = remoteid_track(tmp_path / "rid.remoteid", "1581F5FHB229F00202DR",
                           [(27.20, 55.80), (27.20, 55.82), (27.20, 55.84)], operator=(27.22, 55.79),
                           start=start, step_s=60)
    summary = ingest_file(drone, source="rid")
    assert (summary.status, summary.quarantined) == ("done", 0), summary.reasons

    d = logged_in
    for page in ("/", "/wall"):
        d.get(live_server + page)
        marks = wait(d, 30).until(lambda x: (m := x.execute_script(MARKS)) and len(m) == 3 and m)
        by_kind = {kind: (text, circles, polygons) for kind, text, circles, polygons in marks}
        # the aircraft: its arrowhead and "call sign, flight level"; the UAV: four rotors round a
        # cross, never an arrowhead, with its UAS id and altitude in metres; the operator's ring
        assert by_kind["aircraft"] == ("BTI6RKFL370", 0, 1), marks
        assert by_kind["uav"] == ("1581F5FHB229F00202DR118 m", 4, 0), marks
        assert by_kind["operator"] == ("", 1, 0), marks
        # the hover title: the state of registry of the aircraft's address (502CB1: Latvia's block)
        titles = d.execute_script(
            "return [...document.querySelectorAll('.leaflet-marker-pane .nsp-air-icon')].map(e => e.title).sort()")
        assert [t.split(",")[0] for t in titles] == ["1581F5FHB229F00202DR 118 m", "1581F5FHB229F00202DR: operator",
                                                      "BTI6RK (LV) FL370"], titles
        trails = wait(d, 10).until(lambda x: (t := x.execute_script(TRAILS)) and len(t) == 2 and t)
        assert sorted(k for c in trails for k in c.split() if k.endswith("-trail") and k != "nsp-air-trail") == [
            "nsp-air-aircraft-trail", "nsp-air-uav-trail"]
        assert d.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane path.nsp-air-link")
        screenshot(d, "air_layer" + page.replace("/", "_"))
    # the layer can be switched off on the main page like any other
    d.get(live_server + "/")
    wait(d, 30).until(lambda x: len(x.execute_script(MARKS)) == 3)
    # the legend draws the same shapes, and the operator's ring tied by a dashed line
    legend = d.execute_script("""return ['aircraft', 'uav', 'operator'].map(k => {
        const s = document.querySelector('#main-legend svg.nsp-legend-' + k);
        return s ? [s.querySelectorAll('circle').length, s.querySelectorAll('polygon').length,
                    s.closest('.nsp-legend-row').textContent] : null; })""")
    assert legend == [[0, 1, "aircraft: call sign, altitude (FL or ft)"],
                      [4, 0, "UAV: UAS id, altitude (m); dashed to its operator"],
                      [1, 0, "UAV operator (Remote ID)"]], legend
    box = d.find_element(By.CSS_SELECTOR, "details.nsp-layer-box")
    if not box.get_attribute("open"):  # folded on a small map (nsp_map_boxes.js)
        box.find_element(By.TAG_NAME, "summary").click()
    (toggle,) = [el.find_element(By.TAG_NAME, "input") for el in d.find_elements(By.CSS_SELECTOR, "#main-layers label")
                 if el.text.strip() == "Aircraft and UAVs"]
    toggle.click()
    wait(d, 5).until(lambda x: x.execute_script(MARKS) == [])
    toggle.click()
    wait(d, 5).until(lambda x: len(x.execute_script(MARKS)) == 3)


# the wall legend's air symbols: [kind, circles, polygons, its row's text, drawn inside the panel]
WALL_AIR = """const panel = document.querySelector('.wall-panel').getBoundingClientRect();
return ['aircraft', 'uav', 'operator'].map(k => {
    const s = document.querySelector('.wall-legend svg.nsp-legend-' + k);
    if (!s) return [k, null];
    const r = s.getBoundingClientRect();
    return [k, s.querySelectorAll('circle').length, s.querySelectorAll('polygon').length,
            s.closest('.nsp-legend-row').textContent,
            r.width > 0 && r.height > 0 && r.left >= panel.left && r.right <= panel.right
                && r.top >= panel.top && r.bottom <= panel.bottom]; });"""


def test_the_wall_legend_has_the_air_symbols_of_the_main_map(logged_in, live_server):
    """The wall's compact legend had no aircraft, UAV or operator, though its map draws them."""
    d = logged_in
    for width, height in ((1920, 1080), (1366, 768)):
        window(d, width, height)
        d.get(live_server + "/wall")
        wait(d, 30).until(lambda x: x.find_elements(By.CSS_SELECTOR, "#wall-sections .wall-sec"))
        rows = d.execute_script(WALL_AIR)
        text = "aircraft, UAV, its operator"
        assert rows == [["aircraft", 0, 1, text, True], ["uav", 4, 0, text, True],
                        ["operator", 1, 0, text, True]], (width, height, rows)
