"""aircraft.json (dump1090-fa / readsb) on a real receiver's snapshot, and the HTTP poller."""

from __future__ import annotations

import http.server
import io
import json
import threading
from datetime import UTC, datetime

from ingest.formats.adsb_json import AircraftJsonFormat, poll
from ingest.formats.base import Event, ParseOptions, Position, Rejected, TrackedObject
from ingest.formats.sniff import choose_format
from tests.support.captures import ADSB_SNAPSHOT

SNAPSHOT = ADSB_SNAPSHOT
NOW = 1785349721.5


def parse(data: bytes) -> tuple[list, AircraftJsonFormat]:
    parser = AircraftJsonFormat(ParseOptions())
    return list(parser.parse(io.BytesIO(data))), parser


def of(records, cls) -> list:
    return [r for r in records if isinstance(r, cls)]


def test_snapshot_is_sniffed_as_aircraft_json_not_geojson():
    assert choose_format(SNAPSHOT.read_bytes()[:1024], "aircraft.json").name == "aircraft-json"


def test_positions_at_now_minus_seen_pos():
    records, parser = parse(SNAPSHOT.read_bytes())
    positions = of(records, Position)
    assert [p.object_id for p in positions] == [
        "ICAO:400B83", "ICAO:3C71A1", "ICAO:407689", "ICAO:407462", "ICAO:400795"]
    first = positions[0]
    assert first.observed_at == datetime.fromtimestamp(NOW - 10.9, UTC)
    assert (first.lat, first.lon, first.speed_kn, first.course_deg) == (51.477264, -0.510716, 161.1, 267.9)
    assert first.attrs["altitude_ft"] == 1700 and first.attrs["vertical_rate_fpm"] == 1472
    assert positions[3].observed_at == datetime.fromtimestamp(NOW - 61.1, UTC)
    bcs = positions[1]
    assert (bcs.attrs["callsign"], bcs.attrs["squawk"]) == ("BCS361", "2274")
    assert parser.stats["aircraft without position"] == 2  # 40223A, 869232
    # call signs: BCS361, EZY16EG, GLOCH (no position, still known), LOG92W
    assert [o.callsign for o in of(records, TrackedObject)] == ["BCS361", "EZY16EG", "GLOCH", "LOG92W"]
    assert not of(records, Rejected) and not of(records, Event)  # 7715 is not an emergency


def _with(aircraft: list, now=NOW) -> bytes:
    return json.dumps({"now": now, "aircraft": aircraft}).encode()


def test_squawk_7700_and_a_bad_entry():
    doc = json.loads(SNAPSHOT.read_bytes())
    emergency = dict(doc["aircraft"][1], squawk="7700")
    bad = dict(doc["aircraft"][2], lat="north")
    records, _ = parse(_with([emergency, bad, doc["aircraft"][0], "not an object"]))
    (event,) = of(records, Event)
    assert (event.subtype, event.source_ref, event.lat) == (
        "aircraft_emergency_7700", f"squawk:3C71A1:7700:{datetime.fromtimestamp(NOW, UTC).date()}", 51.345256)
    rejected = of(records, Rejected)
    assert [(r.location.number, r.reason) for r in rejected] == [
        (2, "aircraft not readable: latitude 'north' is not a number"),
        (4, "aircraft not readable: an entry of the list is str, not an object")]
    assert '"lat":"north"' in rejected[0].raw
    assert len(of(records, Position)) == 2


def test_now_in_milliseconds_and_documents_that_are_not_aircraft_json():
    doc = json.loads(SNAPSHOT.read_bytes())
    records, _ = parse(_with(doc["aircraft"][:1], now=NOW * 1000))
    assert of(records, Position)[0].observed_at == datetime.fromtimestamp(NOW - 10.9, UTC)
    for data, reason in ((b'{"aircraft": []}', 'no "now"'), (b'{"now": 1, "planes": []}', 'no "aircraft" list'),
                         (b"[1, 2]", "not a JSON object"), (b'{"now": 1, "aircraft": [', "broken JSON")):
        (rejected,) = parse(data)[0]
        assert isinstance(rejected, Rejected) and reason in rejected.reason


def test_poller_fetches_over_http_into_the_drop_folder(tmp_path):
    body = SNAPSHOT.read_bytes()
    hits = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            if len(hits) == 2:  # a receiver restarting: the poller goes on
                self.send_error(503)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data/aircraft.json"
        written = poll(url, tmp_path / "adsb", every=0.05, count=3)
    finally:
        server.shutdown()
        server.server_close()
    assert hits == ["/data/aircraft.json"] * 3 and written == 2
    files = sorted((tmp_path / "adsb").glob("aircraft-*.json"))
    assert len(files) == 2 and all(f.read_bytes() == body for f in files)
    assert not list((tmp_path / "adsb").glob("*.part"))
