"""The Dash app: the situational picture at ``/`` and the wall display at ``/wall``.

``create_app()`` builds it (pages pattern: one module per page in ``dashboard/pages``);
``app`` and ``server = app.server`` are what ``nsp serve`` and gunicorn run. Everything the
browser loads is served by the app itself (``serve_locally``): Dash's and dash-leaflet's
bundles (Leaflet's CSS included), ``dashboard/assets`` and the offline basemap under
``/basemap/``. A tile server is used only when ``NSP_WEB_TILE_URL`` is set.

Dash answers every path with the app page and shows its 404 in the browser; here a path
that is no registered page (``dash.page_registry``) and no other route answers ``404``.
"""

from __future__ import annotations

import gc
import html as html_text
import json
import logging
import re
from functools import lru_cache
from pathlib import Path

import dash
from dash import Dash, html
from flask import Response, abort, jsonify, request, send_from_directory

from dashboard import auth, basemap_tiles, exports, health, i18n, ogc, plotly_basic, versioned
from dashboard.components import neighbours
from dashboard.components.mapview import BASEMAP_FILES
from dashboard.settings import web_settings
from geo import symbology
from geo.basemap import outside
from ingest.delivery import api, neighbours_api
from nsp import vocab
from nsp.settings import geo_settings

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def vocab_body() -> str:
    return "window.nspVocab = " + json.dumps(vocab.for_browser() | symbology.for_browser(),
                                             ensure_ascii=False) + ";\n"


def vocab_script() -> Response:
    """``/vocab.js``: the picture's vocabulary (nsp/vocab.py) and the symbols (geo/symbology.py)
    for the browser's scripts, as ``window.nspVocab``; loaded before dashboard/assets, so
    nsp_map.js holds no copy of them. The pages ask for it with its version (``?v=``,
    dashboard/versioned.py), so a new release's vocabulary is never one a browser kept."""
    response = Response(vocab_body(), mimetype="text/javascript")
    response.cache_control.max_age = 3600
    return response


def _register_basemap(server) -> None:
    directory = web_settings().basemap_dir

    @server.route("/basemap/outside.geojson")
    def basemap_outside():
        """Where the basemap's data ends (geo/basemap.py), computed once per folder."""
        response = jsonify(outside(directory))
        response.mimetype = "application/geo+json"
        response.cache_control.max_age = 3600
        return response

    @server.route("/basemap/crossing_points.geojson")
    def basemap_crossing_points():
        """The border crossing points (NSP_GEO_CROSSING_POINTS; geo/crossing_points.py)."""
        path = geo_settings().crossing_points
        if not path or not Path(path).is_file():
            response = jsonify({"type": "FeatureCollection", "features": []})
            response.mimetype = "application/geo+json"
            return response
        return send_from_directory(Path(path).parent, Path(path).name, mimetype="application/geo+json",
                                   max_age=3600)

    @server.route("/basemap/<name>.geojson")
    def basemap(name: str):
        if name not in BASEMAP_FILES:
            abort(404)
        response = send_from_directory(directory, f"{name}.geojson", mimetype="application/geo+json",
                                       max_age=3600)
        return response


DASH_CATCH_ALL = "/<path:path>"


def page_pattern(page: dict) -> re.Pattern:
    """What request paths show ``page`` (its path, or its ``path_template`` with <variables>)."""
    template = (page.get("path_template") or page["path"]).strip("/")
    return re.compile("[^/]+".join(re.escape(part) for part in re.split(r"<[^>]+>", template)))


def is_page(path: str) -> bool:
    wanted = path.strip("/")
    return any(page_pattern(page).fullmatch(wanted) for page in dash.page_registry.values())


def _unknown_path():
    """404 for a path Dash would answer with the app page although no page has it."""
    rule = request.url_rule
    if rule is None or rule.rule != DASH_CATCH_ALL or is_page(request.path):
        return None
    say = i18n.t
    lang = i18n.current()
    body = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>nsp — 404</title></head>'
            f'<body><h1>{html_text.escape(say("Page not found.", lang))}</h1>'
            f'<p><a href="/">{html_text.escape(say("Back to the picture", lang))}</a></p></body></html>')
    return Response(body, status=404, mimetype="text/html")


def create_app() -> Dash:
    app = Dash(
        "dashboard",
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        serve_locally=True,
        title="nsp — national situational picture",
        update_title=None,
        suppress_callback_exceptions=True,
        external_scripts=[versioned.url("/vocab.js", versioned.of_bytes(vocab_body().encode()))],  # same origin: served below
    )
    app.scripts.config.serve_locally = True
    app.css.config.serve_locally = True
    server = app.server
    _register_basemap(server)
    server.register_blueprint(basemap_tiles.blueprint)  # /basemap/tiles/: NSP_WEB_BASEMAP_TILES (dashboard/basemap_tiles.py)
    server.add_url_rule("/vocab.js", "nsp_vocab", vocab_script)
    # plotly.js's basic bundle at Dash's URL for plotly.js (dashboard/plotly_basic.py): a rule
    # without variable parts, which the URL map matches before Dash's component-suites rule
    server.add_url_rule(plotly_basic.URL, "nsp_plotly_basic", plotly_basic.serve)
    server.register_blueprint(health.blueprint)  # GET /healthz, open without login (dashboard/health.py)
    server.after_request(i18n.remember)  # ?lang= on a page is kept in a cookie (dashboard/i18n.py)
    auth.init_app(server)  # the login gate and /login, /logout (dashboard/auth.py)
    server.before_request(_unknown_path)  # after the login gate: strangers are sent to /login
    server.register_blueprint(api.blueprint)  # POST /api/ingest (ingest/delivery/api.py)
    server.register_blueprint(neighbours_api.blueprint)  # POST /api/ingest/neighbours/<name> (partner pushes)
    server.register_blueprint(neighbours.blueprint)  # GET /neighbours.geojson: the neighbour picture's layer
    server.register_blueprint(exports.blueprint)  # /export/... downloads (dashboard/exports.py)
    server.register_blueprint(ogc.blueprint)  # /ogc: OGC API - Features for GIS clients (dashboard/ogc.py)
    server.register_blueprint(ogc.tiles_blueprint)  # /tiles/{z}/{x}/{y}.mvt vector tiles (dashboard/ogc.py)

    app.layout = html.Div([dash.page_container], className="nsp-root")
    return app


app = create_app()
server = app.server
# What is imported and built so far (Dash, the pages, pandas, GeoPandas: some 160,000 objects)
# lives as long as the process. Frozen, the cycle collector stops walking it on every full
# collection that a map update's thousands of short-lived feature dicts set off: the zoomed-in
# update's slowest runs took twice its median before (docs/development/benchmarks.md).
gc.freeze()
