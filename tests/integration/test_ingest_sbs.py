"""SBS-1 / BaseStation end to end: real captures -> ingest_file -> PostGIS."""

from __future__ import annotations

from pathlib import Path

from ingest.loading.pipeline import ingest_file
from tests.support.captures import ADSB_SNAPSHOT, SBS_EXAMPLES, sbs_squawk_line, sbs_stamped
from tests.support.captures import aircraft_counts as counts


def test_real_capture_loads_exactly_once(conn, anywhere, tmp_path: Path):
    capture = tmp_path / "receiver.txt"  # sniffed, not named
    capture.write_bytes(sbs_stamped())
    summary = ingest_file(capture, source="adsb")
    assert (summary.format, summary.status, summary.quarantined) == ("sbs", "done", 0), summary.reasons
    examples = ingest_file(SBS_EXAMPLES, source="adsb")
    assert examples.quarantined == 1 and "23 fields" in examples.reasons[0]
    first = counts(conn, "adsb")
    # 3 positions in the receiver's capture, 1 in the BaseStation examples; aircraft known:
    # ACE8BD, A01C76 and 4CA2D6 by their positions, A1E88F, AC3B32 and 7404F2 by call sign
    assert first == {"positions": 4, "aircraft": 4, "events": 0, "quarantined": 1, "objects": 6}
    again = ingest_file(capture, source="adsb")
    assert again.accepted == 0 and again.duplicates == again.records
    ingest_file(SBS_EXAMPLES, source="adsb")
    assert counts(conn, "adsb") == first
    ace = conn.execute(
        """SELECT speed_kn, course_deg, attrs->>'altitude_ft' AS alt, ST_Y(geom) AS lat FROM asset_position
            WHERE object_id = 'ICAO:ACE8BD' ORDER BY observed_at DESC LIMIT 1""").fetchone()
    assert (ace["speed_kn"], ace["course_deg"], ace["alt"], ace["lat"]) == (66, 300, "2825", 37.46724)
    named = conn.execute("SELECT callsign FROM tracked_object WHERE object_id = 'ICAO:AC3B32'").fetchone()
    assert named["callsign"] == "SWA1797"
    # the state of registry, from the address: stored with each position
    states = conn.execute("SELECT DISTINCT object_id, attrs->>'registry' AS registry FROM asset_position "
                          "WHERE source = 'adsb' ORDER BY 1").fetchall()
    assert [(r["object_id"], r["registry"]) for r in states] == [
        ("ICAO:4CA2D6", "IE"), ("ICAO:A01C76", "US"), ("ICAO:ACE8BD", "US")]


def test_squawk_7700_raises_exactly_one_event(conn, anywhere, tmp_path: Path):
    position = SBS_EXAMPLES.read_bytes().splitlines()[7]
    first = tmp_path / "a.sbs"
    first.write_bytes(b"\n".join([sbs_squawk_line("4CA2D6", "7700", "2008/11/28 14:53:49.000"), position]) + b"\n")
    # the listener's next file: the same episode goes on
    second = tmp_path / "b.sbs"
    second.write_bytes(b"\n".join([sbs_squawk_line("4CA2D6", "7700", "2008/11/28 14:54:20.000"),
                                   position.replace(b"14:53:50.594", b"14:54:21.000")]) + b"\n")
    for path in (first, second, first):
        assert ingest_file(path, source="adsb").status == "done"
    rows = conn.execute("SELECT * FROM event WHERE source = 'adsb'").fetchall()
    assert len(rows) == 1
    event = rows[0]
    assert (event["category"], event["subtype"], event["impact"]) == (
        "crisis_situation", "aircraft_emergency_7700", "high")
    assert event["source_ref"] == "squawk:4CA2D6:7700:2008-11-28"
    assert counts(conn, "adsb")["positions"] == 2


def test_real_aircraft_json_loads_exactly_once(conn, anywhere):

    summary = ingest_file(ADSB_SNAPSHOT, source="adsb-json")
    assert (summary.format, summary.quarantined) == ("aircraft-json", 0), summary.reasons
    first = counts(conn, "adsb-json")
    assert (first["positions"], first["events"]) == (5, 0)  # 7 aircraft, 2 without a position
    again = ingest_file(ADSB_SNAPSHOT, source="adsb-json")
    assert again.accepted == 0
    assert counts(conn, "adsb-json") == first
