"""Real captures under tests/data/real/ (PROVENANCE.md) as the tests of several layers read them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ingest.delivery.listen import stamp_sbs

REAL = Path(__file__).resolve().parents[1] / "data" / "real"

# SBS-1 / BaseStation (tests/data/real/adsb)
SBS_EXAMPLES = REAL / "adsb" / "basestation_examples.sbs"  # dated lines, all record and message types
SBS_UNDATED = REAL / "adsb" / "planeyeller_input_head.sbs"  # an older dump1090's port 30003: no dates
SBS_T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC).timestamp()
# aircraft.json of a real receiver (dump1090-fa / readsb)
ADSB_SNAPSHOT = REAL / "adsb" / "dump1090mqtt_aircraft_excerpt.json"


def real_cot(name: str) -> bytes:
    """A Cursor on Target capture of tests/data/real/cot (XML, or TAK protocol)."""
    return (REAL / "cot" / name).read_bytes()


def sbs_stamped(path: Path = SBS_UNDATED, step: float = 0.25) -> bytes:
    """The capture as `nsp listen --format sbs` writes it: each line stamped as it arrived."""
    lines = path.read_bytes().splitlines()
    return b"\n".join(stamp_sbs(line, SBS_T0 + i * step) for i, line in enumerate(lines)) + b"\n"


def sbs_squawk_line(hex_: str, squawk: str, when: str) -> bytes:
    """The README's real MSG,6 line for another aircraft, time and squawk (as planeyeller's
    own test turns its capture's squawks into 7500 and 7700)."""
    line = SBS_EXAMPLES.read_bytes().splitlines()[10]
    assert line.startswith(b"MSG,6,")
    date, clock = when.split()
    return (line.replace(b"4CA215", hex_.encode()).replace(b",0271,", f",{squawk},".encode())
            .replace(b"2010/02/19", date.encode()).replace(b"17:58:12.846", clock.encode())
            .replace(b"17:58:13.368", clock.encode()))


# Raw Mode S (tests/data/real/adsb, PROVENANCE.md)
RIDDLE = REAL / "adsb" / "asmarques_adsb_frames.avr"  # KLM1023, an even/odd position pair, a velocity
DUMP1090 = REAL / "adsb" / "adsb_deku_frames.avr"  # 51 frames a dump1090 receiver heard, all formats
BEAST_FRAME = REAL / "adsb" / "goadsb_frame_test.beast"  # one Beast frame as port 30005 sends it (DF 11)


def frames_of(path: Path) -> list[bytes]:
    return [bytes.fromhex(ln.strip()[1:-1]) for ln in path.read_text().splitlines() if ln.strip()]


def beast(frames: list[bytes], start: int = 0x1A1A_0000_1A00, signal: int = 0x1A) -> bytes:
    """Real frames in Beast framing, as a receiver's port 30005 sends them: the clock and the
    signal chosen so that 0x1a bytes must be escaped."""
    out = bytearray()
    for i, frame in enumerate(frames):
        kind = {2: b"1", 7: b"2", 14: b"3"}[len(frame)]
        body = (start + i * 12_000).to_bytes(6, "big") + bytes([signal]) + frame
        out += b"\x1a" + kind + body.replace(b"\x1a", b"\x1a\x1a")
    return bytes(out)


def aircraft_counts(conn, source: str) -> dict:
    """What a source's aircraft feed left in the database."""
    return dict(conn.execute(
        """SELECT (SELECT count(*) FROM asset_position WHERE source = %(s)s) AS positions,
                  (SELECT count(*) FROM asset_position WHERE source = %(s)s AND kind = 'aircraft') AS aircraft,
                  (SELECT count(*) FROM event WHERE source = %(s)s) AS events,
                  (SELECT count(*) FROM quarantine WHERE source = %(s)s) AS quarantined,
                  (SELECT count(*) FROM tracked_object WHERE kind = 'aircraft') AS objects""",
        {"s": source}).fetchone())
