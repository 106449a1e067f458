"""The viewport read by cell (sql/migrations/0170_event_view_cells.sql, geo/picture/viewcells.py)
gives exactly what the box test alone gives: the same events, the same grid counts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from geo import picture
from geo.picture import PictureFilter, viewcells
from geo.picture.common import run
from nsp import access, db
from nsp.access import Scope
from tests.support.seed import ensure_sections

OFFICER = Scope(user="anna", role="watch_officer")
STEP_X, STEP_Y = 360 / viewcells.KX, 360 / viewcells.KY  # a cell's size in degrees


def _positions(rnd: random.Random) -> list[tuple[float, float]]:
    """Points around LV-BY-01 (the test sections' box 26.6-27.6 E, 55.6-56.1 N): on cell
    edges exactly, a hair either side of them, and anywhere."""
    pts = []
    x_edges = [k * STEP_X for k in range(int(26.7 / STEP_X), int(26.9 / STEP_X))]
    y_edges = [k * STEP_Y for k in range(int(55.7 / STEP_Y), int(55.8 / STEP_Y))]
    for x in x_edges[::2]:
        for y in y_edges[::2]:
            for dx, dy in ((0, 0), (-1e-12, 0), (0, -1e-12), (1e-9, 1e-9), (-3e-6, 3e-6)):
                pts.append((x + dx, y + dy))
    pts += [(rnd.uniform(26.6, 27.6), rnd.uniform(55.6, 56.1)) for _ in range(400)]
    return pts


@pytest.fixture
def cells_db(empty_db_url):
    rnd = random.Random(13)
    now = datetime.now(UTC)
    with db.connect(empty_db_url, autocommit=True) as conn:
        ensure_sections(conn)
        pts = _positions(rnd)
        conn.execute(
            """INSERT INTO event (source, source_ref, category, occurred_at, geom, persons, impact, section_code)
               SELECT 'cells', 'c' || i, (ARRAY['unauthorised_border_crossing', 'cross_border_crime',
                                                'crisis_situation', 'other'])[1 + i %% 4],
                      %(now)s - (i %% 600) * interval '1 minute', ST_SetSRID(ST_MakePoint(x, y), 4326),
                      i %% 5, (ARRAY['low', 'medium', 'high', 'very_high'])[1 + i %% 4], 'LV-BY-01'
                 FROM unnest(%(xs)s::float8[], %(ys)s::float8[]) WITH ORDINALITY AS p (x, y, i)""",
            {"now": now, "xs": [p[0] for p in pts], "ys": [p[1] for p in pts]})
        yield conn, pts, now


def test_the_stored_cell_is_the_cell_the_map_asks_for(cells_db):
    conn, _pts, _now = cells_db
    rows = conn.execute("SELECT cell, ST_X(geom) AS x, ST_Y(geom) AS y FROM event").fetchall()
    assert len(rows) > 400
    wrong = [r for r in rows if r["cell"] != viewcells.cell_of(r["x"], r["y"])]
    assert not wrong, wrong[:5]
    # and far from Latvia, where the offsets matter: west and south of 0, and the corners
    for lon, lat in ((-179.99, -89.99), (-0.001, -0.001), (180, 90), (-180, -90), (151.2, -33.9)):
        cell = conn.execute("SELECT (floor(ST_X(g) * 8192 / 360)::integer + 4096) * 16384"
                            " + (floor(ST_Y(g) * 16384 / 360)::integer + 4096) AS c"
                            " FROM ST_SetSRID(ST_MakePoint(%s, %s), 4326) g", (lon, lat)).fetchone()["c"]
        assert cell == viewcells.cell_of(lon, lat)


def _boxes(pts, rnd: random.Random) -> list[tuple[float, float, float, float]]:
    boxes = []
    for _ in range(25):  # anywhere, any size from part of a cell to the whole section
        w, s = rnd.uniform(26.55, 27.5), rnd.uniform(55.55, 56.05)
        size = rnd.choice((0.003, 0.02, 0.1, 0.6))
        boxes.append((w, s, w + size * 2, s + size))
    for _ in range(15):  # edges on cell edges and on the points themselves
        (x0, y0), (x1, y1) = rnd.sample(pts[:200], 2)
        boxes.append((min(x0, x1), min(y0, y1), max(x0, x1) + STEP_X * rnd.randint(0, 2),
                      max(y0, y1) + STEP_Y * rnd.randint(0, 2)))
    boxes.append((26.0, 55.0, 26.0 + STEP_X * 100, 55.0 + STEP_Y * 100))  # more cells than MAX_CELLS
    return boxes


def test_a_viewport_by_cells_holds_exactly_the_events_in_its_box(cells_db):
    conn, pts, now = cells_db
    rnd = random.Random(5)
    start, end = now - timedelta(hours=24), now + timedelta(minutes=1)
    used_cells = 0
    for box in _boxes(pts, rnd):
        expected = {r["id"] for r in conn.execute(
            """SELECT id::text AS id FROM event WHERE occurred_at >= %s AND occurred_at < %s
                 AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)""", (start, end, *box)).fetchall()}
        f = PictureFilter(start=start, end=end, bbox=box)
        cells, inner = viewcells.view_cells(box)
        used_cells += cells is not None
        ev = picture.events_layer(OFFICER, f, zoom=12, max_features=10_000)
        got = {ft["properties"]["id"] for fc in ev["layers"].values() for ft in fc["features"]}
        assert ev["mode"] == "points" and ev["total"] == len(expected), box
        assert got == expected, (box, sorted(got ^ expected)[:5])
    assert used_cells >= 40  # the boxes were read by cell, all but the one too wide


def test_grid_counts_from_the_stored_cells_equal_those_from_the_points(cells_db):
    conn, pts, now = cells_db
    start, end = now - timedelta(hours=24), now + timedelta(minutes=1)
    box = (26.6, 55.6, 27.6, 56.1)
    f = PictureFilter(start=start, end=end, bbox=box)
    with access.read_connection(OFFICER) as c:
        for level in range(9, 16):
            p = f.params() | {"kx": float(2**level), "ky": float(2 ** (level + 1)), "limit": 100_000,
                              "day_from": start.date(), "day_to": start.date(), "edge_lo": [start],
                              "edge_hi": [end], "shift": 0}
            by_cells = run(c, "picture_events_grid", p | {
                "cshift": viewcells.LEVEL - level if level <= viewcells.LEVEL else None}, True)
            by_points = run(c, "picture_events_grid", p | {"cells": None, "inner_cells": None, "cshift": None},
                            True)
            # the window's own aggregate (no whole day to take from the day cells), by cell and by point
            window = run(c, "picture_events_grid_window", p | {
                "cshift": viewcells.LEVEL - level if level <= viewcells.LEVEL else None}, True)
            window_points = run(c, "picture_events_grid_window", p | {"cells": None, "inner_cells": None,
                                                                      "cshift": None}, True)
            key = sorted((r["category"], r["cx"], r["cy"], r["n"], r["persons"], r["max_impact"]) for r in by_cells)
            for other in (by_points, window, window_points):
                assert key == sorted((r["category"], r["cx"], r["cy"], r["n"], r["persons"], r["max_impact"])
                                     for r in other), level
            places = {(r["category"], r["cx"], r["cy"]): (r["lon"], r["lat"]) for r in by_cells}
            for r in window:
                assert places[(r["category"], r["cx"], r["cy"])] == pytest.approx((r["lon"], r["lat"])), level
            assert sum(r["n"] for r in by_cells) == len(pts)
