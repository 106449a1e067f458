"""The dashboard's pages as the browser tests read them: colours, scripts that measure the
page, waits on what it draws, and the demo's extra sections (tests/browser/)."""

from __future__ import annotations

import json
import time

from selenium.webdriver.common.by import By

from nsp import db
from tests.support.browser import wait

LEVEL_RGB = {
    "low": "#2e9e44", "medium": "#f2c80f", "high": "#f07f09", "critical": "#d7191c",
}


def wait_for_sections(driver, n_min=5):
    """Until the section lines are drawn: Leaflet renders them as SVG paths with our colours."""
    def drawn(d):
        strokes = set(d.execute_script(
            "return Array.from(document.querySelectorAll('.leaflet-overlay-pane path'))"
            ".map(p => p.getAttribute('stroke'))"))
        return strokes if len(strokes & set(LEVEL_RGB.values())) >= 3 else False
    return wait(driver).until(drawn)


def event_markers(driver, category_css: str) -> int:
    """Markers drawn and shown (a switched-off layer's markers stay in the page, hidden)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".filter(e => getComputedStyle(e).display !== 'none').length", f".leaflet-marker-pane .{category_css}")


# On the wall: [the lowest bottom of the header and the banners, the highest top of a section
# line, the lowest bottom of one, the map's bottom], in page pixels.
WALL_CLEARANCE = """
    const bottom = sel => Math.max(0, ...Array.from(document.querySelectorAll(sel))
        .filter(e => e.childElementCount).map(e => e.getBoundingClientRect().bottom));
    const lines = Array.from(document.querySelectorAll('.leaflet-overlay-pane path.nsp-sec-line'))
        .map(p => p.getBoundingClientRect()).filter(r => r.height || r.width);
    return [bottom('.wall-head, .wall-banners'), Math.min(...lines.map(r => r.top)),
            Math.max(...lines.map(r => r.bottom)), document.querySelector('.wall-map').getBoundingClientRect().bottom];"""


# An SVG's drawn width over its own width attribute (its scale on the page), as a JS function.
SVG_SCALE = "e => e.getBoundingClientRect().width / parseFloat(e.getAttribute('width'))"


def svg_scales(selector: str) -> str:
    """A script: the scale of each SVG that ``selector`` matches."""
    return f"return Array.from(document.querySelectorAll({selector!r})).map({SVG_SCALE})"


# On the wall: [each legend symbol's drawn width over its own width], [the legend's and the map's
# own asset as [font size, colour]], [the legend's and the map's crossing point width].
LEGEND_AGAINST_MAP = f"""
    const syms = Array.from(document.querySelectorAll('.wall-legend svg.nsp-legend-sym')).map({SVG_SCALE});
    const width = e => e ? e.getBoundingClientRect().width : 0;
    return [syms, [width(document.querySelector('.wall-legend .nsp-legend-asset svg')),
                   width(document.querySelector('.leaflet-marker-pane .nsp-asset-sym svg'))],
            [width(document.querySelector('.wall-legend .nsp-bcp-sym')),
             width(document.querySelector('.leaflet-marker-pane .nsp-bcp-sym'))]];"""


def wall_country_clear(driver) -> bool:
    """Every border line of the wall's map is drawn between what covers its top and its bottom."""
    covered, top, bottom, map_bottom = driver.execute_script(WALL_CLEARANCE)
    return covered < top and bottom <= map_bottom


def steady(driver, script: str, pause: float = 0.3):
    """The script's value once two reads `pause` seconds apart agree: a fit's glide or a zoom
    animation scales the panes while it runs, so a read in the middle measures the motion."""
    def agreed(x):
        first = x.execute_script(script)
        time.sleep(pause)
        return first == (second := x.execute_script(script)) and [second]
    return wait(driver).until(agreed, f"never the same twice in a row: {script.strip()[:80]}")[0]


def sent_requests(driver) -> list[dict]:
    """The requests the page sent since the last read of the performance log."""
    msgs = (json.loads(entry["message"])["message"] for entry in driver.get_log("performance"))
    return [m["params"]["request"] for m in msgs if m.get("method") == "Network.requestWillBeSent"]


def external_requests(driver) -> list[str]:
    """Every URL the page requested that is not served by the app itself."""
    return [r["url"] for r in sent_requests(driver)
            if not r["url"].startswith(("http://127.0.0.1", "data:", "blob:", "about:"))]


WALL_PAGE = """const box = document.getElementById('wall-sections'), b = box.getBoundingClientRect();
    const rows = Array.from(box.children), code = r => r.querySelector('.wall-sec-code').textContent;
    return {mark: document.getElementById('wall-sections-page').textContent, all: rows.map(code),
            shown: rows.filter(r => r.getClientRects().length).map(r => {
                const q = r.getBoundingClientRect(); return [code(r), q.top >= b.top - 0.5 && q.bottom <= b.bottom + 0.5]; })}"""


# The demo's external sections that the test sections lack (assets/sections/latvia_sections.geojson)
DEMO_MORE = [("LV-RU-03", "Grebņeva (Russia)"), ("LV-RU-04", "Kārsava (Russia)"), ("LV-RU-05", "Terehova (Russia)"),
             ("LV-RU-06", "Pasiene (Russia)"), ("LV-BY-03", "Indra (Belarus)"), ("LV-BY-04", "Robežnieki (Belarus)"),
             *((f"LV-SEA-{i:02d}", f"{name} (sea)") for i, name in enumerate(
                 ("Saulkrasti", "Jūrmala", "Engure", "Roja", "Kolka", "Ovīši", "Jūrkalne", "Pāvilosta", "Liepāja",
                  "Pape"), start=2)),
             ("LV-AIR-RIX", "Rīga airport (RIX)")]


def add_demo_sections(url: str) -> None:
    """The demo's 22 external sections: the test sections and DEMO_MORE (small boxes, no events)."""
    with db.connect(url, autocommit=True) as conn:
        for i, (code, name) in enumerate(DEMO_MORE):
            x, y = 21.0 + 0.1 * i, 55.0
            conn.execute(
                """INSERT INTO border_section (code, name, kind, neighbour, regional_board, length_km, line, area,
                                               line_m, area_m)
                   SELECT %(code)s, %(name)s, %(kind)s, 'XXX', 'test board', 1, l, a, ST_Transform(l, 3059),
                          ST_Transform(a, 3059)
                     FROM (SELECT ST_Multi(ST_MakeLine(ST_MakePoint(%(x)s, %(y)s), ST_MakePoint(%(x)s + 0.05, %(y)s)))
                                      ::geometry(MultiLineString, 4326) AS l,
                                  ST_Multi(ST_MakeEnvelope(%(x)s, %(y)s - 0.05, %(x)s + 0.05, %(y)s, 4326)) AS a) g""",
                {"code": code, "name": name, "x": x, "y": y,
                 "kind": "air" if "AIR" in code else "sea-external" if "SEA" in code else "land-external"})


def layer_toggle(driver, label: str):
    box = driver.find_element(By.CSS_SELECTOR, "details.nsp-layer-box")
    if not box.get_attribute("open"):  # folded on a map under 700 px (nsp_map_boxes.js)
        box.find_element(By.TAG_NAME, "summary").click()
    for el in driver.find_elements(By.CSS_SELECTOR, "#main-layers label"):
        if el.text.strip() == label:
            return el.find_element(By.TAG_NAME, "input")
    raise AssertionError(f"no layer toggle {label!r}")


def callback_requests(driver) -> list[dict]:
    """The bodies of the callback requests the page sent since the last read of the log."""
    return [json.loads(r.get("postData") or "{}") for r in sent_requests(driver)
            if "_dash-update-component" in r["url"]]


def zoom_inputs(driver) -> list[int]:
    """The map zooms that the page sent to the server since the last read of the log."""
    return [i.get("value") for body in callback_requests(driver) for i in body.get("inputs", [])
            if isinstance(i, dict) and i.get("id") == "main-map" and i.get("property") == "zoom"]


# Records, from now on, whether the main map ran a zoom animation (Leaflet's class on the map
# pane) and in how many separate moments its drawing changed (a flight redraws every frame).
WATCH_MOTION = """
    const pane = document.querySelector('#main-map .leaflet-map-pane');
    window.nspMotion = [false, 0];
    (window.nspMotionWatch || []).forEach(o => o.disconnect());
    const zoom = new MutationObserver(() => { if (pane.classList.contains('leaflet-zoom-anim')) window.nspMotion[0] = true; });
    zoom.observe(pane, {attributes: true, attributeFilter: ['class']});
    const frames = new MutationObserver(() => { window.nspMotion[1] += 1; });
    frames.observe(pane, {attributes: true, subtree: true, attributeFilter: ['style', 'd']});
    window.nspMotionWatch = [zoom, frames];"""


# Records the frequency of every tone the page starts (nsp_sound.js makes them with the Web
# Audio API), from now on.
SOUND_SPY = """window.nspTones = [];
    const own = AudioContext.prototype.createOscillator;
    AudioContext.prototype.createOscillator = function () {
        const tone = own.call(this), start = tone.start.bind(tone);
        tone.start = (...a) => { window.nspTones.push(tone.frequency.value); return start(...a); };
        return tone; };"""


def offline_sign(driver):
    found = driver.find_elements(By.ID, "nsp-offline")
    return found[0] if found and found[0].is_displayed() else None


# Every label shown on the map, as [kind, text, left, top, right, bottom] (an own asset's label
# is its call sign and age; hidden labels, switched-off layers and what lies off the map are
# left out).
SHOWN_LABELS = """
const m = document.querySelector('.leaflet-container').getBoundingClientRect();
const out = [], box = els => {
    const rs = Array.from(els).map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0);
    return rs.length ? [Math.min(...rs.map(r => r.left)), Math.min(...rs.map(r => r.top)),
                        Math.max(...rs.map(r => r.right)), Math.max(...rs.map(r => r.bottom))] : null;
};
const add = (kind, el, parts) => {
    if (el.classList.contains('nsp-label-off')) return;
    const b = box(parts);
    if (b && b[0] < m.right && b[2] > m.left && b[1] < m.bottom && b[3] > m.top) out.push([kind, el.textContent.trim(), ...b]);
};
document.querySelectorAll('.leaflet-tooltip.nsp-section-label').forEach(e => add('section', e, [e]));
document.querySelectorAll('.leaflet-marker-pane .nsp-asset').forEach(
    e => add('asset', e, e.querySelectorAll('.nsp-asset-cs, .nsp-asset-age')));
document.querySelectorAll('.nsp-place').forEach(e => add('place', e, e.querySelectorAll('.nsp-place-name')));
return out;
"""


def label_overlaps(driver) -> list:
    labels = driver.execute_script(SHOWN_LABELS)
    return [(a[:2], b[:2]) for i, a in enumerate(labels) for b in labels[i + 1:]
            if a[2] < b[4] and b[2] < a[4] and a[3] < b[5] and b[3] < a[5]]


def asset_label_hidden(driver, callsign: str):
    """True or False for the asset's call sign and age (hidden or shown); None before it is drawn."""
    return driver.execute_script(
        "const e = Array.from(document.querySelectorAll('.leaflet-marker-pane .nsp-asset'))"
        ".find(e => e.querySelector('.nsp-asset-cs').textContent === arguments[0]);"
        "return e ? e.classList.contains('nsp-label-off') : null", callsign)


def asset_label_side(driver, callsign: str):
    """Where the asset's call sign is drawn: 'right' or 'left' of its symbol ('over' it would be
    a fault); None before it is drawn."""
    return driver.execute_script(
        "const e = Array.from(document.querySelectorAll('.leaflet-marker-pane .nsp-asset'))"
        ".find(e => e.querySelector('.nsp-asset-cs').textContent === arguments[0]);"
        "if (!e) return null;"
        "const s = e.querySelector('.nsp-asset-sym').getBoundingClientRect(),"
        " c = e.querySelector('.nsp-asset-cs').getBoundingClientRect();"
        "return c.left >= s.right ? 'right' : c.right <= s.left ? 'left' : 'over'", callsign)


# Where the own asset ALFA-1's symbol is, in pixels from the map's centre.
ALFA_1_FROM_CENTRE = """
const e = Array.from(document.querySelectorAll('.leaflet-marker-pane .nsp-asset'))
    .find(e => e.querySelector('.nsp-asset-cs').textContent === 'ALFA-1').querySelector('.nsp-asset-sym');
const r = e.getBoundingClientRect(), m = document.querySelector('.leaflet-container').getBoundingClientRect();
return [r.left + r.width / 2 - (m.left + m.width / 2), r.top + r.height / 2 - (m.top + m.height / 2)];
"""


# On the main page: the border lines' margins inside the map [top, bottom, left, right], the
# map's bottom and the window's height, in page pixels.
MAIN_FIT = """
    const lines = Array.from(document.querySelectorAll('.leaflet-overlay-pane path.nsp-sec-line'))
        .map(p => p.getBoundingClientRect()).filter(r => r.height || r.width);
    const m = document.querySelector('.leaflet-container').getBoundingClientRect();
    return [Math.round(Math.min(...lines.map(r => r.top)) - m.top), Math.round(m.bottom - Math.max(...lines.map(r => r.bottom))),
            Math.round(Math.min(...lines.map(r => r.left)) - m.left), Math.round(m.right - Math.max(...lines.map(r => r.right))),
            Math.round(m.bottom), window.innerHeight];"""


def click_at_centre(driver, element) -> None:
    """A real mouse click (Chrome DevTools input events) at the element's centre."""
    x, y = driver.execute_script(
        "const b = arguments[0].getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]", element)
    for kind in ("mousePressed", "mouseReleased"):
        driver.execute_cdp_cmd("Input.dispatchMouseEvent",
                               {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})


def grid_column(driver, col_id: str) -> list[str]:
    """The texts of a column of the event list, top to bottom as shown."""
    return driver.execute_script(
        """return Array.from(document.querySelectorAll('#main-events .ag-center-cols-container .ag-row'))
               .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
               .map(r => r.querySelector(`[col-id="${arguments[0]}"]`).innerText)""", col_id)
