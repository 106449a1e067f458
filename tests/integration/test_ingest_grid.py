"""The ingest merge's section-lookup grid (sql/migrations/0009_section_grid.sql) gives the
same section and distance as the exact nsp_locate(), and it never goes stale."""

from __future__ import annotations

import io
import random

import psycopg
import pytest

from ingest.loading.pipeline import ewkb_point, ingest_stream
from nsp.queries import queries


def _stage_points(conn, points) -> None:
    conn.execute(queries["ingest_stage_create"])
    with conn.cursor().copy("COPY stage_event (source_ref, geom) FROM STDIN") as copy:
        for i, (x, y) in enumerate(points):
            copy.write_row((f"p{i}", ewkb_point(x, y)))


def _compare(conn, points) -> tuple[int, int]:
    """(points compared, points answered by the grid); asserts every answer is exact."""
    _stage_points(conn, points)
    rows = conn.execute(
        """SELECT v.source_ref, v.section_code AS grid_code, v.distance_to_border_m AS grid_d,
                  l.section_code AS exact_code, l.distance_m AS exact_d,
                  EXISTS (SELECT 1 FROM section_grid g
                           WHERE (g.k = 16 AND g.gx = floor(ST_X(v.geom) * 16)::integer
                                  AND g.gy = floor(ST_Y(v.geom) * 16)::integer)
                              OR (g.k = 128 AND g.gx = floor(ST_X(v.geom) * 128)::integer
                                  AND g.gy = floor(ST_Y(v.geom) * 128)::integer)) AS in_grid
             FROM stage_event_located v
             LEFT JOIN LATERAL nsp_locate(v.geom) l ON true"""
    ).fetchall()
    assert len(rows) == len(points)
    wrong = [r for r in rows if r["grid_code"] != r["exact_code"]
             or (r["exact_d"] is None) != (r["grid_d"] is None)
             or (r["exact_d"] is not None and abs(r["grid_d"] - r["exact_d"]) > 1e-6)]
    assert wrong == [], wrong[:5]
    return len(rows), sum(r["in_grid"] for r in rows)


@pytest.fixture
def tx(db_url):
    with psycopg.connect(db_url, row_factory=psycopg.rows.dict_row) as conn:
        with conn.transaction(force_rollback=True):
            yield conn


def test_grid_is_built_with_the_sections(tx):
    levels = {r["k"]: r["n"] for r in tx.execute("SELECT k, count(*) AS n FROM section_grid GROUP BY k")}
    assert set(levels) == {16, 128} and levels[16] > 1000 and levels[128] > 10000, levels
    assert tx.execute("SELECT count(*) AS n FROM section_grid_state").fetchone()["n"] == 1


def test_grid_answers_equal_nsp_locate_on_random_points(tx):
    rnd = random.Random(20261122)
    ext = tx.execute("SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 "
                     "FROM (SELECT ST_Extent(area) AS e FROM border_section) s").fetchone()
    # Uniform over (a little more than) the sections' extent: inside, outside, sea, air.
    points = [(rnd.uniform(ext["x0"] - 0.2, ext["x1"] + 0.2), rnd.uniform(ext["y0"] - 0.2, ext["y1"] + 0.2))
              for _ in range(8000)]
    n, in_grid = _compare(tx, points)
    assert n == 8000 and in_grid > 2000  # the grid answered many, and all agree


def test_grid_answers_equal_nsp_locate_next_to_the_boundaries(tx):
    # Points on and within a few metres of every section boundary: the cells a boundary
    # crosses are not in the grid, so these take the exact path, which must still agree.
    rows = tx.execute(
        """SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (
               SELECT ST_LineInterpolatePoint(r.ring, f) AS p
                 FROM (SELECT ST_ExteriorRing((ST_Dump(area)).geom) AS ring FROM border_section) r,
                      generate_series(0.0, 0.999, 0.01) f) s"""
    ).fetchall()
    rnd = random.Random(7)
    points = []
    for r in rows:
        points.append((r["x"], r["y"]))
        for _ in range(2):
            points.append((r["x"] + rnd.uniform(-1e-4, 1e-4), r["y"] + rnd.uniform(-1e-4, 1e-4)))
    n, _ = _compare(tx, points)
    assert n == len(points) > 3000


def test_a_change_of_the_sections_empties_the_grid_and_ensure_rebuilds_it(tx):
    n0 = tx.execute("SELECT count(*) AS n FROM section_grid").fetchone()["n"]
    tx.execute("UPDATE border_section SET impact_level = impact_level")  # a level: no change
    assert tx.execute("SELECT count(*) AS n FROM section_grid").fetchone()["n"] == n0
    tx.execute("UPDATE border_section SET area = ST_Multi(ST_Buffer(area, 0.01)) WHERE code = 'LV-BY-01'")
    assert tx.execute("SELECT count(*) AS n FROM section_grid").fetchone()["n"] == 0
    assert tx.execute("SELECT count(*) AS n FROM section_grid_state").fetchone()["n"] == 0
    # An empty grid is slower, never wrong.
    rnd = random.Random(3)
    points = [(rnd.uniform(26.5, 28.2), rnd.uniform(55.6, 56.2)) for _ in range(500)]
    assert _compare(tx, points) == (500, 0)
    tx.execute("DROP TABLE stage_event, stage_parent, stage_quarantine, stage_position, stage_object, "
               "stage_patrol, stage_observation, stage_prior, stage_closure CASCADE")
    assert tx.execute("SELECT nsp_section_grid_ensure() AS built").fetchone()["built"] is True
    assert tx.execute("SELECT nsp_section_grid_ensure() AS built").fetchone()["built"] is False
    assert tx.execute("SELECT count(*) AS n FROM section_grid").fetchone()["n"] > 10000
    _compare(tx, points)


def test_ingest_rebuilds_an_emptied_grid_and_ids_are_time_ordered(db_url, conn):
    conn.execute("DELETE FROM section_grid; DELETE FROM section_grid_state")
    lines = b"".join(
        b'{"type": "Feature", "id": "G-%d", "geometry": {"type": "Point", "coordinates": [%f, %f]},'
        b' "properties": {"category": "other", "occurred_at": "2026-11-20T10:00:00Z"}}\n'
        % (i, 26.0 + i * 0.01, 56.0 + i * 0.002) for i in range(200))
    summary = ingest_stream(io.BytesIO(lines), name="grid.ndjson", source="grid", url=db_url)
    assert summary.accepted == 200
    assert conn.execute("SELECT count(*) AS n FROM section_grid_state").fetchone()["n"] == 1
    bad = conn.execute(
        """SELECT count(*) AS n FROM event e CROSS JOIN LATERAL nsp_locate(e.geom) l
            WHERE e.source = 'grid' AND (e.section_code IS DISTINCT FROM l.section_code
               OR abs(e.distance_to_border_m - l.distance_m) > 1e-6)""").fetchone()["n"]
    assert bad == 0
    ids = conn.execute("SELECT id::text AS id, substr(id::text, 15, 1) AS version FROM event "
                       "WHERE source = 'grid' ORDER BY id").fetchall()
    assert {r["version"] for r in ids} == {"7"}
    assert len({r["id"][:13] for r in ids}) == 1  # one batch: one millisecond prefix
