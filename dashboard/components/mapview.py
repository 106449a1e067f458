"""The map and its legend, shared by the main view (prefix ``main``) and the wall (``wall``).

Styling functions live in ``dashboard/assets/nsp_map.js`` (namespace ``nsp.map``) and run in
the browser; the layers here only name them. Callbacks update the layers' ``data`` (and a
``hideout``), so the map view is never reset by an update.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import dash_leaflet as dl
import dash_svg as svg
from dash import dcc, html
from dash_extensions.javascript import Namespace

from dashboard import versioned
from dashboard.basemap_tiles import tile_layers
from dashboard.components import airlayer, neighbours
from dashboard.components.static import Static, static
from dashboard.i18n import category_label, subtype_label, t
from dashboard.settings import national_bounds

# The section levels' symbology; nsp_map.js draws with the same values (tests/unit/test_dashboard.py).
from geo.symbology import CATEGORY_STYLE, LEVEL_BARS, LEVEL_COLOURS, LEVEL_WEIGHTS, NO_LEVEL_COLOUR, OWN_UNIT_STYLE
from nsp.settings import geo_settings
from nsp.vocab import CATEGORIES, CATEGORY_SHORT, IMPACT_WORDS, LEVELS, SUBTYPE_WORDS

ns = Namespace("nsp", "map")

ATTRIBUTION = "Made with Natural Earth"
BASEMAP_FILES = ("countries", "lakes", "rivers", "places")
SHORT = {
    "unauthorised_border_crossing": "ubc",
    "cross_border_crime": "crime",
    "crisis_situation": "crisis",
    "other": "other",
}
EMPTY = {"type": "FeatureCollection", "features": []}


def event_layer_id(prefix: str, category: str) -> str:
    return f"{prefix}-events-{SHORT[category]}"


def basemap_version() -> str:
    """The version of the basemap's files as they are now (dashboard/versioned.py)."""
    from dashboard.settings import web_settings

    folder = Path(web_settings().basemap_dir)
    return versioned.of_files(*(folder / f"{f}.geojson" for f in BASEMAP_FILES))


def basemap_url(name: str, version: str) -> str:
    """``/basemap/<name>.geojson`` with the basemap's ``version``."""
    return versioned.url(f"/basemap/{name}.geojson", version)


def basemap(prefix: str, dark: bool, version: str | None = None) -> list:
    """The basemap's layers; ``version``: the basemap's (basemap_version), if already known."""
    from dashboard.settings import web_settings

    s = web_settings()
    hide = {"dark": dark, "home": s.home_country}
    version = version or basemap_version()  # once for the four layers
    layers: list = []
    if s.tile_url:
        layers.append(dl.TileLayer(url=s.tile_url, attribution=s.tile_attribution or None,
                                   id=f"{prefix}-tiles"))
    layers.append(dl.Pane(name="nspbase", id=f"{prefix}-base", children=[
        dl.GeoJSON(id=f"{prefix}-base-outside", url=basemap_url("outside", version), style=ns("outsideStyle"),
                   hideout=hide, interactive=False),
        dl.GeoJSON(id=f"{prefix}-base-land", url=basemap_url("countries", version), style=ns("landStyle"),
                   hideout=hide, interactive=False, attribution=ATTRIBUTION),
        dl.GeoJSON(id=f"{prefix}-base-lakes", url=basemap_url("lakes", version), style=ns("waterStyle"),
                   hideout=hide, interactive=False),
        dl.GeoJSON(id=f"{prefix}-base-rivers", url=basemap_url("rivers", version), style=ns("riverStyle"),
                   hideout=hide, interactive=False),
    ]))  # in its own pane under the overlays, whenever its files arrive
    layers += tile_layers(prefix)  # the centre's own tiles over it, from a zoom level on
    return layers


def places(prefix: str, dark: bool, version: str | None = None) -> dl.GeoJSON:
    return dl.GeoJSON(id=f"{prefix}-base-places", url=basemap_url("places", version or basemap_version()),
                      pointToLayer=ns("placePoint"), hideout={"dark": dark}, interactive=False)


def crossing_points(prefix: str, dark: bool) -> dl.GeoJSON:
    """Border crossing points (NSP_GEO_CROSSING_POINTS): a gate symbol and the name; the
    tooltip gives the kind and whether the position is approximate."""
    url = versioned.url("/basemap/crossing_points.geojson", versioned.of_files(geo_settings().crossing_points))
    return dl.GeoJSON(id=f"{prefix}-crossing-points", url=url,
                      pointToLayer=ns("crossingPoint"), hideout={"dark": dark})


def section_layers(prefix: str, dark: bool, labels: bool = True) -> tuple[dl.GeoJSON, dl.GeoJSON]:
    hide = {"selected": [], "dark": dark, "labels": labels}
    areas = dl.GeoJSON(id=f"{prefix}-section-areas", data=EMPTY, style=ns("areaStyle"), hideout=hide,
                       interactive=False)
    lines = dl.GeoJSON(id=f"{prefix}-section-lines", data=EMPTY, style=ns("sectionStyle"),
                       onEachFeature=ns("sectionEach"), hideout=hide)
    return areas, lines


# How close events group at low zoom (supercluster: radius in screen pixels; none from zoom 12).
CLUSTER_OPTIONS = {"radius": 48, "maxZoom": 11}


def wall_cluster_js(n_layers: int) -> str:
    """The wall's clientside callback for its ``n_layers`` event layers: the radius grows with
    its markers (--nsp-mark-scale in nsp.css), or on a 4K screen the doubled groups overlapped."""
    return f"""function(_) {{
    const s = window.nsp.map.markScale(), n = {n_layers};
    if (s === 1) return Array(n).fill(window.dash_clientside.no_update);
    return Array(n).fill(Object.assign({{}}, {json.dumps(CLUSTER_OPTIONS)}, {{radius: {CLUSTER_OPTIONS["radius"]} * s}}));
}}"""


def event_layer(prefix: str, category: str) -> dl.GeoJSON:
    return dl.GeoJSON(
        id=event_layer_id(prefix, category),
        data=EMPTY,
        cluster=True,
        clusterToLayer=ns("eventCluster"),
        pointToLayer=ns("eventPoint"),
        onEachFeature=ns("eventEach"),
        zoomToBoundsOnClick=True,
        superClusterOptions=CLUSTER_OPTIONS,
        hideout={"category": category},
    )


def heat_layer(prefix: str) -> dl.GeoJSON:
    return dl.GeoJSON(id=f"{prefix}-density", data=EMPTY, pointToLayer=ns("heatPoint"), interactive=False)


# An own asset whose last report is older than this is drawn grey and listed as silent.
ASSET_SILENT_MINUTES = 30


def operational_layers(prefix: str) -> dict[str, dl.GeoJSON]:
    return {
        "patrols": dl.GeoJSON(id=f"{prefix}-patrols", data=EMPTY, style=ns("patrolStyle"),
                              onEachFeature=ns("patrolEach")),
        "assets": dl.GeoJSON(id=f"{prefix}-assets", data=EMPTY, pointToLayer=ns("assetPoint"),
                             hideout={"assetStaleMinutes": ASSET_SILENT_MINUTES}),
        "vessels": dl.GeoJSON(id=f"{prefix}-vessels", data=EMPTY, style=ns("vesselStyle"),
                              pointToLayer=ns("vesselPoint"), onEachFeature=ns("vesselEach")),
    }


# The layers a user can switch off: (key, name). Every element a layer draws carries a CSS
# class (nsp_map.js), and nsp.css hides it under ".nsp-hide-<key>" on the map's wrapper.
# Not Leaflet's layer control: with dash-leaflet a switched-off layer came back with the next
# data refresh. Hiding by class keeps the data (the units table reads the assets layer).
LAYERS = ([("areas", "Section areas"), ("lines", "Border sections")]
          + [(c, CATEGORY_SHORT[c]) for c in CATEGORIES]
          + [("patrols", "Patrol tracks"), ("assets", "Own assets"), ("vessels", "Vessels"),
             ("air", "Aircraft and UAVs"), ("bcp", "Crossing points"), ("neighbours", "Neighbour picture")])
LAYER_SWITCH_JS = """function(shown) {
    const all = __LAYERS__;
    return "nsp-map-wrap" + all.filter(k => !(shown || []).includes(k)).map(k => " nsp-hide-" + k).join("");
}""".replace("__LAYERS__", json.dumps([k for k, _n in LAYERS]))


# What nsp_map.js writes in popups and tooltips (its w("...") calls), by English text; the
# page root carries them in its language as data-nsp-words. Impacts are an event's: the key
# "impact|<text>" (a section's level is "low" -> "zems", an event's impact "low" -> "zema").
MAP_WORDS = (
    *CATEGORY_SHORT.values(), *LEVELS,
    "internal border (no impact level)", "impact level", "board", "{n} events", "persons", "highest impact",
    "zoom in or narrow the filter to see single events", "time (UTC)", "subtype", "impact", "confidence",
    "status", "source", "section", "distance to border", "patrol", "last report {age} ago", "{n} min ago",
    "follow-up reports: {n}", "latest (UTC)", "border crossing point", "position approximate",
    "observed by patrol", "events observed: {n}",
)
# A crossing point's kind (context "bcp": in Latvian an adjective, "autoceļa robežšķērsošanas vieta").
BCP_KINDS = ("road", "rail", "air", "sea")
MAP_IMPACTS = tuple(IMPACT_WORDS.values())
# An event's status and validation in words (contexts "status" and "validation": "open" is
# not the verb); the map's popup and the event list use them.
STATUS_WORDS = {"open": "open", "closed": "closed"}
VALIDATION_WORDS = {"unvalidated": "unvalidated", "validated": "validated", "rejected": "rejected"}


@lru_cache
def map_words(lang: str) -> str:
    """The data-nsp-words attribute: JSON of nsp_map.js's texts in ``lang``."""
    words = {text: t(text, lang) for text in MAP_WORDS}
    words.update({f"impact|{text}": t(text, lang, context="impact") for text in MAP_IMPACTS})
    words.update({f"status|{text}": t(text, lang, context="status") for text in STATUS_WORDS.values()})
    words.update({f"validation|{text}": t(text, lang, context="validation") for text in VALIDATION_WORDS.values()})
    words.update({f"bcp|{kind}": t(kind, lang, context="bcp") for kind in BCP_KINDS})
    # an event's subtype by its code (a code nsp does not know: its own words, in the script)
    words.update({f"subtype|{code}": subtype_label(code, lang) for code in SUBTYPE_WORDS})
    return json.dumps(words, ensure_ascii=False, separators=(",", ":"))


def layer_switch(prefix: str, lang: str = "en") -> html.Details:
    """The layer checklist over the map's top right corner (its value kept in the browser's
    storage), under a title that folds it away like the legend's (nsp_map_boxes.js) and counts
    the layers switched off: open, it covered the country's north-east border on a 1600x1000
    window."""
    return html.Details([
        html.Summary([t("Layers", lang), html.Span(className="nsp-layers-off")]),
        dcc.Checklist(id=f"{prefix}-layers", options=[{"label": t(n, lang), "value": k} for k, n in LAYERS],
                      value=[k for k, _n in LAYERS], persistence=True, persistence_type="local"),
    ], open=True, className="nsp-layer-box", **{"data-nsp-off": t("{n} off", lang)})


def build_map(prefix: str, dark: bool = False, controls: bool = True) -> dl.Map:
    """The map with every layer; ``controls=False`` for the wall (no zoom control, no scale).
    The main page switches layers with :func:`layer_switch` beside the map."""
    areas, lines = section_layers(prefix, dark)
    ops = operational_layers(prefix)
    events = [event_layer(prefix, c) for c in CATEGORIES]
    heat = heat_layer(prefix)
    version = basemap_version()  # the basemap's files looked at once for the map
    children = [*basemap(prefix, dark, version), areas, places(prefix, dark, version), crossing_points(prefix, dark),
                lines, heat, ops["patrols"], ops["vessels"], airlayer.layer(prefix), ops["assets"], *events,
                neighbours.layer(prefix)]
    if controls:
        children.append(dl.ScaleControl(position="bottomleft"))
    children.append(dl.AttributionControl(prefix=f"Leaflet | {ATTRIBUTION}", position="bottomright"))
    return dl.Map(
        id=f"{prefix}-map",
        children=children,
        bounds=national_bounds(),
        # the wall's header and banners sit over the top of the map
        boundsOptions={"padding": [10, 10]} if controls else {"paddingTopLeft": [10, 90], "paddingBottomRight": [10, 10]},
        minZoom=5,
        maxZoom=14,
        # the wall fits the country in quarter zoom steps (whole steps left up to half of an
        # unattended screen empty); the main page keeps whole steps for its zoom buttons
        zoomSnap=None if controls else 0.25,
        # zoom and bounds reach Dash through nsp.map.trackView (see nsp_map.js for why)
        trackViewport=False,
        eventHandlers={"moveend": ns("trackView")},
        zoomControl=controls,
        attributionControl=False,
        className=f"nsp-map nsp-map-{'dark' if dark else 'light'}",
        style={"width": "100%", "height": "100%"},
    )


# ------------------------------------------------------------------------- legend
# Inline SVG components (dash_svg), so the legend needs no image URLs or data: URIs.


def _mark_size(width: float, height: float) -> dict:
    """A legend symbol drawn as large as the map draws its marker: the wall's markers grow with
    the screen (``--nsp-mark-scale`` in nsp.css, 2 on a 4K wall), so the legend's grow with
    them; elsewhere the factor is 1."""
    return {"width": f"calc({width}px * var(--nsp-mark-scale, 1))",
            "height": f"calc({height}px * var(--nsp-mark-scale, 1))"}


def shape(kind: str, size: int, fill: str, stroke: str = "#fff", width: float = 1.5) -> svg.Svg:
    """The same shapes as nsp_map.js draws on the map."""
    h, p = size / 2, width
    attrs = {"fill": fill, "stroke": stroke, "strokeWidth": width}
    if kind == "triangle":
        body = svg.Polygon(points=f"{h},{p} {size - p},{size - p} {p},{size - p}", **attrs)
    elif kind == "square":
        body = svg.Rect(x=p + 1, y=p + 1, width=size - 2 * p - 2, height=size - 2 * p - 2, **attrs)
    elif kind == "diamond":
        body = svg.Polygon(points=f"{h},{p} {size - p},{h} {h},{size - p} {p},{h}", **attrs)
    else:
        body = svg.Circle(cx=h, cy=h, r=h - p, **attrs)
    return svg.Svg(body, width=size, height=size, viewBox=f"0 0 {size} {size}", className="nsp-legend-sym",
                   style=_mark_size(size, size))


def unit_frame(silent: bool = False) -> svg.Svg:
    """An own unit's symbol as nsp_map.js draws it (geo/symbology.py OWN_UNIT_STYLE): the
    APP-6 friendly frame, a 3:2 rectangle, with the infantry cross inside."""
    u = OWN_UNIT_STYLE
    w, h, sw = u["width"], u["height"], u["strokeWidth"]
    return svg.Svg([
        svg.Rect(x=sw / 2, y=sw / 2, width=w - sw, height=h - sw, rx=1,
                 fill=u["silentFill"] if silent else u["fill"], stroke=u["stroke"], strokeWidth=sw),
        svg.Path(d=f"M{sw} {sw}L{w - sw} {h - sw}M{w - sw} {sw}L{sw} {h - sw}", stroke=u["stroke"], strokeWidth=sw),
    ], width=w, height=h, viewBox=f"0 0 {w} {h}", className="nsp-legend-sym nsp-unit-frame", style=_mark_size(w, h))


def _line(colour: str, dash: str = "", width: int = 5, dot: bool = False) -> svg.Svg:
    parts = [svg.Line(x1=1, y1=7, x2=20 if dot else 27, y2=7, stroke=colour, strokeWidth=width,
                      strokeLinecap="round", strokeDasharray=dash or None)]
    if dot:
        parts.append(svg.Circle(cx=22, cy=7, r=4, fill="#fff", stroke=colour, strokeWidth=2))
    return svg.Svg(parts, width=28, height=14, viewBox="0 0 28 14", className="nsp-legend-sym",
                   style=_mark_size(28, 14))


def _row(symbol, text, extra_class: str = "", **attrs) -> html.Div:
    return html.Div([html.Span(symbol, className="nsp-legend-key"), html.Span(text)],
                    className=f"nsp-legend-row {extra_class}".strip(), **attrs)


def legend(prefix: str, compact: bool = False, lang: str = "en") -> html.Div:
    """Explains every colour and symbol on the map (in ``lang``)."""
    levels = [_row(_line(LEVEL_COLOURS[k], width=LEVEL_WEIGHTS[k]),
                   [html.Span(LEVEL_BARS[k], className="nsp-label-level"),
                    " " + t("{level} impact level", lang, level=t(k, lang))])
              for k in LEVEL_COLOURS]
    levels.append(_row(_line(NO_LEVEL_COLOUR, "5 5", width=3), t("internal border (no level)", lang)))
    # data-nsp-cat: a click on the row filters the main page to the category (nsp_crossfilter.js)
    cats = [_row(shape(CATEGORY_STYLE[c][1], 16, CATEGORY_STYLE[c][0]), category_label(c, lang), "nsp-legend-cat",
                 **{"data-nsp-cat": c}) for c in CATEGORIES]
    sizes = [
        _row([shape("circle", s, "#999", "#000" if strong else "#fff", 3 if strong else 1.5)
              for s, strong in ((12, False), (16, False), (20, True), (24, True))],
             t("impact low → very high (size; black outline from high)", lang), "nsp-legend-sizes"),
        _row(html.Span("42", className="nsp-legend-count"), t("grouped events (count)", lang)),
        _row(html.Span(shape("circle", 16, "#999"), className="nsp-ev-closed"),
             t("closed by the NCC (faded)", lang)),
    ]
    ops = [
        _row(_line("#1f78b4", "8 4", width=3), t("patrol track", lang)),
        _row(html.Span(unit_frame(), className="nsp-legend-asset"), t("own asset: call sign, time since last report", lang)),
        _row(_line("#0b3c5d", "2 4", width=2, dot=True), t("vessel and its trail", lang)),
        # the wall's compact legend: one line, and no density (the wall never shows it)
        _row(html.Span(className="nsp-bcp-sym nsp-legend-bcp"),
             t("border crossing point", lang) if compact else t("border crossing point (road, rail, air, sea)", lang)),
        # a partner centre's share (dashboard/components/neighbours.py): never in the own figures.
        # The wall's row is one short line with the diamond only: a taller operational column
        # would take a row of the section list at 1080p.
        _row(neighbours.legend_symbol(outline=not compact),
             t("neighbour picture", lang) if compact
             else t("neighbour picture: a partner centre's shared reports, marked with its country code; "
                    "its sections dashed", lang)),
    ]
    ops[3:3] = airlayer.legend_rows(lang, compact)  # aircraft, UAVs, operators, before the crossing points
    if not compact:
        ops.append(_row(svg.Svg(svg.Circle(cx=9, cy=9, r=8, fill="#ef8a62", fillOpacity=0.6), width=18, height=18,
                                className="nsp-legend-sym", style=_mark_size(18, 18)),
                        t("event density (when shown)", lang)))
    # the wall's totals show each category's shape, colour and name above its compact legend
    groups = [(t("Border sections", lang), levels), *([] if compact else [(t("Events (shape = category)", lang), cats)]),
              (t("Impact", lang), sizes), (t("Operational", lang), ops)]
    return html.Div(
        [html.Div([html.Div(title, className="nsp-legend-title"), *rows], className="nsp-legend-group")
         for title, rows in groups],
        id=f"{prefix}-legend", className="nsp-legend" + (" nsp-legend-compact" if compact else ""),
    )


def static_legend(prefix: str, compact: bool = False, lang: str = "en") -> Static:
    """:func:`legend` as one component (dashboard/components/static.py), its markup made once per
    page kind and language: it is the same for every page load."""
    return Static(**dict(_legend_props(prefix, compact, lang)))


@lru_cache(maxsize=32)
def _legend_props(prefix: str, compact: bool, lang: str) -> tuple:
    return tuple(static(legend(prefix, compact, lang)).to_plotly_json()["props"].items())


def fill_initial(component, values: dict) -> None:
    """Set initial property values on the components of a layout, by id (``values``:
    {id: {property: value}}): a page complete on its first paint, not one round trip later."""
    cid = getattr(component, "id", None)
    if isinstance(cid, str) and cid in values:
        for prop, value in values[cid].items():
            setattr(component, prop, value)
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            fill_initial(child, values)

