"""GPX parser: Garmin / OsmAnd shaped tracks, waypoints, broken and hostile files."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.formats.base import ParseOptions, Patrol, Position, Rejected, SourceObservation, formats
from ingest.formats.gpx import GpxFormat, mode_from_text
from ingest.settings import ingest_settings
from nsp.settings import ASSETS_DIR
from tests.support.feeds import HEAD, track, trkpt, wpt

SAMPLE = ASSETS_DIR / "samples" / "gpx.gpx"


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
    assert patrol.started_at == datetime(2024, 5, 1, 21, 0, tzinfo=UTC)
    assert patrol.ended_at == datetime(2024, 5, 1, 21, 15, tzinfo=UTC)
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
    assert obs.observed_at == datetime(2024, 5, 1, 21, 16, 40, tzinfo=UTC)
    assert obs.attrs["linked_by"] == "time+space" and obs.attrs["symbol"] == "Flag, Red"
    assert obs.attrs["distance_m"] < 2000


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


def test_a_point_the_validator_would_refuse_is_left_out_of_its_track_not_the_track_with_it():
    # One point at year 9999 (no zone: UTC) made the patrol end then, and the validator refused
    # the whole patrol; with a waypoint to link, the year-9999 end overflowed and the reader
    # stopped (found by make fuzz). A point older than NSP_INGEST_MAX_AGE_DAYS likewise.
    points = [
        trkpt(56.38, 28.12, "2024-05-02T06:00:00Z"),
        trkpt(56.39, 28.13, "9999-12-31T23:59:59"),
        trkpt(56.40, 28.14, "1990-01-01T00:00:00Z"),
        trkpt(56.41, 28.15, "2024-05-02T06:04:00Z"),
    ]
    records, _ = parse(track(points=points) + wpt(56.405, 28.145, "2024-05-02T06:03:00Z", "footprints"))
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert [r.location.number for r in rejected] == [2, 3]
    assert "fix time 9999-12-31T23:59:59+00:00 is" in rejected[0].reason and "in the future" in rejected[0].reason
    assert "fix time 1990-01-01T00:00:00+00:00 is older than 3650 days" in rejected[1].reason
    [patrol] = [r for r in records if isinstance(r, Patrol)]
    assert (patrol.started_at, patrol.ended_at) == (datetime(2024, 5, 2, 6, 0, tzinfo=UTC),
                                                    datetime(2024, 5, 2, 6, 4, tzinfo=UTC))
    assert patrol.segments == [[(28.12, 56.38), (28.15, 56.41)]] and patrol.attrs["rejected_points"] == 2
    assert [o.name for o in patrol.observations] == ["footprints"]  # linked in time and space
    assert sum(isinstance(r, Position) for r in records) == 2


def test_a_point_outside_the_region_or_the_globe_is_left_out_of_its_track_not_the_track_with_it():
    # A GPS that loses its fix writes 0,0 ("null island"); one such point, or one past the pole,
    # took the whole patrol out (the validator refused its line for that point).
    points = [
        trkpt(56.38, 28.12, "2024-05-02T06:00:00Z"),
        trkpt(0, 0, "2024-05-02T06:01:00Z"),
        trkpt(95.0, 28.13, "2024-05-02T06:02:00Z"),
        trkpt(28.14, 56.40, "2024-05-02T06:03:00Z"),  # swapped
        trkpt(56.41, 28.15, "2024-05-02T06:04:00Z"),
    ]
    records, _ = parse(track(points=points))
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert [r.location.number for r in rejected] == [2, 3, 4]
    assert "position lon=0.0, lat=0.0 is outside the region of interest" in rejected[0].reason
    assert "coordinates out of range: lon=28.13 (-180..180), lat=95.0 (-90..90)" in rejected[1].reason
    assert "latitude and longitude appear swapped" in rejected[2].reason
    [patrol] = [r for r in records if isinstance(r, Patrol)]
    assert patrol.segments == [[(28.12, 56.38), (28.15, 56.41)]] and patrol.attrs["rejected_points"] == 3
    assert sum(isinstance(r, Position) for r in records) == 2


def test_a_real_garmin_track_with_a_lost_fix_keeps_its_patrol(monkeypatch):
    """The Garmin Connect capture (PROVENANCE.md) in a region round it, its second point moved to
    0,0 as a GPS writes a lost fix: that point alone is quarantined, the patrol keeps the rest."""
    from nsp.settings import geo_settings

    monkeypatch.setenv("NSP_GEO_ROI", "[-123, 36, -121, 38]")
    monkeypatch.setenv("NSP_INGEST_MAX_AGE_DAYS", "0")
    geo_settings.cache_clear()
    ingest_settings.cache_clear()
    try:
        real = (REAL / "garmin-connect-activity.gpx").read_text()
        second = 'lat="37.241712771356105804443359375" lon="-121.97232783772051334381103515625"'
        assert real.count(second) == 1
        records = list(GpxFormat(ParseOptions()).parse(io.BytesIO(real.replace(second, 'lat="0" lon="0"').encode())))
    finally:
        geo_settings.cache_clear()
        ingest_settings.cache_clear()
    [rejected] = [r for r in records if isinstance(r, Rejected)]
    assert rejected.location.number == 2 and "lon=0.0, lat=0.0 is outside the region of interest" in rejected.reason
    assert rejected.raw.startswith('<trkpt lat="0" lon="0">')
    [patrol] = [r for r in records if isinstance(r, Patrol)]
    assert patrol.unit == "casual stroll" and sum(len(seg) for seg in patrol.segments) == 4
    assert patrol.attrs["rejected_points"] == 1 and sum(isinstance(r, Position) for r in records) == 4


def test_a_waypoint_the_validator_would_refuse_is_quarantined_alone_not_linked_to_cost_the_patrol():
    # Linked, a waypoint is part of its patrol's record: its event reference of 700 bytes (or a
    # time or place the batch refuses) had the whole patrol quarantined.
    points = [trkpt(56.38, 28.12, "2024-05-02T06:00:00Z"), trkpt(56.41, 28.15, "2024-05-02T06:04:00Z")]
    near = [wpt(56.39, 28.13, "2024-05-02T06:01:00Z", "long", desc="event: " + "X" * 700),
            wpt(56.40, 28.14, "9999-01-01T00:00:00Z", "late"),
            wpt(56.40, 28.14, "2024-05-02T06:02:00Z", "fine")]
    records, _ = parse("".join(near) + track(points=points))
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert len(rejected) == 2 and rejected[0].reason.startswith("waypoint event reference is 700 bytes long")
    assert rejected[1].reason.startswith("waypoint time 9999-01-01T00:00:00+00:00 is")
    assert "<name>long</name>" in rejected[0].raw and "<name>late</name>" in rejected[1].raw
    [patrol] = [r for r in records if isinstance(r, Patrol)]
    assert [o.name for o in patrol.observations] == ["fine"]


def test_one_point_is_not_a_patrol_but_still_a_position():
    records, _ = parse(track(points=[trkpt(56.38, 28.12, "2024-05-02T06:00:00Z")]))
    assert isinstance(records[0], Position)
    assert isinstance(records[1], Rejected) and "at least 2 timed points" in records[1].reason


def test_waypoints_link_only_to_a_track_near_them_in_space_and_time(anywhere):
    """Issue 20: a waypoint 9,000 km and 4 days away, another 100 km away, were linked. (The
    region of interest is the globe here: outside it, a waypoint is quarantined before linking.)"""
    end = 56.383  # track A's last fix: 56.383, 28.123 at 06:03
    body = (
        wpt(56.381, 28.121, "2024-05-02T06:02:00Z", name="on A", desc="Tracks in snow; event: EV-17.")
        + wpt(57.50, 27.50, None, name="on B, no time")
        + wpt(end + 1.5 / 110.54, 28.123, "2024-05-02T06:30:00Z", name="1.5 km")
        + wpt(end + 2.5 / 110.54, 28.123, "2024-05-02T06:30:00Z", name="2.5 km")
        + wpt(end, 28.123, "2024-05-02T07:02:00Z", name="59 min after")
        + wpt(end, 28.123, "2024-05-02T07:04:00Z", name="61 min after")
        + wpt(end - 0.9, 28.123, "2024-05-02T06:01:00Z", name="100 km")
        + wpt(-33.9, 151.2, "2024-05-06T06:01:00Z", name="9000 km, 4 days")
        + wpt(56.30, 28.00, "2024-05-02T09:10:00Z", name="ext",
              ext="<extensions><nsp:event_ref xmlns:nsp='https://nsp.example/gpx/1'>EV-99</nsp:event_ref></extensions>")
        + track("A", start_minute=0)
        + track("B", start_minute=50, lat=57.50, lon=27.50)
    )
    records, _ = parse(body)
    patrols = {p.unit: p for p in records if isinstance(p, Patrol)}
    a_obs = {o.name: o for o in patrols["A"].observations}
    b_obs = {o.name: o for o in patrols["B"].observations}
    assert set(a_obs) == {"on A", "1.5 km", "59 min after"} and set(b_obs) == {"on B, no time"}
    assert a_obs["on A"].event_ref == "EV-17" and a_obs["on A"].attrs["linked_by"] == "time+space"
    assert 1400 < a_obs["1.5 km"].attrs["distance_m"] < 1600
    assert b_obs["on B, no time"].attrs["linked_by"] == "space" and b_obs["on B, no time"].attrs["distance_m"] < 10
    loose = {r.name: r for r in records if isinstance(r, SourceObservation)}
    assert set(loose) == {"2.5 km", "61 min after", "100 km", "9000 km, 4 days", "ext"}
    assert loose["ext"].event_ref == "EV-99" and loose["ext"].location.kind == "waypoint"
    assert loose["100 km"].attrs["unlinked"] == "no track of the file within 2 km and 60 min"
    assert 99 < loose["100 km"].attrs["nearest_track_km"] < 101
    assert loose["9000 km, 4 days"].attrs["nearest_track_km"] > 9000
    assert loose["2.5 km"].raw.startswith("<wpt") and loose["2.5 km"].source_ref.startswith("wpt:")
    again, _ = parse(body)  # the same waypoint has the same key
    assert {r.source_ref for r in again if isinstance(r, SourceObservation)} == {r.source_ref for r in loose.values()}


def test_the_link_distance_and_time_are_settings(monkeypatch):
    monkeypatch.setenv("NSP_INGEST_WAYPOINT_LINK_KM", "5")
    monkeypatch.setenv("NSP_INGEST_WAYPOINT_LINK_MINUTES", "10")
    ingest_settings.cache_clear()
    try:
        records, _ = parse(wpt(56.383 + 2.5 / 110.54, 28.123, "2024-05-02T06:10:00Z", name="2.5 km")
                           + wpt(56.383, 28.123, "2024-05-02T06:20:00Z", name="17 min after") + track("A"))
    finally:
        ingest_settings.cache_clear()
    (patrol,) = [r for r in records if isinstance(r, Patrol)]
    assert [o.name for o in patrol.observations] == ["2.5 km"]
    (loose,) = [r for r in records if isinstance(r, SourceObservation)]
    assert loose.name == "17 min after" and loose.attrs["unlinked"] == "no track of the file within 5 km and 10 min"


def test_a_file_of_waypoints_only_loads_them_as_observations_of_the_source():
    records, _ = parse(wpt(56.0, 27.0, "2024-05-02T06:20:00Z", name="lonely") + wpt(56.1, 27.1, name="no time"))
    assert [type(r) for r in records] == [SourceObservation, SourceObservation]
    assert records[0].attrs["unlinked"] == "the file has no track" and "nearest_track_km" not in records[0].attrs
    assert "lonely" in records[0].raw and str(records[0].location) == "waypoint 1 (line 3)"
    assert records[1].observed_at is None


def test_gpx_10_speed_and_course():
    head = '<?xml version="1.0"?>\n<gpx version="1.0" creator="x" xmlns="http://www.topografix.com/GPX/1/0">\n'
    pts = [trkpt(56.38 + i / 1000, 28.12, f"2024-05-02T06:0{i}:00+03:00", "<course>90.5</course><speed>5</speed>")
           for i in range(2)]
    records, _ = parse(track(points=pts), head=head)
    assert records[0].course_deg == 90.5 and records[0].speed_kn == pytest.approx(9.72, abs=0.01)
    assert records[0].observed_at == datetime(2024, 5, 2, 3, 0, tzinfo=UTC)


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
    from ingest.formats.sniff import prepare

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


def test_a_point_or_waypoint_holding_1000_nested_elements_is_quarantined_alone():
    """ElementTree's serializer recursed past Python's limit: the whole file failed."""
    nest = "<extensions>" + "<a>" * 1000 + "x" + "</a>" * 1000 + "</extensions>"
    points = [trkpt(56.38, 28.12, "2024-05-02T06:00:00Z", nest)] + [
        trkpt(56.38 + i * 0.001, 28.12, f"2024-05-02T06:0{i}:00Z") for i in range(1, 4)]
    body = (wpt(56.38, 28.12, "2024-05-02T06:00:00Z", name="deep", ext=nest)
            + wpt(56.381, 28.12, "2024-05-02T06:01:00Z", name="fine") + track(points=points))
    records, _ = parse(body)
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert [str(r.location) for r in rejected] == ["waypoint 1 (line 3)", "track 1 point 1 (line 6)"]
    assert all("nested more than 64 deep" in r.reason for r in rejected)
    assert rejected[1].raw.startswith('<trkpt lat="56.38"')
    (patrol,) = [r for r in records if isinstance(r, Patrol)]
    assert len([r for r in records if isinstance(r, Position)]) == 3
    assert [o.name for o in patrol.observations] == ["fine"] and patrol.attrs["rejected_points"] == 1


REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "gpx"


def test_real_files_of_several_devices(anywhere):
    """Garmin Connect, CalTopo, Ride with GPS (Wahoo), BuildGPX, outdooractive (PROVENANCE.md),
    from around the world: the region of interest is the globe here (a point outside it is
    quarantined: test_a_point_outside_the_region_or_the_globe_is_left_out_of_its_track…)."""
    def read(name):
        with (REAL / name).open("rb") as fh:
            return list(GpxFormat(ParseOptions()).parse(fh))

    garmin = read("garmin-connect-activity.gpx")
    (patrol,) = [r for r in garmin if isinstance(r, Patrol)]
    assert (patrol.unit, patrol.mode, len(garmin)) == ("casual stroll", "foot", 6)  # <type>running</type>
    assert patrol.source_ref == "casual stroll@2017-07-29T14:46:35Z" and patrol.attrs["points"] == 5
    assert garmin[0].lat == pytest.approx(37.2417381685) and garmin[0].attrs["ele_m"] == 104
    days = [r for r in read("caltopo-export.gpx") if isinstance(r, Patrol)]
    assert [(p.unit, p.started_at == p.ended_at) for p in days] == [("Day 01", True), ("Day 02", False)]
    wahoo = read("ridewithgps-wahoo.gpx")
    assert [type(r) for r in wahoo] == [Position] * 3 + [Patrol] and "ele_m" not in wahoo[0].attrs
    build = read("buildgpx-accuracy.gpx")
    assert build[-1].unit == "Cycling" and build[-1].attrs["file_title"] == "20170412_CARDIO.gpx"
    route = read("outdooractive-route.gpx")  # a planned route: no times, nothing to load
    assert [type(r) for r in route] == [Rejected] * 10
    assert route[0].reason == "track point has no <time>" and "Machame Gate" in route[0].raw
    assert "0 usable point(s)" in route[-1].reason


def test_whatever_a_point_makes_fail_is_quarantined_at_that_point_and_counted_once(monkeypatch):
    import ingest.formats.gpx as gpx

    real = gpx.extension_values

    def fragile(elem):  # a library error on one point's extensions
        if elem.find("extensions/bad") is not None:
            raise AttributeError("'NoneType' object has no attribute 'text'")
        return real(elem)

    monkeypatch.setattr(gpx, "extension_values", fragile)
    points = [trkpt(56.38 + i * 0.001, 28.12, f"2024-05-02T06:0{i}:00Z",
                    "<extensions><bad/></extensions>" if i == 1 else "") for i in range(4)]
    records, _ = parse(track(points=points) + wpt(56.38, 28.12, "2024-05-02T06:00:00Z", ext="<extensions><bad/></extensions>"))
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert [str(r.location) for r in rejected] == ["track 1 point 2 (line 5)", "waypoint 1 (line 9)"]
    assert rejected[0].reason == "unreadable <trkpt>: AttributeError: 'NoneType' object has no attribute 'text'"
    (patrol,) = [r for r in records if isinstance(r, Patrol)]
    assert (patrol.attrs["points"], patrol.attrs["rejected_points"]) == (4, 1)
