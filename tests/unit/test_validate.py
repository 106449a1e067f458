"""Central validation and the input checks (size, empty, binary, encodings, sniffing)."""

from __future__ import annotations

import codecs
import gzip
import io
from datetime import UTC, datetime, timedelta

import pytest

from ingest.formats.base import Event, Location, ParseOptions, Patrol, Position, Rejected, UnknownFormat, UnreadableFile
from ingest.formats.sniff import choose_format, prepare
from ingest.loading.validate import Validator, attrs_json
from ingest.settings import IngestSettings
from nsp.settings import GeoSettings

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def validator(**kw) -> Validator:
    return Validator(ParseOptions(timezone="Europe/Riga"), IngestSettings(**kw), GeoSettings(), now=NOW)


def event(**kw) -> Event:
    base = dict(source_ref="r1", category="ubc", occurred_at=NOW - timedelta(hours=1), lon=27.0, lat=56.0,
                location=Location("line", 7), raw="raw text")
    base.update(kw)
    return Event(**base)


def reason(rec) -> str:
    assert isinstance(rec, Rejected), rec
    assert str(rec.location) == "line 7" and rec.raw == "raw text"
    return rec.reason


def test_good_event_is_normalised():
    e = validator().check(event(impact="Very High", source_reliability="b", credibility="2",
                                direction="Entry", occurred_at=datetime(2026, 11, 22, 10, 0)))
    assert isinstance(e, Event)
    assert e.category == "unauthorised_border_crossing" and e.subtype == "ubc"
    assert e.impact == "very_high" and e.source_reliability == "B" and e.credibility == 2
    assert e.direction == "entry"
    assert e.occurred_at.utcoffset() == timedelta(hours=2)  # naive -> Europe/Riga (winter)


@pytest.mark.parametrize(
    "kw, expected",
    [
        ({"lon": 56.0, "lat": 27.0}, "latitude and longitude appear swapped"),
        ({"lon": 10.0, "lat": 50.0}, "outside the region of interest"),
        ({"lon": 27.0, "lat": 95.0}, "out of range"),
        ({"lon": None}, "coordinates are missing"),
        ({"lon": "east"}, "not numbers"),
        ({"lon": float("nan")}, "not finite"),
        ({"occurred_at": NOW + timedelta(hours=3)}, "3.0 h in the future"),
        ({"occurred_at": NOW - timedelta(days=5000)}, "older than"),
        ({"occurred_at": None}, "event time is missing"),
        ({"category": "picnic"}, "unknown category 'picnic'"),
        ({"category": None}, "category is missing"),
        ({"impact": "huge"}, "unknown impact"),
        ({"persons": -3}, "persons"),
        ({"persons": 2.5}, "whole number"),
        ({"credibility": 9}, "credibility"),
        ({"source_reliability": "Z"}, "source reliability"),
        ({"crossing_stage": "maybe"}, "crossing stage"),
        ({"evasion_attempt": "perhaps"}, "evasion attempt"),
    ],
)
def test_bad_events_are_rejected_with_an_actionable_reason(kw, expected):
    assert expected in reason(validator().check(event(**kw)))


def test_category_map_setting_and_latvian_terms():
    v = validator(category_map={"Zaļā robeža": "unauthorised_border_crossing"})
    assert v.check(event(category="zaļā robeža")).category == "unauthorised_border_crossing"
    assert v.check(event(category="Kontrabanda")).category == "cross_border_crime"
    assert v.check(event(category="drons")).category == "other"


def test_text_hygiene_nul_and_surrogates():
    e = validator().check(event(description="a\x00b", subtype="x\ud800y", attrs={"k": "v\x00", "n": float("inf")}))
    assert isinstance(e, Event)
    assert e.description == "a\ufffdb" and "\ud800" not in e.subtype
    assert "\\u0000" not in attrs_json(e.attrs) and '"n":null' in attrs_json(e.attrs)


def test_positions_and_patrols():
    v = validator()
    p = Position("MMSI:275000001", "vessel", NOW, 24.0, 57.0, Location("message", 3), "!AIVDM", speed_kn=12.0)
    assert isinstance(v.check(p), Position)
    bad = Position("MMSI:275000001", "submarine", NOW, 24.0, 57.0, Location("message", 3), "!AIVDM")
    assert "object kind" in v.check(bad).reason
    track = Patrol("p1", "RS-7", "foot", NOW - timedelta(hours=2), NOW - timedelta(hours=1),
                   [[(27.0, 56.0), (27.01, 56.01)], [(27.1, 56.1)]], Location("track", 1), "<trk>")
    checked = v.check(track)
    assert isinstance(checked, Patrol) and len(checked.segments) == 1  # one-point segment dropped
    swapped = Patrol("p2", "RS-7", "foot", NOW - timedelta(hours=2), NOW - timedelta(hours=1),
                     [[(27.0, 56.0), (56.0, 27.0)]], Location("track", 2), "<trk>")
    assert "segment 1 point 2" in v.check(swapped).reason


# --------------------------------------------------------------------- input checks


def prep(data: bytes, **kw):
    return prepare(io.BytesIO(data), "in.txt", kw.pop("max_bytes", 10**9), kw.pop("fallback", "cp1257"), **kw)


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", "empty"),
        (b"  \n\r\n ", "empty"),
        (b"\x00\x01\x02binary\x00", "NUL byte"),
        (gzip.compress(b"lat,lon\n", mtime=0), "gzip"),
        (b"PK\x03\x04rest", "zip"),
        (bytes(range(1, 31)) * 20, "control bytes"),
    ],
)
def test_unreadable_inputs(data, expected):
    with pytest.raises(UnreadableFile, match=expected):
        prep(data)


def test_size_limit_is_enforced_while_streaming():
    data = b"lat,lon,time\n" + b"56.9,24.1,2026-11-20T10:00:00Z\n" * 10000
    p = prep(data, max_bytes=len(data) - 1)
    with pytest.raises(UnreadableFile, match="NSP_INGEST_MAX_BYTES"):
        p.stream.read()
    assert prep(data, max_bytes=len(data)).stream.read() == data


def test_encodings_are_decoded_to_utf8():
    text = "Nr.;Platums;Garums;Laiks;Apraksts\n1;56,9;24,1;22.11.2026 10:00;Krāslava, Daugavpils ščūž\n"
    for data, label in [
        (text.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + text.encode("utf-8"), "utf-8-sig"),
        (text.encode("utf-16"), "utf-16"),
        (text.encode("cp1257"), "cp1257"),
    ]:
        p = prep(data)
        assert p.encoding == label
        assert p.stream.read().decode("utf-8") == text
        assert p.head.decode("utf-8").startswith("Nr.;")
    with pytest.raises(UnreadableFile, match="not UTF-8"):
        prep(text.encode("cp1257"), fallback=None)


def test_choose_format_by_content_and_name():
    assert choose_format(b'{"type":"FeatureCollection","features":[]}', "x.txt").name == "geojson"
    assert choose_format(b"lat;lon;time\n1;2;3\n", "export.csv").name == "csv"
    assert choose_format(b"lat;lon;time\n", None, "ndjson").name == "geojson"
    with pytest.raises(UnknownFormat, match="unknown format"):
        choose_format(b"", None, "shapefile")
    with pytest.raises(UnknownFormat, match="not a recognised feed format"):
        choose_format(b"hello world, nothing here", "notes.md")
