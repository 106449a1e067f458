"""Ingest benchmark (`make bench`): nsp against ogr2ogr and raw COPY, on the same rows.

Generates NSP_BENCH_EVENTS events (default 1,000,000) inside Latvia's border sections as
newline-delimited GeoJSON and as CSV, then loads them:

- ``nsp ingest`` (a subprocess; peak RSS read with wait4) into the live, indexed,
  deduplicating ``event`` table with validation and section assignment;
- ``ogr2ogr -f PostgreSQL`` of the same NDJSON into a plain PostGIS table;
- raw ``COPY`` of the same rows (the CSV) into an unindexed table — the limit;
- the database floor (NSP_BENCH_FLOOR rows, default 200,000): the same rows, already
  located, inserted by the merge's own statement alone (see ``_database_floor``).

Also messages/s of ``nsp ingest`` for GPX, CoT and AIS inputs built from the samples
(NSP_BENCH_MESSAGES, default 100,000). Prints a table with rows/s and ratios.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.support.bench_inputs import anchors_in_sections, messages_inputs

ROOT = Path(__file__).resolve().parents[2]
EVENTS = int(os.environ.get("NSP_BENCH_EVENTS", "1000000"))
MESSAGES = int(os.environ.get("NSP_BENCH_MESSAGES", "100000"))
# Rows for the database floor (_database_floor): a subset, as each variant inserts them all.
FLOOR = int(os.environ.get("NSP_BENCH_FLOOR", "200000"))
# `nsp` in a fresh interpreter that reports its own peak RSS (VmHWM, which starts anew at
# exec; ru_maxrss of a child would also count the forked pytest image).
_WRAP = (
    "import re, sys\n"
    "from nsp.cli import cli\n"
    "try:\n"
    "    cli(args=sys.argv[2:], prog_name='nsp')\n"
    "finally:\n"
    "    hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
    "    open(sys.argv[1], 'w').write(hwm)\n"
)
CATEGORIES = ("unauthorised_border_crossing", "cross_border_crime", "other", "crisis_situation")
IMPACTS = ("low", "low", "low", "medium", "high")


def _generate(dirpath: Path, anchors, n: int) -> tuple[Path, Path]:
    rnd = random.Random(7)
    t0 = datetime.now(UTC) - timedelta(days=30)
    ndjson, csvf = dirpath / "events.geojsonl", dirpath / "events.csv"
    with ndjson.open("wb") as fj, csvf.open("w", newline="", encoding="utf-8") as fc:
        w = csv.writer(fc)
        w.writerow(["id", "category", "occurred_at", "lon", "lat", "persons", "impact", "description"])
        for i in range(n):
            ax, ay = anchors[i % len(anchors)]
            lon = round(ax + rnd.uniform(-0.0005, 0.0005), 6)
            lat = round(ay + rnd.uniform(-0.0005, 0.0005), 6)
            cat = CATEGORIES[i % 4]
            when = (t0 + timedelta(seconds=i * 2.5)).isoformat(timespec="seconds")
            persons, impact, desc = rnd.randint(0, 40), IMPACTS[i % 5], f"report {i} from sector {i % 97}"
            ref = f"EV-{i:08d}"
            fj.write(orjson.dumps({
                "type": "Feature", "id": ref, "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"category": cat, "occurred_at": when, "persons": persons,
                               "impact": impact, "description": desc},
            }))
            fj.write(b"\n")
            w.writerow([ref, cat, when, lon, lat, persons, impact, desc])
    return ndjson, csvf


def _nsp(rss_file: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", _WRAP, str(rss_file), *args]


def _run(args: list[str], env: dict) -> tuple[float, int]:
    """(wall seconds, peak RSS MiB) of a subprocess; nsp reports its own (see _WRAP)."""
    rss_file = Path(args[3]) if args[1:2] == ["-c"] and args[2] == _WRAP else None
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode in (0, 3), f"{args[:6]} failed ({proc.returncode}): {err[-2000:]} {out[-500:]}"
    if rss_file is not None:
        return elapsed, int(rss_file.read_text()) // 1024
    return elapsed, usage.ru_maxrss // 1024


def _pg_conn_string(url: str) -> str:
    p = conninfo_to_dict(url)
    return "PG:" + " ".join(f"{k}={v}" for k, v in p.items() if k in ("host", "port", "dbname", "user", "password"))


def _count(url: str, table: str, where: str = "") -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0]  # noqa: S608 - fixed names


def _database_floor(url: str, n: int) -> list[tuple[str, int, float, None]]:
    """What the insert into ``event`` costs when nothing else is left: no parsing, no
    validation, no staging, no locating.

    The first ``n`` rows of ``bench_copy`` are staged and located once, beforehand, by the
    ingest's own ``stage_event_located`` view into an unlogged table. Then the merge's own
    ``INSERT … ON CONFLICT`` (``ingest_merge_events``) puts them, one statement and one
    transaction each, into (1) a table of ``event``'s columns without any index, (2) a copy
    of ``event`` with its indexes (primary key, unique key, GiST, the btrees; no trigger,
    no foreign key; still empty, so smaller trees than the live table's) and (3) the live
    ``event`` itself, once without the trigger that keeps ``event_cell_day`` (rolled back)
    and once with it. A lower bound of the database's share of ``nsp ingest``, to set
    beside ogr2ogr's whole load.
    """
    from nsp.queries import queries

    merge = queries["ingest_merge_events"].replace("FROM stage_event_located v", "FROM bench_located v")
    params = {"ms": int(time.time() * 1000), "seq0": 0, "batch_id": None}
    out = []
    with psycopg.connect(url) as conn:
        conn.execute("SET jit = off")
        conn.execute("SET work_mem = '64MB'")
        with conn.transaction():  # the staging tables are dropped at commit
            conn.execute(queries["ingest_stage_create"])
            conn.execute(
                "INSERT INTO stage_event (source_ref, category, occurred_at, geom, persons, impact,"
                " status, validation, description, attrs)"
                " SELECT id, category, occurred_at, ST_AsEWKB(ST_SetSRID(ST_MakePoint(lon, lat), 4326)),"
                " persons, impact, 'open', 'unvalidated', description, '{}' FROM bench_copy"
                " ORDER BY id LIMIT %s", (n,))
            conn.execute("CREATE UNLOGGED TABLE bench_located AS SELECT * FROM stage_event_located")
        conn.execute("CREATE TABLE bench_floor_heap (LIKE event INCLUDING DEFAULTS)")
        conn.execute("CREATE TABLE bench_floor_indexed (LIKE event INCLUDING DEFAULTS INCLUDING INDEXES"
                     " INCLUDING CONSTRAINTS)")
        conn.commit()
        variants = (("floor: → heap, no index", "bench_floor_heap", True),
                    ("floor: → event's indexes", "bench_floor_indexed", True),
                    ("floor: → live event, no trigger", "event", False),
                    ("floor: → live event (+trigger)", "event", True))
        for label, table, trigger in variants:
            stmt = merge.replace("INSERT INTO event ", f"INSERT INTO {table} ", 1)
            if table == "bench_floor_heap":  # no unique key to be in conflict with
                stmt = stmt.replace("ON CONFLICT (source, source_ref) DO NOTHING", "")
            with conn.transaction() as tx:
                if not trigger:  # rolled back below, so event_cell_day stays exact
                    conn.execute("ALTER TABLE event DISABLE TRIGGER event_cells_insert")
                t = time.perf_counter()
                inserted = conn.execute(stmt, params | {"source": f"bench-floor-{trigger}"}).rowcount
                out.append((label, inserted, time.perf_counter() - t, None))
                if not trigger:
                    raise psycopg.Rollback(tx)
            assert inserted == n, f"{label}: {inserted} of {n} rows"
    return out


@pytest.mark.bench
def test_ingest_benchmark(db_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    anchors = anchors_in_sections(db_url)
    t = time.perf_counter()
    ndjson, csvf = _generate(tmp_path, anchors, EVENTS)
    print(f"\ngenerated {EVENTS:,} events in {time.perf_counter() - t:.1f} s "
          f"(NDJSON {ndjson.stat().st_size / 2**20:.0f} MiB, CSV {csvf.stat().st_size / 2**20:.0f} MiB)")

    results = []
    rss_file = tmp_path / "rss"
    secs, rss = _run(_nsp(rss_file, "ingest", str(ndjson), "--source", "bench-ndjson", "--json"), env)
    assert _count(db_url, "event", "WHERE source = 'bench-ndjson'") == EVENTS
    assert _count(db_url, "event", "WHERE source = 'bench-ndjson' AND section_code IS NULL") < EVENTS * 0.01
    results.append(("nsp ingest NDJSON → event", EVENTS, secs, rss))

    secs, rss = _run(_nsp(rss_file, "ingest", str(csvf), "--source", "bench-csv", "--json"), env)
    assert _count(db_url, "event", "WHERE source = 'bench-csv'") == EVENTS
    results.append(("nsp ingest CSV → event", EVENTS, secs, rss))

    secs, rss = _run(["ogr2ogr", "-f", "PostgreSQL", _pg_conn_string(db_url), str(ndjson),
                      "-nln", "bench_ogr", "-lco", "GEOMETRY_NAME=geom", "-gt", "65536"], env)
    assert _count(db_url, "bench_ogr") == EVENTS
    results.append(("ogr2ogr NDJSON → plain table", EVENTS, secs, None))  # its RSS is not ours to judge

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE UNLOGGED TABLE bench_copy (id text, category text, occurred_at timestamptz, "
                     "lon float8, lat float8, persons int, impact text, description text)")
        t = time.perf_counter()
        with conn.cursor().copy("COPY bench_copy FROM STDIN (FORMAT csv, HEADER)") as copy, csvf.open("rb") as f:
            while data := f.read(1 << 20):
                copy.write(data)
        secs = time.perf_counter() - t
    assert _count(db_url, "bench_copy") == EVENTS
    results.append(("raw COPY CSV → unindexed table", EVENTS, secs, None))
    floor = _database_floor(db_url, min(FLOOR, EVENTS))

    msg_results = []
    for fmt, path in messages_inputs(tmp_path, anchors, MESSAGES).items():
        n = sum(1 for _ in path.open()) if fmt != "gpx" else MESSAGES
        if fmt == "ais":
            # the loading path alone, then with border-crossing detection (ingest/loading/crossings.py):
            # these vessels jump between random points, so most of their segments cross the
            # territorial sea's limit, far more often than real traffic does
            secs, rss = _run(_nsp(rss_file, "ingest", str(path), "--source", "bench-ais-plain", "--json"),
                             {**env, "NSP_CROSSING_ENABLED": "false"})
            msg_results.append(("nsp ingest AIS messages, no crossings", n, secs, rss))
        secs, rss = _run(_nsp(rss_file, "ingest", str(path), "--source", f"bench-{fmt}", "--json"), env)
        label = "AIS messages + crossing detection" if fmt == "ais" else f"{fmt.upper()} messages"
        msg_results.append((f"nsp ingest {label}", n, secs, rss))

    ogr_rate = EVENTS / results[2][2]
    print(f"\n{'load':<44} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'vs ogr2ogr':>10} {'peak RSS':>9}")
    for name, n, secs, rss in results + floor + msg_results:
        rate = n / secs
        rss_txt = f"{rss} MiB" if rss is not None else "—"
        print(f"{name:<44} {n:>10,} {secs:>8.1f} {rate:>9,.0f} {rate / ogr_rate:>9.2f}x {rss_txt:>9}")
    for name, _n, _s, rss in results[:2]:
        assert rss < 500, f"{name}: peak RSS {rss} MiB is over 500 MiB"
