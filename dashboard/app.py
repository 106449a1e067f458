"""The Dash app: the situational picture at ``/`` and the wall display at ``/wall``.

``create_app()`` builds it (pages pattern: one module per page in ``dashboard/pages``);
``app`` and ``server = app.server`` are what ``nsp serve`` and gunicorn run. Everything the
browser loads is served by the app itself (``serve_locally``): Dash's and dash-leaflet's
bundles (Leaflet's CSS included), ``dashboard/assets`` and the offline basemap under
``/basemap/``. A tile server is used only when ``NSP_WEB_TILE_URL`` is set.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import dash
from dash import Dash, html
from flask import abort, jsonify, send_from_directory

from dashboard import i18n
from dashboard.components.mapview import BASEMAP_FILES
from dashboard.settings import web_settings
from geo.basemap import outside
from nsp.settings import geo_settings

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)


def _optional(module: str):
    """Import an optional integration module (login, ingest API); None if it is not there."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


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
    )
    app.scripts.config.serve_locally = True
    app.css.config.serve_locally = True
    server = app.server
    _register_basemap(server)
    from dashboard.health import blueprint as health

    server.register_blueprint(health)  # GET /healthz, open without login (dashboard/health.py)
    server.after_request(i18n.remember)  # ?lang= on a page is kept in a cookie (dashboard/i18n.py)

    auth = _optional("dashboard.auth")
    if auth is not None and hasattr(auth, "init_app"):
        auth.init_app(server)
    else:
        log.warning("dashboard.auth is not installed: every user is a watch officer")

    api = _optional("ingest.api")
    if api is not None and hasattr(api, "blueprint"):
        server.register_blueprint(api.blueprint)

    app.layout = html.Div([dash.page_container], className="nsp-root")
    return app


app = create_app()
server = app.server
