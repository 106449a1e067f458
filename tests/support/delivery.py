"""Shared by the delivery tests: real worker subprocesses, queue and table snapshots."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

from nsp import db

ROOT = Path(__file__).resolve().parents[2]


def ndjson_events(refs, start=datetime(2026, 11, 10, tzinfo=UTC)) -> bytes:
    """Valid events near the Belarusian border (inside Latvia), one per ref."""
    lines = []
    for i, ref in enumerate(refs):
        n = int(ref.rsplit("-", 1)[-1]) if ref.rsplit("-", 1)[-1].isdigit() else i
        lon = 26.60 + (n % 500) * 0.0008
        lat = 55.86 + (n % 300) * 0.0005
        props = {"id": ref, "category": "unauthorised_border_crossing",
                 "occurred_at": (start + timedelta(seconds=n * 7)).isoformat(),
                 "persons": 5 + n % 30, "impact": "low"}
        lines.append(json.dumps({"type": "Feature", "properties": props,
                                 "geometry": {"type": "Point", "coordinates": [lon, lat]}}))
    return ("\n".join(lines) + "\n").encode()


# A worker defers each periodic task's latest due run when it starts, if that run is at most ten
# minutes old (procrastinate's periodic deferrer). A test's worker started in the ten minutes after
# 03:41 UTC ran the daily retention, which dropped the weeks of the test data dated in 2024 (past the
# 400-day horizon) and thinned old tracks: the tests that load such data through a worker failed in
# that window every day. The tests' workers keep every fix for a century; a test of the retention
# itself sets its own rules.
KEEP_TEST_DATA = {"NSP_RETENTION_KEEP_DAYS": "36500", "NSP_RETENTION_HORIZON_DAYS": "36500"}


def far_schedules() -> dict[str, str]:
    """The scheduled exports (weekly, monthly) at a time of day twelve hours from now in the
    centre's time zone: a test's worker never starts within ten minutes after one. A worker
    started in the ten minutes after Monday 06:00 in Riga ran the weekly snapshot of the test's
    database (into the project's own snapshot folder) before the test's jobs."""
    from geo.snapshot.settings import export_settings

    at = datetime.now(ZoneInfo(export_settings().timezone)) + timedelta(hours=12)
    cron = f"{at.minute} {at.hour} * * *"
    return {"NSP_EXPORT_SCHEDULE": cron, "NSP_EXPORT_MONTHLY_SCHEDULE": cron}


def worker_env(url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "NSP_LOG_FORMAT": "logfmt",
           "NSP_QUEUE_POLL_SECONDS": "0.5", "PYTHONUNBUFFERED": "1", **KEEP_TEST_DATA, **far_schedules()}
    env.update(extra)
    return env


def start_worker(url: str, *args: str, log: Path | None = None, **env) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "nsp.cli", "worker", *args],
                            cwd=ROOT, env=worker_env(url, **env), stdout=out, stderr=out)


def run_worker_until_empty(url: str, timeout: float = 120, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nsp.cli", "worker", "--until-empty"],
                          cwd=ROOT, env=worker_env(url, **env), capture_output=True, text=True,
                          timeout=timeout)


def job_statuses(url: str, task: str = "ingest.tasks.ingest_file_job") -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT status::text FROM procrastinate_jobs WHERE task_name = %s ORDER BY id", (task,))]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2, logs: tuple[Path, ...] = ()):
    """Wait until ``predicate()`` is true; on a timeout the error holds the end of each log in
    ``logs`` (the processes under test), so that a failure says what they were doing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tails = "".join(f"\n--- {p.name}:\n{p.read_text(errors='replace')[-4000:] if p.exists() else '(none)'}"
                    for p in logs)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{tails}")


def data_state(url: str) -> dict:
    """Everything a load writes, independent of ids and load times."""
    with db.connect(url) as conn:
        q = lambda sql: conn.execute(sql).fetchone()  # noqa: E731
        return {
            "events": q("SELECT count(*) AS n, md5(string_agg(source || '|' || source_ref || '|' || "
                        "category || '|' || occurred_at::text || '|' || ST_AsText(geom) || '|' || "
                        "coalesce(persons, -1) || '|' || coalesce(section_code, '-'), ',' "
                        "ORDER BY source, source_ref)) AS h FROM event"),
            "quarantine": q("SELECT count(*) AS n, md5(string_agg(location || '|' || reason, ',' "
                            "ORDER BY location, reason)) AS h FROM quarantine"),
            "positions": q("SELECT count(*) AS n FROM asset_position"),
            "done_batches": q("SELECT count(*) AS n, sum(n_accepted) AS accepted, "
                              "sum(n_quarantined) AS quarantined FROM ingest_batch WHERE status = 'done'"),
        }


def watch_once(root, source="dropfolder"):
    """``nsp watch --once`` in this process: the files of ``root`` queued (two polls)."""
    from ingest.delivery.tasks import defer_file
    from ingest.delivery.watch import DropFolder
    from nsp.queue import app

    with app.open():
        return DropFolder(root, source, defer_file).run(0.2, threading.Event(), once=True)


def start_listener(db_url: str, out, *args: str) -> tuple[subprocess.Popen, dict[str, int]]:
    """A real ``nsp listen --out OUT ARGS`` once it is receiving; its ports by protocol."""
    proc = subprocess.Popen([sys.executable, "-m", "nsp.cli", "listen", "--out", str(out), *args],
                            cwd=ROOT, env=worker_env(db_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lines = []
    while (line := proc.stderr.readline()) and not line.startswith("receiving on"):
        lines.append(line)
    assert line.startswith("receiving on"), "".join(lines)
    ports = {proto: int(port) for proto, port in re.findall(r"(?<!from )(udp|tcp|tls) [\d.]+:(\d+)", line)}
    return proc, ports


def stop_listener(proc: subprocess.Popen) -> str:
    """SIGTERM to a listener of ``start_listener``; it must exit 0. Its stderr."""
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return err


@contextmanager
def loads_held_at_merge(url: str):
    """While open, a load into ``url`` stops at its merge into ``event``: this connection holds
    the table in SHARE mode (reads go on, inserts wait). The load's batch is 'running' and none of
    it is committed, so a test that kills or cuts off its process does so mid-file whatever the
    file's size and the machine's speed. An outage that ends the connection ends the hold too."""
    conn = psycopg.connect(url)
    try:
        conn.execute("LOCK TABLE event IN SHARE MODE")
        yield conn
    finally:
        try:
            conn.rollback()
        except psycopg.Error:
            pass  # the server went away (an outage test): the hold went with it
        conn.close()
