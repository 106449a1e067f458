"""``nsp listen --format remoteid --connect``: a scanner's serial output bridged to TCP, served
from the real Sky Spy capture (no time of its own); the listener stamps the time each line
arrived, the worker loads the drone with its operator."""

from __future__ import annotations

import json
import socket
import threading
import time

from tests.support.delivery import run_worker_until_empty, start_listener, stop_listener, wait_for, watch_once
from tests.support.tracks import SKYSPY

ANYWHERE = {"NSP_GEO_ROI": "[-180, -90, 180, 90]"}  # the capture is from Miami


def test_connected_to_a_scanner_it_stamps_and_loads_the_capture(db_url, conn, tmp_path):
    real = SKYSPY.read_bytes().strip()
    moved = json.dumps(dict(json.loads(real), drone_lat=25.79, basic_id="1581F8LQC255L00227P5")).encode()
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve():
        c, _ = server.accept()
        with c:  # two lines, a second apart, with a heartbeat between, as the scanner writes them
            c.sendall(real + b"\r\n" + b'{"heartbeat":"Device is active and running."}\r\n')
            time.sleep(1.0)
            c.sendall(moved + b"\r\n")
            time.sleep(0.5)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    inbox = tmp_path / "inbox"
    before = time.time()
    proc, _ports = start_listener(db_url, inbox / "rid", "--format", "remoteid", "--connect", f"127.0.0.1:{port}",
                           "--flush-seconds", "0.3")
    try:
        thread.join(20)
        wait_for(lambda: sum(p.read_bytes().count(b"\n") for p in (inbox / "rid").glob("*.remoteid")) == 3,
                 10, "the 3 lines written")
    finally:
        stop_listener(proc)
        server.close()
    written = [json.loads(x) for p in sorted((inbox / "rid").glob("*.remoteid")) for x in p.read_bytes().splitlines()]
    stamps = [w["received_at"] for w in written]
    assert all(before <= s <= time.time() for s in stamps) and stamps[2] - stamps[0] >= 0.9
    assert watch_once(inbox) >= 1 and run_worker_until_empty(db_url, **ANYWHERE).returncode == 0
    rows = conn.execute("""SELECT object_id, kind, ST_Y(geom) AS lat, attrs->>'operator_lat' AS op
                             FROM asset_position WHERE source = 'rid' ORDER BY observed_at""").fetchall()
    assert [(r["object_id"], r["kind"], r["lat"], r["op"]) for r in rows] == [
        ("RID:1581F8LQC255L00227P5", "uav", 25.784279, "25.767196"),
        ("RID:1581F8LQC255L00227P5", "uav", 25.79, "25.767196")]
    assert conn.execute("SELECT count(*) AS n FROM quarantine WHERE source = 'rid'").fetchone()["n"] == 0
