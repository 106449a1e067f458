"""Benchmark: a week of 100,000 events and 2,000 patrol tracks exports in < 30 s, < 500 MB.

Runs `nsp export weekly` in a subprocess (the real CLI, PDF included) and reads the
process's peak resident memory (ru_maxrss); prints both beside ogr2ogr's time to
write the same events from PostGIS to a GeoPackage. NSP_BENCH_SCALE=0.1 runs it at a
tenth of the size while developing (the limits are asserted at full size only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from geo.snapshot.week import Week
from tests.support.bench_inputs import EVENTS_SQL

pytestmark = pytest.mark.bench

SCALE = float(os.environ.get("NSP_BENCH_SCALE", "1"))
N_EVENTS = int(100_000 * SCALE)
N_PATROLS = int(2_000 * SCALE)
WEEK = Week(2026, 40, "Europe/Riga")
ROOT = Path(__file__).resolve().parents[2]

# The export in a child process; it reports its own peak RSS (Chromium, which prints the
# PDF, is a child of the child and reported apart).
RUNNER = """
import json, resource, sys, time
from nsp.cli import cli
t = time.perf_counter()
try:
    cli(sys.argv[1:], prog_name="nsp", standalone_mode=False)
finally:
    print(json.dumps({"seconds": time.perf_counter() - t,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "children_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}),
          file=sys.stderr)
"""

PATROLS_SQL = """
INSERT INTO patrol (source, source_ref, unit, mode, started_at, ended_at, track)
SELECT 'bench', 'p' || g, 'Unit ' || (g %% 120), (ARRAY['foot', 'vehicle', 'boat', 'uav'])[1 + g %% 4],
       %(start)s::timestamptz + make_interval(secs => g * 604000.0 / %(n)s),
       %(start)s::timestamptz + make_interval(secs => g * 604000.0 / %(n)s + 6 * 3600),
       (SELECT ST_Multi(ST_MakeLine(ARRAY(
            SELECT ST_MakePoint(26.6 + 0.02 * (g %% 40) + 0.001 * i + 0.0004 * sin(i + g),
                                55.7 + 0.01 * (g %% 50) + 0.0008 * i)
              FROM generate_series(0, 59) i))))
  FROM generate_series(1, %(n)s) g
"""


def _seed(conn) -> None:
    t = time.perf_counter()
    conn.execute(EVENTS_SQL, {"n": N_EVENTS, "start": WEEK.start})
    conn.execute(PATROLS_SQL, {"n": N_PATROLS, "start": WEEK.start})
    conn.execute("ANALYZE event; ANALYZE patrol")
    n = conn.execute("SELECT count(*) n FROM event").fetchone()["n"]
    assert n == N_EVENTS
    print(f"\nseeded {n:,} events and {N_PATROLS:,} patrols in {time.perf_counter() - t:.1f} s")


def _ogr2ogr(db_url: str, out: Path) -> float:
    p = conninfo_to_dict(db_url)
    pg = " ".join(f"{k}={p[k]}" for k in ("host", "port", "dbname", "user") if p.get(k))
    sql = ("SELECT id::text AS id, source, source_ref, category, subtype, occurred_at, reported_at, received_at, "
           "accuracy_m, persons, impact, source_reliability, credibility, validation, status, parent_id::text, "
           "crossing_stage, crossing_mode, direction, detection_method, transport_means, evasion_attempt, "
           "facilitation_link, sar_link, section_code, distance_to_border_m, description, geom FROM event "
           f"WHERE occurred_at >= '{WEEK.start.isoformat()}' AND occurred_at < '{WEEK.end.isoformat()}' "
           "ORDER BY occurred_at, id")
    t = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), f"PG:{pg}", "-sql", sql, "-nln", "events"],
                   check=True, capture_output=True)
    return time.perf_counter() - t


def test_export_week_bench(conn, db_url, tmp_path):
    _seed(conn)
    env = {**os.environ, "DATABASE_URL": db_url}
    proc = subprocess.run([sys.executable, "-c", RUNNER, "export", "weekly", "--week", WEEK.label,
                           "--out", str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads(proc.stderr.strip().splitlines()[-1])
    folder = tmp_path / "out" / f"nsp-snapshot-{WEEK.label}"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"]["events"] == N_EVENTS and manifest["counts"]["patrols"] == N_PATROLS

    ogr_s = _ogr2ogr(db_url, tmp_path / "ogr.gpkg")
    sizes = {p.name: p.stat().st_size / 1e6 for p in folder.iterdir()}
    print(f"\nexport of {N_EVENTS:,} events + {N_PATROLS:,} patrol tracks (scale {SCALE:g})")
    print("| measure | value |\n| --- | --- |")
    print(f"| `nsp export weekly` wall time (all files, PDF {'yes' if manifest['pdf'] else 'no'}) | {stats['seconds']:.1f} s |")
    print(f"| peak memory of the export process (ru_maxrss) | {stats['maxrss_mb']:.0f} MB |")
    print(f"| peak memory of its children (Chromium printing the PDF) | {stats['children_maxrss_mb']:.0f} MB |")
    print(f"| ogr2ogr: the same events PostGIS → GeoPackage only | {ogr_s:.1f} s |")
    print("| files | " + ", ".join(f"{k} {v:.1f} MB" for k, v in sorted(sizes.items())) + " |")
    if SCALE >= 1:
        assert stats["seconds"] < 30, f"export took {stats['seconds']:.1f} s"
        assert stats["maxrss_mb"] < 500, f"peak memory {stats['maxrss_mb']:.0f} MB"


# The download of a filter (/export/events.csv) in a child process: a Flask app with the export
# routes, acting as a watch officer; the body is read as it streams and thrown away. Reports
# the time to the first byte and to the last, the bytes, and the process's peak RSS.
DOWNLOAD_RUNNER = """
import json, resource, sys, time
from flask import Flask
from dashboard import exports as web
from nsp.access import Scope
app = Flask("bench")
app.register_blueprint(web.blueprint)
web.current_scope = lambda: Scope("bench", "watch_officer")
t = time.perf_counter()
resp = app.test_client().get(sys.argv[1], buffered=False)
first, size = None, 0
for part in resp.response:
    first = first or time.perf_counter() - t
    size += len(part)
print(json.dumps({"status": resp.status_code, "seconds": time.perf_counter() - t, "first_s": first,
                  "bytes": size, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_filter_download_bench(conn, db_url):
    """/export/events.csv and .geojson of a week beside a raw COPY ... TO STDOUT (CSV) of the same
    query: the peer does no Python per row. Asserts the rows and a flat memory, not a speed."""
    from psycopg import ClientCursor, sql

    from dashboard.state import parse_query, to_filter
    from nsp.queries import queries

    _seed(conn)
    start, end = (t.astimezone(UTC) for t in (WEEK.start, WEEK.end))  # the link's times are UTC
    query = f"?window=custom&start={start:%Y-%m-%dT%H:%M}&end={end:%Y-%m-%dT%H:%M}"
    env = {**os.environ, "DATABASE_URL": db_url}
    runs = {}
    for fmt in ("csv", "geojson"):
        proc = subprocess.run([sys.executable, "-c", DOWNLOAD_RUNNER, f"/export/events.{fmt}{query}"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[fmt] = json.loads(proc.stdout.strip().splitlines()[-1])
        assert runs[fmt]["status"] == 200

    # the peer: the same rows as CSV by the server itself
    f = to_filter(parse_query(query))
    select = sql.SQL(queries["picture_event_export"]).format(filter=sql.SQL(queries["picture_event_filter"]))
    literal = ClientCursor(conn).mogrify(select, f.params())
    t, size, lines = time.perf_counter(), 0, 0
    with conn.cursor().copy(f"COPY ({literal}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
        for block in copy:
            size += len(block)
            lines += bytes(block).count(b"\n")
    copy_s = time.perf_counter() - t
    assert lines == N_EVENTS + 1

    print(f"\ndownload of a week's {N_EVENTS:,} events (scale {SCALE:g})")
    print("| load | s | rows/s | vs COPY | first byte | MB | peak RSS |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for fmt, r in runs.items():
        print(f"| /export/events.{fmt} | {r['seconds']:.1f} | {N_EVENTS / r['seconds']:,.0f} | "
              f"{copy_s / r['seconds']:.2f}x | {r['first_s']:.2f} s | {r['bytes'] / 1e6:.1f} | {r['maxrss_mb']:.0f} MiB |")
    print(f"| COPY (same query) TO STDOUT CSV | {copy_s:.1f} | {N_EVENTS / copy_s:,.0f} | 1.00x | — | {size / 1e6:.1f} | — |")
    if SCALE >= 1:
        assert all(r["maxrss_mb"] < 300 for r in runs.values()), runs
