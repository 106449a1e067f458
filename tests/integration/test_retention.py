"""Positions' retention against the real PostGIS: thinning with exact counts, dry runs, the
audit row, one thinning per stretch, per-kind rules, and real AIS reports thinned exactly as a
plain loop over the same rule says (ingest.loading.retention, issue 26)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.loading.pipeline import ingest_file
from ingest.loading.retention import RetentionSettings, apply
from ingest.settings import ingest_settings
from nsp.cli import cli
from nsp.settings import geo_settings
from tests.support.delivery import run_worker_until_empty

# 60 fixes, one every 10 s, from a whole hour (intervals count from the epoch); each track's
# points are given as offsets in degrees per fix (east = +lon, north = +lat).
N = 60


def _track(conn, object_id: str, kind: str, days_ago: int, *, turn_at: int | None = None,
           speed: float | None = None, courses: tuple[float, float] | None = None) -> None:
    """Insert one track with plain SQL: heading east, turning north at fix ``turn_at``; with
    ``courses`` the fixes report those courses over ground in turn (a jittering or zig-zag COG)."""
    conn.execute(
        """
        INSERT INTO asset_position (source, object_id, kind, observed_at, geom, speed_kn, course_deg)
        SELECT 'test', %(oid)s, %(kind)s,
               date_trunc('hour', now() - make_interval(days => %(days)s)) + make_interval(secs => 10 * i),
               ST_SetSRID(ST_MakePoint(
                   24.0 + 0.001 * least(i, coalesce(%(turn)s, %(n)s)),
                   57.0 + 0.001 * greatest(0, i - coalesce(%(turn)s, %(n)s))), 4326),
               %(speed)s,
               CASE WHEN %(c0)s::real IS NULL THEN NULL WHEN i %% 2 = 0 THEN %(c0)s::real ELSE %(c1)s::real END
          FROM generate_series(0, %(n)s - 1) AS i
        """,
        {"oid": object_id, "kind": kind, "days": days_ago, "turn": turn_at, "n": N, "speed": speed,
         "c0": courses[0] if courses else None, "c1": courses[1] if courses else None})


def _count(conn, object_id: str) -> int:
    return conn.execute("SELECT count(*) AS n FROM asset_position WHERE object_id = %s",
                        (object_id,)).fetchone()["n"]


def _kept_seconds(conn, object_id: str) -> list[int]:
    """Seconds of each kept fix from the track's first fix."""
    rows = conn.execute(
        "SELECT extract(epoch FROM observed_at - min(observed_at) OVER ())::int AS s FROM asset_position"
        " WHERE object_id = %s ORDER BY observed_at", (object_id,)).fetchall()
    return [r["s"] for r in rows]


@pytest.fixture
def tracks(conn):
    conn.execute("SELECT nsp_ensure_position_partitions(now() - interval '50 days', now())")
    _track(conn, "OWN-OLD", "own", 40, turn_at=33)      # a turn in the middle of minute 5
    _track(conn, "OWN-NEW", "own", 10, turn_at=33)      # within the keep period
    _track(conn, "ANCHOR", "vessel", 40, speed=0.0, courses=(10.0, 200.0))  # COG swings, no way on
    _track(conn, "ZIGZAG", "vessel", 40, speed=8.0, courses=(0.0, 90.0))    # every fix a 90° turn
    return conn


def test_thinning_keeps_one_fix_a_minute_the_ends_and_the_turns(tracks, conn):
    run = apply(actor="tester", settings=RetentionSettings())
    # one fix per minute (10), the corner at 330 s and the first fix heading north, the last fix
    assert _kept_seconds(conn, "OWN-OLD") == [0, 60, 120, 180, 240, 300, 330, 340, 360, 420, 480, 540, 590]
    assert _count(conn, "OWN-NEW") == N                    # younger than 30 days: every fix
    assert _count(conn, "ANCHOR") == 11                    # swings at 0 kn are no turns
    assert _count(conn, "ZIGZAG") == N                     # every fix turns by 90°
    removed = {t.kind: (t.considered, t.removed) for t in run.thinned}
    assert removed["own"] == (N, N - 13)
    assert removed["vessel"] == (2 * N, N - 11)
    audit = conn.execute("SELECT actor, details FROM audit_log WHERE action = 'retention_apply'").fetchall()
    assert len(audit) == 1 and audit[0]["actor"] == "tester"
    thinned = {t["kind"]: t["removed"] for t in audit[0]["details"]["thinned"]}
    assert thinned["own"] == N - 13 and thinned["vessel"] == N - 11 and audit[0]["details"]["dry_run"] is False


def test_a_dry_run_counts_the_same_and_changes_nothing_and_a_second_run_thins_no_more(tracks, conn):
    dry = apply(actor="tester", dry_run=True, settings=RetentionSettings())
    assert sum(t.removed for t in dry.thinned) == (N - 13) + (N - 11)
    assert conn.execute("SELECT count(*) AS n FROM asset_position").fetchone()["n"] == 4 * N
    assert conn.execute("SELECT count(*) AS n FROM position_thinning").fetchone()["n"] == 0
    real = apply(actor="tester", settings=RetentionSettings())
    assert [(t.kind, t.removed) for t in real.thinned] == [(t.kind, t.removed) for t in dry.thinned]
    again = apply(actor="tester", settings=RetentionSettings())
    assert sum(t.removed for t in again.thinned) == 0
    assert _count(conn, "OWN-OLD") == 13                    # its last fix is not thinned by the next run
    assert conn.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'retention_apply'"
                        ).fetchone()["n"] == 3


def test_rules_per_kind(tracks, conn, monkeypatch):
    monkeypatch.setenv("NSP_RETENTION_KINDS", json.dumps(
        {"own": {"thin_interval_seconds": 300}, "vessel": {"thin": False}}))
    apply(actor="tester")
    assert _kept_seconds(conn, "OWN-OLD") == [0, 300, 330, 340, 590]  # 5-minute intervals, the turn, the last
    assert _count(conn, "ANCHOR") == N


def test_an_unknown_kind_in_the_settings_is_refused(conn, monkeypatch):
    monkeypatch.setenv("NSP_RETENTION_KINDS", json.dumps({"ship": {"keep_days": 3}}))
    result = CliRunner().invoke(cli, ["retention", "apply", "--dry-run"])
    assert result.exit_code == 1 and "unknown kind(s) ship" in result.output


def test_nsp_retention_apply_prints_and_audits_the_actor(tracks, conn):
    result = CliRunner().invoke(cli, ["retention", "apply", "--actor", "ops-1"])
    assert result.exit_code == 0, result.output
    assert "thin own" in result.output and f"removed {N - 13}" in result.output
    week = conn.execute("SELECT tableoid::regclass::text AS t FROM asset_position WHERE object_id = 'OWN-OLD'"
                        ).fetchone()["t"]
    assert f"rewrite {week}  " in result.output  # rewritten, or why not yet
    assert conn.execute("SELECT actor FROM audit_log WHERE action = 'retention_apply'").fetchone()["actor"] == "ops-1"


# ------------------------------------------------------------------ real reports, a plain reference

REAL_AIS = Path(__file__).resolve().parents[1] / "data" / "real" / "ais" / "pyais_receiver_plain.nmea"


def _reference_kept(rows: list[dict], interval: float, turn: float, min_speed: float) -> set[tuple]:
    """The thinning rule written as a plain loop over each object's fixes, to hold the SQL to."""
    kept = set()
    tracks: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: (r["object_id"], r["observed_at"], r["source"], r["x"], r["y"])):
        tracks.setdefault(r["object_id"], []).append(r)
    for fixes in tracks.values():
        courses, turns = [], []
        for i, f in enumerate(fixes):
            if f["course_deg"] is not None:
                courses.append(float(f["course_deg"]))
            elif i == 0 or (f["x"], f["y"]) == (fixes[i - 1]["x"], fixes[i - 1]["y"]):
                courses.append(None)
            else:
                courses.append(f["azimuth"])
        for i, f in enumerate(fixes):
            prev = courses[i - 1] if i else None
            moving = f["speed_kn"] is None or f["speed_kn"] >= min_speed
            d = abs(courses[i] - prev) % 360 if courses[i] is not None and prev is not None else None
            turns.append(moving and d is not None and 180 - abs(180 - d) > turn)
        seen_buckets = set()
        for i, f in enumerate(fixes):
            bucket = math.floor(f["observed_at"].timestamp() / interval)
            first_in_bucket = bucket not in seen_buckets
            seen_buckets.add(bucket)
            if (i == 0 or i == len(fixes) - 1 or first_in_bucket or turns[i]
                    or (i + 1 < len(fixes) and turns[i + 1])):
                kept.add((f["object_id"], f["observed_at"], f["source"], f["x"], f["y"]))
    return kept


_REAL_ROWS = """SELECT object_id, observed_at, source, ST_X(geom) AS x, ST_Y(geom) AS y, speed_kn, course_deg,
                       degrees(ST_Azimuth(lag(geom) OVER (PARTITION BY object_id ORDER BY observed_at, source,
                                                          ST_X(geom), ST_Y(geom)), geom)) AS azimuth
                  FROM asset_position"""


@pytest.mark.parametrize("interval", [30, 60, 300])
def test_real_ais_reports_are_thinned_as_the_rule_says(db_url, conn, monkeypatch, interval):
    monkeypatch.setenv("NSP_GEO_ROI", "[-180, -90, 180, 90]")  # reports from US waters
    geo_settings.cache_clear()
    ingest_settings.cache_clear()
    try:
        assert ingest_file(REAL_AIS, source="rx-plain").accepted > 100
    finally:
        geo_settings.cache_clear()
        ingest_settings.cache_clear()
    conn.execute("SELECT nsp_ensure_position_partitions(now() - interval '50 days', now())")
    conn.execute("UPDATE asset_position SET observed_at = observed_at - interval '40 days'")
    before = conn.execute(_REAL_ROWS).fetchall()
    want = _reference_kept(before, interval, 30.0, 1.0)
    run = apply(actor="tester", settings=RetentionSettings(thin_interval_seconds=interval))
    after = {(r["object_id"], r["observed_at"], r["source"], r["x"], r["y"])
             for r in conn.execute(_REAL_ROWS).fetchall()}
    assert after == want
    assert 0 < len(want) < len(before)
    assert sum(t.removed for t in run.thinned) == len(before) - len(want)


# ------------------------------------------------------------------ the horizon

OLD_WEEK = "asset_position_2025w10"  # 2025-03-03 .. 2025-03-10


@pytest.fixture
def old_track(conn):
    conn.execute("SELECT nsp_ensure_position_partitions('2025-03-03', '2025-03-09')")
    conn.execute("SELECT nsp_ensure_position_partitions(now() - interval '50 days', now())")
    _track(conn, "OWN-OLD", "own", 40, turn_at=33)
    conn.execute("INSERT INTO asset_position (source, object_id, kind, observed_at, geom)"
                 " SELECT 'test', 'OLD-UNIT', 'own', timestamptz '2025-03-05 12:00Z' + make_interval(mins => i),"
                 " ST_SetSRID(ST_MakePoint(24, 57 + i * 0.001), 4326) FROM generate_series(1, 7) i")
    return conn


def test_without_an_archive_a_week_past_the_horizon_is_dropped_and_the_run_says_so(old_track, conn):
    dry = apply(actor="tester", dry_run=True, settings=RetentionSettings())
    assert [(d.partition, d.rows, d.detached) for d in dry.detached] == [(OLD_WEEK, 7, False)]
    assert conn.execute("SELECT to_regclass(%s) AS t", (OLD_WEEK,)).fetchone()["t"] is not None
    run = apply(actor="tester", settings=RetentionSettings())
    assert [(d.partition, d.rows, d.detached) for d in run.detached] == [(OLD_WEEK, 7, True)]
    assert conn.execute("SELECT to_regclass(%s) AS t", (OLD_WEEK,)).fetchone()["t"] is None
    assert _count(conn, "OLD-UNIT") == 0 and _count(conn, "OWN-OLD") == 13  # the younger week stays
    details = conn.execute("SELECT details FROM audit_log WHERE action = 'retention_apply' ORDER BY id"
                           ).fetchall()
    assert [[d["detached"] for d in r["details"]["detached"]] for r in details] == [[False], [True]]


def test_the_maintenance_task_applies_retention_as_the_worker(old_track, conn):
    from ingest.delivery.tasks import apply_position_retention

    result = apply_position_retention(timestamp=0)
    assert [d["partition"] for d in result["detached"] if d["detached"]] == [OLD_WEEK]
    assert _count(conn, "OWN-OLD") == 13
    assert conn.execute("SELECT actor FROM audit_log WHERE action = 'retention_apply'").fetchone()["actor"] \
        == "nsp worker"


def test_the_daily_retention_run_by_a_tests_worker_keeps_the_test_data(old_track, conn, db_url):
    """A worker runs the daily retention when it starts in the ten minutes after its time (a missed
    periodic run is deferred): with the tests' worker environment (tests/support/delivery.py) the
    run drops and thins nothing; with the product's rules the same run drops the old week."""
    from ingest.delivery.tasks import apply_position_retention
    from nsp.queue import app

    def run_once(**env):
        with app.open():
            apply_position_retention.defer(timestamp=0)
        assert run_worker_until_empty(db_url, **env).returncode == 0

    before = _count(conn, "OWN-OLD")
    run_once()
    assert _count(conn, "OLD-UNIT") == 7 and _count(conn, "OWN-OLD") == before
    run_once(NSP_RETENTION_KEEP_DAYS="30", NSP_RETENTION_HORIZON_DAYS="400")
    assert _count(conn, "OLD-UNIT") == 0 and _count(conn, "OWN-OLD") == 13


# ------------------------------------------------------------------ the disk given back

def _week_of_tracks(conn, objects: int = 20, fixes: int = 1440) -> str:
    """``objects`` tracks of a fix every 5 s (2 hours), 40 days old, all in one week's partition, each
    turning by 45° every 10 minutes; returns the partition's name."""
    conn.execute("SELECT nsp_ensure_position_partitions(now() - interval '50 days', now())")
    conn.execute(
        """
        INSERT INTO asset_position (source, object_id, kind, observed_at, geom, speed_kn, course_deg)
        SELECT 'test', 'V' || o, 'vessel',
               date_trunc('week', now() - interval '40 days') + interval '1 day' + make_interval(secs => 5 * i),
               ST_SetSRID(ST_MakePoint(21 + o * 0.01 + 0.0001 * i, 57 + 0.0001 * (i / 120)), 4326),
               8.0, ((i / 120) %% 2) * 45
          FROM generate_series(1, %(objects)s) AS o, generate_series(0, %(fixes)s - 1) AS i
        """, {"objects": objects, "fixes": fixes})
    names = conn.execute("SELECT DISTINCT tableoid::regclass::text AS t FROM asset_position").fetchall()
    assert len(names) == 1 and names[0]["t"].startswith("asset_position_2")
    conn.execute(f"VACUUM ANALYZE {names[0]['t']}")
    return names[0]["t"]


def _size(conn, name: str) -> int:
    return conn.execute("SELECT pg_total_relation_size(%s::regclass) AS b", (name,)).fetchone()["b"]


def _pending(conn) -> list[str]:
    return [r["partition"] for r in conn.execute("SELECT partition FROM position_rewrite_pending ORDER BY 1")]


def _until_rewritten(first, week: str, settings: RetentionSettings, timeout: float = 240.0) -> list:
    """The runs from ``first`` until one has rewritten ``week``. Removed rows that a transaction
    older than the thinning may still see cannot leave the files yet (on a shared server other
    sessions' work can hold them for a while): the run says so and keeps the week waiting, and
    the next run rewrites it; these are those next runs."""
    import time

    runs, deadline = [first], time.monotonic() + timeout
    while not any(r.partition == week and r.rewritten for r in runs[-1].rewritten):
        step = [r for r in runs[-1].rewritten if r.partition == week]
        assert step and step[0].dead_kept > 0 and "rewritten at the next run" in step[0].reason, step
        assert time.monotonic() < deadline, f"not rewritten in {timeout:.0f} s: {runs[-1].rewritten}"
        time.sleep(0.5)
        runs.append(apply(actor="tester", settings=settings))
    return runs


def test_the_weeks_thinned_are_rewritten_and_the_disk_shrinks_to_the_rows_kept(conn):
    week = _week_of_tracks(conn)
    before_rows = conn.execute(_REAL_ROWS).fetchall()
    want = _reference_kept(before_rows, 60, 30.0, 1.0)
    before = _size(conn, week)

    dry = apply(actor="tester", dry_run=True, settings=RetentionSettings())
    assert [(r.partition, r.bytes_before, r.rewritten, r.reason) for r in dry.rewritten] == \
        [(week, before, False, "would rewrite")]
    assert dry.thinned[1].weeks == {week: len(before_rows) - len(want)}
    assert _size(conn, week) == before and _pending(conn) == []

    runs = _until_rewritten(apply(actor="tester", settings=RetentionSettings()), week, RetentionSettings())
    assert runs[0].thinned[1].weeks == dry.thinned[1].weeks
    assert sum(t.removed for r in runs[1:] for t in r.thinned) == 0
    after = _size(conn, week)
    assert [(r.partition, r.bytes_after, r.rewritten, r.dead_kept) for r in runs[-1].rewritten] == \
        [(week, after, True, 0)]
    assert runs[0].rewritten[0].bytes_before == before
    kept = {(r["object_id"], r["observed_at"], r["source"], r["x"], r["y"]) for r in conn.execute(_REAL_ROWS)}
    assert kept == want and 0 < len(want) < len(before_rows) / 5
    # the week's files hold the rows kept, not the rows loaded: well under a third of its size
    assert after < before / 3, (before, after)
    assert _pending(conn) == []
    audit = conn.execute("SELECT details FROM audit_log WHERE action = 'retention_apply' ORDER BY id").fetchall()
    assert [[(r["partition"], r["rewritten"]) for r in a["details"]["rewritten"]] for a in audit] == \
        [[(week, False)]] * len(runs) + [[(week, True)]]
    assert audit[-1]["details"]["rewritten"][0]["bytes_after"] == after

    again = apply(actor="tester", settings=RetentionSettings())  # nothing thinned: nothing rewritten
    assert again.rewritten == [] and sum(t.removed for t in again.thinned) == 0
    assert _size(conn, week) == after


def test_a_week_not_rewritten_stays_waiting_until_a_run_can(conn, db_url):
    import psycopg

    week = _week_of_tracks(conn, objects=5)
    before = _size(conn, week)
    off = apply(actor="tester", settings=RetentionSettings(rewrite=False))
    assert sum(t.removed for t in off.thinned) > 0
    assert [(r.partition, r.rewritten) for r in off.rewritten] == [(week, False)]
    assert _pending(conn) == [week] and _size(conn, week) == before

    # A reader holding the week (an analyst's long export): the rewrite gives up on its lock and says so.
    with psycopg.connect(db_url) as reader:
        reader.execute(f"SELECT count(*) FROM {week}").fetchone()    # its transaction stays open
        busy = apply(actor="tester", settings=RetentionSettings(rewrite_lock_timeout_seconds=0.2))
        assert [(r.partition, r.rewritten) for r in busy.rewritten] == [(week, False)]
        assert busy.rewritten[0].reason.startswith("busy: not locked within 0.2 s")
        assert _pending(conn) == [week] and _size(conn, week) == before
    _until_rewritten(apply(actor="tester", settings=RetentionSettings()), week, RetentionSettings())
    assert _pending(conn) == [] and _size(conn, week) < before / 3


def test_a_week_dropped_at_the_horizon_is_not_rewritten(old_track, conn):
    conn.execute("INSERT INTO position_rewrite_pending (partition, removed) VALUES (%s, 5)", (OLD_WEEK,))
    run = apply(actor="tester", settings=RetentionSettings())
    assert [d.partition for d in run.detached if d.detached] == [OLD_WEEK]
    assert OLD_WEEK not in [r.partition for r in run.rewritten] and OLD_WEEK not in _pending(conn)


def test_rows_an_older_transaction_still_sees_wait_for_the_next_run(conn, db_url):
    import psycopg

    week = _week_of_tracks(conn, objects=5)
    before = _size(conn, week)
    with psycopg.connect(db_url) as reader:
        reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        assert reader.execute("SELECT count(*) FROM app_user").fetchone() is not None  # its snapshot: before
        run = apply(actor="tester", settings=RetentionSettings())
        removed = sum(t.removed for t in run.thinned)
        assert removed > 0
        assert [(r.partition, r.rewritten, r.dead_kept, r.bytes_after) for r in run.rewritten] == \
            [(week, False, removed, None)]
        assert "still seen by a transaction older than the thinning" in run.rewritten[0].reason
        assert _pending(conn) == [week] and _size(conn, week) == before
    _until_rewritten(apply(actor="tester", settings=RetentionSettings()), week, RetentionSettings())
    assert _pending(conn) == [] and _size(conn, week) < before / 3
