"""Test data for the picture: a few simple sections, events, patrols, assets and vessels.

Used by the picture's integration, browser and benchmark tests. The sections are boxes along
Latvia's borders with the real codes' shape, so the tests do not depend on the derived
sections file; ``ensure_sections`` leaves a database that already has sections alone.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

# code, name, kind, neighbour, level, (lon_min, lat_min, lon_max, lat_max), line
SECTIONS = [
    ("LV-RU-01", "Zilupe", "land-external", "RUS", "medium", (27.6, 56.1, 28.3, 56.6),
     [(28.2, 56.1), (28.25, 56.35), (28.2, 56.6)]),
    ("LV-RU-02", "Kārsava", "land-external", "RUS", "low", (27.6, 56.6, 28.3, 57.2),
     [(28.2, 56.6), (28.05, 56.9), (27.9, 57.2)]),
    ("LV-BY-01", "Krāslava", "land-external", "BLR", "high", (26.6, 55.6, 27.6, 56.1),
     [(26.6, 55.72), (27.1, 55.78), (27.6, 55.82)]),
    ("LV-BY-02", "Silene", "land-external", "BLR", "critical", (26.0, 55.6, 26.6, 56.0),
     [(26.0, 55.68), (26.3, 55.66), (26.6, 55.72)]),
    ("LV-SEA-01", "Jūrmala", "sea-external", "SEA", "low", (23.2, 56.95, 24.2, 57.4),
     [(23.3, 57.0), (23.7, 56.97), (24.1, 57.02)]),
    ("LV-EE-01", "Valka", "land-internal", "EST", None, (25.0, 57.4, 26.5, 57.9),
     [(25.0, 57.85), (25.8, 57.75), (26.5, 57.55)]),
]
CATEGORIES = ("unauthorised_border_crossing", "cross_border_crime", "crisis_situation", "other")


def ensure_sections(conn) -> list[str]:
    """Insert the test sections unless the database already has sections; return the codes."""
    have = [r["code"] for r in conn.execute("SELECT code FROM border_section ORDER BY code").fetchall()]
    if have:
        return have
    for code, name, kind, neighbour, level, (x0, y0, x1, y1), line in SECTIONS:
        wkt_line = "MULTILINESTRING((" + ",".join(f"{x} {y}" for x, y in line) + "))"
        wkt_area = f"MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"
        conn.execute(
            """INSERT INTO border_section (code, name, kind, neighbour, regional_board, length_km, line, area,
                                           line_m, area_m)
               SELECT %(code)s, %(name)s, %(kind)s, %(nb)s, 'test board',
                      ST_Length(ST_Transform(l, 3059)) / 1000, l, a, ST_Transform(l, 3059), ST_Transform(a, 3059)
                 FROM (SELECT ST_GeomFromText(%(line)s, 4326) AS l, ST_GeomFromText(%(area)s, 4326) AS a) g""",
            {"code": code, "name": name, "kind": kind, "nb": neighbour, "line": wkt_line, "area": wkt_area},
        )
        if level:
            conn.execute(
                "INSERT INTO impact_level_change (section_code, to_level, decided_by, reason, decided_at) "
                "VALUES (%s, %s, 'system', 'initial level (test data)', now() - interval '30 days')",
                (code, level),
            )
    return [s[0] for s in SECTIONS]


def section_box(code: str) -> tuple[float, float, float, float]:
    return next(s[5] for s in SECTIONS if s[0] == code)


def insert_event(conn, *, code: str = "LV-BY-01", category: str = "unauthorised_border_crossing",
                 impact: str = "low", occurred_at: datetime | None = None, received_at: datetime | None = None,
                 persons: int | None = 3, source: str = "test", ref: str | None = None,
                 lon: float | None = None, lat: float | None = None, subtype: str = "test") -> str:
    x0, y0, x1, y1 = section_box(code)
    lon = (x0 + x1) / 2 if lon is None else lon
    lat = (y0 + y1) / 2 if lat is None else lat
    now = datetime.now(UTC)
    row = conn.execute(
        """INSERT INTO event (source, source_ref, category, subtype, occurred_at, received_at, geom, persons,
                              impact, source_reliability, credibility)
           VALUES (%s, %s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s, 'B', 2)
           RETURNING id::text AS id""",
        (source, ref or f"ref-{random.random()}", category, subtype, occurred_at or now - timedelta(minutes=10),
         received_at or now, lon, lat, persons, impact),
    ).fetchone()
    return row["id"]


def seed_picture(conn, n_events: int = 60, now: datetime | None = None, seed: int = 7) -> dict:
    """A small, deterministic picture: events of every category, a patrol, assets, a vessel."""
    rnd = random.Random(seed)
    now = now or datetime.now(UTC)
    codes = ensure_sections(conn)
    ext = [c for c in codes if c in {s[0] for s in SECTIONS} and not c.startswith("LV-EE")] or codes
    impacts = ("low", "low", "medium", "medium", "high", "very_high")
    for i in range(n_events):
        code = ext[i % len(ext)]
        x0, y0, x1, y1 = section_box(code) if code in {s[0] for s in SECTIONS} else (26.6, 55.7, 27.5, 56.0)
        insert_event(conn, code=code, category=CATEGORIES[i % 4], impact=impacts[i % len(impacts)],
                     occurred_at=now - timedelta(minutes=20 + rnd.randint(0, 23 * 60)),
                     received_at=now - timedelta(minutes=10), persons=rnd.randint(0, 12),
                     source=("border-sensors", "patrol-reports", "cot-gateway")[i % 3], ref=f"seed-{i}",
                     lon=rnd.uniform(x0 + 0.05, x1 - 0.05), lat=rnd.uniform(y0 + 0.05, y1 - 0.05))
    conn.execute(
        """INSERT INTO patrol (source, source_ref, unit, mode, started_at, ended_at, track)
           VALUES ('test', 'patrol-1', 'DAUG-07', 'vehicle', %s, %s,
                   ST_GeomFromText('MULTILINESTRING((26.7 55.85, 26.9 55.82, 27.1 55.86, 27.3 55.84))', 4326))""",
        (now - timedelta(hours=5), now - timedelta(hours=2)),
    )
    conn.execute("SELECT nsp_ensure_position_partitions(%s, %s)", (now - timedelta(days=2), now + timedelta(days=1)))
    conn.execute("INSERT INTO tracked_object (object_id, kind, name, callsign) VALUES "
                 "('LUDZA-12', 'own', 'Ludza patrol 12', 'LUDZA-12'), ('MMSI:275000111', 'vessel', 'BALTIC STAR', NULL)")
    for minutes, lon, lat in ((50, 27.8, 56.3), (12, 27.85, 56.35)):
        conn.execute(
            "INSERT INTO asset_position (source, object_id, kind, observed_at, geom) "
            "VALUES ('test', 'LUDZA-12', 'own', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (now - timedelta(minutes=minutes), lon, lat))
    for k in range(6):
        conn.execute(
            "INSERT INTO asset_position (source, object_id, kind, observed_at, geom, speed_kn, course_deg) "
            "VALUES ('ais', 'MMSI:275000111', 'vessel', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), 11, 80)",
            (now - timedelta(minutes=50 - 8 * k), 23.4 + 0.04 * k, 57.2 + 0.005 * k))
    conn.execute("INSERT INTO ingest_batch (source, status, finished_at, received_at) VALUES ('test', 'done', %s, %s)",
                 (now - timedelta(minutes=1), now - timedelta(minutes=1)))
    return {"sections": codes, "events": n_events}
