"""GPX, Cursor on Target and AIS end to end: file -> ingest_file -> PostGIS."""

from __future__ import annotations

from pathlib import Path

from ingest.loading.pipeline import ingest_file
from nsp.settings import ASSETS_DIR
from tests.support.feeds import HEAD, SA_DETAIL, event, nmea, position, static5, tag, track, trkpt, wpt

SAMPLES = ASSETS_DIR / "samples"


def counts(conn, source: str) -> dict:
    row = conn.execute(
        """SELECT (SELECT count(*) FROM event WHERE source = %(s)s) AS events,
                  (SELECT count(*) FROM asset_position WHERE source = %(s)s) AS positions,
                  (SELECT count(*) FROM patrol WHERE source = %(s)s) AS patrols,
                  (SELECT count(*) FROM patrol_observation) AS observations,
                  (SELECT count(*) FROM patrol_event) AS patrol_events,
                  (SELECT count(*) FROM tracked_object) AS objects,
                  (SELECT count(*) FROM quarantine WHERE source = %(s)s) AS quarantined""",
        {"s": source},
    ).fetchone()
    return dict(row)


def test_samples_load_and_rerun_changes_nothing(conn):
    for name, fmt in (("ais.nmea", "ais"), ("cot.cot.xml", "cot"), ("gpx.gpx", "gpx")):
        summary = ingest_file(SAMPLES / name, source="samples")
        assert summary.format == fmt and summary.status == "done", summary
        assert summary.quarantined == 0, summary.reasons
    first = counts(conn, "samples")
    assert first["events"] == 2 and first["patrols"] == 1 and first["observations"] == 1
    assert first["positions"] == 3 + 1 + 4  # AIS, CoT friendly, GPX fixes
    for name in ("ais.nmea", "cot.cot.xml", "gpx.gpx"):
        again = ingest_file(SAMPLES / name, source="samples")
        assert again.accepted == 0 and again.quarantined == 0, again
    assert counts(conn, "samples") == first

    ship = conn.execute("SELECT * FROM tracked_object WHERE object_id = 'MMSI:275123000'").fetchone()
    assert (ship["name"], ship["callsign"], ship["imo"], ship["object_type"]) == (
        "BALTIC STAR", "YLBT", 9387421, "cargo")
    # type 24 parts A and B complete each other
    small = conn.execute("SELECT * FROM tracked_object WHERE object_id = 'MMSI:275900111'").fetchone()
    assert (small["name"], small["callsign"]) == ("KAIJA", "YL2345")
    alert = conn.execute("SELECT * FROM event WHERE subtype = 'emergency_911'").fetchone()
    assert alert["impact"] == "high" and alert["category"] == "crisis_situation"
    assert alert["section_code"] is not None  # near Silene: the database assigned a section
    patrol = conn.execute("SELECT *, ST_NumPoints(ST_GeometryN(track, 1)) AS n FROM patrol").fetchone()
    assert patrol["unit"] == "SILENE-P1" and patrol["n"] == 4 and patrol["length_km"] > 0.5
    fixes = conn.execute("SELECT count(*) AS n FROM asset_position WHERE patrol_id = %s",
                         (patrol["id"],)).fetchone()
    assert fixes["n"] == 4


def test_cot_marker_updates_by_uid_and_position_by_time(conn, tmp_path: Path):
    first = tmp_path / "a.cot"
    first.write_text(event(uid="M-1", type_="a-h-G-E-V", time="2024-05-01T21:00:00Z",
                           detail="<remarks>first</remarks>")
                     + event(uid="D-1", type_="a-f-G-U-C", time="2024-05-01T21:00:00Z", detail=SA_DETAIL))
    ingest_file(first, source="tak")
    second = tmp_path / "b.cot"
    second.write_text(event(uid="M-1", type_="a-h-G-E-V", time="2024-05-01T21:05:00Z",
                            detail="<remarks>moved</remarks>", lat="55.89")
                      + event(uid="M-1", type_="a-h-G-E-V", time="2024-05-01T20:00:00Z",
                              detail="<remarks>old</remarks>")
                      + event(uid="D-1", type_="a-f-G-U-C", time="2024-05-01T21:00:05Z", detail=SA_DETAIL))
    ingest_file(second, source="tak")
    rows = conn.execute("SELECT description, ST_Y(geom) AS lat FROM event WHERE source = 'tak'").fetchall()
    assert len(rows) == 1 and rows[0]["description"] == "moved" and abs(rows[0]["lat"] - 55.89) < 1e-9
    assert counts(conn, "tak")["positions"] == 2  # one device, two times


def test_bad_records_quarantined_good_ones_loaded(conn, tmp_path: Path):
    good = position()
    ais = tmp_path / "mixed.nmea"
    ais.write_text("\n".join([
        tag("s:LV-RIGA,c:1714550400") + good,
        good[:-2] + ("00" if good[-2:] != "00" else "11"),
        static5(seq_id=2)[0],
        nmea({"type": 1, "mmsi": 275000001, "lat": 91, "lon": 181})[0],
    ]) + "\n")
    summary = ingest_file(ais, source="ais-riga")
    assert summary.accepted >= 1 and summary.quarantined == 3
    rows = conn.execute("SELECT location, line_no, reason, raw FROM quarantine "
                        "WHERE source = 'ais-riga' ORDER BY line_no").fetchall()
    assert [r["line_no"] for r in rows] == [2, 3, 4]
    assert "checksum" in rows[0]["reason"] and "incomplete" in rows[1]["reason"]
    assert rows[2]["raw"].startswith("!AIVDM")


def test_gpx_waypoint_links_the_event_it_observed(conn, tmp_path: Path):
    cot = tmp_path / "marker.cot"
    cot.write_text(event(uid="EV-7", type_="a-u-G-U", lat="56.381", lon="28.121"))
    ingest_file(cot, source="zilupe")
    gpx = tmp_path / "patrol.gpx"
    gpx.write_text(HEAD + wpt(56.381, 28.121, "2024-05-02T06:02:00Z", desc="tracks; event: EV-7")
                   + track("ZILUPE-P2") + "</gpx>\n")
    summary = ingest_file(gpx, source="zilupe")
    assert summary.quarantined == 0, summary.reasons
    link = conn.execute("SELECT e.source_ref FROM patrol_event pe JOIN event e ON e.id = pe.event_id").fetchall()
    assert [r["source_ref"] for r in link] == ["EV-7"]


def test_gpx_bad_point_and_hostile_cot_quarantined(conn, tmp_path: Path):
    gpx = tmp_path / "p.gpx"
    gpx.write_text(HEAD + track("P9", points=[
        trkpt(56.38, 28.12, "2024-05-02T06:00:00Z"), trkpt("x", 28.12, "2024-05-02T06:01:00Z"),
        trkpt(56.39, 28.13, "2024-05-02T06:02:00Z")]) + "</gpx>\n")
    summary = ingest_file(gpx, source="p9")
    assert (summary.quarantined, counts(conn, "p9")["positions"]) == (1, 2)
    bomb = tmp_path / "bomb.cot"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
                    + event(uid="B", detail="<remarks>&b;</remarks>") + event(uid="fine"))
    summary = ingest_file(bomb, source="p9")
    assert summary.quarantined == 1 and summary.accepted == 1
    reason = conn.execute("SELECT reason FROM quarantine WHERE reason LIKE '%%XML bomb%%'").fetchone()
    assert reason is not None
