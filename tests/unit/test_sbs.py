"""SBS-1 / BaseStation parser on real captures (tests/data/real/adsb, PROVENANCE.md)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from ingest.delivery.listen import Collector, stamp_sbs
from ingest.formats.base import Event, ParseOptions, Position, Rejected, TrackedObject
from ingest.formats.sbs import SbsFormat
from ingest.formats.sniff import choose_format
from tests.support.captures import SBS_EXAMPLES, SBS_T0, SBS_UNDATED, sbs_squawk_line, sbs_stamped

EXAMPLES, UNDATED, T0 = SBS_EXAMPLES, SBS_UNDATED, SBS_T0


def parse(data: bytes) -> tuple[list, SbsFormat]:
    parser = SbsFormat(ParseOptions())
    return list(parser.parse(io.BytesIO(data))), parser


def of(records, cls) -> list:
    return [r for r in records if isinstance(r, cls)]


def test_real_captures_are_sniffed_as_sbs():
    for path in (EXAMPLES, UNDATED):
        head = path.read_bytes()[:1024]
        assert choose_format(head, path.name.replace(".sbs", ".txt")).name == "sbs"


def test_every_record_and_message_type_of_the_basestation_examples():
    records, parser = parse(EXAMPLES.read_bytes())
    positions = of(records, Position)
    assert len(positions) == 1
    p = positions[0]
    assert (p.object_id, p.kind, p.lat, p.lon) == ("ICAO:4CA2D6", "aircraft", 51.45735, -1.02826)
    # the "generated" time, read as UTC
    assert p.observed_at == datetime(2008, 11, 28, 14, 53, 50, 594000, tzinfo=UTC)
    assert p.attrs["altitude_ft"] == 37000 and p.attrs["msg_type"] == 3 and p.attrs["on_ground"] is False
    static = of(records, TrackedObject)
    assert [(o.object_id, o.callsign) for o in static] == [("ICAO:7404F2", "RJA1118")]
    rejected = of(records, Rejected)
    # the MSG,2 example carries one comma too many: refused, not read with shifted fields
    assert [(r.location.number, r.reason) for r in rejected] == [(7, "SBS message with 23 fields, expected 22")]
    assert parser.stats["skipped"] == 5  # SEL, ID, AIR, STA, CLK
    assert not of(records, Event)


def test_undated_lines_are_quarantined_with_the_reason():
    records, _ = parse(UNDATED.read_bytes())
    assert len(records) == 64 and all(isinstance(r, Rejected) for r in records)
    assert all("no date and time" in r.reason and "nsp listen" in r.reason for r in records)


def test_fields_of_one_aircraft_are_merged_across_message_types():
    records, parser = parse(sbs_stamped())
    assert not of(records, Rejected)
    positions = of(records, Position)
    assert [(p.object_id, p.location.number) for p in positions] == [
        ("ICAO:ACE8BD", 17), ("ICAO:ACE8BD", 53), ("ICAO:A01C76", 64)]
    first, second, third = positions
    # line 17: altitude from its own line, no velocity message yet
    assert first.attrs["altitude_ft"] == 2825 and first.speed_kn is None and first.course_deg is None
    # line 53: the velocity of line 34 (MSG,4: 66 kn, track 300, +192 ft/min) is merged in
    assert (second.speed_kn, second.course_deg, second.attrs["vertical_rate_fpm"]) == (66, 300, 192)
    assert second.observed_at == datetime.fromtimestamp(T0 + 52 * 0.25, UTC)
    # line 64: A01C76 at 0 ft, velocity from line 61
    assert third.attrs["altitude_ft"] == 0 and (third.speed_kn, third.course_deg) == (101, 306)
    assert [(o.object_id, o.callsign) for o in of(records, TrackedObject)] == [
        ("ICAO:A1E88F", "N222BG"), ("ICAO:AC3B32", "SWA1797")]
    assert parser.stats["position without coordinates"] == 8  # lines 1, 21, 23, 26, 36, 39, 42, 62


def test_emergency_squawk_raises_one_event_at_the_next_position():
    position = EXAMPLES.read_bytes().splitlines()[7]  # MSG,3 of 4CA2D6 at 14:53:50.594
    data = b"\n".join([
        sbs_squawk_line("4CA2D6", "7700", "2008/11/28 14:53:49.000"),
        position,
        sbs_squawk_line("4CA2D6", "7700", "2008/11/28 14:53:51.000"),  # the same episode
        position.replace(b"14:53:50.594", b"14:53:52.000"),
        sbs_squawk_line("4CA2D6", "7500", "2008/11/28 14:53:53.000"),  # another squawk
        position.replace(b"14:53:50.594", b"14:53:54.000"),
        sbs_squawk_line("ABCDEF", "7600", "2008/11/28 14:53:55.000"),  # never placed
    ]) + b"\n"
    records, parser = parse(data)
    events = of(records, Event)
    assert [(e.subtype, e.category, e.impact) for e in events] == [
        ("aircraft_emergency_7700", "crisis_situation", "high"),
        ("aircraft_hijack_7500", "crisis_situation", "very_high")]
    first = events[0]
    assert first.source_ref == "squawk:4CA2D6:7700:2008-11-28"
    assert first.occurred_at == datetime(2008, 11, 28, 14, 53, 49, tzinfo=UTC)
    assert (first.lon, first.lat) == (-1.02826, 51.45735)
    assert (first.detection_method, first.attrs["sensor"]) == ("other", "ADS-B / Mode S")
    assert parser.stats["emergency_without_position"] == 1
    assert of(records, Position)[0].attrs["squawk"] == "7700"


def test_a_bad_line_is_quarantined_and_the_others_load():
    good = sbs_stamped().splitlines()
    bad = [
        b"MSG,3,,,ZZZZZZ,,2024/05/01,10:00:00.000,2024/05/01,10:00:00.000,,100,,,56.9,24.1,,,0,0,0,0",
        b"MSG,3,,,4CA2D6,,2024/05/01,10:00:00.000,2024/05/01,10:00:00.000,,high,,,56.9,24.1,,,0,0,0,0",
        b"MSG,3,,,4CA2D6,,2024/13/01,10:00:00.000,2024/05/01,10:00:00.000,,100,,,56.9,24.1,,,0,0,0,0",
        b"MSG,6,,,4CA2D6,,2024/05/01,10:00:00.000,2024/05/01,10:00:00.000,,,,,,,,7800,0,0,0,0",
        b"MSG,9,,,4CA2D6,,2024/05/01,10:00:00.000,2024/05/01,10:00:00.000,,100,,,56.9,24.1,,,0,0,0,0",
        b"\xff\xfe not a message at all",
        b"MSG,3,,,4CA2D6,,2024/05/01,10:00:00.000,2024/05/01,10:00:00.000,,100,,,nan,24.1,,,0,0,0,0",
    ]
    records, _ = parse(b"\n".join(good[:20] + bad + good[20:]) + b"\n")
    rejected = of(records, Rejected)
    assert [r.location.number for r in rejected] == list(range(21, 28))
    reasons = [r.reason for r in rejected]
    assert "aircraft address 'ZZZZZZ'" in reasons[0]
    assert "altitude 'high' is not a number" in reasons[1]
    assert "2024/13/01 10:00:00.000" in reasons[2]
    assert "squawk '7800' is not four octal digits" in reasons[3]
    assert "transmission type '9'" in reasons[4]
    assert "not an SBS message" in reasons[5]
    assert "latitude 'nan' is not a number" in reasons[6]
    assert rejected[1].raw == bad[1].decode()
    assert len(of(records, Position)) == 3


def test_listener_stamps_only_undated_lines():
    dated = EXAMPLES.read_bytes().splitlines()[7]
    assert stamp_sbs(dated, T0) == dated
    undated = UNDATED.read_bytes().splitlines()[16]
    fields = stamp_sbs(undated, T0 + 0.5).split(b",")
    assert fields[6:10] == [b"2024/05/01", b"10:00:00.500", b"2024/05/01", b"10:00:00.500"]
    assert stamp_sbs(b"garbage", T0) == b"garbage"


def test_collector_writes_sbs_files_with_the_time_of_reception(tmp_path):
    collector = Collector(tmp_path, "sbs", "sbs", max_records=1000)
    collector.add(UNDATED.read_bytes().splitlines()[:17], received=T0)
    path = collector.flush(final=True)
    assert path.suffix == ".sbs"
    records, _ = parse(path.read_bytes())
    (position,) = of(records, Position)
    assert position.observed_at == datetime.fromtimestamp(T0, UTC)


def test_every_emergency_subtype_has_words():
    from ingest.formats.sbs import EMERGENCY_SQUAWKS
    from nsp.vocab import SUBTYPE_WORDS, subtype_words

    for squawk, emergency in EMERGENCY_SQUAWKS.items():
        assert emergency.subtype in SUBTYPE_WORDS and squawk in subtype_words(emergency.subtype)
