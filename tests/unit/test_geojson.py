"""GeoJSON parser: FeatureCollections and newline-delimited GeoJSON, streamed."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.base import Event, ParseOptions, Rejected
from ingest.geojson import GeoJSONFormat

SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "samples"


def parse(data: bytes | str, **opts) -> list:
    if isinstance(data, str):
        data = data.encode()
    return list(GeoJSONFormat(ParseOptions(**opts)).parse(io.BytesIO(data)))


def feature(i: int, lon=27.0, lat=56.0, **props) -> dict:
    base = {"category": "ubc", "time": f"2026-11-20T10:{i % 60:02d}:00Z"}
    base.update(props)
    return {"type": "Feature", "id": f"F{i}", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": base}


def test_sample_collection_maps_english_and_latvian_properties():
    records = parse((SAMPLES / "events.geojson").read_bytes())
    assert [type(r) for r in records] == [Event, Event, Event]
    first, second, third = records
    assert first.source_ref == "LAT-2026-11-21-0042"
    assert first.category == "unauthorised_border_crossing"
    assert first.persons == 14 and first.impact == "high" and first.direction == "entry"
    assert first.occurred_at == datetime(2026, 11, 21, 0, 40, tzinfo=timezone.utc)
    assert (first.lon, first.lat) == (27.0718, 55.8712)
    assert first.attrs == {"camera": "TK-17"}  # unknown properties are kept
    assert str(first.location) == "feature 1 (line 6)"
    # Latvian property names: kategorija, laiks (day-first), ietekme, apraksts
    assert second.category == "kontrabanda" and second.impact == "vidējs"
    assert second.occurred_at == datetime(2026, 11, 21, 9, 15)  # naive: the validator applies the zone
    assert second.description.startswith("Cigarešu")
    assert third.parent_ref == "LAT-2026-11-21-0042"


def test_ndjson_bad_line_is_rejected_with_its_line_number_and_the_rest_loads():
    lines = [json.dumps(feature(i)) for i in range(5)]
    lines.insert(2, '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [27, 56]}, "properties": {')
    lines.insert(4, "")  # blank lines are skipped
    records = parse("\n".join(lines) + "\n")
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert len([r for r in records if isinstance(r, Event)]) == 5
    assert len(rejected) == 1
    assert str(rejected[0].location) == "line 3"
    assert "broken JSON" in rejected[0].reason
    assert rejected[0].raw.startswith('{"type": "Feature"')


def test_pretty_collection_with_a_broken_feature_keeps_the_others():
    feats = [json.dumps(feature(i), indent=2) for i in range(4)]
    feats[1] = feats[1].replace('"ubc"', "ubc")  # invalid JSON inside one feature
    doc = '{\n  "type": "FeatureCollection",\n  "features": [\n' + ",\n".join(feats) + "\n  ]\n}\n"
    records = parse(doc)
    assert [type(r).__name__ for r in records] == ["Event", "Rejected", "Event", "Event"]
    bad = records[1]
    assert bad.location.kind == "feature" and bad.location.number == 2
    assert bad.location.line == doc[: doc.index(feats[1])].count("\n") + 1
    assert "ubc" in bad.raw


def test_truncated_collection_loads_what_is_complete_and_reports_the_rest():
    doc = json.dumps({"type": "FeatureCollection", "features": [feature(i) for i in range(3)]})
    records = parse(doc[: len(doc) - 40])
    assert [type(r).__name__ for r in records] == ["Event", "Event", "Rejected"]
    assert "broken JSON" in records[-1].reason and "rest of the file" in records[-1].reason


def test_large_minified_collection_is_streamed_across_read_boundaries():
    n = 6000  # about 1.3 MB on one line: several reads of the scanner
    doc = json.dumps({"type": "FeatureCollection", "name": "x",
                      "features": [feature(i, description="ä\"}]{[" * (i % 3)) for i in range(n)],
                      "crs": {"type": "name"}})
    records = parse(doc)
    assert len(records) == n and all(isinstance(r, Event) for r in records)
    assert records[-1].source_ref == f"F{n - 1}"
    assert records[5].description == 'ä"}]{[' * 2


def test_geometry_rules():
    cases = {
        "poly": {"type": "Polygon", "coordinates": [[[27, 56], [27.1, 56], [27, 56.1], [27, 56]]]},
        "none": None,
        "short": {"type": "Point", "coordinates": [27]},
    }
    for key, geom in cases.items():
        rec = parse(json.dumps({"type": "Feature", "geometry": geom, "properties": {"category": "ubc",
                                                                                     "time": "2026-11-20T10:00:00Z"}}))[0]
        assert isinstance(rec, Rejected), key
    assert "Polygon" in parse(json.dumps({"type": "Feature", "geometry": cases["poly"], "properties": {}}))[0].reason
    # no geometry, but lat/lon properties
    rec = parse(json.dumps({"type": "Feature", "geometry": None,
                            "properties": {"category": "ubc", "time": "2026-11-20T10:00:00Z",
                                           "platums": "56,5", "garums": "25,1"}}))[0]
    assert isinstance(rec, Event) and (rec.lon, rec.lat) == (25.1, 56.5)


def test_single_feature_document_and_text_sequence():
    one = parse(json.dumps(feature(1), indent=1))
    assert len(one) == 1 and isinstance(one[0], Event)
    seq = "".join("\x1e" + json.dumps(feature(i)) + "\n" for i in range(3))
    assert [type(r) for r in parse(seq)] == [Event] * 3


def test_sniff():
    assert GeoJSONFormat.sniff(b'{"type": "FeatureCollection", "features": []}') >= 90
    assert GeoJSONFormat.sniff(b'{"type":"Feature","geometry":null}\n') >= 90
    assert GeoJSONFormat.sniff(b"lat;lon;time\n") == 0
    assert GeoJSONFormat.sniff(b"<gpx>") == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(data):
    for rec in parse(data):
        assert isinstance(rec, (Event, Rejected))


_valid = json.dumps({"type": "FeatureCollection", "features": [feature(i) for i in range(5)]}, indent=1)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(_valid)), st.integers(0, len(_valid)), st.text(max_size=8))
def test_mutated_collections_yield_only_records_or_rejections(a, b, junk):
    a, b = sorted((a, b))
    records = parse(_valid[:a] + junk + _valid[b:])
    assert all(isinstance(r, (Event, Rejected)) for r in records)
    assert sum(isinstance(r, Event) for r in records) <= 5 + 1


@pytest.mark.parametrize("cut", [10, 200, 400])
def test_truncated_ndjson_line(cut):
    text = "\n".join(json.dumps(feature(i)) for i in range(3))
    records = parse(text[: len(text) - cut] if cut < len(text) else text)
    assert all(isinstance(r, (Event, Rejected)) for r in records)
