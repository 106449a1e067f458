"""The section of a merged position (sql/queries/ingest.sql, ingest_merge_positions) is the one the
exact rule gives (the area that holds the fix; air first, then the lowest code), whether it came
from the lookup grid (section_grid) or from the exact test, for fixes far from and close to the
sections' boundaries and outside every section."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import xor

from pyais.encode import encode_dict

from ingest.loading.pipeline import ingest_file

EXACT = """(SELECT b.code FROM border_section b WHERE ST_Intersects(b.area, p.geom)
             ORDER BY (b.kind = 'air') DESC, b.code LIMIT 1)"""


def _points(conn) -> list[tuple[float, float]]:
    """Points over the sections' extent, and as many again within about 1 km of a boundary."""
    rows = conn.execute("""
        WITH u AS (SELECT ST_Union(area) AS a, ST_Envelope(ST_Collect(area)) AS e FROM border_section)
        SELECT ST_X(d.geom) AS x, ST_Y(d.geom) AS y
          FROM u, LATERAL (SELECT (ST_Dump(ST_GeneratePoints(u.e, 400, 3))).geom
                           UNION ALL
                           SELECT (ST_Dump(ST_GeneratePoints(ST_Buffer(ST_Boundary(u.a), 0.01), 400, 5))).geom) d
    """).fetchall()
    return [(r["x"], r["y"]) for r in rows]


def _nmea(points, t0: datetime) -> str:
    lines = []
    for i, (lon, lat) in enumerate(points):
        msg = {"type": 1, "mmsi": 275100000 + i, "lon": lon, "lat": lat, "speed": 5.0, "course": 90.0,
               "heading": 90, "status": 0, "second": 60}
        tag = f"s:test,c:{int((t0 + timedelta(seconds=i)).timestamp())}"
        checksum = reduce(xor, tag.encode(), 0)
        lines += [f"\\{tag}*{checksum:02X}\\{s}" for s in encode_dict(msg, radio_channel="A", talker_id="AI")]
    return "\n".join(lines) + "\n"


def test_merged_positions_take_the_exact_rules_section_from_the_grid_or_the_exact_test(conn, db_url, tmp_path):
    points = _points(conn)
    assert len(points) == 800
    path = tmp_path / "sections.nmea"
    path.write_text(_nmea(points, datetime.now(UTC) - timedelta(hours=2)))

    summary = ingest_file(path, source="grid-test", url=db_url)
    assert summary.quarantined == 0, summary.reasons
    stored = conn.execute("SELECT count(*) AS n FROM asset_position WHERE source = 'grid-test'").fetchone()["n"]
    assert stored == len(points)

    check = conn.execute(f"""
        SELECT count(*) FILTER (WHERE p.section_code IS DISTINCT FROM {EXACT}) AS differ,
               count(p.section_code) AS located,
               count(*) FILTER (WHERE p.section_code IS NULL) AS outside,
               count(c.section_code) AS in_coarse_cell,
               count(f.section_code) AS in_fine_cell
          FROM asset_position p
          LEFT JOIN section_grid c ON c.k = 16 AND c.gx = floor(ST_X(p.geom) * 16)::integer
                                  AND c.gy = floor(ST_Y(p.geom) * 16)::integer
          LEFT JOIN section_grid f ON f.k = 128 AND f.gx = floor(ST_X(p.geom) * 128)::integer
                                  AND f.gy = floor(ST_Y(p.geom) * 128)::integer
         WHERE p.source = 'grid-test'
    """).fetchone()
    assert check["differ"] == 0, check
    # Each path was taken: grid cells of both levels, the exact test, and fixes in no section.
    assert check["in_coarse_cell"] > 0 and check["in_fine_cell"] > 0, check
    assert check["located"] > check["in_coarse_cell"] + check["in_fine_cell"], check
    assert check["outside"] > 0, check
