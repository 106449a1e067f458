"""A seeded week for the export tests, and what the database and a written file count in it.

    seed_week(conn)            # events, patrols, positions and a level change in WEEK and around it
    db_counts(conn)            # what the export of WEEK must hold, per layer
    ogr_counts(path)           # {layer: features} of a written GeoPackage (ogrinfo, gdal-bin)
"""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from geo.snapshot.week import Week

WEEK = Week(2026, 40, "Europe/Riga")  # Mon 28 Sep - Sun 4 Oct 2026, Riga time
UTC = UTC


def at(day: int, hour: int, week: Week = WEEK) -> datetime:
    """Local time on day ``day`` (0 = Monday) of ``week``, as UTC."""
    return (week.start + timedelta(days=day, hours=hour)).astimezone(UTC)


def seed_week(conn) -> None:
    """A handful of events, patrols and positions in WEEK, around it, and a level change."""
    # ST_GeneratePoints on a point gives nothing; use a point inside the area instead.
    conn.execute("""CREATE OR REPLACE FUNCTION pg_temp.inside(code_ text, i int) RETURNS geometry
                    LANGUAGE sql AS $$ SELECT (ST_Dump(ST_GeneratePoints(area, 20, 11))).geom
                    FROM border_section WHERE code = code_ OFFSET i LIMIT 1 $$""")
    events = [
        # ref, section, category, day, hour, impact, persons, reported delay h
        ("e1", "LV-BY-02", "unauthorised_border_crossing", 0, 2, "high", 12, 30),  # reported late
        ("e2", "LV-BY-02", "unauthorised_border_crossing", 1, 3, "very_high", 25, 2),
        ("e3", "LV-BY-02", "unauthorised_border_crossing", 2, 23, "medium", 5, None),
        ("e4", "LV-BY-02", "unauthorised_border_crossing", 6, 22, "low", 3, None),
        ("e5", "LV-BY-02", "cross_border_crime", 3, 10, "low", None, None),
        ("e6", "LV-BY-01", "cross_border_crime", 0, 12, "medium", 2, 1),
        ("e7", "LV-BY-01", "cross_border_crime", 4, 14, "low", None, None),
        ("e8", "LV-BY-01", "crisis_situation", 5, 9, "high", 40, 3),
        ("e9", "LV-RU-05", "other", 2, 8, "low", None, None),
        ("e10", "LV-RU-05", "unauthorised_border_crossing", 3, 1, "medium", 4, None),
        # around the week: not exported (the previous week counts for the comparison)
        ("p1", "LV-BY-02", "unauthorised_border_crossing", -2, 3, "low", 6, None),
        ("p2", "LV-BY-02", "unauthorised_border_crossing", -7, 0, "low", 6, None),
        ("p3", "LV-BY-01", "cross_border_crime", -1, 23, "low", None, None),
        ("n1", "LV-BY-02", "unauthorised_border_crossing", 7, 0, "high", 8, None),
    ]
    for i, (ref, section, cat, day, hour, impact, persons, delay) in enumerate(events):
        occurred = at(day, hour)
        conn.execute(
            """INSERT INTO event (source, source_ref, category, subtype, occurred_at, reported_at, received_at,
                                  geom, persons, impact, description)
               VALUES ('seed', %s, %s, %s, %s, %s, %s, pg_temp.inside(%s, %s), %s, %s,
                       'seeded, "quoted" — Krāslava')""",
            (ref, cat, "group_crossing_attempt" if cat == "unauthorised_border_crossing" else None, occurred,
             occurred + timedelta(hours=delay) if delay is not None else None,
             occurred + timedelta(hours=(delay or 0) + 1), section, i, persons, impact),
        )
    patrols = [  # ref, section, start day, start hour, hours
        ("t1", "LV-BY-02", 1, 8, 6), ("t2", "LV-BY-01", 3, 20, 8),
        ("t3", "LV-BY-02", -1, 20, 6),  # overlaps the week's start: exported
        ("t4", "LV-BY-02", -3, 8, 4),  # the week before: not exported
    ]
    for i, (ref, section, day, hour, hours) in enumerate(patrols):
        conn.execute(
            """INSERT INTO patrol (source, source_ref, unit, mode, started_at, ended_at, track)
               VALUES ('seed', %s, %s, 'vehicle', %s, %s,
                       ST_Multi(ST_MakeLine(ARRAY[pg_temp.inside(%s, %s), pg_temp.inside(%s, %s),
                                                  pg_temp.inside(%s, %s)])))""",
            (ref, f"Unit {i + 1}", at(day, hour), at(day, hour + hours),
             section, 10 + i, section, 14 + i, section, 18 - i),
        )
    for i in range(7):  # 5 in the week, 2 outside it
        day = i - 1 if i < 6 else 7
        conn.execute(
            """INSERT INTO asset_position (source, object_id, kind, object_type, observed_at, geom, section_code,
                                           speed_kn)
               VALUES ('seed', 'BG-01', 'own', 'vehicle', %s, pg_temp.inside('LV-BY-02', %s), 'LV-BY-02', 12.5)""",
            (at(day, 12), i),
        )
    conn.execute(
        """INSERT INTO impact_level_change (section_code, to_level, decided_at, decided_by, reason)
           VALUES ('LV-BY-02', 'critical', %s, 'duty.officer', 'mass crossing attempts near Krāslava')""",
        (at(1, 6),),
    )


def db_counts(conn, sections: list[str] | None = None) -> dict:
    p = {"s": WEEK.start, "e": WEEK.end, "c": sections}
    one = lambda q: conn.execute(q, p).fetchone()["n"]  # noqa: E731
    return {
        "border_sections": one("SELECT count(*) n FROM border_section WHERE %(c)s::text[] IS NULL OR code = ANY(%(c)s)"),
        "border_lines": one("SELECT count(*) n FROM border_section WHERE line IS NOT NULL "
                            "AND (%(c)s::text[] IS NULL OR code = ANY(%(c)s))"),
        "level_changes": one("SELECT count(*) n FROM impact_level_change WHERE decided_at >= %(s)s "
                             "AND decided_at < %(e)s AND (%(c)s::text[] IS NULL OR section_code = ANY(%(c)s))"),
        "events": one("SELECT count(*) n FROM event WHERE occurred_at >= %(s)s AND occurred_at < %(e)s "
                      "AND (%(c)s::text[] IS NULL OR section_code = ANY(%(c)s))"),
        "patrols": one("SELECT count(*) n FROM patrol WHERE started_at < %(e)s AND ended_at >= %(s)s "
                       "AND (%(c)s::text[] IS NULL OR section_codes && %(c)s::text[])"),
        "asset_positions": one("SELECT count(*) n FROM asset_position WHERE observed_at >= %(s)s "
                               "AND observed_at < %(e)s AND (%(c)s::text[] IS NULL OR section_code = ANY(%(c)s))"),
    }


def ogr_counts(path) -> dict:
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, check=True)
    assert "ERROR" not in out.stderr, out.stderr
    counts, layer = {}, None
    for line in out.stdout.splitlines():
        if line.startswith("Layer name:"):
            layer = line.split(":", 1)[1].strip()
        elif line.startswith("Feature Count:"):
            counts[layer] = int(line.split(":", 1)[1])
    assert counts.pop("layer_styles") == 5  # QGIS's default styles, one per layer with geometry
    return counts


@contextmanager
def export_routes(scope):
    """A test client of the export blueprint, acting as ``who["scope"]`` (starts as ``scope``)."""
    from flask import Flask

    from dashboard import exports as web

    app = Flask(__name__)
    app.register_blueprint(web.blueprint)
    who = {"scope": scope}
    web_scope = web.current_scope
    web.current_scope = lambda: who["scope"]
    try:
        yield app.test_client(), who
    finally:
        web.current_scope = web_scope
