"""Shared by the delivery tests: real worker subprocesses, queue and table snapshots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

from nsp import db

ROOT = Path(__file__).resolve().parents[2]


def ndjson_events(refs, start=datetime(2026, 11, 10, tzinfo=timezone.utc)) -> bytes:
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


def worker_env(url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "NSP_LOG_FORMAT": "logfmt",
           "NSP_QUEUE_POLL_SECONDS": "0.5", "PYTHONUNBUFFERED": "1"}
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


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


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
