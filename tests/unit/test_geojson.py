"""GeoJSON parser: FeatureCollections and newline-delimited GeoJSON, streamed."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.formats import geojson
from ingest.formats.base import Event, ParseOptions, Rejected
from ingest.formats.geojson import GeoJSONFormat
from ingest.loading.validate import Validator, attrs_json

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
    assert first.occurred_at == datetime(2026, 11, 21, 0, 40, tzinfo=UTC)
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


# ------------------------------------------------------------ hostile features (issue 25)


def big_collection(mb: float, kind: str) -> bytes:
    """A collection whose first feature carries ``mb`` MB in one property, then a good one."""
    if kind == "array":
        n = int(mb * 1e6 / 22)
        prop = '"path":[' + ",".join(f"[{27 + i * 1e-6:.6f},{56 + i * 1e-6:.6f}]" for i in range(n)) + "]"
    else:  # one string full of escapes
        prop = '"note":"' + "x\\\"" * int(mb * 1e6 / 3) + '"'
    big = json.dumps(feature(1))[:-2] + "," + prop + "}}"
    return ('{"type":"FeatureCollection","features":[' + big + "," + json.dumps(feature(2)) + "]}").encode()


@pytest.mark.parametrize("kind", ["array", "string"])
def test_a_5_mb_feature_is_cut_out_in_linear_time(kind):
    data = big_collection(5, kind)
    started = time.process_time()
    records = parse(data)
    elapsed = time.process_time() - started
    assert [type(r) for r in records] == [Event, Event]
    assert records[1].source_ref == "F2" and records[1].location.number == 2
    assert elapsed < 2.0, f"{len(data) / 1e6:.1f} MB feature took {elapsed:.1f} s of CPU"  # was 5-10 s


def test_a_feature_over_the_size_limit_is_quarantined_and_the_next_one_loads(monkeypatch):
    monkeypatch.setattr(geojson, "MAX_FEATURE_BYTES", 256 * 1024)
    for kind in ("array", "string"):
        records = parse(big_collection(1.5, kind))
        assert [type(r) for r in records] == [Rejected, Event], kind
        assert "larger than" in records[0].reason and records[0].reason.endswith("not read")
        assert str(records[0].location) == "feature 1 (line 1)" and records[0].raw.startswith('{"type": "Feature"')
        assert records[1].source_ref == "F2" and str(records[1].location) == "feature 2 (line 1)"


@pytest.mark.parametrize("depth", [253, 260, 600, 5000])
def test_properties_nested_too_deep_quarantine_their_feature_only(depth):
    """orjson writes attrs up to 255 levels ('Recursion limit reached'), cleaning them
    recursed past Python's limit: the whole file failed. Now that feature is quarantined."""
    deep = feature(1)
    line = json.dumps(deep)[:-2] + ', "deep": ' + "[" * depth + "]" * depth + "}}"
    good = json.dumps(feature(2))
    for data in (line + "\n" + good + "\n",
                 '{"type": "FeatureCollection", "features": [' + line + ", " + good + "]}"):
        checked = [Validator().check(r) for r in parse(data)]
        if depth == 253:  # within what attrs can store: loaded
            assert [type(r) for r in checked] == [Event, Event] and attrs_json(checked[0].attrs)
            continue
        assert [type(r) for r in checked] == [Rejected, Event]
        assert "nested too deeply" in checked[0].reason or "depth limit exceeded" in checked[0].reason
        assert attrs_json(checked[1].attrs)  # what the pipeline writes for the good one



def test_epoch_milliseconds_and_kind_positions_in_geojson():
    from ingest.formats.base import Position
    from ingest.formats.fields import FieldMapping

    line = json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.1, 56.95]},
                       "properties": {"provider_epoch_ms": 1774405984735, "speed": 2.0, "status": "x"}})
    (event,) = parse(line.replace("provider_epoch_ms", "time") + "\n")  # by magnitude: ms
    assert isinstance(event, Event) and event.occurred_at.year == 2026 and event.category is None
    mapping = FieldMapping(columns={"observed_at": "provider_epoch_ms"}, defaults={"unit": "PHONE-1"},
                           kind="positions")
    (pos,) = parse(line + "\n", mapping=mapping)
    assert isinstance(pos, Position) and pos.object_id == "PHONE-1" and pos.status == "x"
    assert pos.observed_at == datetime.fromtimestamp(1774405984.735, UTC)
    events = FieldMapping(columns={"occurred_at": "provider_epoch_ms", "status": ""},
                          defaults={"category": "other"})
    (ev,) = parse(line + "\n", mapping=events)
    assert isinstance(ev, Event) and ev.category == "other" and ev.attrs["status"] == "x"
    assert ev.occurred_at == pos.observed_at


@pytest.mark.parametrize("read", [1, 2, 3, 5, 8, 13])
def test_strings_with_brackets_and_escapes_cut_at_any_read_boundary(monkeypatch, read):
    tricky = ['a]}', 'q\\"]}{[', 'back\\\\', '\\\\\\"', 'ünï[cödé]', '"', '\\u005d']
    features = [feature(i, note=text, **{"k]" + text: [1, {"x": "]"}]}) for i, text in enumerate(tricky)]
    data = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1)
    expected = parse(data)
    monkeypatch.setattr(geojson, "READ", read)
    got = parse(data)
    assert [type(r) for r in got] == [Event] * len(tricky) == [type(r) for r in expected]
    assert [r.attrs["note"] for r in got] == tricky
    assert [(r.source_ref, r.location) for r in got] == [(r.source_ref, r.location) for r in expected]
