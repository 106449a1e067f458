"""Cursor on Target parser: ATAK-shaped messages, streams, broken and hostile XML."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import hypothesis
import pytest
from hypothesis import strategies as st

import ingest.formats.cot as cot
from ingest.formats.base import Closure, Event, ParseOptions, Position, Rejected, TrackedObject, formats
from ingest.formats.cot import CotFormat, neutral_kind, suspect_subtype
from nsp.settings import ASSETS_DIR
from tests.support.captures import real_cot
from tests.support.feeds import event

SAMPLE = ASSETS_DIR / "samples" / "cot.cot.xml"


def parse(data: str | bytes, **options) -> tuple[list, CotFormat]:
    fmt = CotFormat(ParseOptions(source="test", **options))
    raw = data.encode() if isinstance(data, str) else data
    return list(fmt.parse(io.BytesIO(raw))), fmt


def test_registered_and_sniffed():
    assert formats()["cot"] is CotFormat
    assert CotFormat.sniff(SAMPLE.read_bytes()[:1024], "x.cot.xml") >= 90
    assert CotFormat.sniff(b"<gpx><trk/></gpx>") == 0


def test_sample_atak_stream():
    with SAMPLE.open("rb") as fh:
        fmt = CotFormat(ParseOptions())
        records = list(fmt.parse(fh))
    pos, obj, marker, alert = records
    assert isinstance(pos, Position) and pos.kind == "own"
    assert pos.object_id == "ANDROID-8a3f2c1d9e7b6a50"
    assert pos.observed_at == datetime(2024, 5, 1, 21, 14, 5, 123000, tzinfo=UTC)
    assert pos.speed_kn == pytest.approx(1.3 / 0.514444, abs=0.01) and pos.course_deg == 47.2
    assert pos.accuracy_m == 4.9 and "le_m" not in pos.attrs  # le 9999999 = unknown
    assert pos.stale_at == datetime(2024, 5, 1, 21, 20, 20, 123000, tzinfo=UTC)
    assert pos.attrs["how"] == "m-g" and pos.attrs["group"] == "Cyan" and pos.attrs["battery"] == "83"
    assert pos.location.number == 1 and pos.location.line == 2
    assert isinstance(obj, TrackedObject) and obj.callsign == "SILENE-P1" and obj.kind == "own"
    assert obj.attrs["device"] == "SAMSUNG SM-T636B" and obj.attrs["role"] == "Team Lead"

    assert isinstance(marker, Event) and marker.category == "other"
    assert marker.subtype == "suspect_vehicle" and marker.impact == "medium"
    assert marker.source_ref == "5c1e0f7a-93d2-4b8e-a7f1-2d6c0b9e4a11"
    assert marker.accuracy_m is None  # ce 9999999
    assert marker.description.startswith("Dark van")
    assert marker.attrs["cot_time"] == "2024-05-01T21:16:40+00:00"
    assert marker.raw.startswith("<event") and marker.raw.endswith("</event>")

    assert isinstance(alert, Event) and alert.impact == "high"
    assert (alert.category, alert.subtype) == ("crisis_situation", "emergency_911")
    assert alert.source_ref == "ANDROID-8a3f2c1d9e7b6a50-9-1-1"
    assert alert.description == "911 Alert from SILENE-P1"
    assert alert.location.line == 6


@pytest.mark.parametrize("type_,subtype", [
    ("a-h-G-U-C", "suspect_person"),
    ("a-u-G-E-V", "suspect_vehicle"),
    ("a-s-G-E-V-C-c", "suspect_vehicle"),
    ("a-u-G", "suspect_person_or_vehicle"),
    ("a-h-G-I", "suspect_ground_object"),
    ("a-u-A-M-F-Q", "suspect_uav"),
    ("a-u-A-M-F-Q-r", "suspect_uav"),
    ("a-h-A-C-F", "suspect_aircraft"),
    ("a-s-S", "suspect_vessel"),
    ("a-u-U", "suspect_subsurface"),
    ("a-u-P", "suspect_space_object"),
    ("a-u", "suspect_object"),
])
def test_suspect_subtypes(type_, subtype):
    assert suspect_subtype(type_) == subtype


def test_neutral_tracks_are_positions():
    assert neutral_kind("a-n-S-C") == "vessel" and neutral_kind("a-n-A") == "aircraft"
    records, _ = parse(event(uid="ferry", type_="a-n-S-X-M"))
    assert isinstance(records[0], Position) and records[0].kind == "vessel"


def test_concatenated_stream_without_declarations_and_with_noise():
    stream = (event(uid="a") + "\n\n" + event(uid="b", type_="a-u-S")
              + "<!-- keepalive -->" + event(uid="c", type_="t-x-c-t") + event(uid="d", type_="a-u-A-M-F-Q"))
    records, fmt = parse(stream)
    assert [r.source_ref for r in records] == ["a", "b", "d"]
    assert [r.location.number for r in records] == [1, 2, 4]
    assert [r.location.line for r in records] == [1, 3, 3]
    assert fmt.stats["skipped"] == 1  # the ping


def test_garbage_between_events_is_rejected_alone():
    records, _ = parse(event(uid="a") + "\nHELLO GARBAGE\n" + event(uid="b"))
    assert [type(r) for r in records] == [Event, Rejected, Event]
    assert "outside any <event>" in records[1].reason and records[1].raw == "HELLO GARBAGE"
    assert records[1].location.line == 2


def test_truncated_event_followed_by_a_good_one():
    cut = event(uid="a")[:-30]
    records, _ = parse(cut + "\n" + event(uid="b"))
    assert isinstance(records[0], Rejected) and "no closing </event>" in records[0].reason
    assert records[0].raw == cut + "\n"
    assert isinstance(records[1], Event) and records[1].source_ref == "b"
    records, _ = parse(event(uid="a") + cut)
    assert isinstance(records[1], Rejected) and "no closing" in records[1].reason


BOMB = """<?xml version="1.0"?>
<!DOCTYPE event [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<event version="2.0" uid="bomb" type="a-h-G" time="2024-05-01T21:16:40Z"><point lat="55.9" lon="26.9"/><detail><remarks>&lol3;</remarks></detail></event>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE event [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<event version="2.0" uid="xxe" type="a-h-G" time="2024-05-01T21:16:40Z"><point lat="55.9" lon="26.9"/><detail><remarks>&xxe;</remarks></detail></event>
"""
EXTERNAL_DTD = """<!DOCTYPE event SYSTEM "http://example.invalid/cot.dtd">
<event version="2.0" uid="dtd" type="a-h-G" time="2024-05-01T21:16:40Z"><point lat="55.9" lon="26.9"/></event>
"""


@pytest.mark.parametrize("doc,words", [(BOMB, "entity"), (XXE, "entity"), (EXTERNAL_DTD, "external")])
def test_xml_bombs_and_external_entities_are_refused(doc, words):
    records, _ = parse(doc + event(uid="after"))
    assert isinstance(records[0], Rejected) and words in records[0].reason
    assert "root:" not in records[0].raw
    assert isinstance(records[1], Event) and records[1].source_ref == "after"


@pytest.mark.parametrize("kwargs,reason", [
    ({"time": None}, "no time"),
    ({"time": "yesterday"}, "not an ISO 8601 time"),
    ({"lat": "fifty-six"}, "lat='fifty-six' is not a number"),
    ({"lat": None}, "no <point>"),
    ({"lon": "nan"}, "not a finite number"),
    ({"uid": ""}, "no uid"),
])
def test_structurally_broken_values(kwargs, reason):
    records, _ = parse(event(**kwargs) + event(uid="ok"))
    assert isinstance(records[0], Rejected) and reason in records[0].reason
    assert records[1].source_ref == "ok"


def test_broken_xml_inside_an_event():
    bad = event(uid="x").replace("<detail>", "<detail><remarks>a < b</remarks>")
    records, _ = parse("\n" + bad)
    assert isinstance(records[0], Rejected) and records[0].reason.startswith("broken XML at line 2")


def test_alert_mapping_cancel_and_category_override():
    records, _ = parse(
        event(uid="u-9-1-1", type_="b-a-o-can", detail='<emergency cancel="true">P1</emergency>')
        + event(uid="g1", type_="b-a-g")
        + event(uid="x1", type_="b-a-o-pan")
        + event(uid="m1", type_="a-u-G-U"),
        category_map={"b-a-g": "unauthorised_border_crossing", "a-u-G": "cross_border_crime"},
    )
    cancel, fence, bell, marker = records
    assert isinstance(cancel, Closure) and cancel.source_ref == "u-9-1-1"
    assert cancel.reason == "cancelled by the source (b-a-o-can)"
    assert fence.category == "unauthorised_border_crossing" and fence.impact == "high"
    assert bell.category == "crisis_situation" and bell.subtype == "emergency_ring_the_bell"
    assert marker.category == "cross_border_crime" and marker.subtype == "suspect_person"


def test_tracked_object_only_when_details_change():
    contact = '<contact callsign="P1" endpoint="*:-1:stcp"/><__group name="Cyan" role="Team Member"/>'
    records, _ = parse(
        event(uid="d1", type_="a-f-G-U-C", detail=contact, time="2024-05-01T21:00:00Z")
        + event(uid="d1", type_="a-f-G-U-C", detail=contact, time="2024-05-01T21:00:05Z")
        + event(uid="d1", type_="a-f-G-U-C", detail=contact.replace("P1", "P1-B"), time="2024-05-01T21:00:10Z")
    )
    assert [type(r).__name__ for r in records] == [
        "Position", "TrackedObject", "Position", "Position", "TrackedObject"]
    assert records[4].callsign == "P1-B"
    assert len({r.observed_at for r in records if isinstance(r, Position)}) == 3


def test_naive_time_is_utc():
    records, _ = parse(event(time="2024-05-01T21:16:40"))
    assert records[0].occurred_at == datetime(2024, 5, 1, 21, 16, 40, tzinfo=UTC)


def test_splitting_across_tiny_chunks(monkeypatch):
    monkeypatch.setattr(cot, "CHUNK", 7)
    stream = "<?xml version='1.0'?>\n" + event(uid="a") + "\n  " + event(uid="b") + "junk" + event(uid="c")
    records, _ = parse(stream)
    assert [getattr(r, "source_ref", "R") for r in records] == ["a", "b", "R", "c"]
    assert records[1].location.line == 3


def test_oversized_event(monkeypatch):
    monkeypatch.setattr(cot, "MAX_EVENT", 400)
    monkeypatch.setattr(cot, "CHUNK", 64)
    big = event(uid="big", detail="<remarks>" + "x" * 1000 + "</remarks>")
    records, _ = parse(big + event(uid="after"))
    assert isinstance(records[0], Rejected) and "larger than" in records[0].reason
    assert records[-1].source_ref == "after"


def test_binary_garbage_and_empty():
    assert parse(b"")[0] == []
    records, _ = parse(b"\x00\x01\xff\xfe binary")
    assert len(records) == 1 and isinstance(records[0], Rejected)


def test_unreadable_encoding_declaration():
    records, _ = parse('<?xml version="1.0" encoding="shift_jis"?>\n<!-- x -->' + event(uid="a") + event(uid="b"))
    assert isinstance(records[0], Rejected) and "unsupported XML encoding" in records[0].reason
    assert records[1].source_ref == "b"


@pytest.mark.parametrize("encoding", ["windows-1257", "utf-16"])
def test_declared_encodings_through_the_pipeline_reader(encoding):
    from ingest.formats.sniff import prepare

    decl = f'<?xml version="1.0" encoding="{encoding.upper()}" standalone="yes"?>\n'
    text = "".join(decl + event(uid=f"u{i}", detail="<remarks>Robežas josla, Šķaune</remarks>") + "\n"
                   for i in range(2))
    prepared = prepare(io.BytesIO(text.encode(encoding)), "x.cot", 10**9, "cp1257")
    records = list(CotFormat(ParseOptions()).parse(prepared.stream))
    assert [r.description for r in records] == ["Robežas josla, Šķaune"] * 2


# ------------------------------------------------------------- real captures (tests/data/real/cot)

real = real_cot


@pytest.mark.parametrize("name,how", [
    ("atak_sa.cot.xml", "m-g"), ("itak_sa.cot.xml", "m-g"),
    ("wintak_sa_h-e.cot.xml", "h-e"),  # WinTAK without a GPS fix: still the device's own report
])
def test_a_devices_own_report_is_an_own_unit_whatever_its_how(name, how):
    records, _ = parse(real(name))
    pos, obj = records
    assert isinstance(pos, Position) and pos.kind == "own" and pos.attrs["how"] == how
    assert isinstance(obj, TrackedObject) and obj.kind == "own" and obj.callsign


def test_a_friendly_marker_placed_on_the_map_is_an_event_not_an_own_unit():
    # the iTAK marker (h-g-i-g-o, <archive/>, no endpoint) with a friendly affiliation
    marker = real("itak_marker.cot.xml").replace(b'type="a-u-G"', b'type="a-f-G"')
    records, _ = parse(marker)
    assert [type(r) for r in records] == [Event]
    [e] = records
    assert (e.category, e.subtype, e.impact) == ("other", "friendly_marker", "low")
    assert e.source_ref == "EB77220E-6299-4CA3-95FC-0200BD9FE78A" and e.attrs["cot_time"]
    # a client that adds its takv to a marker it places (WebTAK) still places a marker
    webtak = event(uid="w1", type_="a-f-G", detail='<contact callsign="F.16"/><takv platform="WebTAK"/><archive/>')
    assert [type(r) for r in parse(webtak)[0]] == [Event]
    # a gateway's machine-made fix without details is a position of the unit
    assert isinstance(parse(event(uid="h1", type_="a-f-A-M-H", extra="").replace('how="h-g-i-g-o"', 'how="m-g"'))[0][0],
                      Position)


def test_a_spot_map_marker_is_an_event_and_geochat_is_skipped_and_counted():
    [spot], _ = parse(real("atak_spot_map.cot.xml"))
    assert isinstance(spot, Event) and spot.subtype == "spot_marker" and spot.description == "R 1"
    records, fmt = parse(real("atak_geochat.cot.xml") + event(uid="ping", type_="t-x-c-t").encode())
    assert records == []
    assert fmt.stats["skipped"] == 2
    assert fmt.stats["skipped GeoChat message"] == 1 and fmt.stats["skipped ping"] == 1


def test_a_position_with_no_fix_is_quarantined_with_a_reason():
    records, _ = parse(event(uid="nofix", type_="a-h-G", lat="0.0", lon="0.0") + event(uid="ok"))
    assert isinstance(records[0], Rejected) and records[0].reason == cot.NO_FIX
    assert records[1].source_ref == "ok"
    # 0,0 with a known error is a position (the validator judges the region)
    assert isinstance(parse(event(uid="zero", lat="0.0", lon="0.0", ce="5.0"))[0][0], Event)


def test_a_delete_closes_the_item_its_link_names():
    # as ATAK sends it (node-CoT's ForceDelete, tests/data/real/cot/PROVENANCE.md): a point at
    # 0,0 that means nothing, and a link to the item
    delete = event(uid="any-uid", type_="t-x-d-d", lat="0.000000", lon="0.000000",
                   detail='<__forcedelete/><link uid="delete-uid" type="none" relation="none"/>')
    records, _ = parse(delete + event(uid="self-delete", type_="t-x-d-d"))
    assert [type(r) for r in records] == [Closure, Closure]
    assert records[0].source_ref == "delete-uid" and records[0].reason == "deleted by the source (t-x-d-d)"
    assert records[0].closed_at == datetime(2024, 5, 1, 21, 16, 40, tzinfo=UTC)
    assert records[1].source_ref == "self-delete"  # no link: the delete names itself


def test_an_emergency_says_it_may_reopen_its_uid():
    [alert], _ = parse(real("wearos_emergency.cot.xml"))
    assert alert.impact == "high" and "raised again" in alert.attrs["reopen_reason"]
    [marker], _ = parse(event(uid="m"))
    assert "reopen_reason" not in marker.attrs


def test_a_uid_over_512_bytes_is_quarantined_and_the_next_event_loads():
    records, _ = parse(event(uid="U" * 3000) + event(uid="ok")
                       + event(uid="d", type_="t-x-d-d", detail=f'<link uid="{"L" * 600}"/>'))
    assert isinstance(records[0], Rejected) and "uid of 3000 bytes is longer than the limit of 512" in records[0].reason
    assert records[1].source_ref == "ok"
    assert isinstance(records[2], Rejected) and "link uid of 600 bytes" in records[2].reason
    assert isinstance(parse(event(uid="ū" * 256))[0][0], Event)  # 512 bytes exactly


# ------------------------------------------------------------- TAK Protocol Version 1 (protobuf)

def _same(a, b) -> bool:
    keys = ("object_id", "kind", "observed_at", "lon", "lat", "accuracy_m", "speed_kn", "course_deg", "stale_at")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


@pytest.mark.parametrize("name", ["wintak_sa_mesh.takpb", "wintak_sa_stream.takpb"])
def test_tak_protocol_mesh_and_stream_read_as_the_xml_they_carry(name):
    records, _ = parse(real(name))
    xml, _ = parse(real("wintak_sa_h-e.cot.xml"))
    assert [type(r) for r in records] == [Position, TrackedObject]
    assert _same(records[0], xml[0]) and records[0].attrs == xml[0].attrs
    assert records[1].callsign == "Eliopoli HQ" and records[1].attrs["device"] == "LENOVO 20QV0007US"
    assert records[0].raw.startswith("<event") and 'endpoint="192.168.1.10:4242:tcp"' in records[0].raw
    assert CotFormat.sniff(real(name)[:1024]) >= 90


def _stream(*xml: bytes) -> bytes:
    import takproto

    return b"".join(bytes(takproto.xml2proto(x, takproto.TAKProtoVer.STREAM)) for x in xml)


def test_a_tak_stream_of_many_messages_loads_the_good_ones_and_quarantines_the_bad():
    good = _stream(real("atak_sa.cot.xml"), real("itak_marker.cot.xml"))
    garbage = b"\xbf\x05\xff\xff\xff\xff\xff"  # a frame protobuf cannot read
    truncated = _stream(real("itak_sa.cot.xml"))[:40]
    records, _ = parse(good + b"\n" + garbage + good[:good.index(b"\xbf", 1)] + truncated)
    kinds = [type(r).__name__ for r in records]
    assert kinds == ["Position", "TrackedObject", "Event", "Rejected", "Position", "Rejected"]
    assert "not a TAK protocol message" in records[3].reason and records[3].raw.startswith("ff ff")
    assert "truncated TAK message" in records[5].reason


def test_a_long_tak_stream_is_read_whole_whatever_the_read_sizes(monkeypatch):
    frames = _stream(real("atak_sa.cot.xml"), real("itak_marker.cot.xml")) * 50
    whole, _ = parse(frames)
    monkeypatch.setattr(cot, "CHUNK", 7)
    small, _ = parse(frames)
    assert len(whole) == 101 and [type(r) for r in small] == [type(r) for r in whole]
    assert all(not isinstance(r, Rejected) for r in whole)


def test_tak_protobuf_content_that_would_break_the_reader_is_that_messages_rejection():
    from takproto.proto import TakMessage

    def message(uid, send_time=1714598200000, xml_detail=""):
        m = TakMessage()
        ev = m.cotEvent
        ev.type, ev.uid, ev.how, ev.sendTime, ev.lat, ev.lon, ev.ce = "a-h-G", uid, "h-e", send_time, 56.9, 24.1, 5.0
        ev.detail.xmlDetail = xml_detail
        return m

    messages = [
        message("far", send_time=2**63),  # no datetime holds it
        message("broken", xml_detail="<remarks>a < b</remarks>"),
        message("bomb", xml_detail='<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>'),
        message("deep", xml_detail="<a>" * 5000 + "</a>" * 5000),  # deep, but nothing recurses on it
    ]
    frames = [bytes(m.SerializeToString()) for m in messages]
    data = b"".join(b"\xbf" + _varint_bytes(len(f)) + f for f in frames) + _stream(real("atak_sa.cot.xml"))
    records, _ = parse(data)
    assert [type(r).__name__ for r in records] == ["Rejected"] * 3 + ["Event", "Position", "TrackedObject"]
    assert "sendTime" not in records[0].reason and "not a time" in records[0].reason
    assert records[1].reason.startswith("broken XML") and 'uid="broken"' in records[1].raw
    assert "broken XML" in records[2].reason or "entity" in records[2].reason


def _varint_bytes(n: int) -> bytes:
    from ingest.delivery.listen import tak_frame

    return tak_frame(b"\0" * n)[1:-n]


def test_tak_protobuf_passes_the_readers_checks_and_binary_garbage_does_not():
    from ingest.formats.base import UnreadableFile
    from ingest.formats.sniff import choose_format, prepare

    data = _stream(real("atak_sa.cot.xml"), real("itak_sa.cot.xml"))
    prepared = prepare(io.BytesIO(data), "sa.takpb", 10**9, "cp1257")
    assert prepared.encoding == "tak-protobuf" and choose_format(prepared.head, "x.bin") is CotFormat
    assert len(list(CotFormat(ParseOptions()).parse(prepared.stream))) == 4
    with pytest.raises(UnreadableFile, match="binary"):
        prepare(io.BytesIO(b"\xbf\x05\x00\x01\x02\x03\x04 garbage"), "x.bin", 10**9, "cp1257")


@hypothesis.settings(max_examples=150, deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])
@hypothesis.given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255), st.sampled_from("fdit")),
                                 max_size=8))
def test_mutated_tak_streams_give_records_and_rejections_never_an_error(edits):
    """Real protobuf captures with bytes flipped, dropped, inserted or the stream cut: every
    message is a record, a rejection or skipped; the reader never raises."""
    data = bytearray(real("wintak_sa_stream.takpb") + _stream(real("atak_sa.cot.xml"), real("itak_marker.cot.xml"),
                                                              real("atak_spot_map.cot.xml")))
    for at, value, how in edits:
        i = at % len(data) if data else 0
        if how == "f" and data:
            data[i] = value
        elif how == "d" and data:
            del data[i]
        elif how == "i":
            data.insert(i, value)
        elif how == "t":
            del data[i:]
    records, fmt = parse(bytes(data))
    assert all(isinstance(r, (Event, Position, TrackedObject, Closure, Rejected)) for r in records)
    assert all(r.reason and isinstance(r.raw, str) for r in records if isinstance(r, Rejected))
