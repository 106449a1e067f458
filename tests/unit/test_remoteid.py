"""Remote ID parser on a real capture (tests/data/real/remoteid, PROVENANCE.md) and on lines
of the same shapes: the ESP32 scanners' flat line and the DroneID receivers' message blocks."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.delivery.listen import Collector, stamp_remoteid
from ingest.formats.base import ParseOptions, Position, Rejected, TrackedObject
from ingest.formats.remoteid import RemoteIdFormat
from ingest.formats.sniff import choose_format
from tests.support.tracks import SKYSPY

REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "remoteid"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def parse(data: bytes, **options) -> tuple[list, RemoteIdFormat]:
    parser = RemoteIdFormat(ParseOptions(**options))
    return list(parser.parse(io.BytesIO(data))), parser


def of(records, cls) -> list:
    return [r for r in records if isinstance(r, cls)]


def test_the_real_capture_is_sniffed_as_remote_id_whatever_its_name():
    head = SKYSPY.read_bytes()[:1024]
    for name in ("skyspy.txt", "capture.json", "log.ndjson"):
        assert choose_format(head, name).name == "remoteid"


def test_the_real_capture_without_a_time_is_quarantined_with_the_reason():
    records, _ = parse(SKYSPY.read_bytes())
    (r,) = of(records, Rejected)
    assert "no time" in r.reason and "nsp listen --format remoteid" in r.reason
    assert r.raw == SKYSPY.read_text().strip()
    # the UAS id is still learnt: the object is known
    (o,) = of(records, TrackedObject)
    assert (o.object_id, o.kind, o.callsign) == ("RID:1581F8LQC255L00227P5", "uav", "1581F8LQC255L00227P5")


def test_the_real_capture_stamped_as_the_listener_does_is_a_uav_fix_with_its_operator():
    stamped = stamp_remoteid(SKYSPY.read_bytes().strip(), T0.timestamp())
    records, _ = parse(stamped + b"\n")
    (p,) = of(records, Position)
    assert (p.object_id, p.kind, p.observed_at, p.lat, p.lon) == (
        "RID:1581F8LQC255L00227P5", "uav", T0, 25.784279, -80.14901)
    assert (p.attrs["operator_lat"], p.attrs["operator_lon"]) == (25.767196, -80.137115)
    assert (p.attrs["altitude_m"], p.attrs["altitude_ft"], p.attrs["mac"], p.attrs["rssi"]) == (
        118, 387, "8c:1e:d9:c8:c9:f7", -81)
    # what this receiver leaves empty is not made up
    assert p.speed_kn is None and p.course_deg is None and "height_m" not in p.attrs
    assert "operator_id" not in p.attrs and p.object_type is None


def test_received_at_of_the_file_gives_lines_without_time_their_time():
    records, _ = parse(SKYSPY.read_bytes(), received_at=T0)
    (p,) = of(records, Position)
    assert p.observed_at == T0


def test_the_listener_stamps_only_lines_without_a_time():
    line = b'{"basic_id":"X1","drone_lat":56.1,"drone_long":27.2}'
    assert json.loads(stamp_remoteid(line, 1_790_000_000.5))["received_at"] == 1_790_000_000.5
    timed = b'{"basic_id":"X1","timestamp":"2026-11-20T10:00:00Z","drone_lat":56.1,"drone_long":27.2}'
    assert stamp_remoteid(timed, 1.0) == timed
    assert stamp_remoteid(b'[{"Basic ID":{}}]', 1.0) == b'[{"Basic ID":{}}]'
    assert stamp_remoteid(b"{}", 5.0) == b'{"received_at":5.000}'


def test_the_listener_writes_stamped_lines_the_parser_reads(tmp_path):
    collector = Collector(tmp_path, "remoteid", "rid", 1000)
    collector.add([SKYSPY.read_bytes().strip()], received=T0.timestamp())
    collector.flush()
    (written,) = tmp_path.glob("*.remoteid")
    records, _ = parse(written.read_bytes())
    assert [p.observed_at for p in of(records, Position)] == [T0]


def test_drone_id_message_blocks_with_timestamp_height_speed_and_operator():
    line = json.dumps([
        {"Basic ID": {"id_type": "Serial Number (ANSI/CTA-2063-A)", "ua_type": 2, "id": "1581F5FHB229F00202DR",
                      "MAC": "60:60:1f:aa:bb:cc", "RSSI": -70}},
        {"Location/Vector Message": {"latitude": 56.05, "longitude": 27.3, "geodetic_altitude": 150.0,
                                     "height_agl": "80.0 m", "speed": 12.0, "direction": 350,
                                     "op_status": "Airborne", "timestamp": "2026-11-20T10:00:00Z"}},
        {"System Message": {"operator_lat": 55.98, "operator_lon": 27.31}},
        {"Operator ID Message": {"operator_id": "LVA12345abcdef"}},
    ])
    records, _ = parse(line.encode() + b"\n")
    (p,) = of(records, Position)
    assert (p.object_id, p.lat, p.lon, p.observed_at) == ("RID:1581F5FHB229F00202DR", 56.05, 27.3, T0)
    assert (p.attrs["height_m"], p.attrs["operator_lat"], p.attrs["operator_id"]) == (80.0, 55.98, "LVA12345abcdef")
    assert p.speed_kn == round(12.0 / 0.514444, 2) and p.course_deg == 350 and p.status == "Airborne"


def test_bad_lines_are_quarantined_with_reason_and_the_good_ones_load():
    good = b'{"basic_id":"GOOD1","drone_lat":56.1,"drone_long":27.2,"timestamp":1790000000}'
    lines = [
        good,
        b'{"basic_id":"BAD1","drone_lat":"north","drone_long":27.2,"timestamp":1790000000}',
        b'{"basic_id":"BAD2", "drone_lat": 56.1',
        b'{"drone_lat":56.1,"drone_long":27.2,"timestamp":1790000000}',
        b'{"basic_id":"BAD4","drone_lat":56.1,"drone_long":27.2,"timestamp":"yesterday"}',
        b'{"heartbeat":"Device is active and running."}',
        b'{"basic_id":"ID-ONLY","mac":"aa:bb:cc:dd:ee:ff"}',
        b'42',
    ]
    records, parser = parse(b"\n".join(lines) + b"\n")
    assert [p.object_id for p in of(records, Position)] == ["RID:GOOD1"]
    reasons = {r.location.number: r.reason for r in of(records, Rejected)}
    assert set(reasons) == {2, 3, 4, 5, 8}
    assert "drone latitude 'north' is not a number" in reasons[2]
    assert reasons[3].startswith("broken JSON")
    assert "neither a UAS id" in reasons[4]
    assert "neither ISO 8601 nor unix seconds" in reasons[5]
    assert parser.stats["skipped status lines"] == 1
    assert parser.stats["detections without drone position"] == 1


def test_a_drone_without_uas_id_is_tracked_by_its_mac():
    records, _ = parse(b'{"mac":"AA:BB:CC:00:11:22","drone_lat":56.1,"drone_long":27.2,"received_at":1790000000}\n')
    (p,) = of(records, Position)
    assert p.object_id == "RID-MAC:aa:bb:cc:00:11:22"


def test_twenty_thousand_lines_in_one_pass():
    # one object per UAS id, not per line
    line = b'{"basic_id":"D%d","drone_lat":56.1,"drone_long":27.2,"received_at":1790000000}\n'
    data = b"".join(line % (i % 50) for i in range(20_000))
    records, parser = parse(data)
    assert len(of(records, Position)) == 20_000 and parser.stats["lines"] == 20_000


# ------------------------------------------------------------------ properties

SAMPLE = (stamp_remoteid(SKYSPY.read_bytes().strip(), T0.timestamp()) + b"\n" + SKYSPY.read_bytes()
          + b'[{"Basic ID":{"id":"X1","MAC":"aa:bb:cc:dd:ee:ff"}},{"Location/Vector Message":'
            b'{"latitude":56.1,"longitude":27.2,"height_agl":"80.0 m"}},{"System Message":{"operator_lat":56.0,'
            b'"operator_lon":27.1}}]\n{"heartbeat":"Device is active and running."}\n')


def accounted(data: bytes) -> None:
    """Never raises; every line that is not blank is a fix, a quarantined line, or counted."""
    records, parser = parse(data)
    lines = sum(1 for line in io.BytesIO(data) if line.decode("utf-8", "replace").strip())
    places = {r.location.number for r in records if isinstance(r, Position | Rejected)}
    assert all(isinstance(r, Position | Rejected | TrackedObject) for r in records)
    assert all(r.reason for r in records if isinstance(r, Rejected))
    assert parser.stats["lines"] == lines
    assert len(places) + parser.stats["skipped status lines"] + parser.stats["detections without drone position"] == lines


def test_the_sample_is_accounted_for():
    records, _ = parse(SAMPLE)
    # the stamped line is a fix; the unstamped capture and the message blocks have no time
    assert [type(r).__name__ for r in records if not isinstance(r, TrackedObject)] == ["Position", "Rejected", "Rejected"]
    accounted(SAMPLE)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000))
def test_random_bytes_never_raise_and_every_line_is_accounted_for(data):
    accounted(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=6))
def test_a_damaged_sample_never_raises_and_every_line_is_accounted_for(ops):
    buf = bytearray(SAMPLE)
    for pos, value in ops:
        buf[pos % len(buf)] = value
    accounted(bytes(buf))
