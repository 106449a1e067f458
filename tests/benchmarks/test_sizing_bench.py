"""Sizing: bytes on disk per position and per event, measured, and what thinning keeps.

Loads ``NSP_BENCH_SIZING_ROWS`` (default 200,000) positions of each kind that feeds write the
most of (AIS vessels, own units over TAK/CoT, ADS-B aircraft), shaped as their ingest writes them
(the same columns filled, the same ``attrs`` keys), as tracks of objects reporting at a feed's
usual interval, 40 days old; and ``NSP_BENCH_SIZING_EVENTS`` (default 100,000) events as the
export benchmark makes them. After each load, VACUUM ANALYZE, and the growth of
``pg_relation_size`` (heap), ``pg_indexes_size`` and the rest of ``pg_total_relation_size``
(TOAST, maps) over every partition, divided by the rows loaded. Then what ``nsp retention
apply --dry-run`` would remove from these tracks with the default rules (one fix per object
per minute, first, last and turns kept), and the disk that thinning gives back: after a plain
VACUUM (a run with ``NSP_RETENTION_REWRITE`` off) and after the retention run's own rewrite of
the weeks it thinned (VACUUM FULL of each). Prints the tables; docs/explanation/sizing.md
shows them.

    make bench PYTEST_ARGS="-k sizing"
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support.bench_inputs import EVENTS_SQL

pytestmark = pytest.mark.bench

ROWS = int(os.environ.get("NSP_BENCH_SIZING_ROWS", "200000"))
EVENTS = int(os.environ.get("NSP_BENCH_SIZING_EVENTS", "100000"))

# kind: (objects, seconds between fixes, SQL of one row from object o and fix k at time t)
KINDS = {
    "vessel": (400, 6, """
        'ais', 'MMSI:' || (275000000 + o), 'vessel', NULL, 'under way using engine', t,
        ST_SetSRID(ST_MakePoint(20.5 + (o %% 40) * 0.05 + k * 0.0004 * cos(radians(c)),
                                56.8 + (o / 40) * 0.05 + k * 0.0004 * sin(radians(c))), 4326),
        (8 + o %% 7)::real, c::real, c::real, NULL::real, NULL::timestamptz, NULL,
        jsonb_build_object('msg_type', 1)"""),
    "own": (300, 5, """
        'tak', 'ANDROID-' || lpad(to_hex(o), 4, '0'), 'own', 'a-f-G-U-C', NULL, t,
        ST_SetSRID(ST_MakePoint(27.0 + (o %% 30) * 0.02 + k * 0.00002 * cos(radians(c)),
                                55.9 + (o / 30) * 0.02 + k * 0.00002 * sin(radians(c))), 4326),
        1.5::real, c::real, NULL::real, 9.9::real, t + interval '2 minutes', 'LV-BY-01',
        jsonb_build_object('how', 'm-g', 'cot_start', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS+00:00'),
                           'hae_m', 120.0)"""),
    "aircraft": (150, 5, """
        'adsb', 'ICAO:' || upper(to_hex(4980000 + o)), 'aircraft', NULL, NULL, t,
        ST_SetSRID(ST_MakePoint(21.0 + (o %% 15) * 0.3 + k * 0.01 * cos(radians(c)),
                                55.8 + (o / 15) * 0.2 + k * 0.01 * sin(radians(c))), 4326),
        (420 + o %% 60)::real, c::real, c::real, NULL::real, NULL::timestamptz, NULL,
        jsonb_build_object('icao', to_hex(4980000 + o), 'callsign', 'BTI' || (100 + o), 'squawk', '1000',
                           'on_ground', false, 'altitude_m', 10668, 'seen_pos_s', 0.4)"""),
}

# Every object reports every `every` seconds from `start`; its course turns by 25 degrees every
# 10 minutes (a track with some turns, not a straight line nor a random walk).
POSITIONS_SQL = """
INSERT INTO asset_position (source, object_id, kind, object_type, status, observed_at, geom, speed_kn,
                            course_deg, heading_deg, accuracy_m, stale_at, section_code, attrs)
SELECT {row}
  FROM generate_series(0, %(objects)s - 1) o,
       generate_series(0, %(fixes)s - 1) k,
       LATERAL (SELECT %(start)s::timestamptz + make_interval(secs => k * %(every)s + (o %% %(every)s)) AS t,
                       (o * 37 + 25 * ((k * %(every)s) / 600)) %% 360 AS c) tc
"""

SIZE_SQL = """
SELECT coalesce(sum(pg_relation_size(relid)), 0) AS heap,
       coalesce(sum(pg_indexes_size(relid)), 0) AS indexes,
       coalesce(sum(pg_total_relation_size(relid)), 0) AS total
  FROM (SELECT relid FROM pg_partition_tree(%(t)s) WHERE isleaf
        UNION SELECT %(t)s::regclass WHERE (SELECT relkind FROM pg_class WHERE oid = %(t)s::regclass) = 'r') p
"""


def _sizes(conn, tables: tuple[str, ...]) -> dict[str, int]:
    out = {"heap": 0, "indexes": 0, "total": 0}
    for table in tables:
        conn.execute(f"VACUUM ANALYZE {table}")
        r = conn.execute(SIZE_SQL, {"t": table}).fetchone()
        for key in out:
            out[key] += int(r[key])
    return out


def _row(label: str, n: int, before: dict, after: dict) -> tuple:
    heap, idx, total = (after[k] - before[k] for k in ("heap", "indexes", "total"))
    return label, n, heap / n, idx / n, (total - heap - idx) / n, total / n


@pytest.mark.bench
def test_sizing_benchmark(db_url):
    from ingest.loading import retention

    results = []
    loaded = {}
    start = datetime.now(UTC) - timedelta(days=40)
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SELECT nsp_ensure_position_partitions(%s, %s)", (start, start + timedelta(days=7)))
        for kind, (objects, every, row) in KINDS.items():
            fixes = max(1, ROWS // objects)
            before = _sizes(conn, ("asset_position",))
            t = time.perf_counter()
            n = conn.execute(POSITIONS_SQL.format(row=row), {"objects": objects, "fixes": fixes, "every": every,
                                                             "start": start}).rowcount
            secs = time.perf_counter() - t
            assert n == objects * fixes
            results.append(_row(f"asset_position: {kind} ({objects} objects, every {every} s)", n, before,
                                _sizes(conn, ("asset_position",))))
            loaded[kind] = (n, secs)
        before = _sizes(conn, ("event", "event_cell_day"))
        conn.execute(EVENTS_SQL, {"n": EVENTS, "start": datetime.now(UTC) - timedelta(days=7)})
        n_events = conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"]
        assert n_events >= EVENTS * 0.99
        results.append(_row("event (with its map pre-aggregate)", n_events, before,
                            _sizes(conn, ("event", "event_cell_day"))))
    run = retention.apply(actor="sizing-bench", dry_run=True, url=db_url)
    assert run.error is None

    print(f"\n{'table: rows':<52} {'rows':>9} {'heap B':>7} {'index B':>8} {'other B':>8} {'total B/row':>11}")
    for label, n, heap, idx, other, total in results:
        print(f"{label:<52} {n:>9,} {heap:>7.0f} {idx:>8.0f} {other:>8.0f} {total:>11.0f}")
        assert 40 < total < 2000, f"{label}: {total:.0f} bytes per row is not a plausible figure"
    print(f"\n{'thinning (defaults), rows 40 days old':<40} {'rows':>9} {'removed':>9} {'kept':>7}")
    for t in run.thinned:
        if t.kind in loaded and t.considered:
            kept = 1 - t.removed / t.considered
            print(f"{t.kind:<40} {t.considered:>9,} {t.removed:>9,} {kept:>7.1%}")
            assert t.considered == loaded[t.kind][0] and 0 < kept < 1

    # The thinning itself, then what the disk gets back: a plain VACUUM (autovacuum's) marks the
    # removed rows' space free inside the partition's files (the run with the rewrite off); the
    # next run rewrites the weeks thinned (VACUUM FULL of each), which gives it back.
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        before = _sizes(conn, ("asset_position",))
        rows_before = conn.execute("SELECT count(*) AS n FROM asset_position").fetchone()["n"]
    run = retention.apply(actor="sizing-bench", url=db_url, settings=retention.RetentionSettings(rewrite=False))
    assert run.error is None and run.rewritten and not any(r.rewritten for r in run.rewritten)
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        rows_after = conn.execute("SELECT count(*) AS n FROM asset_position").fetchone()["n"]
        plain = _sizes(conn, ("asset_position",))
    # A week whose removed rows an older transaction (another session's) still sees waits for the
    # next run; these are the next runs, until every week thinned is rewritten.
    deadline = time.monotonic() + 600
    while True:
        again = retention.apply(actor="sizing-bench", url=db_url)
        assert again.error is None and sum(t.removed for t in again.thinned) == 0
        if all(r.rewritten for r in again.rewritten):
            break
        assert time.monotonic() < deadline, again.rewritten
        time.sleep(1)
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        full = _sizes(conn, ("asset_position",))
    mib = 2 ** 20
    print(f"\n{'asset_position on disk':<40} {'rows':>9} {'MiB':>7} {'B per row loaded':>16}")
    for label, n, size in (("loaded", rows_before, before), ("thinned, VACUUM", rows_after, plain),
                           ("thinned, weeks rewritten", rows_after, full)):
        print(f"{label:<40} {n:>9,} {size['total'] / mib:>7.1f} {size['total'] / rows_before:>16.0f}")
    assert rows_after < rows_before and full["total"] < plain["total"] <= before["total"]
