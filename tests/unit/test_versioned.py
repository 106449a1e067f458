"""The versions in the URLs of the responses a browser keeps (dashboard/versioned.py): a
changed file or release is a new URL, the same one the same URL."""

from __future__ import annotations

import os
import re

from flask import Flask

from dashboard import versioned

VERSIONED = re.compile(r"(?P<path>/[^?]+)\?v=(?P<v>[0-9a-f]{12})")


def _bump(path, data: bytes) -> None:
    """Write ``data`` and move the modification time on (a file system's clock may be coarse)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_bytes(data)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_a_file_changed_on_disk_gets_a_new_version_and_an_unchanged_one_keeps_it(tmp_path):
    f = tmp_path / "points.geojson"
    _bump(f, b'{"type": "FeatureCollection", "features": []}')
    first = versioned.of_files(f)
    assert versioned.of_files(f) == first
    _bump(f, b'{"type": "FeatureCollection", "features": [1]}')
    assert versioned.of_files(f) != first
    assert versioned.of_files(tmp_path / "gone.geojson") != versioned.of_files(None) != first
    assert versioned.url("/a.geojson", "0123456789ab") == "/a.geojson?v=0123456789ab"


def test_the_crossing_points_layer_asks_for_the_file_that_is_configured_now(tmp_path, monkeypatch):
    from dashboard.components import mapview
    from nsp.settings import geo_settings

    f = tmp_path / "crossing_points.geojson"
    _bump(f, b'{"type": "FeatureCollection", "features": []}')
    monkeypatch.setenv("NSP_GEO_CROSSING_POINTS", str(f))
    geo_settings.cache_clear()
    try:
        first = VERSIONED.fullmatch(mapview.crossing_points("main", False).url)
        assert first and first["path"] == "/basemap/crossing_points.geojson"
        assert mapview.crossing_points("wall", True).url == first[0]
        _bump(f, b'{"type": "FeatureCollection", "features": [], "name": "new"}')
        again = VERSIONED.fullmatch(mapview.crossing_points("main", False).url)
        assert again and again["path"] == first["path"] and again["v"] != first["v"]
    finally:
        geo_settings.cache_clear()


def test_the_basemap_layers_carry_the_version_of_the_basemap_files():
    from dashboard.components import mapview

    pane = next(layer for layer in mapview.basemap("main", False) if layer.id == "main-base")
    urls = [layer.url for layer in pane.children] \
        + [mapview.places("main", False).url]
    found = [VERSIONED.fullmatch(u) for u in urls]
    assert all(found), urls
    assert [m["path"] for m in found] == ["/basemap/outside.geojson", "/basemap/countries.geojson",
                                          "/basemap/lakes.geojson", "/basemap/rivers.geojson",
                                          "/basemap/places.geojson"]
    assert len({m["v"] for m in found}) == 1


def test_the_pages_ask_for_the_vocabulary_of_this_release():
    from dashboard.app import app, vocab_script

    with Flask(__name__).test_request_context("/vocab.js"):
        body = vocab_script().get_data()
    asked = [s for s in app.config.external_scripts if str(s).startswith("/vocab.js")]
    assert asked == [versioned.url("/vocab.js", versioned.of_bytes(body))]
