"""Cursor on Target parser: ATAK-shaped messages, streams, broken and hostile XML."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

import ingest.cot as cot
from ingest.base import Event, ParseOptions, Position, Rejected, TrackedObject, formats
from ingest.cot import CotFormat, neutral_kind, suspect_subtype
from nsp.settings import ASSETS_DIR

SAMPLE = ASSETS_DIR / "samples" / "cot.cot.xml"


def event(uid="u-1", type_="a-h-G", time="2024-05-01T21:16:40Z", lat="55.88", lon="26.97",
          detail="", ce="9999999.0", extra="") -> str:
    point = f'<point lat="{lat}" lon="{lon}" hae="9999999.0" ce="{ce}" le="9999999.0"/>' if lat is not None else ""
    time_attr = f' time="{time}"' if time is not None else ""
    return (f'<event version="2.0" uid="{uid}" type="{type_}"{time_attr} start="{time}" '
            f'stale="2024-05-02T21:16:40Z" how="h-g-i-g-o"{extra}>{point}<detail>{detail}</detail></event>')


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
    assert pos.observed_at == datetime(2024, 5, 1, 21, 14, 5, 123000, tzinfo=timezone.utc)
    assert pos.speed_kn == pytest.approx(1.3 / 0.514444, abs=0.01) and pos.course_deg == 47.2
    assert pos.accuracy_m == 4.9 and "le_m" not in pos.attrs  # le 9999999 = unknown
    assert pos.stale_at == datetime(2024, 5, 1, 21, 20, 20, 123000, tzinfo=timezone.utc)
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
    assert cancel.status == "closed" and cancel.subtype == "emergency_cancelled"
    assert fence.category == "unauthorised_border_crossing" and fence.impact == "high"
    assert bell.category == "crisis_situation" and bell.subtype == "emergency_ring_the_bell"
    assert marker.category == "cross_border_crime" and marker.subtype == "suspect_person"


def test_tracked_object_only_when_details_change():
    contact = '<contact callsign="P1"/><__group name="Cyan" role="Team Member"/>'
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
    assert records[0].occurred_at == datetime(2024, 5, 1, 21, 16, 40, tzinfo=timezone.utc)


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
    from ingest.sniff import prepare

    decl = f'<?xml version="1.0" encoding="{encoding.upper()}" standalone="yes"?>\n'
    text = "".join(decl + event(uid=f"u{i}", detail="<remarks>Robežas josla, Šķaune</remarks>") + "\n"
                   for i in range(2))
    prepared = prepare(io.BytesIO(text.encode(encoding)), "x.cot", 10**9, "cp1257")
    records = list(CotFormat(ParseOptions()).parse(prepared.stream))
    assert [r.description for r in records] == ["Robežas josla, Šķaune"] * 2
