"""``nsp listen --format sbs --connect``: a receiver's port 30003 served from a real capture,
the listener connected to it as dump1090's clients are, its files loaded into PostGIS."""

from __future__ import annotations

import socket
import threading
import time

from tests.support.captures import SBS_UNDATED
from tests.support.delivery import run_worker_until_empty, start_listener, stop_listener, wait_for, watch_once

ANYWHERE = {"NSP_GEO_ROI": "[-180, -90, 180, 90]"}  # the capture is from California


def test_connected_to_a_receivers_sbs_port_it_stamps_and_loads_the_undated_capture(db_url, conn, tmp_path):
    lines = SBS_UNDATED.read_bytes().splitlines()
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve():
        c, _ = server.accept()
        with c:  # two bursts, as a receiver sends what it hears: they arrive at two times
            c.sendall(b"\r\n".join(lines[:30]) + b"\r\n")
            time.sleep(0.5)
            c.sendall(b"\r\n".join(lines[30:]) + b"\r\n")
            time.sleep(0.5)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    inbox = tmp_path / "inbox"
    proc, _ports = start_listener(db_url, inbox / "adsb", "--format", "sbs", "--connect", f"127.0.0.1:{port}",
                           "--flush-seconds", "0.3")
    try:
        thread.join(20)
        wait_for(lambda: sum(p.read_bytes().count(b"\n") for p in (inbox / "adsb").glob("*.sbs")) == 64,
                 10, "the 64 lines written")
    finally:
        stop_listener(proc)
        server.close()
    written = b"".join(p.read_bytes() for p in sorted((inbox / "adsb").glob("*.sbs"))).splitlines()
    assert all(line.split(b",")[6] for line in written)  # every line has its date now
    assert watch_once(inbox) >= 1 and run_worker_until_empty(db_url, **ANYWHERE).returncode == 0
    rows = conn.execute("""SELECT object_id, kind FROM asset_position WHERE source = 'adsb'
                           ORDER BY observed_at, object_id""").fetchall()
    # ACE8BD on lines 17 and 53 (one in each burst), A01C76 on line 64
    assert [(r["object_id"], r["kind"]) for r in rows] == [
        ("ICAO:ACE8BD", "aircraft"), ("ICAO:A01C76", "aircraft"), ("ICAO:ACE8BD", "aircraft")]
    assert conn.execute("SELECT count(*) AS n FROM quarantine WHERE source = 'adsb'").fetchone()["n"] == 0
