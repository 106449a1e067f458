"""snapshot.html: the week's picture as a Folium map that needs no network.

Layers: the offline basemap (assets/geodata/latvia), border sections coloured and weighted by
impact level, one layer per event category (shape = category, so it reads without
colour; size and outline = impact), patrol tracks, a legend and a title with the
week and the sections. Above ``map_max_markers`` events the categories are drawn
as counts on a grid (PostGIS aggregates them) so the page stays small and fast;
every event is still in events.csv and picture.gpkg.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import folium
from branca.element import Element, MacroElement
from jinja2 import Template

from geo.basemap import OUTSIDE_STYLE, outside
from geo.snapshot import offline
from geo.snapshot.styles import CATEGORIES
from geo.symbology import LEVEL_BARS, LEVEL_COLOURS, LEVEL_WEIGHTS, NO_LEVEL_COLOUR
from nsp.settings import ASSETS_DIR
from nsp.vocab import HIGH_IMPACTS, IMPACTS

BASEMAP = ASSETS_DIR / "geodata" / "latvia"

IMPACT_SIZE = {"low": 14, "medium": 17, "high": 21, "very_high": 25}

SHAPES_JS = """
function nspShape(shape, s, fill, sw) {
  var h = s / 2, d;
  if (shape === 'triangle') d = '<polygon points="' + h + ',1 ' + (s-1) + ',' + (s-1) + ' 1,' + (s-1) + '"/>';
  else if (shape === 'square') d = '<rect x="2" y="2" width="' + (s-4) + '" height="' + (s-4) + '"/>';
  else if (shape === 'diamond') d = '<polygon points="' + h + ',1 ' + (s-1) + ',' + h + ' ' + h + ',' + (s-1) + ' 1,' + h + '"/>';
  else d = '<circle cx="' + h + '" cy="' + h + '" r="' + (h-2) + '"/>';
  return '<svg xmlns="http://www.w3.org/2000/svg" width="' + s + '" height="' + s + '"><g fill="' + fill +
         '" stroke="#111" stroke-width="' + sw + '">' + d + '</g></svg>';
}
function nspEsc(v) {
  return String(v === null || v === undefined ? '–' : v).replace(/[&<>"']/g, function (c) {
    return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
  });
}
"""


class EventMarkers(MacroElement):
    """Adds one category's events to its FeatureGroup from a compact JSON array."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var group = {{ this._parent.get_name() }};
  var rows = {{ this.rows }};
  var sizes = {{ this.sizes }};
  rows.forEach(function (r) {
    var impact = r[2], s = sizes[impact], sw = (impact === 'high' || impact === 'very_high') ? 2.5 : 1;
    var icon = L.divIcon({className: 'nsp-event nsp-{{ this.category }} nsp-impact-' + impact,
                          html: nspShape('{{ this.shape }}', s, '{{ this.colour }}', sw),
                          iconSize: [s, s], iconAnchor: [s / 2, s / 2]});
    L.marker([r[0], r[1]], {icon: icon, title: '{{ this.label }}, ' + impact})
      .bindPopup('<b>{{ this.label }}</b><br>' + nspEsc(r[3]) + '<br>subtype: ' + nspEsc(r[4]) +
                 '<br>impact: ' + nspEsc(impact) + ', persons: ' + nspEsc(r[5]) +
                 '<br>section: ' + nspEsc(r[6]) + '<br>source: ' + nspEsc(r[7]) +
                 (r[8] ? '<br><i>' + nspEsc(r[8]) + '</i>' : '') +
                 (r[9] ? '<br><b>follow-up reports: ' + r[9] + '</b>' + (r[10] ? '<br><i>' + nspEsc(r[10]) + '</i>' : '') : ''))
      .addTo(group);
  });
})();
{% endmacro %}
""")

    def __init__(self, category: str, rows: list):
        super().__init__()
        self._name = "NspEventMarkers"
        self.category = category
        self.label, self.shape, self.colour = CATEGORIES[category]
        self.rows = json.dumps(rows, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
        self.sizes = json.dumps(IMPACT_SIZE)


class GridCells(MacroElement):
    """One category's events as counts per grid cell (the bounded view)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var group = {{ this._parent.get_name() }};
  {{ this.rows }}.forEach(function (r) {
    L.circleMarker([r[0], r[1]], {radius: Math.min(30, 4 + 2.2 * Math.sqrt(r[2])), color: '#111',
        weight: r[4] >= 3 ? 2.5 : 1, fillColor: '{{ this.colour }}', fillOpacity: 0.7,
        className: 'nsp-cell nsp-{{ this.category }}'})
      .bindTooltip('{{ this.label }}: ' + r[2] + ' events, ' + r[3] + ' persons')
      .addTo(group);
  });
})();
{% endmacro %}
""")

    def __init__(self, category: str, rows: list):
        super().__init__()
        self._name = "NspGridCells"
        self.category = category
        self.label, _, self.colour = CATEGORIES[category]
        self.rows = json.dumps(rows, separators=(",", ":"))


@dataclass
class MapData:
    week_label: str
    week_span: str
    tz: str
    sections_label: str
    sections: list[dict]  # code, name, kind, impact_level, area (GeoJSON text), line
    patrols: list[dict]  # unit, mode, started, ended, length_km, geojson
    events: dict[str, list] = field(default_factory=dict)  # category -> marker rows
    grid: dict[str, list] | None = None  # category -> cell rows, when aggregated
    counts: dict[str, int] = field(default_factory=dict)  # category -> events
    grid_deg: float = 0.05
    crossing_points: list[dict] = field(default_factory=list)  # GeoJSON point features


def _basemap(m: folium.Map) -> None:
    def load(name: str) -> dict:
        return json.loads((BASEMAP / f"{name}.geojson").read_text())

    base = folium.FeatureGroup(name="Basemap (Natural Earth)", control=False).add_to(m)
    folium.GeoJson(outside(BASEMAP), name="outside", style_function=lambda f: {
        "fillColor": OUTSIDE_STYLE["fill"], "color": OUTSIDE_STYLE["edge"], "weight": 1, "dashArray": "4 4",
        "fillOpacity": 1, "className": "nsp-base nsp-outside"}, interactive=False).add_to(base)
    folium.GeoJson(
        load("countries"), name="countries",
        style_function=lambda f: {
            "fillColor": "#f4f1ea" if f["properties"].get("iso_a3", f["properties"].get("ADM0_A3")) == "LVA" else "#e3e0d8",
            "color": "#9a958a", "weight": 0.8, "fillOpacity": 1, "className": "nsp-base",
        },
        interactive=False,
    ).add_to(base)
    folium.GeoJson(load("lakes"), style_function=lambda f: {
        "fillColor": "#b9d3e6", "color": "#8fb3cf", "weight": 0.5, "fillOpacity": 1, "className": "nsp-base"},
        interactive=False).add_to(base)
    folium.GeoJson(load("rivers"), style_function=lambda f: {
        "color": "#8fb3cf", "weight": 1.2, "className": "nsp-base"}, interactive=False).add_to(base)


def _sections(m: folium.Map, sections: list[dict]) -> list[list[float]] | None:
    if not sections:
        return None
    areas = {"type": "FeatureCollection", "features": []}
    lines = {"type": "FeatureCollection", "features": []}
    for s in sections:
        props = {"code": s["code"], "name": s["name"], "level": s["impact_level"] or "internal border"}
        areas["features"].append({"type": "Feature", "geometry": json.loads(s["area"]), "properties": props})
        if s.get("line"):
            lines["features"].append({"type": "Feature", "geometry": json.loads(s["line"]), "properties": props})
    group = folium.FeatureGroup(name="Border sections (impact level)").add_to(m)

    def colour(f):
        return LEVEL_COLOURS.get(f["properties"]["level"], NO_LEVEL_COLOUR)

    def weight(f):  # wider the higher the level: it reads without colour too (geo/symbology.py)
        return LEVEL_WEIGHTS.get(f["properties"]["level"], 3)

    tooltip = ["code", "name", "level"]
    folium.GeoJson(areas, style_function=lambda f: {
        "fillColor": colour(f), "color": colour(f), "weight": 1, "fillOpacity": 0.18, "className": "nsp-section"},
        tooltip=folium.GeoJsonTooltip(tooltip, aliases=["Section", "Name", "Impact level"])).add_to(group)
    if lines["features"]:
        folium.GeoJson(lines, style_function=lambda f: {
            "color": colour(f), "weight": weight(f), "opacity": 0.95, "className": "nsp-section-line"},
            tooltip=folium.GeoJsonTooltip(tooltip, aliases=["Section", "Name", "Impact level"])).add_to(group)
    _section_labels(m, sections)
    xs, ys = [], []
    for f in areas["features"]:
        _coords(f["geometry"]["coordinates"], xs, ys)
    return [[min(ys), min(xs)], [max(ys), max(xs)]] if xs else None


def label_point(section: dict) -> tuple[float, float]:
    """Where a section's code is written: the middle of its border line (the border is what the
    reader looks at), else a point inside its area; (lat, lon)."""
    from shapely.geometry import shape

    geom = shape(json.loads(section["line"])) if section.get("line") else None
    if geom is not None and not geom.is_empty:
        if geom.geom_type == "MultiLineString":
            geom = max(geom.geoms, key=lambda g: g.length)
        point = geom.interpolate(0.5, normalized=True)
    else:
        point = shape(json.loads(section["area"])).representative_point()
    return point.y, point.x


def _section_labels(m: folium.Map, sections: list[dict]) -> None:
    """Each external section's code on the map (internal borders have no level and no label),
    in a layer of its own that the layer switch can hide."""
    group = folium.FeatureGroup(name="Section labels").add_to(m)
    for s in sections:
        if not s.get("impact_level"):
            continue
        lat, lon = label_point(s)
        folium.Marker([lat, lon], interactive=False, icon=folium.DivIcon(
            html=f'<span class="nsp-sec-label" title="{html.escape(s["name"] or "")}">{html.escape(s["code"])}</span>',
            icon_size=(0, 0), icon_anchor=(0, 0), class_name="nsp-sec-label-icon")).add_to(group)


def _coords(c, xs: list, ys: list) -> None:
    if c and isinstance(c[0], (int, float)):
        xs.append(c[0])
        ys.append(c[1])
    else:
        for part in c:
            _coords(part, xs, ys)


# a border crossing point: a gate, as on the dashboard (dashboard/assets/nsp.css .nsp-bcp-sym)
BCP_SVG = ('<svg width="16" height="12" viewBox="0 0 16 12"><rect x="3.5" y="1.5" width="9" height="9" fill="#fff" '
           'stroke="#1d2733" stroke-width="1.5"/><line x1="0" y1="6" x2="16" y2="6" stroke="#1d2733" '
           'stroke-width="1.5"/></svg>')


def _crossing_points(m: folium.Map, points: list[dict]) -> None:
    """The border crossing points (geo/crossing_points.py), each with its kind in the tooltip
    and, where placed by hand, "position approximate"."""
    group = folium.FeatureGroup(name=f"Border crossing points ({len(points)})").add_to(m)
    for f in points:
        p = f["properties"]
        lon, lat = f["geometry"]["coordinates"][:2]
        tip = f"{p['name']}: {p['kind']} crossing point" + (" (position approximate)" if p.get("approximate") else "")
        folium.Marker([lat, lon], icon=folium.DivIcon(html=BCP_SVG, icon_size=(16, 12), icon_anchor=(8, 6),
                                                      class_name="nsp-bcp"),
                      tooltip=html.escape(tip)).add_to(group)


def _patrols(m: folium.Map, patrols: list[dict]) -> None:
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(p["geojson"]),
         "properties": {k: p[k] for k in ("unit", "mode", "started", "ended", "length_km")}}
        for p in patrols]}
    group = folium.FeatureGroup(name=f"Patrol tracks ({len(patrols)})").add_to(m)
    if patrols:
        folium.GeoJson(fc, style_function=lambda f: {
            "color": "#1b1b6f", "weight": 2.5, "dashArray": "6 4", "className": "nsp-patrol"},
            tooltip=folium.GeoJsonTooltip(["unit", "mode", "started", "ended", "length_km"],
                                          aliases=["Unit", "Mode", "From", "To", "km"])).add_to(group)


def _legend(data: MapData) -> str:
    rows = []
    for cat, (label, shape, colour) in CATEGORIES.items():
        svg = _shape_svg(shape, 16, colour)
        rows.append(f"<div>{svg} {html.escape(label)} ({data.counts.get(cat, 0):,})</div>")
    levels = "".join(
        f'<div>{_level_line(c, LEVEL_WEIGHTS[lvl])} {LEVEL_BARS[lvl]} {lvl}</div>'
        for lvl, c in LEVEL_COLOURS.items()) + f'<div>{_level_line(NO_LEVEL_COLOUR, 3)} internal border</div>'

    sizes = " ".join(_shape_svg("circle", IMPACT_SIZE[i], "#bbb", 2.5 if i in HIGH_IMPACTS else 1)
                     + f" {i.replace('_', ' ')}" for i in IMPACTS)
    grid = ""
    if data.grid is not None:
        grid = (f"<div class='note'>More events than the map draws one by one: circles are counts "
                f"per {data.grid_deg:g}° cell (size = count, thick outline = high or very high). "
                "Every event is in events.csv and picture.gpkg.</div>")
    return f"""
<div id="nsp-legend" class="nsp-box">
  <b>Events</b> (shape = category)
  {''.join(rows)}
  <div class="sizes">impact: {sizes}</div>
  {grid}
  <b>Section impact level</b>{levels}
  <div><svg width="28" height="8"><line x1="0" y1="4" x2="28" y2="4" stroke="#1b1b6f" stroke-width="2.5"
       stroke-dasharray="6 4"/></svg> patrol track</div>
  <div>{BCP_SVG} border crossing point (road, rail, air, sea)</div>
  <div class="credit">Basemap: Made with Natural Earth. Map: Leaflet (BSD-2), Folium.</div>
</div>"""


def _level_line(colour: str, width: int) -> str:
    return (f'<svg width="28" height="12"><line x1="{width / 2}" y1="6" x2="{28 - width / 2}" y2="6" '
            f'stroke="{colour}" stroke-width="{width}" stroke-linecap="round"/></svg>')


def _shape_svg(shape: str, s: int, fill: str, sw: float = 1) -> str:
    h = s / 2
    d = {
        "triangle": f'<polygon points="{h},1 {s-1},{s-1} 1,{s-1}"/>',
        "square": f'<rect x="2" y="2" width="{s-4}" height="{s-4}"/>',
        "diamond": f'<polygon points="{h},1 {s-1},{h} {h},{s-1} 1,{h}"/>',
        "circle": f'<circle cx="{h}" cy="{h}" r="{h-2}"/>',
    }[shape]
    return (f'<svg width="{s}" height="{s}" style="vertical-align:middle"><g fill="{fill}" stroke="#111" '
            f'stroke-width="{sw}">{d}</g></svg>')


CSS = """
<style>
  .folium-map { background: #cfe0ea; }
  .nsp-sec-label { position: absolute; transform: translate(-50%, -50%); white-space: nowrap; font: 600 11px/1.1 system-ui,
                   sans-serif; color: #1d2733; background: rgba(255,255,255,.8); border-radius: 2px; padding: 0 2px; }
  .nsp-box { position: fixed; z-index: 1000; background: rgba(255,255,255,.94); border: 1px solid #888;
             border-radius: 4px; padding: 8px 10px; font: 13px/1.35 system-ui, sans-serif; color: #111; }
  #nsp-title { top: 10px; left: 60px; max-width: 60%; }
  #nsp-title h1 { font-size: 17px; margin: 0 0 2px 0; }
  #nsp-legend { bottom: 24px; right: 10px; max-width: 300px; }
  #nsp-legend .note { font-size: 12px; margin: 4px 0; color: #333; }
  #nsp-legend .credit { font-size: 11px; color: #555; margin-top: 4px; }
  .nsp-event, .nsp-bcp { background: none; border: none; }
  @media print { .leaflet-control-layers { display: none; } }
</style>"""


def build(data: MapData, path: Path) -> None:
    # quarter zoom steps, so that fitting the sections clear of the boxes loses no whole level
    m = folium.Map(location=[56.9, 24.6], zoom_start=7, tiles=None, control_scale=True, zoom_snap=0.25, zoom_delta=0.5)
    offline.strip_cdn(m)
    offline.inline_leaflet(m)
    root = m.get_root()
    title = f"Weekly snapshot {data.week_label} — {data.sections_label}"
    root.title = title
    root.header.add_child(Element(CSS), name="nsp_css")
    root.header.add_child(Element(f"<script>{SHAPES_JS}</script>"), name="nsp_shapes")

    _basemap(m)
    bounds = _sections(m, data.sections)
    _patrols(m, data.patrols)
    _crossing_points(m, data.crossing_points)
    for cat, (label, _, _) in CATEGORIES.items():
        group = folium.FeatureGroup(name=f"{label} ({data.counts.get(cat, 0):,})").add_to(m)
        if data.grid is not None:
            group.add_child(GridCells(cat, data.grid.get(cat, [])))
        else:
            group.add_child(EventMarkers(cat, data.events.get(cat, [])))
    folium.LayerControl(collapsed=False).add_to(m)
    if bounds:
        # clear of the boxes over the map: the title at the top left, the layer switch and the
        # legend down the right (the sections' east edge is often where the events are; the
        # legend used to cover the Belarusian border)
        m.fit_bounds(bounds, padding_top_left=(10, 80), padding_bottom_right=(330, 10))

    total = sum(data.counts.values())
    root.html.add_child(Element(
        f'<div id="nsp-title" class="nsp-box"><h1>{html.escape(title)}</h1>'
        f'{html.escape(data.week_span)} ({html.escape(data.tz)}) · {total:,} events · '
        f'{len(data.patrols):,} patrol tracks · {len(data.sections)} sections</div>'))
    root.html.add_child(Element(_legend(data)))
    text = root.render()
    leaks = offline.external_urls(text)
    if leaks:  # a Folium upgrade that adds a CDN link must not ship silently
        raise RuntimeError(f"snapshot.html would load from the network: {sorted(set(leaks))[:5]}")
    path.write_text(text, encoding="utf-8")
