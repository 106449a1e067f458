"""Tracks that cross a border, for the crossing detection's tests: the LV-BY-02 crossing, the
crossing events read back, and Remote ID lines made from the real Sky Spy capture."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.delivery.listen import stamp_remoteid

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
SKYSPY = REAL / "remoteid" / "skyspy_aware_readme.remoteid"  # no time: the scanner writes none
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
# LV-BY-02 (Krāslava): the border runs from (27.173204, 55.825741) to (27.235526, 55.795846);
# a track due north along 27.20 crosses it once, from Belarus into Latvia.
SOUTH_TO_NORTH = [(27.20, 55.74), (27.20, 55.78), (27.20, 55.85), (27.20, 55.89)]


def crossings(conn) -> list[dict]:
    """The crossing events nsp made, oldest first, with their direction, object and distance
    from the border line (metres)."""
    return conn.execute(
        """SELECT e.*, e.attrs->>'direction' AS dir, e.attrs->>'object_id' AS object,
                  ST_Distance(ST_Transform(e.geom, 3059), b.line_m) AS off_line_m
             FROM event e JOIN border_section b ON b.code = e.section_code
            WHERE e.source = 'nsp-crossings' ORDER BY e.occurred_at""").fetchall()


def remoteid_track(path: Path, uas_id: str, points, operator=(27.21, 55.70), start=T0, step_s: int = 60) -> Path:
    """The real capture's line moved to this drone, place and operator, stamped with the time of
    reception one fix a minute (the scanner writes no time of its own)."""
    real = json.loads(SKYSPY.read_text())
    lines = []
    for i, (lon, lat) in enumerate(points):
        line = dict(real, basic_id=uas_id, drone_lat=lat, drone_long=lon,
                    pilot_lat=operator[1], pilot_long=operator[0])
        received = (start + timedelta(seconds=i * step_s)).timestamp()
        lines.append(stamp_remoteid(json.dumps(line).encode(), received))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path
