"""nsp listen's framing, AIS time stamps and flushing, without sockets (tests/integration/
test_listen.py runs the real command over UDP and TCP into PostGIS)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from ingest.delivery.listen import (
    FLUSH_BYTES,
    HELD_FLUSHES,
    Collector,
    CotFramer,
    LineFramer,
    ListenError,
    parse_address,
    stamp_ais,
)
from ingest.formats.ais import AisFormat
from ingest.formats.base import ParseOptions, Position, TrackedObject
from ingest.formats.cot import CotFormat
from tests.support.feeds import SA_DETAIL, event, position, static5, tag

STAMP = 1764680000.7  # 2025-12-02T12:53:20.7Z


def test_lines_are_cut_where_they_end_whatever_the_reads():
    f = LineFramer(1000)
    assert f.feed(b"!AIVDM,1,1,,A,abc,0*00\r\n!AIV") == [b"!AIVDM,1,1,,A,abc,0*00"]
    assert f.feed(b"DM,1,1,,B,def,0*") == []
    assert f.feed(b"11\n\n  \r\n") == [b"!AIVDM,1,1,,B,def,0*11"]
    assert f.feed(b"half a line") == [] and f.rest() == [b"half a line"] and f.rest() == []


def test_an_overlong_message_is_passed_on_not_held_for_ever():
    f = LineFramer(300)
    assert f.feed(b"x" * 200) == []
    assert f.feed(b"y" * 200) == [b"x" * 200 + b"y" * 200]  # the parser quarantines it with its text
    assert f.buffer == b""


def test_cot_events_are_cut_at_their_end_tag():
    one, two = event(uid="a"), event(uid="b")
    stream = ('<?xml version="1.0" encoding="UTF-8"?>\n' + one + "\n" + two).encode()
    f = CotFramer(100_000)
    cut = len(stream) - 20
    first = f.feed(stream[:cut])
    assert first == [('<?xml version="1.0" encoding="UTF-8"?>\n' + one).encode()]
    assert f.feed(stream[cut:]) == [two.encode()] and f.rest() == []
    assert f.feed(b"<event uid='broken'><point") == [] and f.rest() == [b"<event uid='broken'><point"]


def _parse_ais(text: bytes) -> list:
    fmt = AisFormat(ParseOptions(source="test"))
    fmt.received_at = datetime(2000, 1, 1, tzinfo=UTC)  # would show if the stamp were not read
    return list(fmt.parse(io.BytesIO(text)))


def test_ais_without_a_time_gets_its_reception_time_as_a_tag_block_the_parser_reads():
    stamped = stamp_ais(position().encode(), STAMP)
    assert stamped.startswith(b"\\c:1764680000*") and stamped.endswith(position().encode())
    [rec] = _parse_ais(stamped + b"\n")
    assert isinstance(rec, Position)
    # the stamp is the reference; the report's own UTC second (0) puts it 20 s before
    assert rec.observed_at == datetime(2025, 12, 2, 12, 53, 0, tzinfo=UTC)
    assert rec.attrs["time_source"] == "tag_block"


def test_ais_that_has_a_time_is_left_as_it_came():
    with_tag = (tag("s:LV-RIGA,c:1714550400") + position()).encode()
    with_suffix = position().encode() + b",1714550400"
    assert stamp_ais(with_tag, STAMP) == with_tag
    assert stamp_ais(with_suffix, STAMP) == with_suffix
    assert stamp_ais(b"garbage", STAMP) == b"garbage"  # not a sentence: the parser says so


def _files(path):
    return sorted(p for p in path.iterdir())


def test_a_flush_writes_one_complete_file_and_never_splits_a_fragment_group(tmp_path):
    c = Collector(tmp_path, "ais", "ais", max_records=1000)
    first, second = (s.encode() for s in static5(seq_id=4))
    c.add([position().encode(), first], received=STAMP)
    written = c.flush()
    assert written is not None and [p.name for p in _files(tmp_path)] == [written.name]  # no .part left
    assert written.name.startswith("ais-") and written.suffix == ".nmea"
    assert written.read_bytes().count(b"\n") == 1  # the position; fragment 1 of 2 waits
    c.add([second], received=STAMP + 1)
    later = c.flush()
    records = _parse_ais(later.read_bytes())
    assert [type(r) for r in records] == [TrackedObject]  # the two fragments together
    assert c.files == 2 and c.written == 3


def test_a_group_whose_last_fragment_never_comes_is_written_after_a_while(tmp_path):
    c = Collector(tmp_path, "ais", "ais", max_records=1000)
    c.add([static5(seq_id=5)[0].encode()], received=STAMP)
    for _ in range(HELD_FLUSHES):
        assert c.flush() is None
    lost = c.flush()
    assert lost is not None and c.messages == []
    [rec] = _parse_ais(lost.read_bytes())
    assert "incomplete" in rec.reason  # quarantined with its text, not dropped


def test_the_final_flush_writes_everything_and_max_records_flushes_early(tmp_path):
    c = Collector(tmp_path, "ais", "ais", max_records=3)
    c.add([static5(seq_id=6)[0].encode()], received=STAMP)
    assert c.flush(final=True) is not None and c.messages == []
    c.add([position(mmsi=275000000 + i).encode() for i in range(4)], received=STAMP)
    assert c.files == 2 and c.messages == []  # written at once: 4 >= 3
    big = Collector(tmp_path, "geojson", "big", max_records=1000)
    big.add([b"x" * (FLUSH_BYTES // 2)])
    assert big.files == 0 and big.held_bytes == FLUSH_BYTES // 2
    big.add([b"y" * (FLUSH_BYTES // 2)])
    assert big.files == 1 and big.held_bytes == 0  # memory stays bounded whatever the count


def test_cot_files_are_read_by_the_cot_parser(tmp_path):
    c = Collector(tmp_path, "cot", "tak", max_records=100)
    c.add([event(uid="x-1").encode(), event(uid="x-2", type_="a-f-G-U-C", detail=SA_DETAIL).encode()])
    path = c.flush()
    assert path.name.startswith("tak-") and path.suffix == ".cot"
    records = list(CotFormat(ParseOptions(source="test")).parse(io.BytesIO(path.read_bytes())))
    kinds = sorted(type(r).__name__ for r in records)
    assert kinds == ["Event", "Position", "TrackedObject"]  # hostile: an event; friendly: a position


@pytest.mark.parametrize("value,expected", [
    ("10110", ("127.0.0.1", 10110, False)),
    ("0.0.0.0:4242", ("0.0.0.0", 4242, False)),
    ("[::1]:8087", ("::1", 8087, False)),
    ("239.2.3.1:6969", ("239.2.3.1", 6969, True)),
])
def test_addresses(value, expected):
    a = parse_address(value, "127.0.0.1")
    assert (a.host, a.port, a.multicast) == expected


@pytest.mark.parametrize("value", ["port", "1.2.3.4:x", "70000"])
def test_bad_addresses_are_refused_clearly(value):
    with pytest.raises(ListenError, match="port"):
        parse_address(value, "127.0.0.1")


def test_when_the_folder_cannot_be_written_the_messages_wait_for_the_next_flush(tmp_path, monkeypatch):
    """Disk full, folder gone: the listener keeps what it received and writes it once it can;
    beyond HOLD_BYTES the oldest go (counted), so that it never dies of memory."""
    import ingest.delivery.listen as listen

    blocked = tmp_path / "inbox"
    blocked.write_text("a file where the folder should be")
    c = Collector(blocked, "geojson", "feed", max_records=2)
    c.add([b'{"n": 1}', b'{"n": 2}', b'{"n": 3}'])  # max_records reached: a write is tried, and fails
    assert c.failing and c.files == 0 and c.messages == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
    c.add([b'{"n": 4}'])  # no new attempt for each message while failing
    assert c.files == 0 and len(c.messages) == 4
    blocked.unlink()
    blocked.mkdir()  # the folder is back
    path = c.flush()
    assert path.read_bytes() == b'{"n": 1}\n{"n": 2}\n{"n": 3}\n{"n": 4}\n' and not c.failing
    assert not list(blocked.glob("*.part"))

    monkeypatch.setattr(listen, "HOLD_BYTES", 10)
    gone = Collector(tmp_path / "missing" / "deeper", "geojson", "feed", max_records=100)
    gone.add([b"a" * 6, b"b" * 6, b"c" * 6])
    assert gone.flush() is None and gone.dropped == 2 and gone.messages == [b"c" * 6]  # the newest kept


# ------------------------------------------------- TAK Protocol Version 1 (protobuf) on the wire

def _tak(xml: bytes, version) -> bytes:
    import takproto

    return bytes(takproto.xml2proto(xml, version))


def test_a_mesh_datagram_is_kept_as_a_framed_message_the_parser_reads():
    from ingest.delivery.listen import tak_frame
    from tests.support.captures import real_cot as real

    mesh = real("wintak_sa_mesh.takpb")  # a WinTAK beacon as it came on the SA multicast
    [frame] = CotFramer.datagram(mesh, 65536)
    assert frame == tak_frame(mesh[3:]) == real("wintak_sa_stream.takpb")
    [xml] = CotFramer.datagram(event(uid="x").encode(), 65536)  # XML datagrams as before
    assert xml == event(uid="x").encode()


def test_a_tcp_stream_switching_from_xml_to_protobuf_is_cut_into_whole_messages():
    import takproto

    from tests.support.captures import real_cot as real

    one, two = (_tak(real(n), takproto.TAKProtoVer.STREAM) for n in ("atak_sa.cot.xml", "itak_sa.cot.xml"))
    stream = event(uid="xml-first").encode() + b"\n" + one + two
    f = CotFramer(65536)
    got = []
    for i in range(0, len(stream), 7):  # any read sizes
        got += f.feed(stream[i:i + 7])
    assert got == [event(uid="xml-first").encode(), one, two] and f.rest() == []


def test_a_protobuf_message_over_the_limit_is_dropped_whole_and_the_stream_stays_in_step():
    import takproto

    from tests.support.captures import real_cot as real

    good = _tak(real("atak_sa.cot.xml"), takproto.TAKProtoVer.STREAM)
    big = b"\xbf" + bytes([0x80 | (5000 & 0x7F), 5000 >> 7]) + b"\x12" * 5000
    f = CotFramer(1000)
    assert f.feed(big[:3000]) == [] and f.feed(big[3000:] + good) == [good]
    cut = good[:30]
    assert f.feed(cut) == [] and f.rest()[0].startswith(b"\xbf")  # cut short: framed for the parser


def test_cot_that_came_as_xml_and_as_protobuf_is_written_into_two_files_both_read(tmp_path):
    import takproto

    from tests.support.captures import real_cot as real

    c = Collector(tmp_path, "cot", "tak", max_records=100)
    c.add(CotFramer.datagram(real("wintak_sa_mesh.takpb"), 65536)
          + CotFramer.datagram(_tak(real("itak_sa.cot.xml"), takproto.TAKProtoVer.MESH), 65536)
          + CotFramer.datagram(b"\xbf\x01\xbf\xff\xff garbage", 65536)
          + CotFramer.datagram(event(uid="x-1").encode(), 65536))
    c.flush()
    files = _files(tmp_path)
    assert [p.suffix for p in files] == [".cot", ".takpb"] and c.files == 2 and c.written == 4
    kinds = []
    for path in files:
        records = list(CotFormat(ParseOptions(source="test")).parse(io.BytesIO(path.read_bytes())))
        kinds += [type(r).__name__ for r in records]
    assert kinds == ["Event", "Position", "TrackedObject", "Position", "TrackedObject", "Rejected"]


def test_the_listener_stamps_only_what_carries_no_time():
    """A NAIS line (station and unix time after the checksum) and a line with a time in front
    keep their own; a tag block without ``c:`` gets one added, with a valid checksum."""
    nais = position().encode() + b",b003669952,1428451200"
    prefixed = b"1428451200.5 " + position().encode()
    station_only = (tag("s:LV-RIGA") + position()).encode()
    assert stamp_ais(nais, STAMP) == nais
    assert stamp_ais(prefixed, STAMP) == prefixed
    stamped = stamp_ais(station_only, STAMP)
    assert stamped == (tag("s:LV-RIGA,c:1764680000") + position()).encode()
    broken = station_only.replace(b"RIGA", b"RIGX")  # its checksum no longer fits: left for the parser
    assert stamp_ais(broken, STAMP) == broken
    [rec] = _parse_ais(stamped + b"\n")
    assert rec.attrs["station"] == "LV-RIGA" and rec.attrs["time_source"] == "tag_block"
    assert rec.observed_at == datetime(2025, 12, 2, 12, 53, 0, tzinfo=UTC)
    [rec] = _parse_ais(nais + b"\n")
    assert rec.attrs["station"] == "b003669952" and rec.observed_at.year == 2015


def test_the_collector_stamps_each_line_by_the_same_rule(tmp_path):
    nais = position().encode() + b",b003669952,1428451200"
    station_only = (tag("s:LV-RIGA") + position()).encode()
    plain = position().encode()
    collector = Collector(tmp_path, "ais", "rx", 1000)
    collector.add([nais, station_only, plain], received=STAMP)
    assert collector.messages == [nais, stamp_ais(station_only, STAMP), stamp_ais(plain, STAMP)]
    assert collector.messages[2].startswith(b"\\c:1764680000*")
