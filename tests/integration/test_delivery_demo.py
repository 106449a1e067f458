"""`nsp demo` without the dashboard: history and live files flow through watch + worker."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from ingest.delivery.demo import Demo, free_udp_ports
from tests.support.delivery import wait_for


@pytest.mark.seconds(65)
def test_demo_feeds_the_database_through_the_real_pipeline(db_url, conn, tmp_path):
    (ais_port,) = free_udp_ports(1)  # the AIS listener's port as given; CoT's a free one
    demo = Demo(tmp_path / "demo", days=1, speed=5, serve=False, ais_udp=ais_port)
    assert demo.ais_port == ais_port and demo.tak_port not in (ais_port, None)
    stop = threading.Event()
    lines: list[str] = []
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(demo.run(stop, lines.append)))
    runner.start()
    try:
        wait_for(lambda: conn.execute("SELECT count(*) AS n FROM event").fetchone()["n"] > 0,
                 180, "scenario events to arrive")
        inbox = tmp_path / "demo" / "inbox"
        wait_for(lambda: list(inbox.glob("*/processed/live-*")), 180, "a live file to be processed")
        # the live AIS comes over UDP, one sentence a datagram, through `nsp listen`
        wait_for(lambda: list(inbox.glob("ais/processed/live-udp-*.nmea")), 180, "AIS heard over UDP, loaded")
        wait_for(lambda: list(inbox.glob("tak/processed/live-udp-*.cot")), 180, "CoT heard over UDP, loaded")
        # and the drones' Remote ID, a detection a datagram, through `nsp listen --format remoteid`
        wait_for(lambda: list(inbox.glob("remote-id/processed/live-udp-*.remoteid")), 180,
                 "Remote ID heard over UDP, loaded")
        wait_for(lambda: conn.execute(
            """SELECT count(*) AS n FROM asset_position p JOIN ingest_batch b ON b.id = p.batch_id
                WHERE p.kind = 'uav' AND b.file_name LIKE '%%live-udp-%%'""").fetchone()["n"] > 0,
                 120, "a live drone's fixes in the picture")
        # one ready block, once every history file has left the inbox
        wait_for(lambda: any(line.startswith("nsp demo ready") for line in lines), 180, "the ready block")
        history = sum(1 for p in inbox.rglob("*") if p.is_file() and "live" not in p.name)
        # the history's events received as the feeds would have delivered them, before the
        # demo's start and after each event (ingest/delivery/history_receipt.py), not all at the start.
        # The rows last written by a history file: a crossing found where a history track goes on
        # live (a ship entering the territorial sea before the history's end, its next fix heard
        # live) lies before the history's end but was received live, as a live marker's update is.
        got = conn.execute("SELECT count(*) AS n, count(*) FILTER (WHERE e.received_at > %(t)s "
                           "OR e.received_at < e.occurred_at) AS wrong, min(e.received_at) AS first FROM event e "
                           "JOIN ingest_batch b ON b.id = e.batch_id "
                           "WHERE e.occurred_at < %(end)s AND b.file_name !~ '(^|/)live-[^/]*$'",
                           {"t": demo.loaded_since, "end": demo.history_end}).fetchone()
        assert got["n"] > 0 and got["wrong"] == 0 and got["first"] < demo.loaded_since - timedelta(hours=2)
        assert history > 0 and not [p for p in demo.pending() if "live" not in p.name]
    finally:
        stop.set()
        runner.join(90)
    assert result == [0], lines
    assert sum(line.startswith("nsp demo ready") for line in lines) == 1
    assert (f"live AIS on udp://127.0.0.1:{ais_port}, CoT on udp://127.0.0.1:{demo.tak_port}, Remote ID on "
            f"udp://127.0.0.1:{demo.rid_port} (a drone from Belarus every 15 minutes or so)") in lines
    assert set(demo.children) == {"watch", "listen-ais", "listen-tak", "listen-rid", "worker", "live"}
    assert {n: p.returncode for n, p in demo.children.items()} == dict.fromkeys(demo.children, 0)
    sources = {r["source"] for r in conn.execute("SELECT DISTINCT source FROM event")}
    assert "daugavpils-board" in sources
    positions = conn.execute("SELECT count(*) AS n FROM asset_position").fetchone()["n"]
    assert positions > 0
    heard = conn.execute(
        """SELECT count(*) AS n, min(p.observed_at - b.received_at) AS lead
             FROM asset_position p JOIN ingest_batch b ON b.id = p.batch_id
            WHERE p.source = 'ais' AND b.file_name LIKE '%%live-udp-%%'""").fetchone()
    # stamped by the listener when it heard them: before the worker received the file, by seconds
    assert heard["n"] > 0 and timedelta(seconds=-60) < heard["lead"] <= timedelta(0)
    # everything the history wrote was taken from the inbox (nothing left behind but live files)
    assert not list(inbox.glob("*/failed/*"))


def test_demo_accounts_are_made_once_and_their_passwords_kept(db_url, conn, tmp_path):
    from argon2 import PasswordHasher

    from ingest.delivery.demo import DEMO_USERS

    demo = Demo(tmp_path / "demo", days=1)
    first, kiosk1 = demo.accounts()
    second, kiosk2 = demo.accounts()
    assert first == second and set(first) == {name for name, _, _ in DEMO_USERS}
    assert kiosk1 == kiosk2  # a wall left on the kiosk link keeps working across restarts
    rows = {r["name"]: r for r in conn.execute("SELECT name, role, sections, password_hash FROM app_user")}
    for name, role, sections in DEMO_USERS:
        assert rows[name]["role"] == role
        assert (rows[name]["sections"] or None) == sections
        assert PasswordHasher().verify(rows[name]["password_hash"], first[name])
    for name in ("credentials.json", "kiosk_token"):
        assert oct((tmp_path / "demo" / name).stat().st_mode & 0o777) == "0o600"
    assert conn.execute("SELECT count(*) AS n FROM kiosk_token WHERE label = 'demo wall'").fetchone()["n"] == 1
    # revoked: the next run makes a new one
    conn.execute("UPDATE kiosk_token SET revoked_at = now() WHERE label = 'demo wall'")
    _, kiosk3 = demo.accounts()
    assert kiosk3 != kiosk1
    assert conn.execute("SELECT count(*) AS n FROM kiosk_token WHERE label = 'demo wall'").fetchone()["n"] == 2


def test_demo_feeds_get_expected_intervals_once_and_an_operator_s_change_is_kept(db_url, conn, tmp_path):
    from ingest.delivery.demo import DEMO_FEEDS

    demo = Demo(tmp_path / "demo", days=1)
    assert demo.expect_feeds() == [source for source, _ in DEMO_FEEDS]
    conn.execute("UPDATE feed_expectation SET every = interval '1 hour' WHERE source = 'ais'")
    assert demo.expect_feeds() == []
    rows = {r["source"]: r["every"].total_seconds() for r in conn.execute("SELECT source, every FROM feed_expectation")}
    assert rows == {"sensors": 93600, "tak": 600, "ais": 3600, "daugavpils-board": 93600, "ludza-board": 93600,
                    "patrol-gps": 93600}
