"""GET /healthz through the real app (auth gate included) against a real PostGIS."""

from __future__ import annotations

import pytest

from dashboard.settings import web_settings
from nsp import db
from nsp.settings import db_settings


@pytest.fixture
def client(db_url):
    from dashboard.app import server

    web_settings.cache_clear()
    with server.test_client() as c:
        yield c


def test_open_without_login_and_says_whether_feeds_deliver(client, conn):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.json == {"status": "degraded", "database": "ok", "migrations_pending": 0, "deliveries": "none",
                      "feeds": "ok", "queue": "ok", "alerts": "ok", "workers": "none", "replica": "none"}
    conn.execute("INSERT INTO ingest_batch (source, status, finished_at) VALUES ('t', 'done', now())")
    assert client.get("/healthz").json["status"] == "degraded"  # delivered, but no worker runs
    worker = _register_worker(conn)
    assert client.get("/healthz").json["status"] == "ok"
    assert client.get("/healthz").json["deliveries"] == "fresh"
    conn.execute("UPDATE ingest_batch SET finished_at = now() - interval '1 day'")
    assert client.get("/healthz").json == {"status": "degraded", "database": "ok", "migrations_pending": 0,
                                           "deliveries": "stale", "feeds": "ok", "queue": "ok", "alerts": "ok",
                                           "workers": "ok", "replica": "none"}
    # a job that has waited 20 minutes: no worker runs (a real procrastinate defer)
    conn.execute("UPDATE ingest_batch SET finished_at = now()")
    from ingest.delivery.tasks import defer_file
    from nsp.queue import app

    with app.open():
        job = defer_file("/srv/nsp/inbox/x.geojson", "sensor")
    assert client.get("/healthz").json["queue"] == "ok"  # just queued
    conn.execute("UPDATE procrastinate_events SET at = now() - interval '20 minutes' WHERE job_id = %s", (job,))
    assert client.get("/healthz").json == {"status": "degraded", "database": "ok", "migrations_pending": 0,
                                           "deliveries": "fresh", "feeds": "ok", "queue": "behind", "alerts": "ok",
                                           "workers": "ok", "replica": "none"}
    # a worker silent for longer than NSP_QUEUE_STALLED_SECONDS (dead, or waiting for the database)
    conn.execute("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '31 seconds'"
                 " WHERE id = %s", (worker,))
    assert client.get("/healthz").json["workers"] == "none"
    # the rest of the site still asks for a login
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 302


def _register_worker(conn) -> int:
    """A worker as `nsp worker` registers itself (procrastinate's own function)."""
    return conn.execute("SELECT worker_id FROM procrastinate_register_worker_v1()").fetchone()["worker_id"]


def test_a_late_expected_feed_makes_it_degraded_without_naming_it(client, conn):
    conn.execute("INSERT INTO ingest_batch (source, status, finished_at) VALUES"
                 " ('ais', 'done', now() - interval '20 minutes'), ('tak', 'done', now())")
    _register_worker(conn)
    assert client.get("/healthz").json["status"] == "ok"  # no expectation: a silent ais is not late
    conn.execute("INSERT INTO feed_expectation (source, every, set_by) VALUES ('ais', interval '30 minutes', 't')")
    assert client.get("/healthz").json["status"] == "ok"  # 20 minutes < 30
    conn.execute("UPDATE feed_expectation SET every = interval '5 minutes'")
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "degraded", "database": "ok", "migrations_pending": 0,
                                               "deliveries": "fresh", "feeds": "late", "queue": "ok", "alerts": "ok",
                                               "workers": "ok", "replica": "none"}
    assert "ais" not in r.get_data(as_text=True)
    # expected but never delivered is late too
    conn.execute("UPDATE feed_expectation SET every = interval '1 hour'")
    conn.execute("INSERT INTO feed_expectation (source, every, set_by) VALUES ('radar', interval '1 hour', 't')")
    assert client.get("/healthz").json["feeds"] == "late"


def test_pending_migrations_and_an_unreachable_database_are_503(client, conn, monkeypatch):
    last = conn.execute("SELECT name FROM nsp_migration ORDER BY name DESC LIMIT 1").fetchone()["name"]
    conn.execute("DELETE FROM nsp_migration WHERE name = %s", (last,))
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json == {"status": "down", "database": "ok", "migrations_pending": 1}
    # a port where nothing listens; the answer names no host
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/nsp")
    db_settings.cache_clear()
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json == {"status": "down", "database": "unreachable"}
    assert "127.0.0.1" not in r.get_data(as_text=True)
    db.close_pool()
