"""A killed `nsp ingest` leaves its batch 'running': the maintenance task marks it failed,
"process ended", once its database session is gone (0056_batch_session.sql)."""

from __future__ import annotations

import subprocess
import sys

import psycopg

from ingest.delivery.tasks import fail_orphan_batches
from tests.support.delivery import ROOT, ndjson_events, wait_for, worker_env


def _batch(conn, source: str) -> dict | None:
    return conn.execute("SELECT id, status, error FROM ingest_batch WHERE source = %s", (source,)).fetchone()


def test_a_killed_ingest_is_failed_by_the_maintenance_task_a_live_one_is_not(db_url, conn, tmp_path, monkeypatch):
    monkeypatch.setenv("NSP_QUEUE_ORPHAN_BATCH_SECONDS", "0")
    big = tmp_path / "big.ndjson"
    big.write_bytes(ndjson_events([f"O-{i}" for i in range(40_000)]))
    with psycopg.connect(db_url, autocommit=True) as live:
        # a batch still loading in another session: its process lives
        live_id = live.execute("INSERT INTO ingest_batch (source) VALUES ('live') RETURNING id").fetchone()[0]
        ingest = subprocess.Popen([sys.executable, "-m", "nsp.cli", "ingest", str(big), "--source", "killed"],
                                  cwd=ROOT, env=worker_env(db_url), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: _batch(conn, "killed"), 60, "the batch to start")
        finally:
            ingest.kill()
            ingest.wait(10)
        killed = _batch(conn, "killed")
        assert killed["status"] == "running"  # what a killed process leaves
        # The server ends the session when it notices the client is gone; then the task fails it.
        wait_for(lambda: killed["id"] in fail_orphan_batches(timestamp=0), 60, "the orphan to be failed")
        row = _batch(conn, "killed")
        assert row["status"] == "failed" and row["error"].startswith("process ended"), row
        assert conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"] == 0
        assert _batch(conn, "live")["status"] == "running"
    # its session closed without finishing: now it is an orphan too
    assert fail_orphan_batches(timestamp=0) == [live_id]
    # a batch younger than NSP_QUEUE_ORPHAN_BATCH_SECONDS is left alone, even with its session gone
    monkeypatch.setenv("NSP_QUEUE_ORPHAN_BATCH_SECONDS", "3600")
    with psycopg.connect(db_url, autocommit=True) as short:
        short.execute("INSERT INTO ingest_batch (source) VALUES ('young')")
    assert fail_orphan_batches(timestamp=0) == []
    assert _batch(conn, "young")["status"] == "running"
