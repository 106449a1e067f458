"""A real database outage: a PostgreSQL cluster of the test's own, stopped and started under
`nsp worker`, `nsp watch` and `nsp listen`. None of them exits; what arrived meanwhile is loaded
once the database is back, and a job the outage interrupted is retried."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from nsp import db
from nsp.settings import db_settings
from tests.support.delivery import (
    ROOT,
    job_statuses,
    loads_held_at_merge,
    ndjson_events,
    start_listener,
    start_worker,
    stop_listener,
    wait_for,
    worker_env,
)
from tests.support.pgserver import Server, free_port, owned_folder, release

AIS = (ROOT / "tests/data/real/ops/pyais_messages.nmea").read_text().split()  # real sentences (PROVENANCE.md)
# Longer than the 30 s pool timeout after which worker and watch used to exit when started without a database.
DOWN_SECONDS = 35
FAST = {
    "NSP_DB_RECONNECT_MAX_SECONDS": "1",  # try again every second at most
    "NSP_QUEUE_HEARTBEAT_SECONDS": "0.5", "NSP_QUEUE_STALLED_SECONDS": "2",
    "NSP_GEO_ROI": "[19, 20, 130, 60]",  # Latvia (the events) to the sea of the real AIS sentences
    "NSP_LOG_LEVEL": "INFO",
}
# The file the second outage cuts: its load waits at the merge until the outage (loads_held_at_merge),
# so any size proves the point.
KILL_EVENTS = int(os.environ.get("NSP_TEST_KILL_EVENTS", "1000"))


class Cluster(Server):
    """A PostgreSQL server of the test's own (tests/support/pgserver.py) in a temporary folder,
    on a reserved port."""

    def __init__(self):
        super().__init__(owned_folder(prefix="nsp_ops_pg_"), "data", free_port())
        self.initdb()

    def remove(self) -> None:
        self.stop("immediate")
        release(self.port)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    try:
        c.start()
        template = db.ensure_database(c.url(), "nsp_ops_template")
        db.migrate(template)
        yield c
    finally:
        c.remove()


_dbs = iter(range(1000))


@pytest.fixture
def outage_url(cluster, monkeypatch):
    """A fresh migrated database on the test's own cluster; DATABASE_URL points at it."""
    if not cluster.running():  # an earlier test failed during its outage
        cluster.start()
    name = f"nsp_ops_outage_{next(_dbs)}"
    with psycopg.connect(cluster.url(), autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name} TEMPLATE nsp_ops_template")
    url = cluster.url(name)
    monkeypatch.setenv("DATABASE_URL", url)
    db_settings.cache_clear()
    yield url
    db_settings.cache_clear()


def _nsp(url: str, log: Path, *args: str) -> subprocess.Popen:
    out = open(log, "ab")
    return subprocess.Popen([sys.executable, "-m", "nsp.cli", *args], cwd=ROOT, env=worker_env(url, **FAST),
                            stdout=out, stderr=out)


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as c:
        return c.execute(sql).fetchone()[0]


def _workers(url: str) -> int:
    try:
        return _count(url, "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '2 s'")
    except psycopg.OperationalError:
        return 0


def _stop_all(*procs: subprocess.Popen) -> list[int | None]:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(60))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append(None)
    return codes


@pytest.mark.seconds(45)
def test_worker_watch_listen_and_cot_out_started_while_the_database_is_down_wait_for_it(cluster, outage_url,
                                                                                     tmp_path):
    from tests.auth_helpers import make_user

    make_user(outage_url, "tak-share", "watch_officer")  # cot-out reads as this user once it can
    cluster.stop()
    inbox = tmp_path / "inbox"
    (inbox / "ais").mkdir(parents=True)
    logs = {n: tmp_path / f"{n}.log" for n in ("worker", "watch", "cot-out")}
    tak = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a TAK client's end of the stream
    tak.bind(("127.0.0.1", 0))
    worker = _nsp(outage_url, logs["worker"], "worker", "--name", "patient")
    watch = _nsp(outage_url, logs["watch"], "watch", str(inbox), "--poll", "0.3", "--source", "board")
    cot_out = _nsp(outage_url, logs["cot-out"], "cot-out", "--to", f"udp://127.0.0.1:{tak.getsockname()[1]}",
                   "--actor", "tak-share", "--poll", "1s")
    listen, ports = start_listener(outage_url, inbox / "ais", "--format", "ais", "--udp", "127.0.0.1:0",
                            "--flush-seconds", "0.3")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for sentence in AIS:  # a receiver sends one sentence a datagram
                udp.sendto(sentence.encode() + b"\r\n", ("127.0.0.1", ports["udp"]))
        (inbox / "report.ndjson").write_bytes(ndjson_events(["D-1", "D-2", "D-3"]))
        wait_for(lambda: list((inbox / "ais").glob("*.nmea")), 30, "the listener to write the sentences")
        time.sleep(DOWN_SECONDS)
        assert [p.poll() for p in (worker, watch, listen, cot_out)] == [None, None, None, None], \
            {n: log.read_text()[-2000:] for n, log in logs.items()}
        for name, log in logs.items():  # each waits, logged, with backoff
            text = log.read_text()
            assert "action=db_wait" in text and f"command={name}" in text and "attempt=5" in text, text[-2000:]
        assert (inbox / "report.ndjson").exists()  # it waits in the folder
        cluster.start()
        wait_for(lambda: (inbox / "processed" / "report.ndjson").exists()
                 and list((inbox / "ais" / "processed").glob("*.nmea")), 120,
                 "the file and the sentences to be loaded once the database is back")
        # cot-out reads its user's scope and opens the stream once the database answers
        wait_for(lambda: "cot-out: connected to udp://" in logs["cot-out"].read_text(), 60,
                 "cot-out to start streaming once the database is back")
    finally:
        tak.close()
        codes = _stop_all(worker, watch, cot_out) + [listen.poll()]
        err = stop_listener(listen) if listen.poll() is None else ""
    assert codes[:3] == [0, 0, 0], {n: log.read_text()[-3000:] for n, log in logs.items()}
    assert "action=db_reachable" in logs["worker"].read_text()
    assert "wrote 3 message(s)" in err
    assert _count(outage_url, "SELECT count(*) FROM event WHERE source = 'board'") == 3
    assert _count(outage_url, "SELECT count(DISTINCT object_id) FROM asset_position") == 3


@pytest.mark.seconds(40)
def test_an_outage_under_a_running_worker_does_not_stop_it_and_the_interrupted_job_runs_again(
        cluster, outage_url, tmp_path):
    from ingest.delivery.tasks import defer_file
    from nsp.queue import app

    log = tmp_path / "worker.log"
    drop = tmp_path / "drop"
    drop.mkdir()
    worker = start_worker(outage_url, "--name", "survivor", log=log, **FAST)
    watch = _nsp(outage_url, tmp_path / "watch.log", "watch", str(drop), "--poll", "0.3", "--source", "board")
    try:
        wait_for(lambda: _workers(outage_url) == 1, 60, "the worker to register")
        # 1. while it is idle (it used to exit at once), and a file dropped meanwhile
        cluster.stop()
        (drop / "during.ndjson").write_bytes(ndjson_events(["W-1", "W-2"]))
        time.sleep(4)
        assert [worker.poll(), watch.poll()] == [None, None], log.read_text()[-3000:]
        cluster.start()
        logs = (log, tmp_path / "watch.log", cluster.log)
        wait_for(lambda: _workers(outage_url) == 1, 60, "the worker to come back", logs=logs)
        wait_for(lambda: (drop / "processed" / "during.ndjson").exists(), 120,
                 "the file dropped during the outage to be loaded", logs=logs)

        # 2. in the middle of a file: it used to exit about a minute later, leaving the job 'doing'
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        big = inbox / "big.ndjson"
        big.write_bytes(ndjson_events([f"M-{i}" for i in range(KILL_EVENTS)]))
        with loads_held_at_merge(outage_url):  # until the outage ends it
            with app.open():
                defer_file(big, "outage")
            wait_for(lambda: _count(outage_url, "SELECT count(*) FROM ingest_batch WHERE status = 'running'") == 1,
                     60, "the batch to start")
            assert _count(outage_url, "SELECT count(*) FROM event WHERE source = 'outage'") == 0  # mid-file
            cluster.stop()
        time.sleep(4)
        assert worker.poll() is None, log.read_text()[-3000:]
        cluster.start()
        wait_for(lambda: (inbox / "processed" / "big.ndjson").exists(), 300, "the job to run again and load the file",
                 logs=logs)
        assert worker.poll() is None
    finally:
        codes = _stop_all(worker, watch)
    text = log.read_text()
    assert codes == [0, 0], text[-3000:]
    events = [line[:200] for line in text.splitlines() if "action=db_" in line or "side_task" in line]
    assert sum("action=db_lost" in line for line in events) >= 2, events
    ingested = [line for line in text.splitlines() if "action=ingested" in line]
    big = [line for line in ingested if "big.ndjson" in line]
    assert len(big) == 1 and "attempt=2" in big[0], ingested
    assert job_statuses(outage_url) == []  # done (finished jobs are deleted)
    assert _count(outage_url, "SELECT count(*) FROM event WHERE source = 'outage'") == KILL_EVENTS
    assert _count(outage_url, "SELECT count(*) FROM event WHERE source = 'board'") == 2
    with psycopg.connect(outage_url) as c:
        batches = c.execute("SELECT status, error FROM ingest_batch WHERE source = 'outage' ORDER BY id").fetchall()
    assert [b[0] for b in batches] == ["failed", "done"], batches
    assert batches[0][1].startswith(("interrupted", "process ended")), batches
