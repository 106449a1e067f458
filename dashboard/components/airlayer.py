"""The air layer of the map and the wall: aircraft and UAVs (geo/air.py), drawn by
dashboard/assets/nsp_air.js in the shapes of geo/symbology.py AIR_STYLE.

:func:`layer` is the map's layer (mapview.build_map adds it); :func:`register` adds the
callback that fills it on a page whose state and refresh are ``<prefix>-state`` and
``<prefix>-refresh``. It reads under the user's scope, as every layer does.
"""

from __future__ import annotations

import dash_leaflet as dl
import dash_svg as svg
from dash import Input, Output, html
from dash_extensions.javascript import Namespace

from dashboard.components import unchanged
from dashboard.i18n import t
from dashboard.scope import current_scope
from dashboard.state import to_filter
from geo import air
from geo.symbology import AIR_STYLE

ns = Namespace("nsp", "air")
EMPTY = {"type": "FeatureCollection", "features": []}


def layer_id(prefix: str) -> str:
    return f"{prefix}-air"


def layer(prefix: str) -> dl.GeoJSON:
    return dl.GeoJSON(id=layer_id(prefix), data=EMPTY, style=ns("airStyle"), pointToLayer=ns("airPoint"))


def update(state: dict | None, _n=None) -> dict:
    """The aircraft and UAVs of the picture's time (its end, or 'as at' in replay)."""
    f = to_filter(state or {})
    return air.air_layer(current_scope(), f.end, sections=list(f.sections) if f.sections is not None else None)


def digests_id(prefix: str) -> str:
    """The page's Store of what its air layer holds (dashboard/components/unchanged.py)."""
    return f"{prefix}-air-digests"


def part(prefix: str) -> unchanged.Part:
    """The layer as a refreshing part, which its page brings in its layout (unchanged.first_paint)."""
    return unchanged.Part((Output(layer_id(prefix), "data"),), digests_id(prefix), update)


def register(prefix: str) -> None:
    unchanged.callback(Output(layer_id(prefix), "data"), Input(f"{prefix}-state", "data"),
                       Input(f"{prefix}-refresh", "n_intervals"), digests=digests_id(prefix),
                       prevent_initial_call=True)(update)


def _size(width: float, height: float) -> dict:
    """As large as the map draws the mark: the wall's grow with the screen (--nsp-mark-scale in
    nsp.css and nsp_air.css, 2 on a 4K wall); elsewhere the factor is 1."""
    return {"width": f"calc({width}px * var(--nsp-mark-scale, 1))",
            "height": f"calc({height}px * var(--nsp-mark-scale, 1))"}


def symbol(kind: str) -> svg.Svg:
    """The legend's aircraft, UAV or UAV operator, drawn as nsp_air.js draws it on the map."""
    s = AIR_STYLE[kind]
    n, h = s["size"], s["size"] / 2
    if s["shape"] == "arrowhead":
        body = [svg.Polygon(points=f"{h},1 {n - 2},{n - 2} {h},{n * 0.7} 2,{n - 2}", fill=s["fill"],
                            stroke=s["stroke"], strokeWidth=1.5)]
    elif s["shape"] == "quadcopter":  # four rotors round a cross
        r = n * 0.2
        a, b = r + 1, n - r - 1
        body = [svg.Path(d=f"M{a},{a} L{b},{b} M{b},{a} L{a},{b}", stroke=s["fill"], strokeWidth=3),
                *[svg.Circle(cx=x, cy=y, r=r, fill=s["fill"], stroke=s["stroke"], strokeWidth=1.2)
                  for x, y in ((a, a), (b, a), (a, b), (b, b))]]
    else:  # the operator: a small ring, and the dashed line that ties it to its UAV on the map
        w = n + 18
        return svg.Svg([svg.Line(x1=n, y1=h, x2=w, y2=h, stroke=s["link"], strokeWidth=1.5, strokeDasharray="3 5"),
                        svg.Circle(cx=h, cy=h, r=h - 2, fill=s["fill"], stroke=s["stroke"], strokeWidth=2)],
                       width=w, height=n, viewBox=f"0 0 {w} {n}", className=f"nsp-legend-sym nsp-legend-{kind}",
                       style=_size(w, n))
    return svg.Svg(body, width=n, height=n, viewBox=f"0 0 {n} {n}", className=f"nsp-legend-sym nsp-legend-{kind}",
                   style=_size(n, n))


def legend_rows(lang: str = "en", compact: bool = False) -> list[html.Div]:
    """The legend's rows of the air layer (mapview.legend): aircraft, UAV and a UAV's operator;
    ``compact`` (the wall's legend): the three on one line, so the legend is no taller and the
    wall's section list keeps its room."""
    def row(kinds: list[str], text: str) -> html.Div:
        return html.Div([html.Span([symbol(k) for k in kinds], className="nsp-legend-key"), html.Span(text)],
                        className="nsp-legend-row nsp-legend-air")
    if compact:
        return [row(["aircraft", "uav", "operator"], t("aircraft, UAV, its operator", lang))]
    return [row(["aircraft"], t("aircraft: call sign, altitude (FL or ft)", lang)),
            row(["uav"], t("UAV: UAS id, altitude (m); dashed to its operator", lang)),
            row(["operator"], t("UAV operator (Remote ID)", lang))]
