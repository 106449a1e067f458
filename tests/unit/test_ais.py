"""AIS NMEA parser: real-format sentences built with pyais's encoder."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import xor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.formats.ais import AisFormat
from ingest.formats.base import ParseOptions, Position, Rejected, TrackedObject, formats
from nsp.settings import ASSETS_DIR
from tests.support.feeds import nmea, position, static5, tag

SAMPLE = ASSETS_DIR / "samples" / "ais.nmea"
T0 = 1714550400  # 2024-05-01T08:00:00Z
RECEIVED = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)


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
    assert first.observed_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert (first.lat, first.lon) == pytest.approx((57.0512, 24.0321))
    assert first.speed_kn == pytest.approx(11.2) and first.course_deg == pytest.approx(301.5)
    assert first.heading_deg == 300 and first.status == "under way using engine"
    assert first.attrs["time_source"] == "tag_block" and first.attrs["station"] == "LV-RIGA"
    assert first.location.kind == "message" and first.location.line == 1
    assert first.raw.startswith("\\s:LV-RIGA")
    # class B position: heading 511 is "not available"
    assert positions[1].heading_deg is None and positions[1].attrs["msg_type"] == 18
    # no time of its own: not the previous tag block's, but the delivery time, said so
    assert positions[2].observed_at == RECEIVED
    assert positions[2].attrs["time_source"] == "received"
    assert fmt.stats["assumed_time"] == 1 and "times assumed: 1 AIS message" in fmt.warnings[0]
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
    assert records[0].observed_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
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
    assert first.observed_at == datetime(2024, 5, 1, 8, 1, tzinfo=UTC)
    assert first.attrs["time_source"] == "line_suffix"
    assert isinstance(bad, Rejected) and "after the NMEA checksum" in bad.reason
    assert tagged.observed_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)  # the tag block wins


# ---------------------------------------------------------------- times (issue 20)

REAL = __import__("pathlib").Path(__file__).parents[1] / "data" / "real" / "ais"


def parse_file(name: str, received=RECEIVED, **options) -> tuple[list, AisFormat]:
    fmt = AisFormat(ParseOptions(source="test", **options))
    fmt.received_at = received
    with (REAL / name).open("rb") as fh:
        return list(fmt.parse(fh)), fmt


def test_the_report_second_refines_the_reference_to_the_latest_matching_moment():
    ref = T0 + 5  # 08:00:05
    late = tag(f"c:{ref}") + position(second=58)  # made at :58, heard at 08:00:05 -> 07:59:58
    same = tag(f"c:{ref}") + position(second=5)
    unavailable = tag(f"c:{ref}") + position(second=60)
    records, _ = parse("\n".join([late, same, unavailable]) + "\n")
    assert [r.observed_at for r in records] == [
        datetime(2024, 5, 1, 7, 59, 58, tzinfo=UTC),
        datetime(2024, 5, 1, 8, 0, 5, tzinfo=UTC),
        datetime(2024, 5, 1, 8, 0, 5, tzinfo=UTC),
    ]


def test_a_tag_block_is_not_the_time_of_the_sentences_after_it():
    text = tag(f"c:{T0}") + position(second=0) + "\n" + position(mmsi=275123001, second=30) + "\n"
    (first, second), fmt = parse(text)
    assert first.observed_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert second.attrs["time_source"] == "received"  # not the tag block of the line before
    assert second.observed_at == datetime(2024, 5, 2, 11, 59, 30, tzinfo=UTC)
    assert fmt.stats["assumed_time"] == 1 and fmt.warnings


def test_the_operators_received_at_is_the_reference_without_a_warning():
    fmt = AisFormat(ParseOptions(source="test", received_at=datetime(2015, 4, 8, 12, 0, 10, tzinfo=UTC)))
    [rec] = list(fmt.parse(io.BytesIO((position(second=50) + "\n").encode())))
    assert rec.observed_at == datetime(2015, 4, 8, 11, 59, 50, tzinfo=UTC)
    assert rec.attrs["time_source"] == "operator" and not fmt.warnings


def test_nais_lines_keep_their_station_and_receiver_time():
    """USCG NAIS (libais's test data): station and unix time after the checksum. The refined
    time lies at or less than a minute before the logged unix time; the first report's is
    the receiver's own time of day (``t050056.00``)."""
    for name in ("libais_uscg_nais.nmea", "libais_uscg_stations.nmea"):
        records, fmt = parse_file(name)
        assert not [r for r in records if isinstance(r, Rejected)], name
        positions = [r for r in records if isinstance(r, Position)]
        assert positions and not fmt.warnings
        for p in positions:
            assert p.attrs["time_source"] == "line_suffix" and p.attrs["station"][0] in "rRbBD"
            unix = next(float(f) for f in p.raw.split("*", 1)[1].split(",")[1:] if f[:1].isdigit())
            assert 0 <= unix - p.observed_at.timestamp() < 60, p.raw  # at or before, by the second
    records, _ = parse_file("libais_uscg_nais.nmea")
    first = next(r for r in records if isinstance(r, Position))
    assert (first.object_id, first.observed_at) == ("MMSI:367033650", datetime(2012, 1, 1, 5, 0, 56, tzinfo=UTC))


def test_issue_example_nais_line():
    body = "AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0"
    line = f"!{body}*{reduce(xor, body.encode(), 0):02X},b003669952,1428451200"
    [rec], fmt = parse(line + "\n")
    assert rec.attrs == {"station": "b003669952", "time_source": "line_suffix", "msg_type": 1}
    # 1428451200 is 2015-04-08T00:00:00Z; the report was made at second 56, just before
    assert rec.observed_at == datetime(2015, 4, 7, 23, 59, 56, tzinfo=UTC) and not fmt.warnings


def test_lines_prefixed_by_a_time():
    records, fmt = parse_file("pyais_bracketed_time.log")
    positions = [r for r in records if isinstance(r, Position)]
    assert len(positions) == 6 and not fmt.warnings
    assert {p.attrs["time_source"] for p in positions} == {"line_prefix"}
    assert positions[0].observed_at.isoformat() <= "2024-07-19T08:45:27.141+00:00"
    assert positions[0].observed_at.isoformat() >= "2024-07-19T08:44:27.141+00:00"
    line = position(second=59)
    for prefix in (f"{T0 + 1}.25 ", f"{T0 + 1},", f"{(T0 + 1) * 1000};", "2024-05-01T08:00:01Z "):
        [rec], _ = parse(prefix + line + "\n")
        assert rec.observed_at == datetime(2024, 5, 1, 7, 59, 59, tzinfo=UTC), prefix
        assert rec.attrs["time_source"] == "line_prefix"


def test_receiver_formats_are_sniffed_as_ais():
    from ingest.formats.sniff import choose_format

    for path in sorted(REAL.iterdir()):
        if path.suffix == ".md":
            continue
        head = path.read_bytes()[:1024]
        assert AisFormat.sniff(head) >= 90, path.name
        assert choose_format(head, "capture.txt", None) is AisFormat, path.name


def test_a_short_type_24_is_quarantined_not_the_file():
    body = "AIVDM,1,1,,A,H477Vk,0"  # type 24, too short to say its part: pyais fails on vendorid
    short = f"!{body}*{reduce(xor, body.encode(), 0):02X}"
    records, _ = parse(short + "\n" + position() + "\n")
    assert isinstance(records[0], Rejected) and "cannot read the AIS message" in records[0].reason
    assert records[0].raw == short and isinstance(records[1], Position)


def test_comments_in_a_receiver_log_are_skipped():
    records, fmt = parse("# logged by a receiver\n" + position() + "\n")
    assert [type(r) for r in records] == [Position] and fmt.stats["skipped comment"] == 1


def test_plain_log_gives_every_distinct_position_its_own_key():
    """A receiver log without times (pyais's sample): one reference for all, so the reports
    differ by their second and their place; none of two distinct reports share a key."""
    records, fmt = parse_file("pyais_receiver_plain.nmea")
    positions = [r for r in records if isinstance(r, Position)]
    reports = {(p.object_id, p.lon, p.lat, p.raw) for p in positions}
    keys = {(p.object_id, p.observed_at, p.lon, p.lat) for p in positions}
    distinct = {(p.object_id, p.lon, p.lat, p.observed_at.second) for p in positions}
    assert len(keys) == len(distinct) and len(keys) > 2 * len({p.object_id for p in positions})
    assert len(reports) >= len(keys) and fmt.stats["assumed_time"] == len(positions)


def _report_line(mmsi: int, lat: float, lon: float, second: int, stamp: int | None) -> str:
    line = position(mmsi=mmsi, lat=lat, lon=lon, second=second)
    return (tag(f"s:RX,c:{stamp}") + line) if stamp is not None else line


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(0, 63),
                          st.one_of(st.none(), st.integers(0, 600)), st.booleans()),
                min_size=1, max_size=40),
       st.randoms(use_true_random=False))
def test_any_order_of_reports_and_tag_blocks_keeps_every_distinct_position_once(reports, rnd):
    """Reports of a few vessels (some repeated as they are, as two receivers would), with or
    without their own tag block, in any order: every distinct report has its own key
    (object, time, place) and the repeats share it; each time follows the rule."""
    lines, expected = [], {}
    for vessel, place, second, offset, repeat in reports:
        mmsi, lat, lon = 275000000 + vessel, 57.0 + place / 1000, 24.0 + place / 1000
        stamp = None if offset is None else T0 + offset
        line = _report_line(mmsi, lat, lon, second, stamp)
        reference = RECEIVED if stamp is None else datetime.fromtimestamp(stamp, UTC)
        back = (reference.second - second) % 60 if second < 60 else 0
        expected[line] = (f"MMSI:{mmsi}", reference - timedelta(seconds=back), round(lon, 4), round(lat, 4))
        lines += [line, line] if repeat else [line]
    rnd.shuffle(lines)
    records, _ = parse("\n".join(lines) + "\n")
    keys = [(r.object_id, r.observed_at, round(r.lon, 4), round(r.lat, 4)) for r in records]
    assert all(isinstance(r, Position) for r in records) and len(records) == len(lines)
    assert set(keys) == set(expected.values())
    assert sorted(keys) == sorted(expected[line] for line in lines)


def test_aishub_feed_with_group_tag_on_the_first_fragment_only():
    records, fmt = parse_file("aishub_feed.nmea")
    assert not [r for r in records if isinstance(r, Rejected)] and not fmt.warnings
    positions = [r for r in records if isinstance(r, Position)]
    assert [(p.object_id, p.attrs["station"]) for p in positions] == [
        ("MMSI:220486000", "3392"), ("MMSI:338427561", "2639"), ("MMSI:413807805", "3031")]
    # second 60 (not available): the tag block's time; second 28: four seconds before it
    assert positions[0].observed_at == datetime(2022, 5, 24, 22, 4, 32, tzinfo=UTC)
    assert positions[2].observed_at == datetime(2022, 5, 24, 22, 4, 28, tzinfo=UTC)
    hermes = next(r for r in records if isinstance(r, TrackedObject) and r.name == "HERMES")
    assert hermes.raw.count("\n") == 1 and hermes.attrs["destination"] == "TOWING IN AARHUS"


def test_received_at_option_reads_iso_in_the_zone_and_unix_seconds():
    import click

    from ingest.loading.ingest_cli import parse_received_at

    assert parse_received_at("1428451200", "Europe/Riga") == datetime(2015, 4, 8, tzinfo=UTC)
    assert parse_received_at("2015-04-08T12:00:00Z", "Europe/Riga") == datetime(2015, 4, 8, 12, tzinfo=UTC)
    assert parse_received_at("2015-04-08 14:00", "Europe/Riga") == datetime(2015, 4, 8, 11, tzinfo=UTC)
    for bad in ("2015", "yesterday", "2015-13-01T00:00:00Z"):
        with pytest.raises(click.BadParameter, match="--received-at|not a time"):
            parse_received_at(bad, "Europe/Riga")
