"""The scenario's incursions (ingest/scenario.py): drones flying in from Belarus, heard by a
Remote ID scanner, and a vessel entering the territorial sea off Kurzeme, heard over AIS.

Written in the real formats, as the receivers write them: the scanner's JSON lines (the shape
of the real Sky Spy capture, tests/data/real/remoteid) stamped with ``received_at`` as
``nsp listen --format remoteid`` does, and AIS sentences with a shore station's tag block. The
crossing detection (docs/explanation/crossings.md) makes one event of each: a
``suspect_uav_crossing`` of high impact from BLR, a ``vessel_entering_territorial_sea``.

Which days have one is fixed by the date (every other day a drone, every third day the vessel),
their details by the seed and the date, so a day is the same in any window.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyais import encode_dict
from shapely.geometry import LineString, Point

# Where the drones cross: near Krāslava and Silene (lon, lat), as the crossing attempts.
UAV_SPOTS = {"Krāslava": (27.20, 55.81), "Silene": (26.80, 55.68)}
UAV_STEP_S = 30
UAV_SPEED_MS = 12.0
UAV_DEPTH_M = 4000  # how far on each side of the line the flight starts and ends
LIVE_UAV_STEP_S = 5.0  # the live feed's drones: a fix every 5 s, as a scanner hears the beacons
# The vessel: from the open Baltic to 10 km off the coast between Pāvilosta and Liepāja.
VESSEL = {"mmsi": 273350000, "name": "NORD VOYAGER", "callsign": "UBNV7", "ship_type": 70}
VESSEL_TRACK = [(20.35, 56.72), (20.90, 56.72)]
VESSEL_KN = 12.0
VESSEL_STEP_S = 120


@dataclass
class Incursion:
    """One incursion: its object id, kind, and fixes (time, lon, lat)."""

    object_id: str
    kind: str
    fixes: list[tuple[datetime, float, float]]


def _rng(seed: int, what: str, day: datetime) -> random.Random:
    return random.Random(f"{seed}:incursions:{what}:{day:%Y%m%d}")


def uav_incursions(scenario, day: datetime) -> list[Incursion]:
    """The drone of ``day`` (every other local day), if all its flight lies in the window."""
    if day.toordinal() % 2:
        return []
    rng = _rng(scenario.seed, "uav", day)
    path = _uav_path(scenario.geo, rng)
    if path is None:
        return []
    start = (day + timedelta(hours=rng.choice([21, 22, 23, 24, 25, 26]), minutes=rng.randint(0, 59))).astimezone(UTC)
    fixes = _fixes(scenario.geo, path, start, UAV_STEP_S)
    if not all(scenario.start <= t < scenario.end for t, _, _ in fixes):
        return []
    return [Incursion(f"RID:{_serial(rng)}", "uav", fixes)]


def live_uav_flight(scenario, rng: random.Random, start: datetime, step_s: float = LIVE_UAV_STEP_S) -> Incursion | None:
    """A drone of the live feed (ingest/delivery/scenario.py Live): from Belarus across the
    border near Krāslava or Silene, from ``start`` on, a fix every ``step_s`` seconds."""
    path = _uav_path(scenario.geo, rng)
    if path is None:
        return None
    return Incursion(f"RID:{_serial(rng)}", "uav", _fixes(scenario.geo, path, start, step_s))


def _uav_path(geo, rng: random.Random) -> LineString | None:
    """A flight line (metres) across the Belarusian border at one of the spots, UAV_DEPTH_M into
    each side."""
    line = geo.lines["BLR"]
    spot = rng.choice(sorted(UAV_SPOTS))
    at = line.project(geo.metric(*UAV_SPOTS[spot])) + rng.uniform(-1500, 1500)
    p = line.interpolate(at)
    inside = geo.inland(line, at, UAV_DEPTH_M)
    if inside is None:
        return None
    outside = Point(2 * p.x - inside.x, 2 * p.y - inside.y)  # as far into Belarus
    return LineString([outside, inside])


def _fixes(geo, path: LineString, start: datetime, step_s: float) -> list[tuple[datetime, float, float]]:
    n = int(path.length / (UAV_SPEED_MS * step_s)) + 1
    fixes = []
    for i in range(n + 1):
        lon, lat = geo.wgs(path.interpolate(min(i * UAV_SPEED_MS * step_s, path.length)))
        fixes.append((start + timedelta(seconds=i * step_s), lon, lat))
    return fixes


def _serial(rng: random.Random) -> str:
    return f"1581F{rng.randint(10**9, 10**10 - 1)}{rng.choice('ABCDEFGH')}{rng.randint(100, 999)}"


def remoteid_line(mac: str, i: int, lon: float, lat: float, operator: tuple[float, float],
                  serial: str, received_at: datetime | None = None) -> str:
    """One scanner line (the Sky Spy capture's shape); ``received_at`` as ``nsp listen`` stamps
    it, or none (a scanner writes no time: the listener adds it on reception)."""
    record = {"received_at": round(received_at.timestamp(), 3)} if received_at else {}
    record.update({"mac": mac, "rssi": -60 - (i * 7) % 25, "drone_lat": lat, "drone_long": lon,
                   "drone_altitude": 140 + (i * 3) % 20, "pilot_lat": operator[1], "pilot_long": operator[0],
                   "basic_id": serial})
    return json.dumps(record, separators=(",", ":"))


def scanner_mac(rng: random.Random) -> str:
    return "60:60:1f:" + ":".join(f"{rng.randint(0, 255):02x}" for _ in range(3))


def remoteid_day(scenario, day: datetime) -> bytes:
    """The scanner's lines for ``day``'s drones; the operator stays at the launch point."""
    lines = []
    for k, inc in enumerate(uav_incursions(scenario, day)):
        rng = _rng(scenario.seed, f"uav-line-{k}", day)
        mac = scanner_mac(rng)
        _t0, op_lon, op_lat = inc.fixes[0]
        for i, (t, lon, lat) in enumerate(inc.fixes):
            lines.append(remoteid_line(mac, i, lon, lat, (op_lon, op_lat), inc.object_id.removeprefix("RID:"), t))
    return ("\n".join(lines) + "\n").encode() if lines else b""


def vessel_incursions(scenario, day: datetime) -> list[Incursion]:
    """The vessel of ``day`` (every third local day), if all its voyage lies in the window."""
    if day.toordinal() % 3:
        return []
    rng = _rng(scenario.seed, "vessel", day)
    geo = scenario.geo
    path = LineString([geo.metric(*p) for p in VESSEL_TRACK])
    start = (day + timedelta(hours=rng.randint(6, 16), minutes=rng.randint(0, 59))).astimezone(UTC)
    step_m = VESSEL_KN * 0.514444 * VESSEL_STEP_S
    n = int(path.length / step_m) + 1
    fixes = []
    for i in range(n + 1):
        lon, lat = geo.wgs(path.interpolate(min(i * step_m, path.length)))
        fixes.append((start + timedelta(seconds=i * VESSEL_STEP_S), lon, lat))
    if not all(scenario.start <= t < scenario.end for t, _, _ in fixes):
        return []
    return [Incursion(f"MMSI:{VESSEL['mmsi']}", "vessel", fixes)]


def ais_day(scenario, day: datetime) -> bytes:
    """AIS of ``day``'s vessel: a shore station's log (tag blocks), static data first."""
    from ingest.delivery.scenario import tag_block

    lines = []
    for inc in vessel_incursions(scenario, day):
        (t0, lon0, lat0), (_, lon1, lat1) = inc.fixes[0], inc.fixes[1]
        static = {"type": 5, "mmsi": VESSEL["mmsi"], "callsign": VESSEL["callsign"], "shipname": VESSEL["name"],
                  "ship_type": VESSEL["ship_type"], "imo": 9_350_000, "to_bow": 90, "to_stern": 30,
                  "to_port": 8, "to_starboard": 8, "destination": "LIEPAJA"}
        lines += [tag_block(t0) + s for s in encode_dict(static, talker_id="AI", sentence_type="VDM")]
        course = (math.degrees(math.atan2((lon1 - lon0) * math.cos(math.radians(lat0)), lat1 - lat0)) + 360) % 360
        for t, lon, lat in inc.fixes:
            msg = {"type": 1, "mmsi": VESSEL["mmsi"], "status": 0, "lon": lon, "lat": lat, "speed": VESSEL_KN,
                   "course": round(course, 1), "heading": int(course) % 360, "second": t.second}
            lines += [tag_block(t) + s for s in encode_dict(msg, talker_id="AI", sentence_type="VDM")]
    return ("\r\n".join(lines) + "\r\n").encode() if lines else b""
