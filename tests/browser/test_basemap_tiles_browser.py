"""The centre's own basemap (NSP_WEB_BASEMAP_TILES) in real Chromium: the maps request its
tiles from the app itself, from the set zoom level on, and draw them under the picture."""

from __future__ import annotations

import re
import time

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By

from tests.support.browser import ZOOM_SCALE, wait, zoom_in
from tests.support.dashboard import external_requests, sent_requests, wait_for_sections
from tests.support.tiles import COLOUR, make_mbtiles, make_pmtiles, make_vector_mbtiles

# [loaded tiles in the own basemap's pane, of them those whose middle pixel is the archive's colour]
_TILES = """const imgs = Array.from(document.querySelectorAll('.leaflet-nsptiles-pane img.leaflet-tile'))
    .filter(i => i.complete && i.naturalWidth === 256);
const c = document.createElement('canvas'); c.width = c.height = 1;
const g = c.getContext('2d');
const hit = imgs.filter(i => { g.clearRect(0, 0, 1, 1); g.drawImage(i, 128, 128, 1, 1, 0, 0, 1, 1);
    const p = g.getImageData(0, 0, 1, 1).data; return [p[0], p[1], p[2]].join() === arguments[0]; });
return [imgs.length, hit.length];"""
# the own pane's place among Leaflet's: over the Natural Earth basemap, under the overlays
_PANES = """const z = n => parseInt(getComputedStyle(document.querySelector('.leaflet-' + n + '-pane')).zIndex, 10);
return [z('nspbase'), z('nsptiles'), z('overlay')];"""


# [loaded tiles in the own pane, of them those with drawn pixels, the most drawn pixels of one]
_DRAWN = """const imgs = Array.from(document.querySelectorAll('.leaflet-nsptiles-pane img.leaflet-tile'))
    .filter(i => i.complete && i.naturalWidth === 256);
const c = document.createElement('canvas'); c.width = c.height = 256;
const g = c.getContext('2d');
const drawn = imgs.map(i => { g.clearRect(0, 0, 256, 256); g.drawImage(i, 0, 0);
    const a = g.getImageData(0, 0, 256, 256).data; let n = 0;
    for (let k = 3; k < a.length; k += 4) if (a[k] > 0) n++; return n; });
return [imgs.length, drawn.filter(n => n > 0).length, Math.max(0, ...drawn)];"""


def _tile_requests(driver) -> list[str]:
    return [r["url"] for r in sent_requests(driver) if "/basemap/tiles/" in r["url"]]


def _serving(monkeypatch, path, **env):
    """The test app's own basemap is ``path`` (with the settings ``env``); the settings and the
    tile caches are emptied before and after."""
    from dashboard.basemap_tiles import archive, rendered
    from dashboard.settings import web_settings

    caches = (web_settings, archive, rendered)
    for name, value in {"NSP_WEB_BASEMAP_TILES": str(path), **env}.items():
        monkeypatch.setenv(name, value)
    for cache in caches:
        cache.cache_clear()
    yield path
    monkeypatch.delenv("NSP_WEB_BASEMAP_TILES")
    for cache in caches:
        cache.cache_clear()


@pytest.fixture(params=["mbtiles", "pmtiles"])
def own_tiles(request, tmp_path, monkeypatch, web_env):
    path = make_mbtiles(tmp_path)
    if request.param == "pmtiles":
        path = make_pmtiles(path)
    yield from _serving(monkeypatch, path, NSP_WEB_BASEMAP_TILES_ATTRIBUTION="Test centre tiles")


def test_main_map_draws_the_own_tiles_from_their_zoom_level_on(own_tiles, logged_in, live_server):
    d = logged_in
    d.get_log("performance")
    d.get(live_server + "/")
    wait_for_sections(d)
    time.sleep(1)
    assert d.execute_script(ZOOM_SCALE) < 2 ** 9
    assert _tile_requests(d) == []  # the national view: Natural Earth alone
    panes = d.execute_script(_PANES)
    assert panes[0] < panes[1] < panes[2], panes
    while d.execute_script(ZOOM_SCALE) < 2 ** 9:
        zoom_in(d)
    # every tile drawn is the archive's, once the zoom has settled (the previous level's tiles
    # leave the pane when Leaflet's zoom ends; a loaded machine saw them still there once)
    seen = []
    try:
        wait(d, 30).until(lambda x: (n := x.execute_script(_TILES, ",".join(map(str, COLOUR))))[1] > 0
                          and not seen.append(n) and n[0] == n[1])
    except TimeoutException:
        raise AssertionError(f"tiles drawn, of them the archive's: {seen[-5:]}") from None
    urls = _tile_requests(d)
    # with the file's version (dashboard/versioned.py): a new file is fetched, never a kept tile
    assert urls and all(re.fullmatch(re.escape(live_server) + r"/basemap/tiles/9/\d+/\d+\.png\?v=[0-9a-f]{12}", u)
                        for u in urls), urls
    assert external_requests(d) == []
    assert "Test centre tiles" in d.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution").text


def test_wall_draws_the_own_tiles(own_tiles, logged_in, live_server, monkeypatch):
    from dashboard.settings import web_settings

    monkeypatch.setenv("NSP_WEB_BASEMAP_TILES_MIN_ZOOM", "6")  # the wall's national view is zoom 7
    web_settings.cache_clear()
    d = logged_in
    d.get_log("performance")
    d.get(live_server + "/wall")
    wait_for_sections(d)
    wait(d, 30).until(lambda x: x.execute_script(_TILES, ",".join(map(str, COLOUR)))[1] > 0)
    assert _tile_requests(d) and external_requests(d) == []


def test_no_tiles_without_a_file(logged_in, live_server):
    d = logged_in
    d.get(live_server + "/")
    wait_for_sections(d)
    assert not d.find_elements(By.CSS_SELECTOR, ".leaflet-nsptiles-pane img")
    # the route answers no tile (asked from the logged-in page itself)
    status = d.execute_script("return fetch('/basemap/tiles/9/290/158.png').then(r => r.status)")
    assert status == 404


@pytest.fixture(params=["mbtiles", "pmtiles"])
def own_vector_tiles(request, tmp_path, monkeypatch, web_env):
    """Vector tiles (MVT) of the Latvia geodata, written by GDAL, as MBTiles or PMTiles."""
    path = make_vector_mbtiles(tmp_path)
    if request.param == "pmtiles":
        path = make_pmtiles(path, "vector.pmtiles")
    yield from _serving(monkeypatch, path, NSP_WEB_BASEMAP_TILES_MIN_ZOOM="7")


def test_vector_tiles_are_drawn_by_the_app_under_the_picture(own_vector_tiles, logged_in, live_server):
    """A vector file is drawn to PNG by the app (geo/vector_tiles.py) and shown in the own pane:
    tiles with pixels (rivers, lakes, borders, names) and the rest of each tile clear."""
    d = logged_in
    d.get_log("performance")
    d.get(live_server + "/")
    wait_for_sections(d)
    panes = d.execute_script(_PANES)
    assert panes[0] < panes[1] < panes[2], panes  # over Natural Earth, under the sections and events
    while d.execute_script(ZOOM_SCALE) < 2 ** 8:
        zoom_in(d)
    seen = []
    try:
        wait(d, 60).until(lambda x: (n := x.execute_script(_DRAWN)) and not seen.append(n) and n[1] >= 2)
    except TimeoutException:
        raise AssertionError(f"tiles loaded, with pixels, most pixels: {seen[-5:]}") from None
    loaded, with_pixels, most = seen[-1]
    assert most < 256 * 256 * 0.6, seen[-1]  # lines and names on a clear tile, not an opaque sheet
    urls = _tile_requests(d)
    # PNG, from zoom 7 (NSP_WEB_BASEMAP_TILES_MIN_ZOOM) on, none below (a loaded machine's
    # clicks may zoom on past 8 before the scale is read)
    tiles = [re.fullmatch(re.escape(live_server) + r"/basemap/tiles/(\d+)/\d+/\d+\.png\?v=[0-9a-f]{12}", u) for u in urls]
    assert urls and all(m and int(m[1]) >= 7 for m in tiles), urls
    assert external_requests(d) == []
    # the sections are drawn over it: a section line's path lies in the overlay pane, above the tiles
    assert d.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane path")
