"""geo/tiles.py: the own basemap read from MBTiles (TMS rows) and PMTiles, and what it refuses;
geo/vector_tiles.py: vector tiles (made by GDAL from the Latvia geodata) drawn with the plain style."""

from __future__ import annotations

import sqlite3

import pytest

from geo.tiles import TileArchiveError, open_archive
from geo.vector_tiles import BUILDING, GREEN, ROAD, WATER, VectorTileError, render
from tests.support.tiles import BOX, make_mbtiles, make_pmtiles, make_vector_mbtiles


@pytest.fixture(scope="module")
def mbtiles(tmp_path_factory):
    return make_mbtiles(tmp_path_factory.mktemp("tiles"))


def _xyz_tiles(path):
    """Every tile of the MBTiles file by its XYZ address (row flipped from TMS)."""
    with sqlite3.connect(path) as conn:
        return {(z, x, 2 ** z - 1 - row): bytes(data)
                for z, x, row, data in conn.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")}


def test_mbtiles_tiles_are_found_by_xyz_address_with_the_tms_row_flipped(mbtiles):
    archive = open_archive(mbtiles)
    assert (archive.kind, archive.format, archive.mimetype) == ("mbtiles", "png", "image/png")
    assert (archive.min_zoom, archive.max_zoom) == (7, 9)
    assert archive.bounds == pytest.approx(BOX, abs=0.01)
    tiles = _xyz_tiles(mbtiles)
    assert len(tiles) > 10
    for (z, x, y), data in tiles.items():
        assert archive.tile(z, x, y) == data
        assert data.startswith(b"\x89PNG")
    # at zoom 9 Latvia's centre (24.6 E, 56.85 N) is tile x 290, y 158 (XYZ, from the north)
    assert (9, 290, 158) in tiles
    assert archive.tile(9, 290, 2 ** 9 - 1 - 158) is None  # the TMS row read as XYZ: nothing there
    assert archive.tile(9, 0, 0) is None and archive.tile(3, 99, 0) is None


def test_pmtiles_serve_the_same_tiles(mbtiles):
    archive = open_archive(make_pmtiles(mbtiles))
    assert (archive.kind, archive.format, archive.min_zoom, archive.max_zoom) == ("pmtiles", "png", 7, 9)
    assert archive.bounds == pytest.approx(BOX, abs=0.01)
    for (z, x, y), data in _xyz_tiles(mbtiles).items():
        assert archive.tile(z, x, y) == data
    assert archive.tile(9, 0, 0) is None


def test_a_file_that_cannot_serve_is_refused_with_its_name_and_the_reason(tmp_path, mbtiles):
    text = tmp_path / "notes.mbtiles"
    text.write_text("not tiles")
    with pytest.raises(TileArchiveError, match=r"notes\.mbtiles: neither an MBTiles"):
        open_archive(text)
    with pytest.raises(TileArchiveError, match=r"missing\.pmtiles: cannot be read"):
        open_archive(tmp_path / "missing.pmtiles")
    other = tmp_path / "other.mbtiles"
    other.write_bytes(mbtiles.read_bytes())
    with sqlite3.connect(other) as conn:
        conn.execute("UPDATE metadata SET value = 'tiff' WHERE name = 'format'")
    with pytest.raises(TileArchiveError, match=r"other\.mbtiles: tile format 'tiff' is not PNG, JPEG, WebP or vector"):
        open_archive(other)
    empty = tmp_path / "empty.mbtiles"
    with sqlite3.connect(empty) as conn:
        conn.execute("CREATE TABLE metadata (name text, value text)")
        conn.execute("CREATE TABLE tiles (zoom_level int, tile_column int, tile_row int, tile_data blob)")
    with pytest.raises(TileArchiveError, match=r"empty\.mbtiles: the MBTiles file holds no tiles"):
        open_archive(empty)


# ------------------------------------------------------------------ vector tiles


@pytest.fixture(scope="module")
def vector_mbtiles(tmp_path_factory):
    return make_vector_mbtiles(tmp_path_factory.mktemp("vtiles"))


def _png(data: bytes):
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(data))
    assert (img.format, img.size, img.mode) == ("PNG", (256, 256), "RGBA")
    return img


def _near(pixel, colour, tol: int = 10) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel, colour, strict=True))


def test_vector_mbtiles_by_gdal_are_served_as_png_drawn_with_the_plain_style(vector_mbtiles):
    archive = open_archive(vector_mbtiles)
    assert (archive.kind, archive.format, archive.vector) == ("mbtiles", "pbf", True)
    assert (archive.extension, archive.mimetype) == ("png", "image/png")  # what the app serves
    assert (archive.min_zoom, archive.max_zoom) == (6, 10)
    assert archive.bounds == pytest.approx((20.97, 54.8, 30.0, 59.0), abs=0.01)
    with sqlite3.connect(vector_mbtiles) as conn:  # GDAL stores them gzip-compressed, TMS rows
        (stored,) = conn.execute("SELECT tile_data FROM tiles WHERE zoom_level = 7 AND tile_column = 72 "
                                 "AND tile_row = ?", (2 ** 7 - 1 - 39,)).fetchone()
    assert bytes(stored).startswith(b"\x1f\x8b")
    data = archive.tile(7, 72, 39)  # Riga, the Gulf and the Lithuanian border: given uncompressed
    assert data and not data.startswith(b"\x1f\x8b")
    drawn = render(data, 7)
    assert drawn.counts["water"] >= 1 and drawn.counts["waterway"] >= 3 and drawn.counts["boundary"] >= 1
    assert "Riga" in drawn.names and "Šiauliai" in drawn.names
    img = _png(drawn.png)
    alpha = img.getchannel("A")
    opaque = sum(alpha.histogram()[1:])
    assert 500 < opaque < 256 * 256 // 2, opaque  # rivers, lakes, borders, names: the rest shows through
    # the same tiles from PMTiles (gzip inside, decompressed by the reader)
    pm = open_archive(make_pmtiles(vector_mbtiles, "vector.pmtiles"))
    assert (pm.kind, pm.format, pm.vector, pm.gzipped, pm.extension) == ("pmtiles", "pbf", True, True, "png")
    assert pm.tile(7, 72, 39) == data and pm.tile(9, 0, 0) is None


def _tile(layers: dict) -> bytes:
    """A tile of ``layers`` ({name: [(wkt, properties)]}) in 4096 units, y down."""
    import mapbox_vector_tile

    return mapbox_vector_tile.encode(
        [{"name": name, "features": [{"geometry": wkt, "properties": props} for wkt, props in feats]}
         for name, feats in layers.items()], default_options={"y_coord_down": True})


ROAD_ACROSS = "LINESTRING(0 1024, 4096 1024)"  # pixel row 64
MINOR_ACROSS = "LINESTRING(0 3072, 4096 3072)"  # pixel row 192
WATER_WITH_ISLAND = ("POLYGON((200 1600, 1800 1600, 1800 2800, 200 2800, 200 1600), "
                     "(800 2000, 1200 2000, 1200 2400, 800 2400, 800 2000))")
BUILDING_BLOCK = "POLYGON((2400 1600, 3600 1600, 3600 2600, 2400 2600, 2400 1600))"
PARK = "POLYGON((2400 3400, 3800 3400, 3800 4000, 2400 4000, 2400 3400))"
SCHEMAS = {
    "OpenMapTiles": {"transportation": [(ROAD_ACROSS, {"class": "motorway"}), (MINOR_ACROSS, {"class": "minor"})],
                     "water": [(WATER_WITH_ISLAND, {"class": "lake"})], "building": [(BUILDING_BLOCK, {})],
                     "park": [(PARK, {"class": "park"})],
                     "place": [("POINT(600 400)", {"class": "city", "name": "Daugavpils"})]},
    "Shortbread": {"streets": [(ROAD_ACROSS, {"kind": "motorway"}), (MINOR_ACROSS, {"kind": "residential"})],
                   "water_polygons": [(WATER_WITH_ISLAND, {"kind": "water"})], "buildings": [(BUILDING_BLOCK, {})],
                   "land": [(PARK, {"kind": "forest"})],
                   "place_labels": [("POINT(600 400)", {"kind": "city", "name": "Daugavpils"})]},
    "Protomaps": {"roads": [(ROAD_ACROSS, {"kind": "highway"}), (MINOR_ACROSS, {"kind": "minor_road"})],
                  "water": [(WATER_WITH_ISLAND, {"kind": "lake"})], "buildings": [(BUILDING_BLOCK, {})],
                  "landcover": [(PARK, {"kind": "forest"})],
                  "places": [("POINT(600 400)", {"kind": "locality", "population_rank": 11, "name": "Daugavpils"})]},
}


@pytest.mark.parametrize("schema", list(SCHEMAS))
def test_the_plain_style_knows_the_layers_of_the_common_schemas(schema):
    img = _png(render(_tile(SCHEMAS[schema]), 14).png)
    assert _near(img.getpixel((128, 64)), ROAD["major"]), img.getpixel((128, 64))
    assert _near(img.getpixel((60, 192)), ROAD["minor"]), img.getpixel((60, 192))  # white, cased:
    edge = img.getpixel((60, 190))
    assert edge[3] > 100 and edge[0] < 200 and img.getpixel((60, 186))[3] == 0  # its casing, then nothing
    assert _near(img.getpixel((20, 130)), WATER)
    assert img.getpixel((62, 137))[3] == 0  # the island in the lake is not water
    assert _near(img.getpixel((190, 130)), BUILDING)
    assert _near(img.getpixel((200, 235)), GREEN)
    assert img.getpixel((250, 10)) == (0, 0, 0, 0)  # nothing drawn where the tile has nothing
    assert render(_tile(SCHEMAS[schema]), 14).names == ("Daugavpils",)
    # buildings from zoom 13, minor roads from 11, below that only what a small scale needs
    low = _png(render(_tile(SCHEMAS[schema]), 10).png)
    assert low.getpixel((190, 130))[3] == 0 and low.getpixel((60, 192))[3] == 0
    assert _near(low.getpixel((128, 64)), ROAD["major"], 30) and _near(low.getpixel((20, 130)), WATER)


def test_layers_of_other_names_are_not_drawn_and_bad_bytes_are_refused():
    assert render(_tile({"pois": [(ROAD_ACROSS, {"class": "motorway"})]}), 14).counts == {}
    with pytest.raises(VectorTileError, match="not a Mapbox Vector Tile"):
        render(b"\x0f\xff\xff not a tile", 10)


def test_a_bad_vector_tile_is_not_served_and_the_log_names_the_file_and_the_tile(tmp_path, vector_mbtiles,
                                                                                  monkeypatch, caplog):
    from dashboard import basemap_tiles
    from dashboard.settings import web_settings

    broken = tmp_path / "broken.mbtiles"
    broken.write_bytes(vector_mbtiles.read_bytes())
    with sqlite3.connect(broken) as conn:
        conn.execute("UPDATE tiles SET tile_data = ? WHERE zoom_level = 7 AND tile_column = 72 AND tile_row = ?",
                     (b"\x1f\x8b garbage", 2 ** 7 - 1 - 39))
    monkeypatch.setenv("NSP_WEB_BASEMAP_TILES", str(broken))
    web_settings.cache_clear()
    basemap_tiles.archive.cache_clear()
    try:
        assert basemap_tiles.rendered(str(broken), 7, 72, 39) is None
        assert f"{broken}: tile 7/72/39 not drawn" in caplog.text
        good = basemap_tiles.rendered(str(broken), 7, 73, 39)  # the rest are drawn
        assert good and _png(good)
    finally:
        monkeypatch.delenv("NSP_WEB_BASEMAP_TILES")
        web_settings.cache_clear()
        basemap_tiles.archive.cache_clear()
        basemap_tiles.rendered.cache_clear()
