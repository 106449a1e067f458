"""Raw Mode S end to end: real frames, as AVR text and as Beast binary -> ingest_file -> PostGIS."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ingest.formats.rawmodes import stamp_frames
from ingest.loading.pipeline import ingest_file
from tests.support.captures import DUMP1090, RIDDLE, beast, frames_of
from tests.support.captures import aircraft_counts as counts

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC).timestamp()


def test_avr_capture_loads_once_with_its_position_and_call_sign(conn, anywhere, tmp_path: Path):  # noqa: F811
    capture = tmp_path / "receiver.txt"  # sniffed, not named
    lines = RIDDLE.read_bytes().splitlines()
    capture.write_bytes(b"\n".join(stamp_frames(lines, T0)) + b"\n")  # as nsp listen writes it
    summary = ingest_file(capture, source="modes")
    assert (summary.format, summary.status, summary.quarantined) == ("avr", "done", 0), summary.reasons
    first = counts(conn, "modes")
    assert (first["positions"], first["aircraft"], first["events"]) == (1, 1, 0)
    row = conn.execute("""SELECT ST_Y(geom) AS lat, ST_X(geom) AS lon, observed_at, attrs->>'altitude_ft' AS alt
                            FROM asset_position WHERE source = 'modes' AND object_id = 'ICAO:40621D'""").fetchone()
    assert abs(row["lat"] - 52.2572021484375) < 1e-4 and abs(row["lon"] - 3.91937255859375) < 1e-4
    assert row["observed_at"] == datetime.fromtimestamp(T0, UTC) and row["alt"] == "38000"
    named = conn.execute("SELECT kind, callsign FROM tracked_object WHERE object_id = 'ICAO:4840D6'").fetchone()
    assert (named["kind"], named["callsign"]) == ("aircraft", "KLM1023")
    again = ingest_file(capture, source="modes")
    assert again.accepted == 0
    assert counts(conn, "modes")["positions"] == 1


def test_beast_capture_without_times_loads_and_a_bad_frame_is_quarantined(conn, anywhere, tmp_path: Path):  # noqa: F811
    capture = tmp_path / "port30005.bin"
    bad = bytearray(frames_of(DUMP1090)[1])
    bad[5] ^= 0x01  # one bit flipped: the parity fails
    capture.write_bytes(beast(frames_of(RIDDLE) + [bytes(bad)] + frames_of(DUMP1090)))
    summary = ingest_file(capture, source="beast")
    assert (summary.format, summary.status, summary.quarantined) == ("beast", "done", 1), summary.reasons
    assert "CRC-24 parity mismatch" in summary.reasons[0]
    assert any("times assumed" in w for w in summary.warnings)
    assert counts(conn, "beast")["positions"] == 1
    raw = conn.execute("SELECT raw FROM quarantine WHERE source = 'beast'").fetchone()["raw"]
    assert raw.startswith("<") and raw.endswith(bytes(bad).hex().upper() + ";")
