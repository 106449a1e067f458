"""Drop folder + queue + worker, on real PostGIS with real worker processes."""

from __future__ import annotations

from ingest.delivery.tasks import defer_file
from ingest.delivery.watch import DropFolder
from nsp.queue import app
from tests.support.delivery import job_statuses, ndjson_events, run_worker_until_empty, watch_once


def test_dropped_file_loaded_and_moved_unreadable_to_failed(db_url, conn, tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "border-reports").mkdir(parents=True)
    (inbox / "border-reports" / "night.ndjson").write_bytes(
        ndjson_events([f"R-{i}" for i in range(50)]))
    (inbox / "garbage.bin").write_bytes(bytes(range(256)) * 20)
    (inbox / "half-written.ndjson.part").write_bytes(b'{"type": "Feat')

    assert watch_once(inbox) == 2  # the .part file is not taken
    done = run_worker_until_empty(db_url)
    assert done.returncode == 0, done.stderr[-2000:]

    rows = conn.execute("SELECT source, count(*) AS n FROM event GROUP BY source").fetchall()
    assert rows == [{"source": "border-reports", "n": 50}]  # the sub-folder is the source
    assert (inbox / "border-reports" / "processed" / "night.ndjson").exists()
    assert not (inbox / "border-reports" / "night.ndjson").exists()

    assert (inbox / "failed" / "garbage.bin").exists()
    report = (inbox / "failed" / "garbage.bin.error.txt").read_text()
    assert "binary" in report and "garbage.bin" in report
    assert (inbox / "half-written.ndjson.part").exists()
    batch = conn.execute("SELECT status FROM ingest_batch WHERE file_name LIKE '%%garbage.bin'").fetchone()
    assert batch["status"] == "failed"


def test_file_deferred_twice_is_processed_once(db_url, conn, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    f = inbox / "a.ndjson"
    f.write_bytes(ndjson_events([f"A-{i}" for i in range(20)]))
    with app.open():
        first = defer_file(f, "s1")
        second = defer_file(f, "s1")  # same path still waiting: refused by the queueing lock
    assert first is not None and second is None
    # A watcher restart forgets what it queued; the file is still waiting.
    assert watch_once(inbox, "s1") == 1
    assert run_worker_until_empty(db_url).returncode == 0
    assert conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"] == 20
    assert conn.execute("SELECT count(*) AS n FROM ingest_batch").fetchone()["n"] == 1
    assert job_statuses(db_url) == []  # both jobs succeeded (finished jobs are deleted)


def test_a_file_that_changes_is_not_taken_until_stable(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    queued = []
    folder = DropFolder(inbox, "s", lambda p, s: queued.append(p))
    f = inbox / "growing.ndjson"
    f.write_bytes(ndjson_events(["G-1"]))
    folder.poll()
    with f.open("ab") as fh:
        fh.write(ndjson_events(["G-2"]))
    folder.poll()
    assert queued == []  # size changed between the two polls
    folder.poll()
    assert queued == [f]
    folder.poll()
    assert queued == [f]  # not queued again while it waits for a worker


def test_a_second_file_of_the_same_name_does_not_overwrite_the_first(tmp_path):
    from ingest.delivery.tasks import move_aside

    for content in (b"first", b"second", b"third"):
        f = tmp_path / "report.csv"
        f.write_bytes(content)
        move_aside(f, "processed")
    done = tmp_path / "processed"
    assert {p.name: p.read_bytes() for p in done.iterdir()} == {
        "report.csv": b"first", "report.1.csv": b"second", "report.2.csv": b"third"}


def test_logs_are_structured(capsys):
    import json
    import logging

    from ingest.delivery.worker import setup_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    for fmt in ("logfmt", "json"):
        setup_logging("INFO", fmt)
        logging.getLogger("nsp.test").info("file ingested", extra={"file": "/in/a b.csv", "accepted": 3})
        line = capsys.readouterr().err.strip().splitlines()[-1]
        if fmt == "json":
            rec = json.loads(line)
            assert (rec["msg"], rec["file"], rec["accepted"], rec["level"]) == ("file ingested", "/in/a b.csv", 3, "info")
        else:
            assert 'msg="file ingested"' in line and 'file="/in/a b.csv"' in line and "accepted=3" in line
    root.handlers[:], _ = saved[0], root.setLevel(saved[1])


def test_loaded_files_are_pruned_after_the_days_kept_and_failed_ones_never(db_url, conn, tmp_path):
    """A live feed drops thousands of files a day: processed/ must not grow for ever."""
    import os
    import time

    inbox = tmp_path / "inbox"
    (inbox / "ais").mkdir(parents=True)
    (inbox / "ais" / "a.ndjson").write_bytes(ndjson_events(["P-1", "P-2"]))
    (inbox / "b.ndjson").write_bytes(ndjson_events(["P-3"]))
    (inbox / "junk.bin").write_bytes(bytes(range(256)) * 8)
    assert watch_once(inbox) == 3 and run_worker_until_empty(db_url).returncode == 0
    loaded = [inbox / "ais" / "processed" / "a.ndjson", inbox / "processed" / "b.ndjson"]
    assert all(p.exists() for p in loaded) and (inbox / "failed" / "junk.bin").exists()
    waiting = inbox / "ais" / "c.ndjson"  # dropped, not loaded yet: never the pruner's
    waiting.write_bytes(ndjson_events(["P-4"]))
    old = time.time() - 40 * 86400
    os.utime(waiting, (old, old))  # a copy that kept an old time is not "loaded 40 days ago"

    folder = DropFolder(inbox, "dropfolder", defer_file, keep_processed_days=30)
    assert folder.prune() == 0  # loaded just now
    assert folder.prune(now=time.time() + 31 * 86400) == 2
    assert not any(p.exists() for p in loaded)
    assert waiting.exists() and (inbox / "failed" / "junk.bin").exists()
    assert (inbox / "failed" / "junk.bin.error.txt").exists()
    assert DropFolder(inbox, "s", defer_file).prune(now=time.time() + 999 * 86400) == 0  # 0 days: keep
    assert conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"] == 3  # the records stay
