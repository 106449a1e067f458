"""Cursor on Target out (geo/cot_out.py): what ATAK is sent reads as CoT, through the CoT
schema's structure rules, nsp's own CoT parser and takproto as a second, independent reader."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import takproto
from defusedxml.ElementTree import fromstring

from geo import cot_out
from geo.cot_out import Style, argb, delete_message, event_message, event_stale, fingerprint, section_messages
from geo.symbology import LEVEL_COLOURS
from ingest.formats.base import Closure, Event, ParseOptions
from ingest.formats.cot import CotFormat
from nsp import vocab
from tests.support.cot_schema import check_event

NOW = datetime(2026, 12, 5, 21, 14, 5, 123456, tzinfo=UTC)
STYLE = Style(uid_prefix="ncc-lv", group="Dark Blue", role="HQ")


def row(**over) -> dict:
    base = dict(id=uuid.UUID("6d1b2c3e-0000-4000-8000-000000000001"), category="cross_border_crime",
                subtype="suspect_vehicle", impact="high", persons=3,
                description="Van & trailer <no plates>, heading east", section_code="LV-BY-01",
                occurred_at=NOW - timedelta(minutes=20), stale_at=None, lat=55.8812345, lon=26.9712345,
                accuracy_m=25.0)
    return base | over


def parse(data: bytes) -> tuple[list, CotFormat]:
    fmt = CotFormat(ParseOptions(source="tak"))
    return list(fmt.parse(io.BytesIO(data))), fmt


def test_an_event_is_a_marker_that_follows_the_cot_schema():
    msg = event_message(row(), STYLE, NOW, NOW + timedelta(minutes=11))
    assert check_event(msg) == []
    root = fromstring(msg)
    assert root.get("uid") == "ncc-lv.event.6d1b2c3e-0000-4000-8000-000000000001"
    assert root.get("type") == "a-h-G-E-V"  # cross-border crime: hostile; a suspect vehicle
    assert root.get("time") == "2026-12-05T21:14:05.123Z" and root.get("stale") == "2026-12-05T21:25:05.123Z"
    point = root.find("point")
    assert (point.get("lat"), point.get("lon"), point.get("ce")) == ("55.8812345", "26.9712345", "25.0")
    detail = root.find("detail")
    assert detail.find("contact").get("callsign") == "suspect vehicle LV-BY-01"
    assert detail.find("__group").attrib == {"name": "Dark Blue", "role": "HQ"}
    assert detail.find("remarks").text.splitlines() == [
        "Category: Cross-border crime", "Subtype: suspect vehicle", "Impact: high", "Persons: 3",
        "Section: LV-BY-01", "Occurred: 2026-12-05T20:54:05.123Z", "Van & trailer <no plates>, heading east"]


def test_the_cot_type_comes_from_the_vocabulary_both_ways():
    """The outbound type is derived from COT_TYPE_WORDS: read back with cot_type_words, it
    names what the subtype's words name."""
    assert vocab.cot_type_of("other", "suspect_uav") == "a-u-A-M-F-Q"
    assert vocab.cot_type_of("other", "vessel_border_crossing") == "a-u-S"
    assert vocab.cot_type_of("unauthorised_border_crossing", "group_crossing_attempt") == "a-u-G"
    assert vocab.cot_type_of("other", "friendly_marker") == "a-f-G"
    for code in vocab.SUBTYPE_WORDS:
        type_ = vocab.cot_type_of("other", code)
        words = vocab.cot_type_words(type_)
        assert words == "ground" or words.lower() in vocab.subtype_words(code).lower(), (code, type_)
    for category in vocab.CATEGORIES:
        assert vocab.cot_type_of(category, None)[:4] in ("a-u-", "a-h-")


def test_a_marker_reads_back_through_nsps_own_cot_parser():
    records, fmt = parse(event_message(row(), STYLE, NOW, NOW + timedelta(minutes=11)))
    (ev,) = records
    assert isinstance(ev, Event) and fmt.stats.get("rejected", 0) == 0
    assert ev.source_ref == "ncc-lv.event.6d1b2c3e-0000-4000-8000-000000000001"
    assert ev.subtype == "suspect_vehicle"  # a-h-G-E-V -> the parser's own mapping agrees
    assert (ev.lat, ev.lon, ev.accuracy_m) == (55.8812345, 26.9712345, 25.0)
    assert ev.stale_at == datetime(2026, 12, 5, 21, 25, 5, 123000, tzinfo=UTC)
    assert "Persons: 3" in ev.description and ev.description.endswith("Van & trailer <no plates>, heading east")
    assert ev.attrs["callsign"] == "suspect vehicle LV-BY-01" and ev.attrs["group"] == "Dark Blue"


def test_a_marker_reads_back_through_takproto():
    msg = event_message(row(), STYLE, NOW, NOW + timedelta(minutes=11))
    for version in (takproto.TAKProtoVer.STREAM, takproto.TAKProtoVer.MESH):
        tak = takproto.parse_proto(takproto.xml2proto(msg, version))
        ev = tak.cotEvent
        assert (ev.uid, ev.type, ev.how) == ("ncc-lv.event.6d1b2c3e-0000-4000-8000-000000000001", "a-h-G-E-V", "h-e")
        assert (ev.lat, ev.lon, ev.ce) == (55.8812345, 26.9712345, 25.0)
        assert ev.sendTime == int(datetime(2026, 12, 5, 21, 14, 5, 123000, tzinfo=UTC).timestamp() * 1000)
        assert ev.staleTime - ev.sendTime == 11 * 60 * 1000
        assert ev.detail.contact.callsign == "suspect vehicle LV-BY-01"
        assert (ev.detail.group.name, ev.detail.group.role) == ("Dark Blue", "HQ")
        assert "Impact: high" in ev.detail.xmlDetail  # remarks travel as XML detail


def test_a_section_is_a_line_coloured_by_its_level():
    section = {"code": "LV-BY-02", "name": "Piedruja", "impact_level": "critical",
               "parts": [[(27.0, 56.0), (27.1, 56.05), (27.2, 56.1)], [(27.3, 56.2)], [(27.4, 56.3), (27.5, 56.4)]]}
    messages = section_messages(section, STYLE, NOW, NOW + timedelta(minutes=11))
    assert list(messages) == ["ncc-lv.section.LV-BY-02.0", "ncc-lv.section.LV-BY-02.2"]  # a 1-point part is no line
    for msg in messages.values():
        assert check_event(msg) == []
    root = fromstring(messages["ncc-lv.section.LV-BY-02.0"])
    assert root.get("type") == "u-d-f"
    detail = root.find("detail")
    assert [lk.get("point") for lk in detail.findall("link")] == [
        "56.000000,27.000000", "56.050000,27.100000", "56.100000,27.200000"]
    assert int(detail.find("strokeColor").get("value")) == argb(LEVEL_COLOURS["critical"]) == -2680548
    assert detail.find("contact").get("callsign") == "LV-BY-02 Piedruja (critical)"
    # nsp's own parser counts a drawing as skipped, and takproto carries it
    records, fmt = parse(b"".join(messages.values()))
    assert records == [] and fmt.stats["skipped drawing"] == 2
    tak = takproto.parse_proto(takproto.xml2proto(messages["ncc-lv.section.LV-BY-02.0"], takproto.TAKProtoVer.STREAM))
    assert tak.cotEvent.type == "u-d-f" and "strokeColor" in tak.cotEvent.detail.xmlDetail


def test_a_level_change_changes_the_lines_fingerprint_and_a_new_time_does_not():
    section = {"code": "LV-BY-02", "name": "Piedruja", "impact_level": "high", "parts": [[(27.0, 56.0), (27.1, 56.1)]]}
    (first,) = section_messages(section, STYLE, NOW, NOW + timedelta(minutes=11)).values()
    (later,) = section_messages(section, STYLE, NOW + timedelta(minutes=3), NOW + timedelta(minutes=14)).values()
    (raised,) = section_messages(section | {"impact_level": "critical"}, STYLE, NOW, NOW).values()
    assert fingerprint(first) == fingerprint(later) != fingerprint(raised)


def test_a_closed_event_goes_as_a_delete_of_its_uid():
    msg = delete_message("ncc-lv.event.x", "a-h-G", STYLE, NOW)
    assert check_event(msg) == []
    root = fromstring(msg)
    assert root.get("type") == "t-x-d-d" and root.find("detail/__forcedelete") is not None
    assert root.find("detail/link").attrib == {"uid": "ncc-lv.event.x", "relation": "none", "type": "a-h-G"}
    (closure,), _fmt = parse(msg)
    assert isinstance(closure, Closure) and closure.source_ref == "ncc-lv.event.x"
    tak = takproto.parse_proto(takproto.xml2proto(msg, takproto.TAKProtoVer.STREAM))
    assert tak.cotEvent.type == "t-x-d-d" and 'uid="ncc-lv.event.x"' in tak.cotEvent.detail.xmlDetail


def test_stale_times_follow_the_events_state():
    keep = timedelta(minutes=11)
    assert event_stale(row(), NOW, keep) == NOW + keep  # nsp keeps it alive while it sends
    soon = NOW + timedelta(minutes=2)
    assert event_stale(row(stale_at=soon), NOW, keep) == soon  # the report's own stale time comes first
    assert event_stale(row(stale_at=NOW + timedelta(hours=2)), NOW, keep) == NOW + keep
    assert event_stale(row(stale_at=NOW - timedelta(seconds=1)), NOW, keep) is None  # gone stale: not sent


def test_long_report_text_is_cut_and_empty_fields_are_left_out():
    text = cot_out.remarks(row(description="x" * 5000, persons=None, subtype=None, section_code=None))
    assert "Persons" not in text and "Subtype" not in text and "Section" not in text
    assert text.endswith("…") and len(text.splitlines()[-1]) == cot_out.MAX_REMARKS


@pytest.mark.parametrize(("colour", "value"), [("#000000", -16777216), ("#ffffff", -1), ("#2e9e44", -13722044)])
def test_argb_is_atak_signed_colour(colour, value):
    assert argb(colour) == value


def test_a_rows_fingerprint_changes_with_what_its_marker_shows():
    assert cot_out.row_fingerprint(row()) == cot_out.row_fingerprint(row())
    for change in ({"impact": "very_high"}, {"persons": 4}, {"description": "now on foot"}, {"lat": 55.9},
                   {"stale_at": NOW}, {"subtype": "suspect_person"}):
        assert cot_out.row_fingerprint(row(**change)) != cot_out.row_fingerprint(row()), change


def test_report_text_that_xml_cannot_hold_still_makes_a_readable_message():
    """A control character in a report (a pasted terminal line) would make the whole marker
    unreadable; an </event> in the text must not end the event on a stream."""
    text = "bell\x07 esc\x1b[0m nul-ish\x01 tab\tok </event><event uid='x'> 🚤"
    msg = event_message(row(description=text, subtype="boat\x02trip"), STYLE, NOW, NOW + timedelta(minutes=1))
    assert check_event(msg) == [] and msg.count(b"</event>") == 1
    (ev,), fmt = parse(msg)
    assert ev.description.endswith("bell  esc [0m nul-ish  tab\tok </event><event uid='x'> 🚤")
    assert ev.attrs["callsign"] == "boat trip LV-BY-01"
    assert takproto.parse_proto(takproto.xml2proto(msg, takproto.TAKProtoVer.STREAM)).cotEvent.uid.startswith("ncc-lv")
