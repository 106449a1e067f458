"""GPX waypoints end to end: linked to a patrol only near its track in space and time,
otherwise stored as observations of the source (issue 20, item 8), checked by PostGIS."""

from __future__ import annotations

from pathlib import Path

from ingest.loading.pipeline import ingest_file
from ingest.settings import ingest_settings
from nsp.settings import geo_settings
from tests.support.feeds import HEAD, track, wpt

LAT, LON = 55.871, 26.954  # near Silene, in Latvia's sections


def gpx(tmp_path: Path) -> Path:
    last = (LAT + 0.003, LON + 0.003)  # track A's last fix, at 21:03
    body = (
        wpt(LAT + 0.001 + 0.5 / 110.54, LON + 0.001, "2024-05-01T21:01:00Z", name="500 m")
        + wpt(last[0] + 2.5 / 110.54, last[1], "2024-05-01T21:02:00Z", name="2.5 km")
        + wpt(LAT - 0.9, LON, "2024-05-01T21:01:00Z", name="100 km")
        + wpt(last[0], last[1], "2024-05-05T21:03:00Z", name="on the track, 4 days later")
        + wpt(-33.9, 151.2, "2024-05-05T21:01:00Z", name="9000 km, 4 days")
        + track("SILENE-P7", points=[
            f'<trkpt lat="{LAT + i * 0.001}" lon="{LON + i * 0.001}"><time>2024-05-01T21:0{i}:00Z</time></trkpt>\n'
            for i in range(4)])
    )
    path = tmp_path / "patrol.gpx"
    path.write_text(HEAD + body + "</gpx>\n")
    return path


def observations(conn) -> dict:
    rows = conn.execute(
        """SELECT o.name, o.patrol_id IS NOT NULL AS linked, o.source, o.source_ref, o.section_code,
                  ST_Distance(o.geom::geography, p.track::geography) AS to_track_m
             FROM patrol_observation o CROSS JOIN (SELECT track FROM patrol WHERE unit = 'SILENE-P7') p"""
    ).fetchall()
    return {r["name"]: r for r in rows}


def test_only_waypoints_near_the_track_in_space_and_time_are_linked(conn, tmp_path: Path):
    path = gpx(tmp_path)
    summary = ingest_file(path, source="gpx-test")
    assert summary.status == "done" and summary.quarantined == 1
    assert summary.reasons[0].startswith("waypoint 5 (line 7): ") and "outside the region" in summary.reasons[0]
    assert summary.accepted == 1 + 4 + 3  # the patrol, its fixes, three unlinked waypoints
    obs = observations(conn)
    assert set(obs) == {"500 m", "2.5 km", "100 km", "on the track, 4 days later"}
    linked = {name for name, o in obs.items() if o["linked"]}
    assert linked == {"500 m"}
    assert obs["500 m"]["to_track_m"] < 600  # PostGIS, on the spheroid
    assert 2400 < obs["2.5 km"]["to_track_m"] < 2600 and obs["100 km"]["to_track_m"] > 99_000
    assert obs["on the track, 4 days later"]["to_track_m"] < 1
    for name in linked ^ set(obs):  # the source keeps them, each with its content key
        assert obs[name]["source"] == "gpx-test" and obs[name]["source_ref"].startswith("wpt:")
    assert obs["on the track, 4 days later"]["section_code"] is not None  # scoped by its section
    assert obs["500 m"]["source"] == "gpx-test"

    again = ingest_file(path, source="gpx-test")  # re-delivery changes no count
    assert again.accepted == 0 and again.duplicates == 1 + 4 + 3
    assert len(observations(conn)) == 4
    assert conn.execute("SELECT count(*) AS n FROM quarantine WHERE source = 'gpx-test'").fetchone()["n"] == 1


def test_a_waypoint_9000_km_away_is_stored_unlinked_when_the_region_allows(conn, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("NSP_GEO_ROI", "[-180, -90, 180, 90]")
    geo_settings.cache_clear()
    try:
        summary = ingest_file(gpx(tmp_path), source="gpx-world")
    finally:
        monkeypatch.delenv("NSP_GEO_ROI")
        geo_settings.cache_clear()
    assert summary.status == "done" and summary.quarantined == 0, summary.reasons
    obs = observations(conn)
    far = obs["9000 km, 4 days"]
    assert not far["linked"] and far["to_track_m"] > 9_000_000 and far["section_code"] is None
    assert {name for name, o in obs.items() if o["linked"]} == {"500 m"}


def test_a_file_of_waypoints_only_is_stored_as_observations_of_the_source(conn, tmp_path: Path):
    path = tmp_path / "marks.gpx"
    path.write_text(HEAD + wpt(LAT, LON, "2024-05-01T21:01:00Z", name="mark 1", desc="event: EV-1")
                    + wpt(LAT + 0.01, LON, None, name="mark 2") + "</gpx>\n")
    summary = ingest_file(path, source="gpx-marks")
    assert (summary.status, summary.accepted, summary.quarantined) == ("done", 2, 0)
    rows = conn.execute("SELECT name, patrol_id, attrs->>'unlinked' AS why FROM patrol_observation"
                        " WHERE source = 'gpx-marks' ORDER BY name").fetchall()
    assert [(r["name"], r["patrol_id"], r["why"]) for r in rows] == [
        ("mark 1", None, "the file has no track"), ("mark 2", None, "the file has no track")]
    assert ingest_file(path, source="gpx-marks").accepted == 0


def test_real_device_files_load_and_reload_as_nothing_new(conn, monkeypatch):
    """The real files of tests/data/real/gpx (California, Belgium, Oregon, Tanzania) in a
    world-wide region of interest."""
    real = Path(__file__).resolve().parents[1] / "data" / "real" / "gpx"
    monkeypatch.setenv("NSP_GEO_ROI", "[-180, -90, 180, 90]")
    monkeypatch.setenv("NSP_INGEST_MAX_AGE_DAYS", "0")
    geo_settings.cache_clear()
    ingest_settings.cache_clear()
    try:
        first = {p.name: ingest_file(p, source="devices") for p in sorted(real.glob("*.gpx"))}
        again = {p.name: ingest_file(p, source="devices") for p in sorted(real.glob("*.gpx"))}
    finally:
        monkeypatch.delenv("NSP_GEO_ROI")
        monkeypatch.delenv("NSP_INGEST_MAX_AGE_DAYS")
        geo_settings.cache_clear()
        ingest_settings.cache_clear()
    assert {n: (s.status, s.accepted, s.quarantined) for n, s in first.items()} == {
        # CalTopo gives several fixes one time: positions are keyed by unit, time and place,
        # so each of its 6 distinct fixes is kept (the patrol lines keep all 6 points too)
        "buildgpx-accuracy.gpx": ("done", 3, 0), "caltopo-export.gpx": ("done", 8, 0),
        "garmin-connect-activity.gpx": ("done", 6, 0), "outdooractive-route.gpx": ("done", 0, 10),
        "ridewithgps-wahoo.gpx": ("done", 4, 0)}
    assert all(s.accepted == 0 and s.status == "done" for s in again.values())
    assert first["caltopo-export.gpx"].duplicates == 0
    rows = conn.execute("SELECT unit, ST_NPoints(track) AS n FROM patrol WHERE source = 'devices' ORDER BY unit")
    assert [(r["unit"], r["n"]) for r in rows] == [
        ("04/24/22", 3), ("Cycling", 2), ("Day 01", 3), ("Day 02", 3), ("casual stroll", 5)]
    assert conn.execute("SELECT count(*) AS n FROM quarantine WHERE source = 'devices'").fetchone()["n"] == 10


def test_waypoints_delivered_without_their_track_are_linked_to_a_stored_patrol(conn, tmp_path: Path):
    """Devices that save tracks and waypoints in separate files: the same rule, against the
    source's stored patrols."""
    (tmp_path / "events.geojsonl").write_text(
        '{"type": "Feature", "id": "EV-1", "geometry": {"type": "Point", "coordinates": [26.955, 55.872]},'
        ' "properties": {"category": "ubc", "time": "2024-05-01T21:01:00Z"}}\n')
    assert ingest_file(tmp_path / "events.geojsonl", source="split").accepted == 1
    points = [f'<trkpt lat="{LAT + i * 0.001}" lon="{LON + i * 0.001}"><time>2024-05-01T21:0{i}:00Z</time></trkpt>\n'
              for i in range(4)]
    (tmp_path / "track.gpx").write_text(HEAD + track("SILENE-P8", points=points) + "</gpx>\n")
    assert ingest_file(tmp_path / "track.gpx", source="split").accepted == 5
    marks = tmp_path / "marks.gpx"
    marks.write_text(HEAD
                     + wpt(LAT + 0.001 + 0.5 / 110.54, LON + 0.001, "2024-05-01T21:30:00Z", name="near", desc="event: EV-1")
                     + wpt(LAT + 0.001, LON + 0.001, None, name="near, no time")
                     + wpt(LAT + 0.003, LON + 0.003, "2024-05-01T22:10:00Z", name="67 min after")
                     + wpt(LAT + 0.03, LON, "2024-05-01T21:01:00Z", name="3 km") + "</gpx>\n")
    summary = ingest_file(marks, source="split")
    assert (summary.accepted, summary.quarantined) == (4, 0)
    rows = conn.execute(
        """SELECT o.name, p.unit, o.attrs, ST_Distance(o.geom::geography, t.track::geography) AS m
             FROM patrol_observation o LEFT JOIN patrol p ON p.id = o.patrol_id
            CROSS JOIN (SELECT track FROM patrol WHERE unit = 'SILENE-P8') t
            WHERE o.source = 'split'""").fetchall()
    by = {r["name"]: r for r in rows}
    assert {n: r["unit"] for n, r in by.items()} == {
        "near": "SILENE-P8", "near, no time": "SILENE-P8", "67 min after": None, "3 km": None}
    assert by["near"]["attrs"]["linked_by"] == "time+space" and "unlinked" not in by["near"]["attrs"]
    assert abs(by["near"]["attrs"]["distance_m"] - by["near"]["m"]) < 0.1 < by["near"]["m"] < 600
    assert by["near, no time"]["attrs"]["linked_by"] == "space"
    assert by["3 km"]["m"] > 2000 and by["3 km"]["attrs"]["unlinked"] == "the file has no track"
    linked = conn.execute("SELECT e.source_ref FROM patrol_event pe JOIN event e ON e.id = pe.event_id"
                          " JOIN patrol p ON p.id = pe.patrol_id WHERE p.unit = 'SILENE-P8'").fetchall()
    assert [r["source_ref"] for r in linked] == ["EV-1"]
    again = ingest_file(marks, source="split")
    assert (again.accepted, again.duplicates) == (0, 4)
