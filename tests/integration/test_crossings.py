"""Border crossings detected from tracks (sql/migrations/0090_crossings.sql) on real PostGIS with
Latvia's sections: tracks fed through the real formats (CSV positions, SBS-1 lines built from the
real BaseStation examples), exact counts of events."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ingest.formats.base import ParseOptions
from ingest.formats.fields import FieldMapping
from ingest.loading.crossings import crossing_settings
from ingest.loading.pipeline import ingest_file
from tests.support.captures import SBS_EXAMPLES
from tests.support.tracks import SOUTH_TO_NORTH, T0, crossings

POSITIONS = ParseOptions(mapping=FieldMapping(kind="positions"))

# LV-BY-02 (Krāslava): the border runs from (27.173204, 55.825741) to (27.235526, 55.795846);
# at 27.20 E it is at 55.81289 N. Belarus is south of it, Latvia north.
LINE_LAT = 55.825741 + (27.20 - 27.173204) * (55.795846 - 55.825741) / (27.235526 - 27.173204)


@pytest.fixture
def crossing_env(monkeypatch):
    def setenv(**values):
        for key, value in values.items():
            monkeypatch.setenv(f"NSP_CROSSING_{key.upper()}", value)
        crossing_settings.cache_clear()
    yield setenv
    crossing_settings.cache_clear()


def csv_track(path: Path, unit: str, kind: str, points, start: datetime = T0, step_s: int = 60,
              order=None, extra: str = "") -> Path:
    rows = [(start + timedelta(seconds=i * step_s), lon, lat) for i, (lon, lat) in enumerate(points)]
    if order is not None:
        rows = [rows[i] for i in order]
    head = "unit,object_kind,time,lat,lon" + (",altitude_ft" if extra else "")
    path.write_text(head + "\n" + "".join(
        f"{unit},{kind},{t.isoformat()},{lat},{lon}" + (f",{extra}" if extra else "") + "\n"
        for t, lon, lat in rows))
    return path


def load(path: Path, source: str = "sensor"):
    summary = ingest_file(path, source=source, options=POSITIONS if path.suffix == ".csv" else None)
    assert summary.status == "done" and summary.quarantined == 0, summary.reasons
    return summary


def test_a_uav_crossing_once_from_belarus_is_one_high_suspect_uav_event(conn, tmp_path):
    summary = load(csv_track(tmp_path / "uav.csv", "UAV-1", "uav", SOUTH_TO_NORTH))
    assert summary.crossings == 1
    (e,) = crossings(conn)
    assert (e["category"], e["subtype"], e["impact"], e["direction"], e["dir"]) == (
        "other", "suspect_uav_crossing", "high", "entry", "inbound")
    assert (e["section_code"], e["attrs"]["neighbour"], e["object"], e["attrs"]["object_kind"]) == (
        "LV-BY-02", "BLR", "UAV-1", "uav")
    assert e["off_line_m"] < 1.0  # on the border line
    # interpolated between the fixes at T0+60 s (55.78) and T0+120 s (55.85), in metres of EPSG:3059
    expected = T0 + timedelta(seconds=60 + 60 * (LINE_LAT - 55.78) / 0.07)
    assert abs((e["occurred_at"] - expected).total_seconds()) < 1.0
    assert e["source_ref"] == (
        "crossing:UAV-1:LV-BY-02:2026-11-20T10:01:00.000000Z:2026-11-20T10:02:00.000000Z")
    assert e["batch_id"] == summary.batch_id and e["transport_means"] == "uav"


def test_out_and_back_is_two_events_outbound_then_inbound(conn, tmp_path):
    load(csv_track(tmp_path / "a.csv", "PLANE-1", "aircraft",
                   [(27.20, 55.86), (27.20, 55.83), (27.20, 55.79), (27.20, 55.77), (27.21, 55.79),
                    (27.21, 55.84)]))
    rows = crossings(conn)
    assert [(r["dir"], r["subtype"], r["impact"]) for r in rows] == [
        ("outbound", "aircraft_border_crossing", "low"), ("inbound", "aircraft_border_crossing", "medium")]


def test_a_track_along_the_line_crosses_nothing(conn, tmp_path):
    # the border's own vertices, then 300 m north of them: never on the far side
    on_line = [(27.173204, 55.825741), (27.235526, 55.795846), (27.263018, 55.787216)]
    north = [(lon, lat + 0.0027) for lon, lat in on_line]
    load(csv_track(tmp_path / "along.csv", "UAV-2", "uav", on_line + north[::-1]))
    assert crossings(conn) == []


def test_within_one_fix(conn, tmp_path):
    # two fixes, one each side: one crossing; two fixes in Latvia whose straight line dips into
    # Belarus between them (the border bends south at 27.24-27.33): nothing proven, no event
    load(csv_track(tmp_path / "two.csv", "UAV-3", "uav", [(27.20, 55.78), (27.20, 55.85)]))
    assert len(crossings(conn)) == 1
    load(csv_track(tmp_path / "dip.csv", "UAV-4", "uav", [(27.17, 55.835), (27.34, 55.835)]))
    rows = crossings(conn)
    assert [r["object"] for r in rows] == ["UAV-3"]


def test_fixes_out_of_order_make_the_same_one_event(conn, tmp_path):
    load(csv_track(tmp_path / "shuffled.csv", "UAV-5", "uav", SOUTH_TO_NORTH, order=[3, 0, 2, 1]))
    (e,) = crossings(conn)
    assert e["source_ref"].endswith(":2026-11-20T10:01:00.000000Z:2026-11-20T10:02:00.000000Z")


@pytest.mark.parametrize("first", ["south", "north"])
def test_a_track_in_two_files_is_one_crossing_and_redelivery_adds_none(conn, tmp_path, first):
    south = csv_track(tmp_path / "south.csv", "UAV-6", "uav", SOUTH_TO_NORTH[:2])
    north = csv_track(tmp_path / "north.csv", "UAV-6", "uav", SOUTH_TO_NORTH[2:], start=T0 + timedelta(minutes=2))
    files = [south, north] if first == "south" else [north, south]
    counts = [load(f).crossings for f in files]
    assert counts == [0, 1]
    for f in files:  # re-delivery, and the same fixes from a second receiver
        assert load(f).crossings == 0
        assert load(f, source="sensor-2").crossings == 0
    assert len(crossings(conn)) == 1


def test_a_late_fix_between_the_stored_fixes_does_not_double_the_crossing(conn, tmp_path):
    load(csv_track(tmp_path / "track.csv", "UAV-7", "uav", SOUTH_TO_NORTH))
    (before,) = crossings(conn)
    late = tmp_path / "late.csv"  # at T0+90 s, just south of the line
    late.write_text("unit,object_kind,time,lat,lon\n"
                    f"UAV-7,uav,{(T0 + timedelta(seconds=90)).isoformat()},{LINE_LAT - 0.01},27.20\n")
    assert load(late).crossings == 0
    (after,) = crossings(conn)
    assert after["id"] == before["id"] and after["occurred_at"] == before["occurred_at"]


def test_own_units_never_cross(conn, tmp_path, crossing_env):
    load(csv_track(tmp_path / "own.csv", "LV-PATROL-1", "own", SOUTH_TO_NORTH))
    crossing_env(kinds='["aircraft", "uav", "vessel", "vehicle"]')
    load(csv_track(tmp_path / "own2.csv", "LV-PATROL-2", "own", SOUTH_TO_NORTH))
    cot = tmp_path / "friendly.cot"  # a friendly helicopter over the same line: kind own
    cot.write_text("".join(
        f'<event version="2.0" uid="LV-HELI-1" type="a-f-A-M-H" how="m-g" time="{t}" start="{t}" '
        f'stale="{t}"><point lat="{lat}" lon="{lon}" hae="300" ce="10" le="10"/><detail/></event>\n'
        for t, (lon, lat) in ((f"2026-11-20T10:0{i}:00Z", p) for i, p in enumerate(SOUTH_TO_NORTH))))
    load(cot)
    assert conn.execute("SELECT count(*) AS n FROM asset_position WHERE kind = 'own'").fetchone()["n"] == 12
    assert crossings(conn) == []


def test_own_units_cannot_be_watched():
    from ingest.loading.crossings import CrossingSettings
    with pytest.raises(ValueError, match="own units"):
        CrossingSettings(kinds=["own", "uav"])


def sbs_track(path: Path, hex_: str, points, altitude: int, callsign: str | None = None,
              offset_ms: int = 0) -> Path:
    """SBS-1 lines from the real BaseStation examples (tests/data/real/adsb): the MSG,3 position
    of 4CA2D6 and the MSG,1 call sign of 7404F2, moved to this aircraft, time and place."""
    lines = SBS_EXAMPLES.read_bytes().decode().splitlines()
    pos = next(l for l in lines if l.startswith("MSG,3,")).split(",")
    ident = next(l for l in lines if l.startswith("MSG,1,")).split(",")
    out = []
    if callsign:
        f = list(ident)
        f[4], f[6], f[7], f[8], f[9], f[10] = hex_, "2026/11/20", "09:59:00.000", "2026/11/20", "09:59:00.000", callsign
        out.append(",".join(f))
    for i, (lon, lat) in enumerate(points):
        t = (T0 + timedelta(seconds=30 * i, milliseconds=offset_ms)).strftime("%H:%M:%S.%f")[:-3]
        f = list(pos)
        f[4], f[6], f[7], f[8], f[9] = hex_, "2026/11/20", t, "2026/11/20", t
        f[11], f[14], f[15] = str(altitude), str(lat), str(lon)
        out.append(",".join(f))
    path.write_text("\n".join(out) + "\n")
    return path


def test_scheduled_flights_are_not_reported(conn, tmp_path, crossing_env):
    track = [(27.20, 55.74), (27.20, 55.80), (27.20, 55.86)]
    crossing_env(callsign_pattern="^BTI[0-9]", icao_allow='["4b1a2c"]')
    assert load(sbs_track(tmp_path / "bti.sbs", "502CB1", track, 33000, "BTI123")).crossings == 0
    assert load(sbs_track(tmp_path / "allow.sbs", "4B1A2C", track, 35000, "SWR42")).crossings == 0
    assert load(sbs_track(tmp_path / "other.sbs", "4CA2D6", track, 37000, "RYR1427")).crossings == 1
    (e,) = crossings(conn)
    assert (e["object"], e["subtype"], e["impact"], e["attrs"]["callsign"], e["attrs"]["icao"]) == (
        "ICAO:4CA2D6", "aircraft_border_crossing", "medium", "RYR1427", "4CA2D6")


def test_an_unidentified_low_aircraft_inbound_is_a_suspect_uav(conn, tmp_path):
    track = [(27.20, 55.74), (27.20, 55.80), (27.20, 55.86)]
    load(sbs_track(tmp_path / "low.sbs", "0A0B0C", track, 800))
    load(sbs_track(tmp_path / "high.sbs", "0A0B0D", track, 9000))
    rows = {r["object"]: (r["subtype"], r["impact"], r["attrs"]["altitude_ft"]) for r in crossings(conn)}
    assert rows == {"ICAO:0A0B0C": ("suspect_uav_crossing", "medium", 800),
                    "ICAO:0A0B0D": ("aircraft_border_crossing", "medium", 9000)}


def test_a_vessel_entering_the_territorial_sea_once_and_leaving_unreported(conn, tmp_path):
    # west of Liepāja: the open Baltic, then 12 nautical miles off the coast into Latvia's sea
    inbound = [(20.30, 56.55), (20.45, 56.55), (20.60, 56.55), (20.75, 56.55), (20.85, 56.55)]
    load(csv_track(tmp_path / "in.csv", "MMSI:273000001", "vessel", inbound))
    load(csv_track(tmp_path / "out.csv", "MMSI:273000001", "vessel", inbound[::-1],
                   start=T0 + timedelta(hours=3)))
    (e,) = crossings(conn)
    assert (e["subtype"], e["category"], e["dir"], e["attrs"]["border"]) == (
        "vessel_entering_territorial_sea", "other", "inbound", "sea")
    assert e["section_code"].startswith("LV-SEA-")
    # the point is on the outer limit: about 12 nautical miles from the coast
    coast_m = conn.execute("""SELECT min(ST_Distance(ST_Transform(%s::geometry, 3059), line_m)) AS d
                                FROM border_section WHERE kind = 'sea-external'""", (e["geom"],)).fetchone()["d"]
    assert 20_000 < coast_m < 23_500
    assert T0 + timedelta(minutes=2) < e["occurred_at"] < T0 + timedelta(minutes=3)


def test_impact_rules_come_from_the_settings(conn, tmp_path, crossing_env):
    crossing_env(impact_rules='[{"impact": "very_high", "kind": ["uav"], "section_level": ["high"]}]')
    load(csv_track(tmp_path / "uav.csv", "UAV-8", "uav", SOUTH_TO_NORTH))  # LV-BY-02 is at level high
    load(csv_track(tmp_path / "plane.csv", "PLANE-8", "aircraft", SOUTH_TO_NORTH))
    assert {r["object"]: r["impact"] for r in crossings(conn)} == {"UAV-8": "very_high", "PLANE-8": "low"}


def test_detection_can_be_switched_off(conn, tmp_path, crossing_env):
    crossing_env(enabled="false")
    assert load(csv_track(tmp_path / "uav.csv", "UAV-9", "uav", SOUTH_TO_NORTH)).crossings == 0
    assert crossings(conn) == []


def test_many_tracks_in_one_batch_are_decided_together(conn, tmp_path):
    rng = random.Random(23)
    lines = ["unit,object_kind,time,lat,lon"]
    for k in range(40):
        lon = 27.18 + k * 0.001
        lat = [55.74, 55.78, 55.85, 55.89] if k % 2 == 0 else [55.86, 55.87, 55.88, 55.89]
        for i, la in enumerate(lat):
            lines.append(f"UAV-M{k},uav,{(T0 + timedelta(seconds=60 * i)).isoformat()},{la},{lon}")
    body = lines[:1] + rng.sample(lines[1:], len(lines) - 1)
    path = tmp_path / "many.csv"
    path.write_text("\n".join(body) + "\n")
    assert load(path).crossings == 20
    assert len(crossings(conn)) == 20


def test_every_crossing_subtype_has_words():
    from ingest.loading.crossings import SUBTYPES
    from nsp.vocab import SUBTYPE_WORDS, subtype_words

    assert set(SUBTYPES) <= set(SUBTYPE_WORDS)
    assert subtype_words("suspect_uav_crossing") == "suspect UAV crossing the border"


def test_an_impact_rule_nsp_does_not_know_is_refused():
    from ingest.loading.crossings import CrossingSettings
    with pytest.raises(ValueError, match="impact 'severe'"):
        CrossingSettings(impact_rules=[{"impact": "severe", "kind": ["uav"]}])
    with pytest.raises(ValueError, match="inbound or outbound"):
        CrossingSettings(impact_rules=[{"impact": "high", "direction": ["entry"]}])
    with pytest.raises(ValueError, match="neighbor"):
        CrossingSettings(impact_rules=[{"impact": "high", "neighbor": ["BLR"]}])


def test_a_crossing_alerts_the_webhook_subscriptions_that_ask_for_it(conn, tmp_path):
    from click.testing import CliRunner

    from nsp.cli import cli

    for name, args in (("eastern", ["--min-impact", "high", "--sections", "LV-BY-02"]),
                       ("sea", ["--sections", "LV-SEA-10"])):
        result = CliRunner().invoke(cli, ["alerts", "add", name, "--url", f"http://127.0.0.1:9/{name}",
                                          "--actor", "duty", *args])
        assert result.exit_code == 0, result.output
    load(csv_track(tmp_path / "uav.csv", "UAV-10", "uav", SOUTH_TO_NORTH))
    load(csv_track(tmp_path / "plane.csv", "PLANE-10", "aircraft", SOUTH_TO_NORTH))  # medium: nobody
    queued = conn.execute("""SELECT s.name, e.attrs->>'object_id' AS object FROM alert_delivery d
                               JOIN alert_subscription s ON s.id = d.subscription_id
                               JOIN event e ON e.id = d.event_id""").fetchall()
    assert [(r["name"], r["object"]) for r in queued] == [("eastern", "UAV-10")]


def test_the_cli_says_how_many_crossings_a_file_made(db_url, tmp_path):
    from click.testing import CliRunner

    from nsp.cli import cli

    path = csv_track(tmp_path / "uav.csv", "UAV-11", "uav", SOUTH_TO_NORTH)
    mapping = tmp_path / "positions.toml"
    mapping.write_text('kind = "positions"\n')
    result = CliRunner().invoke(cli, ["ingest", str(path), "--mapping", str(mapping), "--source", "c-uas"])
    assert result.exit_code == 0, result.output
    assert "border crossings detected in the tracks: 1" in result.output


def ais_track(path: Path, mmsi: int, points, start: datetime = T0, step_s: int = 60) -> Path:
    """Type 1 position reports with NMEA 4.0 tag blocks (c: the receiver's Unix time), encoded by
    pyais as a shore station writes them."""
    from pyais.encode import encode_dict

    lines = []
    for i, (lon, lat) in enumerate(points):
        t = start + timedelta(seconds=i * step_s)
        msg = {"type": 1, "mmsi": mmsi, "lon": lon, "lat": lat, "speed": 12.0, "course": 90.0, "heading": 90,
               "status": 0, "second": t.second}
        for sentence in encode_dict(msg, radio_channel="A", talker_id="AI"):
            tag = f"s:liepaja,c:{int(t.timestamp())}"
            cs = 0
            for ch in tag:
                cs ^= ord(ch)
            lines.append(f"\\{tag}*{cs:02X}\\{sentence}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_ais_vessel_entering_the_territorial_sea_is_one_event_per_crossing(conn, tmp_path):
    inbound = [(20.30, 56.55), (20.50, 56.55), (20.70, 56.55), (20.85, 56.55)]
    first = load(ais_track(tmp_path / "in.nmea", 273000002, inbound), source="ais-liepaja")
    assert (first.format, first.crossings) == ("ais", 1)
    load(ais_track(tmp_path / "in.nmea", 273000002, inbound), source="ais-ventspils")  # a second receiver
    (e,) = crossings(conn)
    assert (e["object"], e["subtype"], e["attrs"]["object_kind"]) == (
        "MMSI:273000002", "vessel_entering_territorial_sea", "vessel")
    assert e["attrs"]["sources"] == ["ais-liepaja"]


def test_two_receivers_hearing_one_aircraft_a_moment_apart_make_one_crossing(conn, tmp_path):
    track = [(27.20, 55.74), (27.20, 55.80), (27.20, 55.86)]
    assert load(sbs_track(tmp_path / "a.sbs", "0A0B0E", track, 5000), source="rx-kraslava").crossings == 1
    assert load(sbs_track(tmp_path / "b.sbs", "0A0B0E", track, 5000, offset_ms=350),
                source="rx-daugavpils").crossings == 0
    assert len(crossings(conn)) == 1


def test_two_receivers_loaded_at_the_same_moment_make_one_crossing(conn, tmp_path, monkeypatch):
    """Worker A has decided its crossing but not committed (it is still reading its file) when
    worker B loads the other receiver's fixes of the same aircraft: B waits, then sees A's event."""
    import threading
    import time

    from ingest.loading.pipeline import ingest_stream
    from ingest.settings import ingest_settings

    monkeypatch.setenv("NSP_INGEST_POSITION_CHUNK_ROWS", "1000")  # the first chunk (100 rows) merges early
    ingest_settings.cache_clear()
    track = [(27.20, 55.74), (27.20, 55.80), (27.20, 55.86)]
    a = sbs_track(tmp_path / "a.sbs", "0A0B0F", track, 5000).read_text()
    # then 2,000 fixes of another aircraft over Riga, so that A is still reading after its first chunk
    filler = sbs_track(tmp_path / "f.sbs", "0A0C00", [(24.1, 56.95 + i * 1e-4) for i in range(2000)], 30000)
    a += "".join(line.replace("2026/11/20,10:", "2026/11/20,11:") + "\n"
                 for line in filler.read_text().splitlines()[:2000])
    b = sbs_track(tmp_path / "b.sbs", "0A0B0F", track, 5000, offset_ms=350)
    release, results = threading.Event(), {}

    def locked() -> bool:
        return conn.execute("""SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted
                                  AND classid = hashtext('nsp_ingest')::oid
                                  AND objid = hashtext('nsp-crossings')::oid""").fetchone()["n"] > 0

    def pause(_size):
        if not release.is_set():
            deadline = time.monotonic() + 30
            while not locked() and time.monotonic() < deadline:
                time.sleep(0.05)
            results["a_held_lock"] = locked()
            worker_b.start()
            worker_b.join(timeout=3)
            results["b_waited"] = worker_b.is_alive()
            release.set()

    def load_a():
        import io
        results["a"] = ingest_stream(io.BytesIO(a.encode()), name="a.sbs", source="rx-kraslava", progress=pause)

    worker_b = threading.Thread(target=lambda: results.setdefault("b", load(b, source="rx-daugavpils")))
    worker_a = threading.Thread(target=load_a)
    worker_a.start()
    worker_a.join(timeout=120)
    worker_b.join(timeout=120)
    ingest_settings.cache_clear()
    assert len(crossings(conn)) == 1
    assert (results["a"].crossings, results["b"].crossings) == (1, 0)
    assert results["a_held_lock"] and results["b_waited"]


def test_listed_objects_are_not_reported(conn, tmp_path, crossing_env):
    inbound = [(20.30, 56.55), (20.50, 56.55), (20.70, 56.55), (20.85, 56.55)]
    crossing_env(object_allow='["MMSI:273000003", "UAV-OWN-1"]')
    assert load(ais_track(tmp_path / "ferry.nmea", 273000003, inbound), source="ais").crossings == 0
    assert load(csv_track(tmp_path / "own-uav.csv", "UAV-OWN-1", "uav", SOUTH_TO_NORTH)).crossings == 0
    assert load(ais_track(tmp_path / "other.nmea", 273000004, inbound), source="ais").crossings == 1
    assert [r["object"] for r in crossings(conn)] == ["MMSI:273000004"]
