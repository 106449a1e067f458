"""AIS NMEA parser: real-format sentences built with pyais's encoder."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from functools import reduce
from operator import xor

import pytest
from pyais import encode_dict

from ingest.ais import AisFormat
from ingest.base import ParseOptions, Position, Rejected, TrackedObject, formats
from nsp.settings import ASSETS_DIR

SAMPLE = ASSETS_DIR / "samples" / "ais.nmea"
T0 = 1714550400  # 2024-05-01T08:00:00Z
RECEIVED = datetime(2024, 5, 2, 12, 0, tzinfo=timezone.utc)


def tag(body: str) -> str:
    """An NMEA 4.0 tag block with its checksum: ``\\s:X,c:1*hh\\``."""
    return f"\\{body}*{reduce(xor, body.encode(), 0):02X}\\"


def nmea(fields: dict, channel: str = "A", seq_id=None) -> list[str]:
    return encode_dict(fields, talker_id="AI", sentence_type="VDM", radio_channel=channel, seq_id=seq_id)


def position(mmsi=275123000, lat=57.05, lon=24.03, **extra) -> str:
    fields = {"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 11.2, "course": 301.5,
              "heading": 300, "status": 0}
    fields.update(extra)
    return nmea(fields)[0]


def static5(mmsi=275123000, seq_id=3, channel="A") -> list[str]:
    return nmea({"type": 5, "mmsi": mmsi, "imo": 9387421, "callsign": "YLBT", "shipname": "BALTIC STAR",
                 "ship_type": 70, "destination": "RIGA", "to_bow": 120, "to_stern": 30}, channel, seq_id)


def parse(text: str, received=RECEIVED) -> tuple[list, AisFormat]:
    fmt = AisFormat(ParseOptions(source="test"))
    fmt.received_at = received
    return list(fmt.parse(io.BytesIO(text.encode()))), fmt


def test_registered_and_sniffed():
    assert formats()["ais"] is AisFormat
    head = SAMPLE.read_bytes()[:1024]
    assert AisFormat.sniff(head, "x.nmea") >= 90
    assert AisFormat.sniff(b'{"type": "FeatureCollection"}', "x.json") == 0
    assert AisFormat.sniff(b"<gpx></gpx>") == 0


def test_sample_file():
    with SAMPLE.open("rb") as fh:
        fmt = AisFormat(ParseOptions())
        fmt.received_at = RECEIVED
        records = list(fmt.parse(fh))
    assert not [r for r in records if isinstance(r, Rejected)]
    positions = [r for r in records if isinstance(r, Position)]
    objects = {(r.object_id, r.attrs.get("part")): r for r in records if isinstance(r, TrackedObject)}
    assert [p.object_id for p in positions] == ["MMSI:275123000", "MMSI:275900111", "MMSI:273456780"]
    first = positions[0]
    assert first.kind == "vessel"
    assert first.observed_at == datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
    assert (first.lat, first.lon) == pytest.approx((57.0512, 24.0321))
    assert first.speed_kn == pytest.approx(11.2) and first.course_deg == pytest.approx(301.5)
    assert first.heading_deg == 300 and first.status == "under way using engine"
    assert first.attrs["time_source"] == "tag_block" and first.attrs["station"] == "LV-RIGA"
    assert first.location.kind == "message" and first.location.line == 1
    assert first.raw.startswith("\\s:LV-RIGA")
    # class B position: heading 511 is "not available"
    assert positions[1].heading_deg is None and positions[1].attrs["msg_type"] == 18
    # no tag block: the last tag-block time before it, said so
    assert positions[2].observed_at == datetime(2024, 5, 1, 8, 0, 21, tzinfo=timezone.utc)
    assert positions[2].attrs["time_source"] == "previous_tag_block"
    # type 5 in two fragments, reassembled
    ship = objects[("MMSI:275123000", None)]
    assert (ship.name, ship.callsign, ship.imo, ship.mmsi) == ("BALTIC STAR", "YLBT", 9387421, 275123000)
    assert ship.object_type == "cargo" and ship.attrs["destination"] == "RIGA"
    assert ship.raw.count("\n") == 1 and ship.location.line == 2
    # type 24 parts A and B
    assert objects[("MMSI:275900111", "A")].name == "KAIJA"
    part_b = objects[("MMSI:275900111", "B")]
    assert part_b.callsign == "YL2345" and part_b.object_type == "pleasure craft"
    assert part_b.name == "KAIJA"  # completed with part A, read earlier in the file
    assert fmt.stats["messages"] == 6


def test_checksum_error_is_rejected_and_the_rest_loads():
    good = position()
    bad = good[:-2] + ("00" if good[-2:] != "00" else "11")
    records, _ = parse(f"{bad}\n{good}\n")
    assert isinstance(records[0], Rejected)
    assert "checksum" in records[0].reason and records[0].location.number == 1
    assert records[0].raw == bad
    assert isinstance(records[1], Position)


def test_tag_block_checksum_and_time_units():
    line = position()
    ok = tag(f"s:LV-LIEPAJA,c:{T0 * 1000}") + line  # milliseconds
    broken = ok.replace("LIEPAJA", "LIEPAJX")
    records, _ = parse(f"{ok}\n{broken}\n")
    assert records[0].observed_at == datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
    assert isinstance(records[1], Rejected) and "tag block checksum" in records[1].reason


def test_multi_fragment_interleaved_and_incomplete():
    a = static5(275000001, seq_id=1, channel="A")
    b = static5(275000002, seq_id=2, channel="B")
    lonely = static5(275000003, seq_id=5, channel="A")
    text = "\n".join([a[0], b[0], a[1], position(), b[1], lonely[0], position(mmsi=275000009)]) + "\n"
    records, _ = parse(text)
    names = [r.object_id for r in records if isinstance(r, TrackedObject)]
    assert names == ["MMSI:275000001", "MMSI:275000002"]
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert len(rejected) == 1
    assert "incomplete multi-fragment message: 1 of 2" in rejected[0].reason
    assert rejected[0].raw == lonely[0] and rejected[0].location.line == 6


def test_fragment_without_its_first_part():
    frags = static5(seq_id=7)
    records, _ = parse(f"{frags[1]}\n{position()}\n")
    assert isinstance(records[0], Rejected) and "without the fragments before it" in records[0].reason
    assert isinstance(records[1], Position)


def test_restarted_group_rejects_the_old_one():
    first = static5(275000001, seq_id=4)
    second = static5(275000002, seq_id=4)
    records, _ = parse("\n".join([first[0], second[0], second[1]]) + "\n")
    assert isinstance(records[0], Rejected) and "new message started" in records[0].reason
    assert isinstance(records[1], TrackedObject) and records[1].object_id == "MMSI:275000002"


def test_unavailable_values():
    records, _ = parse("\n".join([
        position(lat=91, lon=181),
        position(speed=102.3, course=360, heading=511),
        nmea({"type": 27, "mmsi": 275000027, "lat": 57.5, "lon": 21.0, "speed": 63, "course": 511})[0],
    ]) + "\n")
    assert isinstance(records[0], Rejected) and "lat 91 / lon 181" in records[0].reason
    p = records[1]
    assert (p.speed_kn, p.course_deg, p.heading_deg) == (None, None, None)
    long_range = records[2]
    assert long_range.attrs["msg_type"] == 27 and long_range.speed_kn is None and long_range.course_deg is None
    assert long_range.lat == pytest.approx(57.5, abs=0.01)


def test_class_b_extended_and_sar_aircraft():
    t19 = nmea({"type": 19, "mmsi": 275000019, "lat": 57.1, "lon": 23.9, "speed": 7.5, "course": 10.0,
                "heading": 12, "shipname": "LIGA", "ship_type": 36})[0]
    t9 = nmea({"type": 9, "mmsi": 111275001, "lat": 57.2, "lon": 24.1, "alt": 300, "speed": 120,
               "course": 90.0})[0]
    records, _ = parse(f"{t19}\n{t9}\n")
    pos19, obj19, sar = records
    assert isinstance(pos19, Position) and pos19.heading_deg == 12
    assert isinstance(obj19, TrackedObject) and obj19.name == "LIGA" and obj19.object_type == "sailing"
    assert sar.kind == "aircraft" and sar.attrs["altitude_m"] == 300 and sar.speed_kn == 120


def test_other_sentences_are_counted_not_quarantined():
    base_station = nmea({"type": 4, "mmsi": 2750000, "lat": 57.0, "lon": 24.0})[0]
    text = f"$GPRMC,123519,A,5703.0,N,02403.0,E,022.4,084.4,230394,003.1,W*6A\n\n{base_station}\n{position()}\n"
    records, fmt = parse(text)
    assert len(records) == 1 and isinstance(records[0], Position)
    assert fmt.stats["skipped"] == 2 and fmt.stats["skipped type 4"] == 1 and fmt.stats["blank"] == 1


def test_garbage_and_long_lines():
    text = "hello world\n" + "!AIVDM," + "x" * 10000 + "\n" + "\x00\xff\n" + position() + "\n"
    records, _ = parse(text)
    reasons = [r.reason for r in records if isinstance(r, Rejected)]
    assert len(reasons) == 3
    assert "not an AIS NMEA sentence" in reasons[0] and "longer than" in reasons[1]
    assert isinstance(records[-1], Position)
    assert [r.location.line for r in records] == [1, 2, 3, 4]


def test_no_tag_block_at_all_uses_the_received_time():
    records, _ = parse(position() + "\n")
    assert records[0].observed_at == RECEIVED and records[0].attrs["time_source"] == "received"


def test_bad_tag_time():
    records, _ = parse(tag("c:yesterday") + position() + "\n")
    assert isinstance(records[0], Rejected) and "not a unix time" in records[0].reason


def test_missing_fragment_at_end_of_file():
    frags = static5()
    records, _ = parse(frags[0] + "\n")
    assert len(records) == 1 and "file ended" in records[0].reason


def test_unix_time_appended_after_the_checksum():
    line = position()
    records, _ = parse(f"{line},{T0 + 60}\n{line},17145505000000x\n{tag(f'c:{T0}') + line},{T0 + 99}\n")
    first, bad, tagged = records
    assert first.observed_at == datetime(2024, 5, 1, 8, 1, tzinfo=timezone.utc)
    assert first.attrs["time_source"] == "line_suffix"
    assert isinstance(bad, Rejected) and "after the NMEA checksum" in bad.reason
    assert tagged.observed_at == datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)  # the tag block wins
