"""The centre's own offline basemap (``NSP_WEB_BASEMAP_TILES``), served by the app itself.

``/basemap/tiles/{z}/{x}/{y}.{png|jpg|webp}`` answers from the MBTiles or PMTiles file
(geo/tiles.py): raster tiles as stored, vector tiles (MVT) drawn to PNG with nsp's plain style
(geo/vector_tiles.py) and kept in memory (the last :data:`RENDERED` tiles); :func:`tile_layers` gives both maps (the main view and the wall) a tile layer
for it in its own pane, above the Natural Earth basemap and under the picture, drawn from
``NSP_WEB_BASEMAP_TILES_MIN_ZOOM`` on and only inside the file's bounds. With no file set,
or one that cannot serve (the server's log says which file and why), the maps keep the
Natural Earth basemap alone.
"""

from __future__ import annotations

import logging
import zlib
from functools import lru_cache

import dash_leaflet as dl
from flask import Blueprint, Response, abort

from dashboard import versioned
from dashboard.settings import web_settings
from geo.tiles import TileArchive, TileArchiveError, open_archive
from geo.vector_tiles import VectorTileError, render

log = logging.getLogger(__name__)
blueprint = Blueprint("nsp_basemap_tiles", __name__)
URL = "/basemap/tiles/{z}/{x}/{y}."
RENDERED = 4096  # vector tiles drawn, kept in memory (some 5-60 kB each)


@lru_cache(maxsize=1)
def archive() -> TileArchive | None:
    """The configured tile file, opened once; None when none is set or it cannot serve."""
    path = web_settings().basemap_tiles
    if not path:
        return None
    try:
        found = open_archive(path)
    except TileArchiveError as exc:
        log.error("NSP_WEB_BASEMAP_TILES not used: %s", exc)
        return None
    log.info("own basemap %s: %s tiles, zoom %d-%d", path, found.format, found.min_zoom, found.max_zoom)
    return found


@lru_cache(maxsize=RENDERED)
def rendered(path: str, z: int, x: int, y: int) -> bytes | None:
    """The vector tile z/x/y of the file at ``path`` drawn to PNG; None where there is none or it
    cannot be decoded (the log names the file, the tile and why, once)."""
    found = archive()
    if found is None or str(found.path) != path:
        return None
    try:
        data = found.tile(z, x, y)
        return None if data is None else render(data, z).png
    except (VectorTileError, OSError, EOFError, zlib.error) as exc:  # a bad tile, or bad gzip
        log.error("own basemap %s: tile %d/%d/%d not drawn: %s", path, z, x, y, exc)
        return None


@blueprint.route("/basemap/tiles/<int:z>/<int:x>/<int:y>.<ext>")
def tile(z: int, x: int, y: int, ext: str):
    found = archive()
    if found is None or ext != found.extension:
        abort(404)
    data = rendered(str(found.path), z, x, y) if found.vector else found.tile(z, x, y)
    if data is None:
        abort(404)
    response = Response(data, mimetype=found.mimetype)
    response.cache_control.max_age = 3600
    return response


def tile_layers(prefix: str) -> list:
    """The own basemap's layer for the map ``prefix`` (none without a file): a pane of its own
    (z-index in nsp.css) over the Natural Earth land, under the sections and the events."""
    found = archive()
    if found is None:
        return []
    s = web_settings()
    options = {"minZoom": max(s.basemap_tiles_min_zoom, 0), "maxNativeZoom": found.max_zoom,
               "minNativeZoom": found.min_zoom}
    if found.bounds:
        west, south, east, north = found.bounds
        options["bounds"] = [[south, west], [north, east]]
    attribution = s.basemap_tiles_attribution or found.attribution or None
    return [dl.Pane(name="nsptiles", id=f"{prefix}-own-tiles-pane", children=[
        dl.TileLayer(id=f"{prefix}-own-tiles", url=versioned.url(URL + found.extension, versioned.of_files(found.path)),
                     attribution=attribution, **options)])]
