"""Read replicas: the screens', the OGC API's and the downloads' reads on PostgreSQL standbys.

``NSP_DB_READ_URL`` names one or more streaming-replication standbys (hot standby) of the
primary. :func:`nsp.access.read_connection` takes a connection from one of them, round robin,
in a transaction that runs as ``nsp_app`` under the caller's scope: the standby has the same
roles, grants and row-level security policies as the primary (they are replicated with the
rest), so a user sees there exactly what the primary would show them. Writes (decisions,
users, the audit log, sessions, the login throttle) never come here: they keep
:func:`nsp.access.connection`, on the primary.

Each standby's lag is measured at most every ``NSP_DB_READ_CHECK_SECONDS`` (per process):

* the standby has replayed everything the primary has written (its replay position is at or
  past ``pg_current_wal_lsn()`` of the primary, read just before; or, with the primary out of
  reach, past what the standby has received): lag 0, however long ago the last transaction
  was (an idle primary);
* otherwise the lag is the age of the last transaction it replayed
  (``now() - pg_last_xact_replay_timestamp()``).

Past ``NSP_DB_READ_MAX_LAG_SECONDS``, or when it does not answer, a standby is left out;
with none left, reads fall back to the primary, and the screens (the main page's header, the
wall) say REPLICA BEHIND; ``/healthz`` says ``"replica": "behind"``.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from threading import Lock

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from pydantic import Field
from pydantic_settings import BaseSettings

from nsp import db
from nsp.settings import settings_config

log = logging.getLogger("nsp.replica")

CONNECT_TIMEOUT_S = 2
# The standby's side of the measure: where it is and when it last replayed a transaction.
STANDBY_STATE = """
SELECT pg_is_in_recovery() AS standby,
       pg_last_xact_replay_timestamp() AS replayed_at,
       pg_is_wal_replay_paused() AS paused,
       COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0) AS unreplayed_bytes,
       pg_wal_lsn_diff(%(primary_lsn)s::pg_lsn, pg_last_wal_replay_lsn()) AS behind_primary_bytes,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp()) AS replay_age_s
"""


class ReplicaSettings(BaseSettings):
    """Read replicas (env prefix ``NSP_DB_READ_``, and ``NSP_DB_READ_URL``)."""

    model_config = settings_config("NSP_DB_READ_")

    url: str | None = Field(
        default=None,
        description="libpq URL of a hot standby of the primary for the dashboard's, the OGC API's and the "
                    "downloads' reads; several URLs (postgresql://...) separated by spaces are used in turn; "
                    "unset: every read on the primary",
    )
    max_lag_seconds: float = Field(
        default=30.0, gt=0,
        description="a standby further behind the primary than this (or not answering) is left out: reads "
                    "fall back to the primary and the screens say REPLICA BEHIND",
    )
    check_seconds: float = Field(
        default=5.0, gt=0, description="how often each process measures the standbys' lag",
    )

    def urls(self) -> list[str]:
        """The standbys' URLs: several ``postgresql://`` URLs split on spaces, else one conninfo."""
        text = (self.url or "").strip()
        if not text:
            return []
        parts = text.split()
        if len(parts) > 1 and all(p.startswith(("postgresql://", "postgres://")) for p in parts):
            return parts
        return [text]


@dataclass
class Lag:
    """One measure of one standby."""

    name: str  # the URL without its password
    reachable: bool
    seconds: float | None = None  # None: not reachable, or not a standby
    paused: bool = False
    reason: str | None = None  # why it is left out, when it is
    measured_at: float = 0.0  # time.monotonic()

    @property
    def usable(self) -> bool:
        return self.reason is None


class Replica:
    """One standby: its pool (opened on first use) and its last measure."""

    def __init__(self, url: str):
        self.url = url
        self.name = db.redact(url)
        self.lag: Lag | None = None
        self._pool: ConnectionPool | None = None
        self._lock = Lock()

    def pool(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                s = db.db_settings()
                self._pool = ConnectionPool(
                    self.url, min_size=0, max_size=s.pool_max, kwargs={"row_factory": dict_row},
                    check=ConnectionPool.check_connection, name=f"nsp-read-{self.name}", open=True,
                )
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def measure(self, primary_lsn: str | None, max_lag: float) -> Lag:
        """Ask the standby how far it is behind (see the module's text)."""
        now = time.monotonic()
        try:
            with psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S, row_factory=dict_row,
                                 autocommit=True) as conn:
                r = conn.execute(STANDBY_STATE, {"primary_lsn": primary_lsn}).fetchone()
        except psycopg.Error as exc:
            self.lag = Lag(self.name, False, reason=f"unreachable: {db.first_line(exc)}", measured_at=now)
            return self.lag
        if not r["standby"]:
            self.lag = Lag(self.name, True, reason="not a standby (pg_is_in_recovery() is false)", measured_at=now)
            return self.lag
        behind = r["behind_primary_bytes"] if primary_lsn is not None else r["unreplayed_bytes"]
        if behind is not None and behind <= 0:
            seconds = 0.0
        else:
            seconds = float(r["replay_age_s"]) if r["replay_age_s"] is not None else None
        lag = Lag(self.name, True, seconds=seconds, paused=bool(r["paused"]), measured_at=now)
        if seconds is None:
            lag.reason = "has replayed no transaction yet"
        elif seconds > max_lag:
            lag.reason = f"{seconds:.0f} s behind the primary (limit {max_lag:g} s)"
        self.lag = lag
        return lag


class Replicas:
    """The process's standbys, their measures, and the choice of one for a read."""

    def __init__(self, settings: ReplicaSettings):
        self.settings = settings
        self.replicas = [Replica(u) for u in settings.urls()]
        self._turn = itertools.count()
        self._lock = Lock()
        self._checked_at: float | None = None

    @property
    def configured(self) -> bool:
        return bool(self.replicas)

    def check(self, force: bool = False) -> list[Lag]:
        """Measure every standby when the last measure is older than ``check_seconds``. One
        thread measures; the others meanwhile go on with the last measures (they wait only for
        the process's first one)."""
        due = force or self._checked_at is None or time.monotonic() - self._checked_at >= self.settings.check_seconds
        if due and self._lock.acquire(blocking=self._checked_at is None or force):
            try:
                if force or self._checked_at is None or \
                        time.monotonic() - self._checked_at >= self.settings.check_seconds:
                    self._measure()
            finally:
                self._lock.release()
        return [r.lag for r in self.replicas if r.lag is not None]

    def _measure(self) -> None:
        primary_lsn = _primary_lsn()
        for r in self.replicas:
            before = r.lag.usable if r.lag else True
            lag = r.measure(primary_lsn, self.settings.max_lag_seconds)
            if before != lag.usable:
                log.warning("read replica %s: %s", r.name, "back in use" if lag.usable else lag.reason,
                            extra={"action": "replica_ok" if lag.usable else "replica_out",
                                   "replica": r.name, "lag_s": lag.seconds})
        self._checked_at = time.monotonic()

    def choose(self) -> Replica | None:
        """A standby within the lag limit, in turn; None: read on the primary."""
        if not self.replicas:
            return None
        self.check()
        usable = [r for r in self.replicas if r.lag is not None and r.lag.usable]
        if not usable:
            return None
        return usable[next(self._turn) % len(usable)]

    def left_out(self, replica: Replica, exc: BaseException) -> None:
        """A read could not get a connection from ``replica``, or lost it: out until the next measure."""
        replica.lag = Lag(replica.name, False, reason=f"a read failed: {db.first_line(exc)}",
                          measured_at=time.monotonic())
        log.warning("read replica %s left out: %s", replica.name, db.first_line(exc),
                    extra={"action": "replica_out", "replica": replica.name})

    def close(self) -> None:
        for r in self.replicas:
            r.close()


def _primary_lsn() -> str | None:
    """The primary's current WAL position, or None when it does not answer."""
    try:
        with db.connect(db.database_url(), connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
            return conn.execute("SELECT pg_current_wal_lsn()::text AS lsn").fetchone()["lsn"]
    except (psycopg.Error, db.DatabaseError):
        return None


_replicas: Replicas | None = None
_replicas_lock = Lock()


def replicas() -> Replicas:
    """The process's standbys (from the settings when first asked)."""
    global _replicas
    with _replicas_lock:
        if _replicas is None:
            _replicas = Replicas(ReplicaSettings())
        return _replicas


def reset() -> None:
    """Close the standbys' pools and forget them (the settings are read again when next asked)."""
    global _replicas
    with _replicas_lock:
        if _replicas is not None:
            _replicas.close()
            _replicas = None


@dataclass(frozen=True)
class ReplicaState:
    """What the screens and /healthz show."""

    status: str  # "none" (no standby configured), "ok", or "behind" (one or more left out)
    lag_seconds: float | None = None  # the largest lag measured (None: none measured)
    fallback: bool = False  # no standby in use: reads are on the primary
    detail: str = ""  # why standbys are left out


def state() -> ReplicaState:
    """The standbys' state now (measured at most every ``check_seconds``)."""
    rs = replicas()
    if not rs.configured:
        return ReplicaState("none")
    lags = rs.check()
    worst = max((lag.seconds for lag in lags if lag.seconds is not None), default=None)
    out = [lag for lag in lags if not lag.usable]
    if not out:
        return ReplicaState("ok", worst)
    return ReplicaState("behind", worst, fallback=len(out) == len(lags),
                        detail="; ".join(f"{lag.name}: {lag.reason}" for lag in out))
