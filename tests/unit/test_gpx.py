"""GPX parser: Garmin / OsmAnd shaped tracks, waypoints, broken and hostile files."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from ingest.base import ParseOptions, Patrol, Position, Rejected, formats
from ingest.gpx import GpxFormat, mode_from_text
from nsp.settings import ASSETS_DIR

SAMPLE = ASSETS_DIR / "samples" / "gpx.gpx"
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1" creator="OsmAnd~ 4.7.6" '
        'xmlns:osmand="https://osmand.net">\n')


def trkpt(lat, lon, time, extra=""):
    t = f"<time>{time}</time>" if time is not None else ""
    return f'<trkpt lat="{lat}" lon="{lon}"><ele>120</ele>{t}{extra}</trkpt>\n'


def track(name="ZILUPE-P2", points=None, typ=None, start_minute=0, lat=56.38, lon=28.12):
    points = points if points is not None else [
        trkpt(lat + i * 0.001, lon + i * 0.001, f"2024-05-02T06:{start_minute + i:02d}:00Z") for i in range(4)]
    name_el = f"<name>{name}</name>" if name else ""
    type_el = f"<type>{typ}</type>" if typ else ""
    return f"<trk>{name_el}{type_el}<trkseg>\n{''.join(points)}</trkseg></trk>\n"


def wpt(lat, lon, time=None, name="W", desc=None, ext=""):
    parts = [f'<wpt lat="{lat}" lon="{lon}">']
    if time:
        parts.append(f"<time>{time}</time>")
    parts.append(f"<name>{name}</name>")
    if desc:
        parts.append(f"<desc>{desc}</desc>")
    parts.append(ext + "</wpt>\n")
    return "".join(parts)


def parse(body: str, head: str = HEAD, tail: str = "</gpx>\n", **options) -> tuple[list, GpxFormat]:
    fmt = GpxFormat(ParseOptions(source="test", **options))
    return list(fmt.parse(io.BytesIO((head + body + tail).encode()))), fmt


def test_registered_and_sniffed():
    assert formats()["gpx"] is GpxFormat
    assert GpxFormat.sniff(SAMPLE.read_bytes()[:1024], "a.gpx") >= 90
    assert GpxFormat.sniff(b"<event uid='x'/>") == 0


def test_sample_garmin_file():
    with SAMPLE.open("rb") as fh:
        records = list(GpxFormat(ParseOptions()).parse(fh))
    positions = [r for r in records if isinstance(r, Position)]
    (patrol,) = [r for r in records if isinstance(r, Patrol)]
    assert not [r for r in records if isinstance(r, Rejected)]
    assert records[-1] is patrol  # patrols come after their fixes
    assert len(positions) == 4
    assert patrol.unit == "SILENE-P1" and patrol.mode == "foot"
    assert patrol.source_ref == "SILENE-P1@2024-05-01T21:00:00Z"
    assert patrol.started_at == datetime(2024, 5, 1, 21, 0, tzinfo=timezone.utc)
    assert patrol.ended_at == datetime(2024, 5, 1, 21, 15, tzinfo=timezone.utc)
    assert patrol.segments[0][0] == (26.954312, 55.871204)
    assert patrol.location.line == 16 and "<name>SILENE-P1</name>" in patrol.raw
    first = positions[0]
    assert (first.object_id, first.kind, first.patrol_ref) == ("SILENE-P1", "own", patrol.source_ref)
    assert first.speed_kn == pytest.approx(1.31 / 0.514444, abs=0.01) and first.course_deg == 47.2
    assert first.attrs["ele_m"] == 121.4
    assert first.location.line == 25 and str(first.location) == "track 1 point 1 (line 25)"
    assert first.raw.startswith('<trkpt lat="55.871204"') and first.raw.endswith("</trkpt>")
    (obs,) = patrol.observations
    assert obs.name == "001" and obs.event_ref == "SIL-2024-0501-07"
    assert obs.observed_at == datetime(2024, 5, 1, 21, 16, 40, tzinfo=timezone.utc)
    assert obs.attrs["linked_by"] == "only" and obs.attrs["symbol"] == "Flag, Red"


def test_unit_from_option_and_refused_without_any():
    records, _ = parse(track(name=None), unit="LUDZA-7")
    assert records[-1].unit == "LUDZA-7" and records[0].object_id == "LUDZA-7"
    records, fmt = parse(track(name=None) + track(name="OK"))
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert len(rejected) == 1 and "no <name> and no unit" in rejected[0].reason
    assert rejected[0].location.kind == "track" and rejected[0].location.number == 1
    assert fmt.stats["points of refused tracks"] == 4
    assert [r.unit for r in records if isinstance(r, Patrol)] == ["OK"]


@pytest.mark.parametrize("typ,name,option,mode", [
    ("Driving", "P1", None, "vehicle"),
    ("boat", "P1", "vehicle", "boat"),
    (None, "P1", "aircraft", "aircraft"),
    (None, "Drone survey 3", None, "uav"),
    (None, "Laiva Ventspils", None, "boat"),
    (None, "P1", None, "foot"),
])
def test_mode(typ, name, option, mode):
    records, _ = parse(track(name=name, typ=typ), mode=option)
    assert records[-1].mode == mode


def test_mode_words():
    assert mode_from_text("Patrol car 2") == "vehicle"
    assert mode_from_text("kājām gar robežu") == "foot"
    assert mode_from_text("ACTIVE LOG") is None


def test_bad_points_are_rejected_one_by_one():
    points = [
        trkpt(56.38, 28.12, "2024-05-02T06:00:00Z"),
        trkpt("abc", 28.13, "2024-05-02T06:01:00Z"),
        trkpt(56.39, 28.14, None),
        trkpt(56.40, 28.15, "02.05.2024 06:03"),
        trkpt(56.41, 28.16, "2024-05-02T06:04:00Z"),
    ]
    records, _ = parse(track(points=points))
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert [r.location.number for r in rejected] == [2, 3, 4]
    assert "not numbers" in rejected[0].reason and 'lat="abc"' in rejected[0].raw
    assert "has no <time>" in rejected[1].reason
    assert "not an ISO 8601 time" in rejected[2].reason
    patrol = records[-1]
    assert len(patrol.segments[0]) == 2 and patrol.attrs["rejected_points"] == 3
    assert sum(isinstance(r, Position) for r in records) == 2


def test_one_point_is_not_a_patrol_but_still_a_position():
    records, _ = parse(track(points=[trkpt(56.38, 28.12, "2024-05-02T06:00:00Z")]))
    assert isinstance(records[0], Position)
    assert isinstance(records[1], Rejected) and "at least 2 timed points" in records[1].reason


def test_waypoints_link_by_time_then_space():
    body = (
        wpt(56.381, 28.121, "2024-05-02T06:02:00Z", name="by time", desc="Tracks in snow; event: EV-17.")
        + wpt(57.50, 27.50, None, name="by space")
        + wpt(56.30, 28.00, "2024-05-02T09:10:00Z", name="ext",
              ext="<extensions><nsp:event_ref xmlns:nsp='https://nsp.example/gpx/1'>EV-99</nsp:event_ref></extensions>")
        + track("A", start_minute=0)
        + track("B", start_minute=50, lat=57.50, lon=27.50)
    )
    records, _ = parse(body)
    patrols = {p.unit: p for p in records if isinstance(p, Patrol)}
    a_obs = {o.name: o for o in patrols["A"].observations}
    b_obs = {o.name: o for o in patrols["B"].observations}
    assert a_obs["by time"].event_ref == "EV-17" and a_obs["by time"].attrs["linked_by"] == "time"
    assert b_obs["by space"].attrs["linked_by"] == "space" and b_obs["by space"].attrs["distance_m"] < 10
    assert a_obs["ext"].event_ref == "EV-99"  # no track in time: the nearest one in space


def test_waypoints_without_tracks_are_rejected():
    records, _ = parse(wpt(56.0, 27.0, name="lonely"))
    assert len(records) == 1 and "no usable track" in records[0].reason
    assert "lonely" in records[0].raw and records[0].location.kind == "waypoint"


def test_gpx_10_speed_and_course():
    head = '<?xml version="1.0"?>\n<gpx version="1.0" creator="x" xmlns="http://www.topografix.com/GPX/1/0">\n'
    pts = [trkpt(56.38 + i / 1000, 28.12, f"2024-05-02T06:0{i}:00+03:00", "<course>90.5</course><speed>5</speed>")
           for i in range(2)]
    records, _ = parse(track(points=pts), head=head)
    assert records[0].course_deg == 90.5 and records[0].speed_kn == pytest.approx(9.72, abs=0.01)
    assert records[0].observed_at == datetime(2024, 5, 2, 3, 0, tzinfo=timezone.utc)


def test_osmand_extension_speed():
    pts = [trkpt(56.38 + i / 1000, 28.12, f"2024-05-02T06:0{i}:00Z",
                 "<extensions><osmand:speed>2.5</osmand:speed></extensions>") for i in range(2)]
    records, _ = parse(track(points=pts))
    assert records[0].speed_kn == pytest.approx(4.86, abs=0.01)


def test_truncated_file_keeps_what_was_read():
    full = HEAD + track("CUT")
    cut = full[: full.index("<trkpt", full.index("06:02")) + 3]
    records = list(GpxFormat(ParseOptions()).parse(io.BytesIO(cut.encode())))
    assert sum(isinstance(r, Position) for r in records) == 3
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert len(rejected) == 1 and "truncated" in rejected[0].reason
    assert isinstance(records[-1], Patrol) and records[-1].unit == "CUT"


def test_broken_xml_midway():
    records, _ = parse(track("A") + "<trk><name>B</name><trkseg><trkpt lat='1' lon='2'><time>x</tim></trkpt>" + track("C"))
    kinds = [type(r).__name__ for r in records]
    assert kinds.count("Position") == 4 and "Rejected" in kinds
    broken = next(r for r in records if isinstance(r, Rejected))
    assert "broken XML at line" in broken.reason and "rest of the file was not read" in broken.reason


BOMB_HEAD = """<?xml version="1.0"?>
<!DOCTYPE gpx [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
]>
<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1">
"""
XXE_HEAD = """<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1">
"""


@pytest.mark.parametrize("head,words", [(BOMB_HEAD, "XML bomb"), (XXE_HEAD, "XXE")])
def test_entities_refused(head, words):
    records, _ = parse(track("&b;"), head=head)
    assert len(records) == 1 and isinstance(records[0], Rejected)
    assert words in records[0].reason and records[0].location.kind == "file"


def test_harmless_doctype_is_read():
    head = '<?xml version="1.0"?>\n<!DOCTYPE gpx>\n' + HEAD.split("\n", 1)[1]
    records, _ = parse(track("A"), head=head)
    assert isinstance(records[-1], Patrol)


def test_not_gpx_and_empty():
    records, _ = parse("", head='<?xml version="1.0"?>\n<kml><Document/></kml>\n', tail="")
    assert len(records) == 1 and "not a GPX document" in records[0].reason
    assert list(GpxFormat(ParseOptions()).parse(io.BytesIO(b""))) == []
    records = list(GpxFormat(ParseOptions()).parse(io.BytesIO(b"\x00\xff\xfe garbage")))
    assert len(records) == 1 and isinstance(records[0], Rejected)


def test_minified_single_line_file():
    doc = (HEAD + track("MIN") + "</gpx>").replace("\n", "")
    records = list(GpxFormat(ParseOptions()).parse(io.BytesIO(doc.encode())))
    positions = [r for r in records if isinstance(r, Position)]
    assert len(positions) == 4 and isinstance(records[-1], Patrol)
    assert positions[1].raw.startswith("<trkpt") and positions[1].raw.count("<trkpt") == 1


@pytest.mark.parametrize("declared", ["UTF-16", "utf-16-le", "UCS-2"])
def test_utf16_transcoded_by_the_pipeline_keeps_a_stale_declaration(declared):
    from ingest.sniff import prepare

    src = SAMPLE.read_text(encoding="utf-8").replace('encoding="UTF-8"', f'encoding="{declared}"')
    prepared = prepare(io.BytesIO(src.encode("utf-16")), "x.gpx", 10**9, "cp1257")
    records = list(GpxFormat(ParseOptions()).parse(prepared.stream))
    assert isinstance(records[-1], Patrol) and not [r for r in records if isinstance(r, Rejected)]


@pytest.mark.parametrize("declared", ["shift_jis", "no-such-codec"])
def test_unreadable_encoding_declaration(declared):
    records, _ = parse(track("A"), head=HEAD.replace("UTF-8", declared))
    assert len(records) == 1 and "unsupported XML encoding" in records[0].reason


def test_bad_optional_track_field_keeps_the_track():
    records, _ = parse(track("A").replace("<name>A</name>", "<name>A</name><number>x</number>"))
    assert isinstance(records[-1], Patrol) and records[-1].unit == "A"
    assert "number" in records[-1].attrs["header_error"]
