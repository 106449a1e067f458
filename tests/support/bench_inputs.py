"""Inputs of the ingest benchmarks (tests/benchmarks): points inside the sections, and GPX, CoT
and AIS files of a given number of messages shaped like the samples."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg


def anchors_in_sections(url: str, n: int = 5000) -> list[tuple[float, float]]:
    """Random points inside the sections' areas (events land in a section, as real ones do)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT ST_X(d.geom), ST_Y(d.geom) FROM ST_Dump(ST_GeneratePoints("
            "(SELECT ST_Union(area) FROM border_section WHERE kind <> 'air'), %s, 7)) d",
            (n,),
        ).fetchall()
    assert len(rows) == n
    return rows


def messages_inputs(dirpath: Path, anchors, n: int) -> dict[str, Path]:
    """GPX, CoT and AIS files of about ``n`` messages, shaped like the samples."""
    rnd = random.Random(11)
    t0 = datetime.now(UTC) - timedelta(days=3)
    out = {}
    # GPX: tracks of 1,000 points each.
    gpx = dirpath / "tracks.gpx"
    with gpx.open("w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="bench" '
                'xmlns="http://www.topografix.com/GPX/1/1">\n')
        for t in range(max(1, n // 1000)):
            ax, ay = anchors[t % len(anchors)]
            f.write(f"<trk><name>BENCH-{t:04d}</name><type>foot</type><trkseg>\n")
            for k in range(1000):
                when = (t0 + timedelta(seconds=t * 7 + k * 5)).strftime("%Y-%m-%dT%H:%M:%SZ")
                f.write(f'<trkpt lat="{ay + k * 1e-5:.6f}" lon="{ax + k * 1e-5:.6f}"><time>{when}</time></trkpt>\n')
            f.write("</trkseg></trk>\n")
        f.write("</gpx>\n")
    out["gpx"] = gpx
    # CoT: a stream of concatenated friendly position reports.
    cot = dirpath / "stream.cot.xml"
    with cot.open("w") as f:
        for i in range(n):
            ax, ay = anchors[i % len(anchors)]
            when = t0 + timedelta(seconds=i)
            ts, stale = when.strftime("%Y-%m-%dT%H:%M:%S.000Z"), (when + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            f.write(f'<event version="2.0" uid="ANDROID-{i % 500:04x}" type="a-f-G-U-C" how="m-g" time="{ts}" '
                    f'start="{ts}" stale="{stale}"><point lat="{ay:.6f}" lon="{ax:.6f}" hae="120" ce="9.9" le="9999999"/>'
                    f'<detail><contact callsign="BG-{i % 500:03d}"/></detail></event>\n')
    out["cot"] = cot
    # AIS: type 1 position reports with tag blocks (pyais encoder).
    from pyais.encode import encode_dict

    ais = dirpath / "ais.nmea"
    with ais.open("w") as f:
        for i in range(n):
            ax, ay = 21.0 + rnd.uniform(0, 3.0), 56.9 + rnd.uniform(0, 0.8)
            msg = {"type": 1, "mmsi": 275000000 + i % 2000, "lon": ax, "lat": ay, "speed": 9.5,
                   "course": 180.0, "heading": 181, "status": 0}
            ts = int((t0 + timedelta(seconds=i)).timestamp())
            for sentence in encode_dict(msg, radio_channel="A", talker_id="AI"):
                tag = f"s:bench,c:{ts}"
                cs = 0
                for ch in tag:
                    cs ^= ord(ch)
                f.write(f"\\{tag}*{cs:02X}\\{sentence}\n")
    out["ais"] = ais
    return out


# Events spread over the land sections, for the export and sizing benchmarks.
EVENTS_SQL = """
WITH s AS (
    SELECT code, area, row_number() OVER (ORDER BY code) - 1 AS i, count(*) OVER () AS k
      FROM border_section WHERE kind = 'land-external'),
pts AS (
    SELECT s.code, (ST_Dump(ST_GeneratePoints(s.area, (%(n)s / s.k + CASE WHEN s.i < %(n)s %% s.k THEN 1 ELSE 0 END)::int,
                                               42 + s.i::int))).geom AS geom
      FROM s)
INSERT INTO event (source, source_ref, category, subtype, occurred_at, reported_at, received_at, geom, persons,
                   impact, source_reliability, credibility, description, section_code, distance_to_border_m)
SELECT 'bench', 'b' || n, (ARRAY['unauthorised_border_crossing', 'cross_border_crime', 'crisis_situation', 'other'])[1 + n %% 4],
       'group', t, t + make_interval(hours => (n %% 37)::int), t + make_interval(hours => (n %% 37)::int + 1), geom,
       CASE WHEN n %% 4 = 0 THEN 1 + n %% 40 END,
       (ARRAY['low', 'low', 'low', 'medium', 'medium', 'high', 'very_high'])[1 + n %% 7],
       (ARRAY['A', 'B', 'C', 'D'])[1 + n %% 4], 1 + n %% 6, 'benchmark event ' || n, code, (n %% 5000)::float8
  FROM (SELECT code, geom, row_number() OVER () AS n FROM pts) p,
       LATERAL (SELECT %(start)s::timestamptz + make_interval(secs => (n * 604799.0 / %(n)s)) AS t) tt
"""
