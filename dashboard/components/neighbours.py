"""The neighbour picture's layer on the main page's and the wall's maps (geo/neighbours.py).

Partner centres' shared features (``neighbour_feature``), drawn apart from the own picture: a
hollow diamond in the partner's country code for an event or unit, a dashed outline for a
section, with a tooltip naming the partner's country, what it is and when. Loaded from
``/neighbours.geojson`` with the page, then at each refresh of the page (``<prefix>-refresh``)
when it changed, under the viewer's scope (row-level security: scopes of every section read
it; a sector commander's map gets an empty layer). Read-only: nothing here writes, and
the own sections' figures never read this table. Styling: dashboard/assets/nsp_neighbours.js.
The main page's layer switch shows and hides it (``neighbours``, mapview.LAYERS; hidden by
nsp.css's ``.nsp-hide-neighbours``), and both maps' legends explain it (:func:`legend_symbol`).
"""

from __future__ import annotations

import json

import dash_leaflet as dl
import dash_svg as svg
from dash import Input, Output, State, callback, html, no_update
from dash_extensions.javascript import Namespace
from flask import Blueprint, Response

from dashboard.components.unchanged import digest
from dashboard.scope import current_scope
from nsp import access

ns = Namespace("nspNeighbours", "map")
COLOUR = "#6b4fa0"  # the layer's colour: nsp_neighbours.js draws with it, nsp.css writes the codes in it
blueprint = Blueprint("nsp_neighbours", __name__)
MAX_FEATURES = 5000  # the newest, so that a large share cannot swamp the browser
QUERY = """
SELECT f.neighbour, f.country, f.layer, f.feature_id, f.category, f.impact, f.persons,
       f.occurred_at, f.properties ->> 'section_code' AS section_code, ST_AsGeoJSON(f.geom, 5) AS geometry
  FROM neighbour_feature f
 ORDER BY f.occurred_at DESC NULLS LAST
 LIMIT %(limit)s
"""


def legend_symbol(outline: bool = True) -> html.Span:
    """The legend's key: the hollow diamond the map draws for a partner's report, and (with
    ``outline``) the dashed outline of its sections."""
    diamond = html.Span(html.Span("\u25c7", className="nsp-neighbour-sym"), className="nsp-neighbour nsp-legend-neighbour")
    if not outline:
        return diamond
    return html.Span([
        diamond,
        svg.Svg(svg.Line(x1=1, y1=7, x2=21, y2=7, stroke=COLOUR, strokeWidth=2, strokeDasharray="6 4"),
                width=22, height=14, viewBox="0 0 22 14", className="nsp-legend-sym"),
    ])


def layer(prefix: str) -> dl.GeoJSON:
    """The layer: its data come with the page from :func:`features` (its URL)."""
    return dl.GeoJSON(id=f"{prefix}-neighbours", url="/neighbours.geojson", pointToLayer=ns("point"),
                      style=ns("style"), onEachFeature=ns("each"), hideout={"digest": ""})


def refresh(_n, hideout):
    """The layer's data at a refresh of the page, when they changed since the last one."""
    data = collection(current_scope())
    new = digest(data)
    if (hideout or {}).get("digest") == new:
        return no_update, no_update
    return data, {"digest": new}


for _prefix in ("main", "wall"):
    callback(Output(f"{_prefix}-neighbours", "data"), Output(f"{_prefix}-neighbours", "hideout"),
             Input(f"{_prefix}-refresh", "n_intervals"), State(f"{_prefix}-neighbours", "hideout"),
             prevent_initial_call=True)(refresh)


def collection(scope) -> dict:
    with access.connection(scope) as conn:
        rows = conn.execute(QUERY, {"limit": MAX_FEATURES}).fetchall()
    features = [{"type": "Feature", "id": f"{r['neighbour']}/{r['layer']}/{r['feature_id']}",
                 "geometry": json.loads(r["geometry"]),
                 "properties": {"neighbour": r["neighbour"], "country": r["country"], "layer": r["layer"],
                                "category": r["category"], "impact": r["impact"], "persons": r["persons"],
                                "section": r["section_code"],
                                "time": r["occurred_at"].isoformat() if r["occurred_at"] else None}}
                for r in rows]
    return {"type": "FeatureCollection", "features": features}


@blueprint.get("/neighbours.geojson")
def features():
    """The neighbour picture as GeoJSON, under the signed-in user's scope."""
    response = Response(json.dumps(collection(current_scope())), mimetype="application/geo+json")
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response
