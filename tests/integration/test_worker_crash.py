"""Workers: two at once on overlapping files, and a worker killed with SIGKILL mid-file."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ingest.delivery.tasks import defer_file
from ingest.loading.pipeline import ingest_file
from nsp.queue import app
from tests.support.db import PREFIX as _PREFIX
from tests.support.db import create as _create
from tests.support.db import drop as _drop
from tests.support.delivery import (
    data_state,
    job_statuses,
    loads_held_at_merge,
    ndjson_events,
    run_worker_until_empty,
    start_worker,
    wait_for,
)

# Events of the file loaded while its worker is killed: the load waits at its merge until the
# test lets it go (loads_held_at_merge), so any size proves the point.
KILL_EVENTS = int(os.environ.get("NSP_TEST_KILL_EVENTS", "1000"))


def _workers(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0]


def test_two_workers_on_overlapping_files_store_each_record_once(db_url, conn, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # Six files whose records overlap: file k holds refs [k*300, k*300 + 900).
    files = []
    for k in range(6):
        f = inbox / f"part-{k}.ndjson"
        f.write_bytes(ndjson_events([f"OV-{i}" for i in range(k * 300, k * 300 + 900)]))
        files.append(f)
    unique = 5 * 300 + 900
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    workers = [start_worker(db_url, "--name", f"w{i + 1}", log=logs[i]) for i in range(2)]
    try:
        wait_for(lambda: _workers(db_url) == 2, 60, "both workers to register")
        with app.open():
            for f in files:
                defer_file(f, "overlap")
        wait_for(lambda: len(list((inbox / "processed").glob("*.ndjson"))) == 6, 180,
                 "all six files to be processed")
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        codes = [w.wait(30) for w in workers]
    assert codes == [0, 0]  # SIGTERM: a clean stop

    row = conn.execute("SELECT count(*) AS n, count(DISTINCT source_ref) AS d FROM event").fetchone()
    assert row == {"n": unique, "d": unique}
    batches = conn.execute("SELECT sum(n_accepted) AS a, sum(n_duplicates) AS d, count(*) AS n "
                           "FROM ingest_batch WHERE status = 'done'").fetchone()
    assert batches == {"a": unique, "d": 6 * 900 - unique, "n": 6}
    # Both workers took part.
    for log in logs:
        assert "action=ingested" in log.read_text(), log.read_text()[-2000:]


@pytest.fixture
def reference_db_url(pg_admin_url, sections_template):
    name = f"{_PREFIX}_ref_{os.getpid()}"
    url = _create(pg_admin_url, name, template=sections_template)
    yield url
    _drop(pg_admin_url, name)


def test_worker_killed_mid_file_then_restarted_ends_like_an_uninterrupted_run(
        db_url, conn, tmp_path, reference_db_url):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    big = inbox / "big.ndjson"
    refs = [f"K-{i}" for i in range(KILL_EVENTS)]
    data = ndjson_events(refs)
    # a few bad lines too, so that quarantine is part of the comparison
    data += b'{"type": "Feature", "geometry": null, "properties": {"id": "BAD-1"}}\nnot json\n'
    big.write_bytes(data)
    copy = tmp_path / "reference" / "big.ndjson"
    copy.parent.mkdir()
    copy.write_bytes(data)

    fast = {"NSP_QUEUE_HEARTBEAT_SECONDS": "0.5", "NSP_QUEUE_STALLED_SECONDS": "2"}
    worker = start_worker(db_url, log=tmp_path / "killed.log", **fast)
    with loads_held_at_merge(db_url):
        try:
            wait_for(lambda: _workers(db_url) == 1, 60, "the worker to register")
            with app.open():
                defer_file(big, "crash-test")
            wait_for(lambda: job_statuses(db_url) == ["doing"], 60, "the job to start")
            # Mid-file: the batch has started but nothing is committed yet.
            wait_for(lambda: conn.execute("SELECT count(*) AS n FROM ingest_batch "
                                          "WHERE status = 'running'").fetchone()["n"] == 1,
                     60, "the batch to start")
            assert conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"] == 0
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)

    # Nothing of the interrupted batch is visible; the file is still waiting.
    assert conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"] == 0
    assert big.exists()
    assert job_statuses(db_url) == ["doing"]  # a dead worker's job

    # A new worker, once the dead one's heartbeat is stale, runs the job again.
    wait_for(lambda: conn.execute("SELECT count(*) AS n FROM procrastinate_workers WHERE last_heartbeat"
                                  " < now() - interval '2.2 s'").fetchone()["n"] == 1,
             30, "the dead worker's heartbeat to be older than NSP_QUEUE_STALLED_SECONDS")
    done = run_worker_until_empty(db_url, timeout=300, **fast)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "action=retry_stalled" in done.stderr
    assert job_statuses(db_url) == []  # succeeded (finished jobs are deleted)
    assert (inbox / "processed" / "big.ndjson").exists()

    # The same file loaded without interruption into a twin database.
    ref = ingest_file(copy, source="crash-test", url=reference_db_url)
    assert ref.accepted == KILL_EVENTS
    after_crash, uninterrupted = data_state(db_url), data_state(reference_db_url)
    assert after_crash == uninterrupted
    assert after_crash["events"]["n"] == KILL_EVENTS and after_crash["quarantine"]["n"] == 2
    # The killed attempt is on record as failed, not left 'running'.
    row = conn.execute("SELECT status, error FROM ingest_batch ORDER BY id LIMIT 1").fetchone()
    assert row["status"] == "failed" and "interrupted" in row["error"]


@pytest.mark.seconds(12)
def test_a_running_worker_takes_over_the_job_of_a_killed_one(db_url, conn, tmp_path):
    """The periodic retry_stalled_jobs task (every 15 s) of a live worker, not a restart."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    f = inbox / "takeover.ndjson"
    # The first worker is still loading when the second one has started and registered: its
    # load waits at the merge until the first one is killed.
    n_events = KILL_EVENTS
    # (7 s apart: they start 20 days back, so none is in the future)
    f.write_bytes(ndjson_events([f"T-{i}" for i in range(n_events)],
                                start=datetime.now(UTC) - timedelta(days=20)))
    fast = {"NSP_QUEUE_HEARTBEAT_SECONDS": "0.5", "NSP_QUEUE_STALLED_SECONDS": "2"}
    doomed = start_worker(db_url, "--name", "doomed", log=tmp_path / "doomed.log", **fast)
    survivor = None
    try:
        with loads_held_at_merge(db_url):
            wait_for(lambda: _workers(db_url) == 1, 60, "the first worker to register")
            with app.open():
                defer_file(f, "takeover")
            wait_for(lambda: job_statuses(db_url) == ["doing"], 60, "the job to start")
            survivor = start_worker(db_url, "--name", "survivor", log=tmp_path / "survivor.log", **fast)
            wait_for(lambda: _workers(db_url) == 2, 60, "the second worker to register")
            assert conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"] == 0  # mid-file
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)
        wait_for(lambda: (inbox / "processed" / "takeover.ndjson").exists(), 120,
                 "the survivor to load the file")
    finally:
        doomed.kill()
        if survivor is not None:
            survivor.send_signal(signal.SIGTERM)
            assert survivor.wait(30) == 0
    log = (tmp_path / "survivor.log").read_text()
    assert "action=retry_stalled" in log and "action=ingested" in log
    assert "action=ingested" not in (tmp_path / "doomed.log").read_text()
    assert conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"] == n_events
