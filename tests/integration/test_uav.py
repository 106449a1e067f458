"""UAVs end to end on real PostGIS: Remote ID lines (the real Sky Spy capture's shape, stamped
as `nsp listen --format remoteid` does) and a counter-UAS detector's CSV tracks (the shipped
mapping) -> ingest_file -> uav objects with the operator kept -> border crossings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ingest.delivery.listen import stamp_remoteid
from ingest.formats.base import ParseOptions
from ingest.formats.fields import read_mapping
from ingest.loading.pipeline import ingest_file
from tests.support.tracks import SKYSPY, SOUTH_TO_NORTH, T0, crossings, remoteid_track

SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "samples"


def test_the_real_capture_loads_as_a_uav_with_its_operator(conn, anywhere, tmp_path):
    capture = tmp_path / "scanner.txt"  # sniffed
    capture.write_bytes(stamp_remoteid(SKYSPY.read_bytes().strip(), T0.timestamp()) + b"\n")
    summary = ingest_file(capture, source="rid")
    assert (summary.format, summary.status, summary.quarantined, summary.accepted) == ("remoteid", "done", 0, 2)  # the fix and the object
    p = conn.execute("SELECT object_id, kind, ST_Y(geom) AS lat, attrs FROM asset_position WHERE source = 'rid'").fetchone()
    assert (p["object_id"], p["kind"], p["lat"]) == ("RID:1581F8LQC255L00227P5", "uav", 25.784279)
    assert (p["attrs"]["operator_lat"], p["attrs"]["operator_lon"]) == (25.767196, -80.137115)
    o = conn.execute("SELECT kind, callsign FROM tracked_object WHERE object_id = 'RID:1581F8LQC255L00227P5'").fetchone()
    assert (o["kind"], o["callsign"]) == ("uav", "1581F8LQC255L00227P5")


def test_an_undated_capture_is_quarantined_with_its_text(conn, anywhere, tmp_path):
    summary = ingest_file(SKYSPY, source="rid")
    assert summary.quarantined == 1 and "no time" in summary.reasons[0]
    q = conn.execute("SELECT raw FROM quarantine WHERE source = 'rid'").fetchone()
    assert "1581F8LQC255L00227P5" in q["raw"]


def test_a_remote_id_track_crossing_from_belarus_is_one_high_event_and_redelivery_adds_none(conn, tmp_path):
    track = remoteid_track(tmp_path / "drone.remoteid", "1581F5FHB229F00202DR", SOUTH_TO_NORTH)
    first = ingest_file(track, source="rid-1")
    assert (first.format, first.quarantined, first.crossings) == ("remoteid", 0, 1), first.reasons
    (e,) = crossings(conn)
    assert (e["category"], e["subtype"], e["impact"], e["dir"], e["section_code"], e["attrs"]["neighbour"]) == (
        "other", "suspect_uav_crossing", "high", "inbound", "LV-BY-02", "BLR")
    assert (e["object"], e["attrs"]["object_kind"], e["transport_means"]) == ("RID:1581F5FHB229F00202DR", "uav", "uav")
    assert ingest_file(track, source="rid-1").crossings == 0  # the same file again
    assert ingest_file(track, source="rid-2").crossings == 0  # the same fixes from a second receiver
    assert len(crossings(conn)) == 1


def test_the_live_demos_drones_are_each_one_crossing_from_belarus(conn, tmp_path):
    """The live feed's drones (ingest/delivery/scenario.py Live), written as files as its steps
    go by (on a clock moved by the test), loaded as they come: each drone is one high
    crossing from Belarus, made by the database from its track, and no other event."""
    from datetime import UTC, datetime

    from ingest.delivery.scenario import Live

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    live = Live(tmp_path, seed=3, speed=24, start=start, drones_every=900)
    files, now = [], start
    while now < start + timedelta(minutes=30) or live.flights:  # no new drone after 30 min
        if now >= start + timedelta(minutes=30):
            live.next_drone = None
        files += [p for p in live.step(now) if p.parent.name == "remote-id"]
        now += timedelta(seconds=30)  # a file every 30 s, its fixes 5 s apart
    made = 0
    for path in files:
        summary = ingest_file(path, source="remote-id")
        assert (summary.format, summary.status, summary.quarantined) == ("remoteid", "done", 0), summary.reasons
        made += summary.crossings
    drones = {r["object_id"] for r in conn.execute(
        "SELECT DISTINCT object_id FROM asset_position WHERE source = 'remote-id' AND kind = 'uav'")}
    assert 2 <= len(drones) == live.drones <= 3, (drones, live.drones)  # every 900 s ±30 %, from the first minute
    events = crossings(conn)
    assert made == len(events) == len(drones) and {e["object"] for e in events} == drones
    assert all((e["subtype"], e["impact"], e["dir"], e["attrs"]["neighbour"]) == (
        "suspect_uav_crossing", "high", "inbound", "BLR") for e in events), events
    assert all(e["section_code"].startswith("LV-BY-") and e["off_line_m"] < 1 for e in events)


def test_counter_uas_detector_tracks_are_uavs_and_cross(conn):
    options = ParseOptions(mapping=read_mapping(SAMPLES / "counter_uas_mapping.toml"))
    summary = ingest_file(SAMPLES / "cuas_tracks.csv", source="cuas-1", options=options)
    assert (summary.status, summary.quarantined, summary.accepted) == ("done", 0, 4), summary.reasons  # 4 fixes
    kinds = conn.execute("SELECT DISTINCT object_id, kind FROM asset_position WHERE source = 'cuas-1'").fetchall()
    assert [(r["object_id"], r["kind"]) for r in kinds] == [("CUAS1-T0042", "uav")]
    attrs = conn.execute("SELECT attrs FROM asset_position WHERE source = 'cuas-1' ORDER BY observed_at LIMIT 1"
                         ).fetchone()["attrs"]
    assert attrs["classification"] == "multirotor" and float(attrs["alt_m"]) == 120
    assert summary.crossings == 1
    (e,) = crossings(conn)
    assert (e["object"], e["subtype"], e["impact"]) == ("CUAS1-T0042", "suspect_uav_crossing", "high")


def test_the_weeks_files_carry_the_crossings_and_the_summary_counts_them_per_section(conn, tmp_path):
    import csv

    import pyogrio

    from geo.snapshot import export as snapshot
    from geo.snapshot.settings import ExportSettings
    from geo.snapshot.week import Week
    from nsp.access import Scope

    load = [remoteid_track(tmp_path / "a.remoteid", "DRONE-A", SOUTH_TO_NORTH),
            remoteid_track(tmp_path / "b.remoteid", "DRONE-B", SOUTH_TO_NORTH, start=T0 + timedelta(hours=2)),
            # out and back over LV-BY-02 a day later: outbound, then inbound
            remoteid_track(tmp_path / "c.remoteid", "DRONE-C", SOUTH_TO_NORTH[::-1][:3] + SOUTH_TO_NORTH[1:],
                           start=T0 + timedelta(days=1))]
    assert [ingest_file(f, source="rid").crossings for f in load] == [1, 1, 2]
    week = Week(2026, 47, "Europe/Riga")  # T0 is Friday 20 November 2026
    result = snapshot.export_weekly(week, tmp_path / "out", Scope("ana.lyst", "analyst"),
                                    settings=ExportSettings(pdf=False))
    with (result.folder / "events.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["source"] == "nsp-crossings"]
    assert sorted((r["subtype"], r["section_code"]) for r in rows) == [
        ("suspect_uav_crossing", "LV-BY-02")] * 3 + [("uav_border_crossing", "LV-BY-02")]
    events = pyogrio.read_dataframe(result.folder / "picture.gpkg", layer="events")
    crossed = events[events["source"] == "nsp-crossings"]
    assert len(crossed) == 4 and set(crossed.geometry.geom_type) == {"Point"}
    positions = pyogrio.read_dataframe(result.folder / "picture.gpkg", layer="asset_positions")
    drones = positions[positions["kind"] == "uav"]
    # every fix of the drones with the operator's position the scanner heard with it
    assert len(drones) == 4 + 4 + 6
    assert set(zip(drones["operator_lon"], drones["operator_lat"], strict=True)) == {(27.21, 55.70)}
    summary = (result.folder / "summary.html").read_text()
    table = summary.split('<table id="crossings">', 1)[1].split("</table>", 1)[0]
    # per section: 4 crossings, all UAVs, 3 inbound (suspect UAVs) and 1 outbound
    assert ("<td class=\"l\">LV-BY-02</td><td><b>4</b></td><td>4</td><td>0</td>\n<td>0</td><td>3</td><td>1</td><td>3</td>"
            in table), table


def test_the_scenarios_incursions_each_make_exactly_one_crossing_event(conn, tmp_path):
    """The demo's history (nsp scenario): its drones from Belarus (Remote ID) and its vessel
    entering the territorial sea (AIS), through the real parsers: one event each, none again."""
    from collections import Counter
    from datetime import UTC, datetime

    from ingest.delivery import incursions
    from ingest.delivery.scenario import Scenario

    scenario = Scenario(seed=7, end=datetime(2026, 11, 22, 3, 0, tzinfo=UTC), days=7)
    scenario.write(tmp_path)
    days = scenario.local_days()
    drones = [i.object_id for d in days for i in incursions.uav_incursions(scenario, d)]
    ships = [i.object_id for d in days for i in incursions.vessel_incursions(scenario, d)]
    assert len(drones) >= 3 and len(ships) >= 1
    files = sorted((tmp_path / "remote-id").iterdir()) + sorted((tmp_path / "ais").glob("ais-entering-*"))
    for f in files:
        summary = ingest_file(f, source=f.parent.name)
        assert (summary.status, summary.quarantined) == ("done", 0), summary.reasons
    rows = crossings(conn)
    assert Counter(r["object"] for r in rows) == Counter(drones + ships)
    for r in rows:
        if r["object"].startswith("RID:"):
            assert (r["subtype"], r["impact"], r["dir"], r["attrs"]["neighbour"]) == (
                "suspect_uav_crossing", "high", "inbound", "BLR"), r
        else:
            assert (r["subtype"], r["dir"], r["transport_means"]) == (
                "vessel_entering_territorial_sea", "inbound", "vessel"), r
    assert sum(ingest_file(f, source=f.parent.name).crossings for f in files) == 0  # re-delivered
    assert len(crossings(conn)) == len(rows)
