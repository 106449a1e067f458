"""Retention of positions: thin old tracks, rewrite the weeks thinned, detach weeks past the horizon
(issue 26).

Positions (``asset_position``, partitioned by ISO week) are the one table that grows without
bound. ``nsp retention apply`` and the worker's daily maintenance task
(``ingest.tasks.apply_position_retention``) do, per kind of position (own, vessel, aircraft, ...):

1. **Thin.** Every fix is kept for ``keep_days``. Older fixes are thinned to one per object per
   ``thin_interval_seconds`` (the first of each interval, intervals counted from the Unix epoch),
   always keeping each object's first and last fix of the thinned stretch and the fixes either
   side of every turn: a fix whose course differs from the previous fix's by more than
   ``turn_deg`` while the object moves (speed unknown or at least ``turn_min_speed_kn``) is kept,
   and so is the fix before it (the corner). The course is the reported course over
   ground, else the bearing from the previous fix. One set-based statement per kind (window
   functions); a run thins only the stretch between the previous run's limit
   (``position_thinning``) and its own, so a track is thinned once.
2. **Rewrite.** Deleting rows does not shrink a week's files: the space is freed inside them and
   nothing writes into an old week again to use it. Each weekly partition the thinning removed
   rows from is recorded (``position_rewrite_pending``, in the deleting transaction) and then
   rewritten with ``VACUUM FULL`` of that partition alone, which gives the space back to the disk.
   That holds an ACCESS EXCLUSIVE lock on the one week for the seconds of the rewrite; the parent
   table and every other week stay open to reads and writes. The alternative, a thinned copy
   swapped in with DETACH/ATTACH, locks more: ``DETACH ... CONCURRENTLY`` is refused on a table
   with a default partition (``asset_position`` has one), and a plain DETACH locks the whole
   parent, the live week's ingest included. The rewrite waits at most
   ``rewrite_lock_timeout_seconds`` for its lock (a long reader of the week, an analyst's export)
   so that it never queues for long in front of the map's reads; a week it could not lock stays
   recorded and is rewritten by the next run.
3. **Detach.** Weekly partitions that end before ``horizon_days`` ago are detached and dropped;
   when archiving is on (``NSP_RETENTION_ARCHIVE_DIR``) only once the week is in the archive, with
   the same number of rows and an intact file (:mod:`ingest.loading.archive`).

Events, decisions, audit and quarantine are other tables: retention never touches them. Every
run (a dry run too) is written to the audit log as ``retention_apply`` with what it thinned and
detached.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings

from nsp import access, db
from nsp.settings import settings_config

log = logging.getLogger("nsp.ingest.retention")

KINDS = ("own", "vessel", "aircraft", "vehicle", "person", "other")
_LOCK = "nsp_position_retention"


class KindRetention(BaseModel):
    """One kind's own rules; a field left out takes the general setting."""

    keep_days: float | None = Field(default=None, ge=0)
    thin_interval_seconds: float | None = Field(default=None, gt=0)
    turn_deg: float | None = Field(default=None, gt=0, le=180)
    thin: bool | None = None


class RetentionSettings(BaseSettings):
    """Retention of positions (``NSP_RETENTION_*``): thinning, the horizon, the archive."""

    model_config = settings_config("NSP_RETENTION_")

    keep_days: float = Field(default=30, ge=0, description="every fix of a position is kept this many days")
    thin_interval_seconds: float = Field(
        default=60, gt=0, description="older tracks keep one fix per object per this many seconds "
                                      "(besides each object's first and last fix and its turns)")
    turn_deg: float = Field(default=30, gt=0, le=180,
                            description="a fix whose course changes by more than this from the previous fix is kept")
    turn_min_speed_kn: float = Field(
        default=1.0, ge=0, description="a course change counts as a turn only at this speed or more (or when the "
                                       "speed is unknown): a vessel at anchor swings without turning")
    horizon_days: float = Field(
        default=400, gt=0, description="weekly position partitions that end before this many days ago are "
                                       "detached and dropped")
    archive_dir: Path | None = Field(
        default=None, description="archiving on: the GeoParquet archive folder; a week past the horizon is "
                                  "archived there (and checked) before it is dropped")
    rewrite: bool = Field(
        default=True, description="rewrite (VACUUM FULL) each weekly partition thinning removed rows from, so "
                                  "the disk gets the space back; off: the weeks stay recorded as waiting and "
                                  "the first run with it on rewrites them")
    rewrite_lock_timeout_seconds: float = Field(
        default=5, gt=0, description="a week's rewrite waits at most this long for its lock (a long reader of "
                                     "that week); a week not locked in time is rewritten by the next run")
    kinds: dict[str, KindRetention] = Field(
        default_factory=dict,
        description='per kind of position, JSON: `{"own": {"keep_days": 90}, "aircraft": {"thin_interval_seconds": '
                    '10}, "vessel": {"thin": false}}`; keys keep_days, thin_interval_seconds, turn_deg, thin')

    def rule(self, kind: str) -> KindRetention:
        """The rules of one kind, the general settings filled in."""
        own = self.kinds.get(kind, KindRetention())
        return KindRetention(
            keep_days=self.keep_days if own.keep_days is None else own.keep_days,
            thin_interval_seconds=(self.thin_interval_seconds if own.thin_interval_seconds is None
                                   else own.thin_interval_seconds),
            turn_deg=self.turn_deg if own.turn_deg is None else own.turn_deg,
            thin=True if own.thin is None else own.thin,
        )


def retention_settings() -> RetentionSettings:
    settings = RetentionSettings()
    unknown = sorted(set(settings.kinds) - set(KINDS))
    if unknown:
        from nsp.errors import NspError

        raise NspError(f"NSP_RETENTION_KINDS: unknown kind(s) {', '.join(unknown)}; kinds are {', '.join(KINDS)}")
    return settings


# One object's fixes in the stretch, in time order (fixes of one second from one source in the order
# of their longitude and latitude, so that a run is repeatable); the first of each interval, the first and last
# of the stretch and the fixes either side of every turn stay, the rest go.
_THIN_CTE = """
WITH fixes AS (
    SELECT p.tableoid AS toid, p.ctid AS row_id, p.object_id, p.speed_kn,
           floor(extract(epoch FROM p.observed_at) / %(interval)s) AS bucket,
           coalesce(p.course_deg::float8,
                    degrees(ST_Azimuth(lag(p.geom) OVER track, p.geom))) AS course,
           row_number() OVER track AS seq,
           row_number() OVER (PARTITION BY p.object_id ORDER BY p.observed_at DESC, p.source DESC,
                              ST_X(p.geom) DESC, ST_Y(p.geom) DESC, p.tableoid DESC, p.ctid DESC) AS seq_back
      FROM asset_position p
     WHERE p.kind = %(kind)s AND p.observed_at >= %(lo)s AND p.observed_at < %(hi)s
    WINDOW track AS (PARTITION BY p.object_id
                     ORDER BY p.observed_at, p.source, ST_X(p.geom), ST_Y(p.geom), p.tableoid, p.ctid)
), ranked AS (
    SELECT f.*,
           row_number() OVER (PARTITION BY f.object_id, f.bucket ORDER BY f.seq) AS in_bucket,
           coalesce(coalesce(f.speed_kn, 'Infinity') >= %(min_speed)s
                    AND 180 - abs(180 - abs(f.course - lag(f.course) OVER (PARTITION BY f.object_id ORDER BY f.seq))
                                        ::numeric %% 360) > %(turn)s, false) AS turns
      FROM fixes f
), doomed AS (
    SELECT toid, row_id FROM (
        SELECT r.*, lead(r.turns, 1, false) OVER (PARTITION BY r.object_id ORDER BY r.seq) AS next_turns
          FROM ranked r) t
     WHERE seq > 1 AND seq_back > 1 AND in_bucket > 1 AND NOT turns AND NOT next_turns
)
"""


@dataclass
class ThinResult:
    kind: str
    since: datetime | None
    until: datetime
    considered: int = 0
    removed: int = 0
    weeks: dict[str, int] = field(default_factory=dict)  # partition: fixes removed from it


@dataclass
class RewriteResult:
    partition: str
    bytes_before: int
    bytes_after: int | None = None
    rewritten: bool = False
    dead_kept: int = 0  # removed rows still seen by an older transaction: not rewritten yet
    reason: str = ""


@dataclass
class DetachResult:
    partition: str
    from_: datetime
    to: datetime
    rows: int
    archived: str | None = None  # the archive file that holds the week
    detached: bool = False
    reason: str = ""


@dataclass
class RetentionRun:
    dry_run: bool
    thinned: list[ThinResult] = field(default_factory=list)
    detached: list[DetachResult] = field(default_factory=list)
    rewritten: list[RewriteResult] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "thinned": [asdict(t) for t in self.thinned],
                "detached": [{("from" if k == "from_" else k): v for k, v in asdict(d).items()}
                             for d in self.detached],
                "rewritten": [asdict(r) for r in self.rewritten], "error": self.error}


def thin_kind(conn, kind: str, rule: KindRetention, min_speed: float, now: datetime,
              dry_run: bool) -> ThinResult | None:
    """Thin one kind's positions between the previous run's limit and ``now - keep_days``."""
    if not rule.thin:
        return None
    until = now - timedelta(days=rule.keep_days)
    row = conn.execute("SELECT thinned_through FROM position_thinning WHERE kind = %s", (kind,)).fetchone()
    since = row["thinned_through"] if row else None
    if since is not None and since >= until:
        return ThinResult(kind, since, until)
    params = {"kind": kind, "lo": since or "-infinity", "hi": until, "interval": rule.thin_interval_seconds,
              "turn": rule.turn_deg, "min_speed": min_speed}
    result = ThinResult(kind, since, until)
    result.considered = conn.execute(
        "SELECT count(*) AS n FROM asset_position WHERE kind = %(kind)s AND observed_at >= %(lo)s"
        " AND observed_at < %(hi)s", params).fetchone()["n"]
    if result.considered:
        # Per partition: what the run removes (or would) from each week.
        per_week = ("SELECT toid, count(*) AS n FROM doomed GROUP BY toid" if dry_run else
                    ", gone AS (DELETE FROM asset_position p USING doomed d"
                    " WHERE p.tableoid = d.toid AND p.ctid = d.row_id RETURNING p.tableoid AS toid)"
                    " SELECT toid, count(*) AS n FROM gone GROUP BY toid")
        rows = conn.execute(_THIN_CTE + per_week, params).fetchall()
        names = {r["toid"]: _relname(conn, r["toid"]) for r in rows}
        result.weeks = {names[r["toid"]]: r["n"] for r in sorted(rows, key=lambda r: names[r["toid"]])}
        result.removed = sum(result.weeks.values())
        if not dry_run:
            for name, n in result.weeks.items():
                conn.execute(
                    "INSERT INTO position_rewrite_pending (partition, removed) VALUES (%s, %s)"
                    " ON CONFLICT (partition) DO UPDATE SET removed = position_rewrite_pending.removed"
                    " + EXCLUDED.removed, thinned_at = now()", (name, n))
    if not dry_run:
        conn.execute(
            "INSERT INTO position_thinning (kind, thinned_through) VALUES (%s, %s) ON CONFLICT (kind)"
            " DO UPDATE SET thinned_through = EXCLUDED.thinned_through, updated_at = now()", (kind, until))
    return result


def _relname(conn, oid: int) -> str:
    return conn.execute("SELECT relname FROM pg_class WHERE oid = %s", (oid,)).fetchone()["relname"]


def total_bytes(conn, name: str) -> int | None:
    """The partition's size on disk (heap, indexes, TOAST); None when it no longer exists."""
    return conn.execute("SELECT pg_total_relation_size(to_regclass(%s)) AS b", (name,)).fetchone()["b"]


def rewrite_partition(conn, name: str, lock_timeout_seconds: float) -> int:
    """Give one partition's free space back to the disk; returns the removed rows that could not be
    removed yet (0 when it was rewritten). The connection is in autocommit (VACUUM is no
    transaction's).

    A removed row stays in the files while a transaction that may still see it runs (one that
    began before the thinning committed). So first a plain ``VACUUM`` of the week, which takes no
    lock the map's reads or the ingest wait for, removes what it can and records in the table's
    statistics (``n_dead_tup``) the dead rows it had to leave. Only when there are none does the
    ``VACUUM FULL`` rewrite the week, waiting at most ``lock_timeout_seconds`` for its ACCESS
    EXCLUSIVE lock; otherwise the rewrite would copy the removed rows and free nothing."""
    from psycopg import sql

    ident = sql.Identifier(name)
    conn.execute(sql.SQL("VACUUM {}").format(ident))
    dead = conn.execute("SELECT n_dead_tup AS n FROM pg_stat_all_tables WHERE relid = %s::regclass",
                        (name,)).fetchone()["n"]
    if dead:
        return dead
    conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{int(lock_timeout_seconds * 1000)}ms")))
    try:
        conn.execute(sql.SQL("VACUUM (FULL, ANALYZE) {}").format(ident))
    finally:
        conn.execute("RESET lock_timeout")
    return 0


def rewrite_weeks(conn, run: RetentionRun, settings: RetentionSettings, dry_run: bool) -> None:
    """Rewrite every partition waiting for it (thinned by this run or an earlier one whose rewrite was
    off or could not lock the week); a dry run lists those it would rewrite, this run's thinning
    included."""
    from psycopg import errors

    waiting = {r["partition"] for r in conn.execute("SELECT partition FROM position_rewrite_pending").fetchall()}
    if dry_run:
        waiting |= {name for t in run.thinned for name, n in t.weeks.items() if n}
    leaving = {d.partition for d in run.detached if dry_run and not d.reason}
    for name in sorted(waiting - leaving):
        before = total_bytes(conn, name)
        if before is None:  # detached and dropped (the horizon, or by hand): nothing to rewrite
            if not dry_run:
                conn.execute("DELETE FROM position_rewrite_pending WHERE partition = %s", (name,))
            continue
        step = RewriteResult(name, before)
        run.rewritten.append(step)
        if dry_run:
            step.reason = "would rewrite" if settings.rewrite else "rewrite off"
            continue
        if not settings.rewrite:
            step.reason = "rewrite off (NSP_RETENTION_REWRITE): waiting"
            continue
        try:
            dead = rewrite_partition(conn, name, settings.rewrite_lock_timeout_seconds)
        except errors.LockNotAvailable:
            step.reason = (f"busy: not locked within {settings.rewrite_lock_timeout_seconds:g} s; rewritten at "
                           "the next run")
            continue
        step.dead_kept = dead
        if dead:
            step.reason = (f"{dead:,} removed rows are still seen by a transaction older than the thinning; "
                           "rewritten at the next run")
            continue
        step.bytes_after = total_bytes(conn, name)
        conn.execute("DELETE FROM position_rewrite_pending WHERE partition = %s", (name,))
        step.rewritten = True


def position_partitions(conn) -> list[dict]:
    """The weekly partitions of asset_position (not the default one): name, from, to, oldest first."""
    return conn.execute(
        r"""SELECT c.relname AS name, b[1]::timestamptz AS "from", b[2]::timestamptz AS "to"
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
                   regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') AS b
             WHERE i.inhparent = 'asset_position'::regclass
             ORDER BY 2""").fetchall()


def partition_rows(conn, name: str) -> int:
    from psycopg import sql

    return conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(name))).fetchone()["n"]


def lock_partition(conn, name: str) -> None:
    """No row goes in or out of the week until the transaction ends."""
    from psycopg import sql

    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(sql.Identifier(name)))


def detach_partition(conn, name: str) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("ALTER TABLE asset_position DETACH PARTITION {}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))


def apply(*, actor: str, dry_run: bool = False, settings: RetentionSettings | None = None,
          url: str | None = None) -> RetentionRun:
    """Thin every kind, then detach (archiving first when on) the weeks past the horizon."""
    from ingest.loading import archive

    settings = settings or retention_settings()
    run = RetentionRun(dry_run=dry_run)
    with db.connect(url, autocommit=True) as conn:
        # One run at a time (the worker's task and an operator's command).
        if not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s)) AS ok", (_LOCK,)).fetchone()["ok"]:
            from nsp.errors import NspError

            raise NspError("another retention run is in progress; try again when it has finished")
        try:
            now = conn.execute("SELECT now() AS t").fetchone()["t"]
            for kind in KINDS:
                with conn.transaction():
                    done = thin_kind(conn, kind, settings.rule(kind), settings.turn_min_speed_kn, now, dry_run)
                if done is not None:
                    run.thinned.append(done)
            horizon = now - timedelta(days=settings.horizon_days)
            for part in position_partitions(conn):
                if part["to"] > horizon:
                    break
                rows = partition_rows(conn, part["name"])
                step = DetachResult(part["name"], part["from"], part["to"], rows)
                run.detached.append(step)
                if settings.archive_dir is not None:
                    entry = archive.verified_entry(settings.archive_dir, part["name"], rows)
                    if entry is None and not dry_run:
                        archive.archive_partition(conn, part, settings.archive_dir)
                        entry = archive.verified_entry(settings.archive_dir, part["name"], rows)
                    if entry is None:
                        step.reason = "archiving it first" if dry_run else "archive check failed"
                        continue
                    step.archived = entry["file"]
                if not dry_run:
                    with conn.transaction():
                        # Rows that arrived since the count (or the archive) keep the week attached.
                        lock_partition(conn, part["name"])
                        if partition_rows(conn, part["name"]) != rows:
                            step.reason = "rows arrived while it was archived; detached at the next run"
                            continue
                        detach_partition(conn, part["name"])
                        conn.execute("DELETE FROM position_rewrite_pending WHERE partition = %s", (part["name"],))
                step.detached = not dry_run
            # Last: a week dropped at the horizon needs no rewrite.
            rewrite_weeks(conn, run, settings, dry_run)
        except Exception as exc:
            run.error = f"{type(exc).__name__}: {db.first_line(exc)}"
            raise
        finally:
            with conn.transaction():
                access.audit(conn, actor, "retention_apply", "asset_position", run.as_dict())
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (_LOCK,))
    log.info("retention applied", extra={
        "action": "retention", "dry_run": dry_run,
        "thinned": sum(t.removed for t in run.thinned),
        "rewritten": ",".join(r.partition for r in run.rewritten if r.rewritten),
        "detached": ",".join(d.partition for d in run.detached if d.detached)})
    return run
