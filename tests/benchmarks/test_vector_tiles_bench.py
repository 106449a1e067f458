"""Benchmark: drawing the own basemap's vector tiles to PNG (geo/vector_tiles.py), beside its
peer, serving a raster tile as stored (`make bench PYTEST_ARGS="-k vector_tiles"`).

Three inputs, each tile drawn cold (no cache): every tile of the Latvia geodata written by
GDAL's MBTiles driver (zoom 6-10: rivers, lakes, borders, towns; small tiles), and a dense tile
made here like a city centre at zoom 14 — NSP_BENCH_VT_ROADS road lines (default 3,000, 8
vertices each) and NSP_BENCH_VT_BUILDINGS buildings (default 3,000), encoded with
mapbox-vector-tile. The peer reads raster tiles of a GDAL-made MBTiles file, as the app serves
them. Printed: tiles, ms per tile (mean, p95, max), tiles/s and the ratio to the peer.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import time

import pytest

from geo.tiles import open_archive
from geo.vector_tiles import render
from tests.support.tiles import make_mbtiles, make_vector_mbtiles

pytestmark = pytest.mark.bench

N_ROADS = int(os.environ.get("NSP_BENCH_VT_ROADS", "3000"))
N_BUILDINGS = int(os.environ.get("NSP_BENCH_VT_BUILDINGS", "3000"))


def _addresses(path) -> list[tuple[int, int, int]]:
    with sqlite3.connect(path) as conn:
        return [(z, x, 2 ** z - 1 - row) for z, x, row in
                conn.execute("SELECT zoom_level, tile_column, tile_row FROM tiles ORDER BY 1, 2, 3")]


def _dense_tile() -> bytes:
    import mapbox_vector_tile

    rng = random.Random(5)
    roads = []
    for i in range(N_ROADS):
        x, y = rng.uniform(0, 4096), rng.uniform(0, 4096)
        pts = [(x + k * rng.uniform(-80, 80), y + k * rng.uniform(-80, 80)) for k in range(8)]
        kind = ("motorway", "primary", "secondary", "residential", "service", "path")[i % 6]
        roads.append({"geometry": "LINESTRING(" + ", ".join(f"{a:.0f} {b:.0f}" for a, b in pts) + ")",
                      "properties": {"class": kind}})
    buildings = []
    for _ in range(N_BUILDINGS):
        x, y, w, h = rng.uniform(0, 4000), rng.uniform(0, 4000), rng.uniform(20, 90), rng.uniform(20, 90)
        buildings.append({"geometry": f"POLYGON(({x:.0f} {y:.0f}, {x + w:.0f} {y:.0f}, {x + w:.0f} {y + h:.0f}, "
                                      f"{x:.0f} {y + h:.0f}, {x:.0f} {y:.0f}))", "properties": {}})
    water = [{"geometry": "POLYGON((0 0, 1500 0, 1500 900, 0 900, 0 0))", "properties": {"class": "river"}}]
    places = [{"geometry": f"POINT({rng.uniform(0, 4096):.0f} {rng.uniform(0, 4096):.0f})",
               "properties": {"class": "suburb", "name": f"Apkaime {i}"}} for i in range(30)]
    return mapbox_vector_tile.encode([
        {"name": "transportation", "features": roads}, {"name": "building", "features": buildings},
        {"name": "water", "features": water}, {"name": "place", "features": places}],
        default_options={"y_coord_down": True})


def _times(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t)
    return out


def _row(name: str, n: int, times: list[float], peer: float | None) -> str:
    mean = statistics.fmean(times)
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
    ratio = f"{mean / peer:,.0f}x" if peer else "1x"
    rate = f"{1 / mean:,.0f}" if mean < 0.1 else f"{1 / mean:.1f}"
    return f"| {name} | {n:,} | {mean * 1000:.2f} | {p95 * 1000:.2f} | {max(times) * 1000:.2f} | {rate} | {ratio} |"


def test_drawing_vector_tiles_against_serving_raster_tiles(tmp_path):
    raster = open_archive(make_mbtiles(tmp_path))
    vector_path = make_vector_mbtiles(tmp_path)
    vector = open_archive(vector_path)
    raster_at, vector_at = _addresses(raster.path), _addresses(vector_path)
    peer = _times(lambda a: raster.tile(*a), raster_at * 20)  # read as stored, many times over
    read = _times(lambda a: vector.tile(*a), vector_at)
    datas = [(vector.tile(*a), a[0]) for a in vector_at]
    drawn = _times(lambda d: render(*d), datas)
    dense = _dense_tile()
    dense_times = _times(lambda _i: render(dense, 14), range(10))
    peer_mean = statistics.fmean(peer)
    print("\n| tiles | n | ms mean | ms p95 | ms max | tiles/s | vs raster read |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(_row("raster PNG read as stored (peer)", len(peer), peer, None))
    print(_row("vector tile read and gunzipped", len(read), read, peer_mean))
    print(_row("Latvia geodata z6-10 drawn to PNG", len(drawn), drawn, peer_mean))
    print(_row(f"dense z14 tile ({N_ROADS:,} roads, {N_BUILDINGS:,} buildings, {len(dense) // 1024} kB) drawn",
               len(dense_times), dense_times, peer_mean))
    assert len(drawn) == len(vector_at) > 100
    # a map screen asks for some 20-40 tiles at once: a dense tile must not take many seconds,
    # even on a loaded machine
    assert statistics.fmean(dense_times) < 10.0
