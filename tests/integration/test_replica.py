"""Read replicas (issue 26 part 3) against a real standby: a throw-away primary cluster and a
``pg_basebackup -R`` hot standby of it (tests/support/standby.py), on ports of 19600-19699.

Proofs that a read was served by the standby: ``pg_is_in_recovery()`` and the port on the
connection the read used, and rows written on the primary while the standby's replay is
paused (``pg_wal_replay_pause()``), which reads do not see until they fall back to the
primary or the standby replays them."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest

from dashboard.components import status
from geo import picture
from nsp import access, db, replica
from nsp.access import Scope
from nsp.settings import db_settings
from tests.support.standby import primary_and_standby

WATCH = Scope(user="watch", role="watch_officer")
COMMANDER = Scope(user="cmd", role="sector_commander", sections=("LV-BY-01",))
DBNAME = "nsp_replica"


def _prepare(url: str) -> None:
    from geo import sections
    from nsp.settings import geo_settings

    sections.load(url, geo_settings().sections_path, actor="system")
    with psycopg.connect(url, autocommit=True) as c:  # two events in every section
        c.execute("""INSERT INTO event (source, source_ref, category, occurred_at, geom, section_code,
                                        distance_to_border_m)
                     SELECT 'seed', code || '-' || k, 'other', now() - k * interval '1 hour',
                            ST_PointOnSurface(area), code, 10
                       FROM border_section CROSS JOIN generate_series(1, 2) k""")


@pytest.fixture(scope="module")
def pair():
    with primary_and_standby(DBNAME, _prepare) as p:
        yield p


def _use(monkeypatch, primary: str, read: str | None, **settings) -> None:
    monkeypatch.setenv("DATABASE_URL", primary)
    if read is None:
        monkeypatch.delenv("NSP_DB_READ_URL", raising=False)
    else:
        monkeypatch.setenv("NSP_DB_READ_URL", read)
    for name, value in settings.items():
        monkeypatch.setenv(f"NSP_DB_READ_{name.upper()}", str(value))
    db_settings.cache_clear()
    db.close_pool()
    replica.reset()


@pytest.fixture
def urls(pair, monkeypatch):
    """DATABASE_URL on the primary, NSP_DB_READ_URL on the standby (replay running)."""
    primary, standby = pair.primary.url(DBNAME), pair.standby.url(DBNAME)
    _use(monkeypatch, primary, standby, check_seconds=0.1)
    yield {"primary": primary, "standby": standby}
    with psycopg.connect(pair.standby.url(), autocommit=True) as c:
        c.execute("SELECT pg_wal_replay_resume()")
    replica.reset()
    db.close_pool()
    db_settings.cache_clear()


def _served_by(conn) -> tuple[bool, int]:
    r = conn.execute("SELECT pg_is_in_recovery() AS standby, inet_server_port() AS port").fetchone()
    return r["standby"], r["port"]


def _add_event(url: str, ref: str, section: str = "LV-BY-01") -> None:
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("""INSERT INTO event (source, source_ref, category, occurred_at, geom, section_code,
                                        distance_to_border_m)
                     SELECT 'late', %s, 'other', now() - interval '5 minutes', ST_PointOnSurface(area), code, 10
                       FROM border_section WHERE code = %s""", (ref, section))


def _refs(scope: Scope) -> set[str]:
    now = picture.now_utc()
    f = picture.PictureFilter(start=now - timedelta(days=1), end=now + timedelta(minutes=1))
    with access.read_connection(scope) as conn:
        rows = conn.execute("SELECT source_ref FROM event").fetchall()
    assert {r["id"] for r in picture.event_rows(scope, f)}  # the screens' own read sees events too
    return {r["source_ref"] for r in rows}


def _pause(pair) -> None:
    with psycopg.connect(pair.standby.url(), autocommit=True) as c:
        c.execute("SELECT pg_wal_replay_pause()")
        while c.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused":
            time.sleep(0.05)


def test_reads_are_served_by_the_standby_and_writes_by_the_primary(pair, urls):
    with access.read_connection(WATCH) as conn:
        assert _served_by(conn) == (True, pair.standby.port)
    with access.connection(WATCH) as conn:
        assert _served_by(conn) == (False, pair.primary.port)
    # a write on the screens' behalf (an impact level decision) lands on the primary ...
    picture.change_level(WATCH, "LV-RU-01", "high", "replica test")
    with psycopg.connect(urls["primary"]) as c:
        assert c.execute("SELECT count(*) FROM audit_log WHERE action = 'impact_level_change' "
                         "AND details->>'reason' = 'replica test'").fetchone()[0] == 1
    # ... and reaches the standby's readers once replayed
    pair.wait_replayed()
    assert any(r["reason"] == "replica test" for r in picture.level_history(WATCH))
    # a read connection is read-only: a write slipped into one fails
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        with access.read_connection(WATCH) as conn:
            conn.execute("INSERT INTO quarantine (source, location, raw, reason) VALUES ('t', 'x', 'x', 'x')")


def test_a_row_written_while_replay_is_paused_is_read_only_after_replay(pair, urls, monkeypatch):
    # a limit far above the pause: the standby stays in use, and does not have the new row
    _use(monkeypatch, urls["primary"], urls["standby"], check_seconds=0.1, max_lag_seconds=3600)
    _pause(pair)
    _add_event(urls["primary"], "while-paused")
    assert "while-paused" not in _refs(WATCH)
    with access.connection(WATCH) as conn:  # the primary has it
        assert conn.execute("SELECT count(*) AS n FROM event WHERE source_ref = 'while-paused'").fetchone()["n"] == 1
    with psycopg.connect(pair.standby.url(), autocommit=True) as c:
        c.execute("SELECT pg_wal_replay_resume()")
    pair.wait_replayed()
    assert "while-paused" in _refs(WATCH)


def test_lag_is_shown_and_past_the_limit_reads_fall_back_to_the_primary(pair, urls, monkeypatch):
    from dashboard import health

    _use(monkeypatch, urls["primary"], urls["standby"], check_seconds=0.1, max_lag_seconds=2)
    pair.wait_replayed()
    st = replica.state()
    assert (st.status, st.fallback) == ("ok", False) and st.lag_seconds == 0.0  # idle primary, all replayed
    sign, css = status.freshness(WATCH)
    assert "nsp-replica-ok" in css and "replica 0.0 s" in str(sign) and "REPLICA BEHIND" not in str(sign)
    assert health.check()[0]["replica"] == "ok"

    _pause(pair)
    _add_event(urls["primary"], "behind-1")
    time.sleep(2.5)  # the last replayed transaction is now older than the limit
    st = replica.state()
    assert st.status == "behind" and st.fallback and st.lag_seconds > 2
    with access.read_connection(WATCH) as conn:
        assert _served_by(conn) == (False, pair.primary.port)
    assert "behind-1" in _refs(WATCH)  # read on the primary, which has it
    sign, css = status.freshness(WATCH)
    assert "nsp-replica-lagging" in css and "REPLICA BEHIND" in str(sign)
    assert "reads from the primary" in str(sign)
    sign_lv, _ = status.freshness(WATCH, lang="lv")
    assert "REPLIKA ATPALIEK" in str(sign_lv)
    body, code = health.check()
    assert code == 200 and body["replica"] == "behind" and body["status"] == "degraded"
    assert "127.0.0.1" not in str(body)  # /healthz names no host

    with psycopg.connect(pair.standby.url(), autocommit=True) as c:
        c.execute("SELECT pg_wal_replay_resume()")
    pair.wait_replayed()
    time.sleep(0.2)  # past check_seconds: measured again
    assert replica.state().status == "ok"
    with access.read_connection(WATCH) as conn:
        assert _served_by(conn) == (True, pair.standby.port)


def test_row_level_security_holds_on_the_standby(pair, urls):
    pair.wait_replayed()
    with access.read_connection(COMMANDER) as conn:
        assert _served_by(conn)[0] is True
        on_standby = conn.execute("SELECT section_code, count(*) AS n FROM event GROUP BY 1 ORDER BY 1").fetchall()
        positions = conn.execute("SELECT count(*) AS n FROM quarantine").fetchone()["n"]
    with access.connection(COMMANDER) as conn:
        on_primary = conn.execute("SELECT section_code, count(*) AS n FROM event GROUP BY 1 ORDER BY 1").fetchall()
    assert {r["section_code"] for r in on_standby} == {"LV-BY-01"}
    assert on_standby == on_primary
    assert positions == 0  # the quarantine is not a commander's
    # the screens' functions too: sections, the table, the event list
    now = picture.now_utc()
    f = picture.PictureFilter(start=now - timedelta(days=1), end=now + timedelta(minutes=1))
    assert {r["section_code"] for r in picture.event_rows(COMMANDER, f)} == {"LV-BY-01"}
    assert {s["code"] for s in picture.section_list(COMMANDER)} == {"LV-BY-01"}
    # an unset scope sees nothing on the standby, as on the primary
    with replica.replicas().choose().pool().connection() as conn, conn.transaction():
        access.as_app_role(conn)
        assert _served_by(conn)[0] is True
        assert conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"] == 0


def test_the_ogc_api_reads_on_the_standby_under_the_tokens_scope(pair, urls, monkeypatch):
    from dashboard import tokens
    from nsp.auth_settings import auth_settings
    from tests.auth_helpers import make_user

    for k, v in {"NSP_AUTH_COOKIE_SECURE": "false", "NSP_AUTH_SECRET_KEY": "r" * 64}.items():
        monkeypatch.setenv(k, v)
    auth_settings.cache_clear()
    make_user(urls["primary"], "cmd", "sector_commander", sections=["LV-BY-01"])
    with db.connect(urls["primary"]) as c, c.transaction():
        _, token = tokens.create_token(c, "cmd", "qgis", actor="test")
    pair.wait_replayed()
    _use(monkeypatch, urls["primary"], urls["standby"], check_seconds=0.1, max_lag_seconds=3600)
    _pause(pair)
    _add_event(urls["primary"], "ogc-while-paused")
    from dashboard.app import server

    with server.test_client() as client:
        r = client.get("/ogc/collections/events/items", query_string={"limit": 1000},
                       headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.get_data(as_text=True)
    feats = r.json["features"]
    assert feats and {f["properties"]["section_code"] for f in feats} == {"LV-BY-01"}
    with psycopg.connect(urls["primary"]) as c:
        on_primary = {str(r[0]) for r in c.execute("SELECT id FROM event WHERE section_code = 'LV-BY-01'")}
        paused_id = str(c.execute("SELECT id FROM event WHERE source_ref = 'ogc-while-paused'").fetchone()[0])
    # every event of the commander's section but the one the standby has not replayed
    assert {str(f["id"]) for f in feats} == on_primary - {paused_id}
    auth_settings.cache_clear()


def test_a_read_that_loses_its_standby_leaves_it_out_until_the_next_measure(pair, urls, monkeypatch):
    _use(monkeypatch, urls["primary"], urls["standby"], check_seconds=3600)
    with pytest.raises(psycopg.OperationalError):
        with access.read_connection(WATCH) as conn:
            pid = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
            with psycopg.connect(pair.standby.url(), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            conn.execute("SELECT count(*) FROM event")
    st = replica.state()  # no measure since (check_seconds): the failed read's word holds
    assert st.status == "behind" and st.fallback and "a read failed" in st.detail
    with access.read_connection(WATCH) as conn:
        assert _served_by(conn)[0] is False
    replica.replicas().check(force=True)  # a measure finds it back
    with access.read_connection(WATCH) as conn:
        assert _served_by(conn) == (True, pair.standby.port)


def test_an_unreachable_standby_is_left_out(db_url, monkeypatch):
    from tests.support.pgserver import free_port, release

    port = free_port()
    closed = f"postgresql://postgres@127.0.0.1:{port}/nsp"
    _use(monkeypatch, db_url, closed, check_seconds=60)
    try:
        with access.read_connection(WATCH) as conn:
            assert _served_by(conn)[0] is False
        st = replica.state()
        assert st.status == "behind" and st.fallback and st.lag_seconds is None
        assert "unreachable" in st.detail
        sign, css = status.freshness(WATCH)
        assert "REPLICA BEHIND" in str(sign) and "not answering" in str(sign)
    finally:
        replica.reset()
        release(port)


def test_read_urls_one_or_several():
    s = replica.ReplicaSettings(url="postgresql://a:5432/nsp  postgresql://b:5432/nsp")
    assert s.urls() == ["postgresql://a:5432/nsp", "postgresql://b:5432/nsp"]
    assert replica.ReplicaSettings(url="host=a port=5432 dbname=nsp").urls() == ["host=a port=5432 dbname=nsp"]
    assert replica.ReplicaSettings(url=" ").urls() == []
    assert not replica.Replicas(replica.ReplicaSettings(url=None)).configured


def test_one_thread_measures_a_slow_standby_while_the_others_go_on(db_url, monkeypatch):
    """A standby that accepts connections and never answers (a socket that only listens): the
    measure waits for the connect timeout; reads meanwhile keep the last measure."""
    import socket
    import threading

    from tests.support.pgserver import free_port, release

    port = free_port()
    mute = socket.create_server(("127.0.0.1", port))
    try:
        _use(monkeypatch, db_url, f"postgresql://postgres@127.0.0.1:{port}/nsp", check_seconds=0.1)
        t = time.monotonic()
        assert replica.replicas().choose() is None  # the first measure: waited for
        assert time.monotonic() - t >= replica.CONNECT_TIMEOUT_S * 0.9
        time.sleep(0.2)  # the measure is due again
        measuring = threading.Thread(target=replica.replicas().check)
        measuring.start()
        time.sleep(0.2)
        t = time.monotonic()
        with access.read_connection(WATCH) as conn:  # the primary, without waiting for the measure
            assert _served_by(conn)[0] is False
        assert replica.state().status == "behind"
        assert time.monotonic() - t < 1.0 and measuring.is_alive()
        measuring.join()
    finally:
        mute.close()
        replica.reset()
        release(port)
