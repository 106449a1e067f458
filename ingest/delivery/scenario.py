"""A plausible week of Latvia's external borders, written as feed files in the real formats.

``nsp scenario --days 7 --out DIR [--seed N]`` writes one sub-folder per feed — the
sub-folder name is the feed's source when ``nsp watch DIR`` picks it up:

| folder | format | what |
| --- | --- | --- |
| ``daugavpils-board/`` | GeoJSON FeatureCollection, one per day | irregular crossing attempts on the Belarusian border (groups of 5-40, mostly at night, around Krāslava-Silene-Daugavpils) and smuggling there |
| ``sensors/`` | newline-delimited GeoJSON, one per day | UAV sightings and suspect vessels from the surveillance systems |
| ``ludza-board/`` | CSV, Latvian columns, ``;`` and decimal commas, one per day | smuggling and crossings on the Russian border (Ludza and Viļaka boards) |
| ``patrol-gps/`` | GPX, one track per patrol, waypoints for observations | patrols along the border |
| ``tak/`` | Cursor on Target, concatenated ``<event>``s | own assets' positions, UAV and suspect-vessel markers |
| ``ais/`` | AIS NMEA 0183 with tag blocks (``s:``, ``c:``) | traffic in the Gulf of Riga and off Ventspils and Liepāja; every third day a vessel entering the territorial sea (``ais-entering-*``) |
| ``remote-id/`` | Remote ID JSON lines, stamped as ``nsp listen --format remoteid`` does | every other night a drone flying in from Belarus (ingest/incursions.py) |

Everything is placed with ``assets/geodata/latvia``: border events on the actual border
line, inside Latvia, within a few km (computed in EPSG:3059); vessels on sea lanes. The
same ``--seed`` and ``--end`` give byte-identical files. Files are written as
``NAME.part`` and renamed, so a watcher never takes half a file.

``--live DIR [--speed X] [--every S]`` then keeps writing small files with times = now:
own-asset positions or AIS fixes every few seconds, and the scenario's events at its own
rates and hours, X times faster than real time (see ``Live``).
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

import gpxpy
import gpxpy.gpx
import numpy as np
import shapely
from pyais import encode_dict
from pyproj import Transformer
from shapely.geometry import LineString, Point, shape

from ingest.delivery import incursions
from nsp.settings import ASSETS_DIR

GEODATA = ASSETS_DIR / "geodata" / "latvia"
LOCAL = ZoneInfo("Europe/Riga")
UTC = UTC

# Hot spots of irregular crossings on the Belarusian border (lon, lat), approximate.
BLR_HOTSPOTS = {"Krāslava": (27.17, 55.895), "Silene": (26.78, 55.68), "Daugavpils": (26.60, 55.80)}
# Sea lanes (lon, lat), checked to lie at sea against the Natural Earth land.
LANES = {
    "gulf-of-riga": [(23.95, 57.15), (23.75, 57.35), (23.2, 57.6), (22.75, 57.82), (22.2, 57.86), (21.6, 57.82),
                     (21.1, 57.7)],
    "ventspils": [(21.49, 57.42), (21.25, 57.48), (20.7, 57.55), (20.2, 57.6)],
    "liepaja": [(20.96, 56.52), (20.6, 56.55), (20.45, 56.25), (20.35, 55.9)],
    "irbe-coast": [(22.75, 57.74), (23.1, 57.52), (23.35, 57.3), (23.55, 57.12)],
}
VESSELS = [  # mmsi, name, call sign, AIS ship type, lane, speed kn
    (275123000, "DAUGAVA", "YLAB", 70, "gulf-of-riga", 11.5),
    (275456000, "KURZEME", "YLCD", 80, "ventspils", 12.0),
    (275789000, "LIEPAJA EXPRESS", "YLEF", 60, "liepaja", 16.0),
    (276234000, "SAAREMAA", "ESAB", 60, "gulf-of-riga", 14.0),
    (230987000, "BALTIC STAR", "OJAB", 70, "ventspils", 10.5),
    (211345000, "HANSA CARRIER", "DCAB", 70, "liepaja", 13.0),
    (636019876, "NORDIC TANKER", "D5AB7", 80, "gulf-of-riga", 9.5),
    (275111000, "ZVEJNIEKS 7", "YLZV", 30, "irbe-coast", 6.0),
    (273456000, "VOLGO-BALT 214", "UBCD", 70, "liepaja", 8.5),
    (275222000, "RIGA PILOT 2", "YLPI", 50, "gulf-of-riga", 15.0),
]
OWN_ASSETS = [  # callsign, CoT type, kind of route, where
    ("LV-SIL-21", "a-f-G-U-C-I", "BLR", "Silene"),
    ("LV-KRA-12", "a-f-G-E-V-C", "BLR", "Krāslava"),
    ("LV-DAU-05", "a-f-G-E-V-C", "BLR", "Daugavpils"),
    ("LV-LUD-03", "a-f-G-E-V-C", "RUS", None),
    ("LV-VIL-07", "a-f-G-U-C-I", "RUS", None),
    ("LV-AV-HELI1", "a-f-A-M-H", "BLR", None),
    ("LV-KA-P05", "a-f-S-X", "SEA", "gulf-of-riga"),
]


def _xor(text: str) -> str:
    return f"{functools.reduce(lambda a, c: a ^ ord(c), text, 0):02X}"


def tag_block(ts: datetime, station: str = "lv-vts") -> str:
    body = f"s:{station},c:{int(ts.timestamp())}"
    return f"\\{body}*{_xor(body)}\\"


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atomic(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)
    return path


# ----------------------------------------------------------------------- geography


class Geography:
    """Latvia and its external border lines, in the metric CRS (EPSG:3059)."""

    def __init__(self, geodata: Path = GEODATA):
        to_m = Transformer.from_crs(4326, 3059, always_xy=True).transform

        def transform(func, geom):
            return shapely.transform(geom, lambda xy: np.column_stack(func(xy[:, 0], xy[:, 1])))

        self._to_wgs = Transformer.from_crs(3059, 4326, always_xy=True).transform
        countries = json.loads((geodata / "countries.geojson").read_text())
        lva = next(f for f in countries["features"] if f["properties"]["iso_a3"] == "LVA")
        self.latvia = transform(to_m, shape(lva["geometry"]))
        shapely.prepare(self.latvia)
        lines = json.loads((geodata / "border_lines.geojson").read_text())["features"]
        self.lines = {f["properties"]["neighbour"]: transform(to_m, shape(f["geometry"]))
                      for f in lines if f["properties"]["neighbour"] in ("BLR", "RUS")}
        self._to_m = to_m
        self.lanes = {k: transform(to_m, LineString(v)) for k, v in LANES.items()}

    def wgs(self, p: Point) -> tuple[float, float]:
        lon, lat = self._to_wgs(p.x, p.y)
        return round(lon, 6), round(lat, 6)

    def metric(self, lon: float, lat: float) -> Point:
        return Point(self._to_m(lon, lat))

    def inland(self, line: LineString, at_m: float, depth_m: float) -> Point | None:
        """The point ``depth_m`` inside Latvia, perpendicular to ``line`` at ``at_m``."""
        a = line.interpolate(max(at_m - 50, 0))
        b = line.interpolate(min(at_m + 50, line.length))
        dx, dy = b.x - a.x, b.y - a.y
        norm = math.hypot(dx, dy) or 1.0
        p = line.interpolate(at_m)
        for sign in (1, -1):
            q = Point(p.x - sign * dy / norm * depth_m, p.y + sign * dx / norm * depth_m)
            if self.latvia.contains(q):
                return q
        return None

    def near_border(self, rng: random.Random, neighbour: str, depth_km=(0.1, 3.0),
                    around: tuple[float, float] | None = None, radius_km: float = 20) -> Point:
        line = self.lines[neighbour]
        centre = self.metric(*around) if around else None
        for _ in range(500):
            at = rng.uniform(0, line.length)
            if centre is not None and line.interpolate(at).distance(centre) > radius_km * 1000:
                continue
            q = self.inland(line, at, rng.uniform(*depth_km) * 1000)
            if q is not None:
                return q
        raise RuntimeError(f"no point found near the {neighbour} border")  # geodata broken

    def along(self, line: LineString, start_m: float, dist_m: float, depth_m: float) -> Point:
        """A point ``dist_m`` along ``line`` from ``start_m`` (ping-pong at the ends), inland."""
        length = line.length
        s = (start_m + dist_m) % (2 * length)
        at = s if s <= length else 2 * length - s
        return self.inland(line, at, depth_m) or line.interpolate(at)

    def on_lane(self, lane: str, dist_m: float) -> tuple[Point, float]:
        """Position and course (degrees) ``dist_m`` along a sea lane, back and forth."""
        line = self.lanes[lane]
        length = line.length
        s = dist_m % (2 * length)
        forward = s <= length
        at = s if forward else 2 * length - s
        p = line.interpolate(at)
        q = line.interpolate(min(at + 100, length)) if forward else line.interpolate(max(at - 100, 0))
        course = (math.degrees(math.atan2(q.x - p.x, q.y - p.y)) + 360) % 360
        return p, course


@functools.lru_cache(maxsize=1)
def geography() -> Geography:
    return Geography()


# -------------------------------------------------------------------------- events


@dataclass
class Ev:
    ref: str
    category: str
    subtype: str
    at: datetime
    point: Point
    persons: int | None = None
    impact: str = "low"
    description: str = ""
    extra: dict | None = None
    reported: datetime | None = None  # when the feed reported it (default: 20 min after)


def _night_time(rng: random.Random, day: datetime, night_share: float = 0.8) -> datetime:
    """A time of the local day ``day`` (a local midnight), mostly at night (20-05 h)."""
    if rng.random() < night_share:
        hour = rng.choice([20, 21, 22, 23, 24, 25, 26, 27, 28])  # 24+ is after midnight
    else:
        hour = rng.randint(6, 19)
    local = day + timedelta(hours=hour, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
    return local.astimezone(UTC)


def _crossing_impact(rng: random.Random, persons: int) -> tuple[str, bool]:
    sar = rng.random() < 0.04
    if sar:
        return "very_high", True
    if (persons >= 35 and rng.random() < 0.5) or rng.random() < 0.03:
        return "high", False
    return ("medium" if persons >= 15 else "low"), False


class Scenario:
    """The generator; one instance per run. Randomness: one seeded RNG per feed and local day
    (``_rng``), so a day is the same whatever window it falls in."""

    def __init__(self, seed: int = 1, end: datetime | None = None, days: int = 7):
        self.seed = seed
        end = end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self.end = end.astimezone(UTC)
        self.days = days
        self.start = self.end - timedelta(days=days)
        self.geo = geography()

    def local_days(self) -> list[datetime]:
        first = self.start.astimezone(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0)
        return [(first + timedelta(days=i)).replace(tzinfo=LOCAL) for i in range(self.days + 1)]

    def _in_window(self, ts: datetime) -> bool:
        return self.start <= ts < self.end

    # ..................................................................... events

    def _rng(self, feed: str, day: datetime) -> random.Random:
        """The randomness of one feed's local day: the same for a seed and a date, whatever the
        window. With one generator for the whole run, a history ending an hour later drew
        differently on its first, partial day, and every later day changed with it: a demo
        restarted an hour later wrote other events under the refs already stored."""
        return random.Random(f"{self.seed}:{feed}:{day:%Y%m%d}")

    def blr_events(self, day: datetime) -> list[Ev]:
        rng, out = self._rng("daugavpils-board", day), []
        tag = day.strftime("%Y%m%d")
        for i in range(rng.randint(8, 18)):
            spot = rng.choices(list(BLR_HOTSPOTS), weights=[4, 4, 2])[0] if rng.random() < 0.85 else None
            p = self.geo.near_border(rng, "BLR", (0.05, 2.5), BLR_HOTSPOTS.get(spot), 18)
            persons = rng.choice([5, 6, 7, 8, 9, 10, 12, 14, 15, 18, 20, 22, 25, 28, 30, 35, 40])
            impact, sar = _crossing_impact(rng, persons)
            stage = "attempted" if rng.random() < 0.88 else "actual"
            near = spot or "the Belarusian border"
            out.append(Ev(
                f"DAU-{tag}-{i + 1:03d}", "unauthorised_border_crossing", "group_crossing_attempt",
                _night_time(rng, day), p, persons, impact,
                f"Group of {persons} persons {'prevented from entering' if stage == 'attempted' else 'crossed'} "
                f"near {near}" + ("; persons in need of medical help, SAR alerted" if sar else ""),
                {"crossing_stage": stage, "crossing_mode": "clandestine", "direction": "entry",
                 "detection_method": rng.choice(["border_surveillance"] * 4 + ["other"]),
                 "transport_means": "on foot", "evasion_attempt": rng.random() < 0.3,
                 "facilitation_link": rng.random() < 0.2, "sar_link": sar,
                 "source_reliability": rng.choice("ABB"), "credibility": rng.choice([1, 2, 2, 3])},
            ))
        for i in range(rng.randint(0, 2)):
            p = self.geo.near_border(rng, "BLR", (0.1, 4.0))
            out.append(Ev(f"DAU-{tag}-S{i + 1:02d}", "cross_border_crime",
                          rng.choice(["cigarette_smuggling", "balloon_smuggling"]),
                          _night_time(rng, day, 0.6), p, rng.choice([None, 1, 2]), "low",
                          "Contraband cigarettes seized", {"direction": "entry"}))
        return [e for e in out + self._follow_ups(out, day) if self._in_window(e.at)]

    def _follow_ups(self, events: list[Ev], day: datetime) -> list[Ev]:
        """Most high and very high crossing attempts get a follow-up report 1-4 hours later: the
        response, linked to the first report by ``parent_ref`` (2021/581 Art 9)."""
        rng, out = self._rng("follow-ups", day), []
        for e in events:
            if e.category != "unauthorised_border_crossing" or e.impact not in ("high", "very_high"):
                continue
            if rng.random() < 0.7:
                response = rng.choice([f"all {e.persons} persons returned to Belarus",
                                       "the group withdrew to Belarus; the patrol stays on site",
                                       f"{max(1, e.persons // 4)} persons given medical help, the rest returned"])
                out.append(replace(e, ref=e.ref + "-F1", subtype="follow_up",
                                   at=e.at + timedelta(minutes=rng.randint(60, 240)),
                                   description=f"Follow-up: {response}",
                                   extra={**(e.extra or {}), "parent_ref": e.ref}))
        return out

    def rus_rows(self, day: datetime) -> list[Ev]:
        rng, out = self._rng("ludza-board", day), []
        tag = day.strftime("%Y%m%d")
        for i in range(rng.randint(1, 4)):
            p = self.geo.near_border(rng, "RUS", (0.1, 4.0))
            smuggling = rng.random() < 0.7
            persons = rng.randint(1, 3) if smuggling else rng.randint(2, 8)
            out.append(Ev(
                f"LUD-{tag}-{i + 1:02d}",
                "cross_border_crime" if smuggling else "unauthorised_border_crossing",
                rng.choice(["cigarette_smuggling", "fuel_smuggling", "alcohol_smuggling"]) if smuggling
                else "crossing_attempt",
                _night_time(rng, day, 0.6), p, persons,
                rng.choice(["low", "low", "medium"]) if smuggling else rng.choice(["low", "medium"]),
                rng.choice(["Aizturēta automašīna ar kontrabandas cigaretēm",
                            "Atrasta kontrabandas degviela pie robežas",
                            "Personas aizturētas pie robežas"]) if smuggling
                else "Personu grupa mēģināja šķērsot robežu",
            ))
        return [e for e in out if self._in_window(e.at)]

    def sensor_events(self, day: datetime) -> list[Ev]:
        rng, out = self._rng("sensors", day), []
        checks = self._rng("sensor-checks", day)
        tag = day.strftime("%Y%m%d")
        for i in range(rng.randint(0, 3)):
            p = self.geo.near_border(rng, rng.choice(["BLR", "BLR", "RUS"]), (0.2, 6.0))
            high = rng.random() < 0.15
            # about one sighting in six is checked by the operator before it is sent and
            # rejected (birds, a known aircraft): the feed delivers it with that validation
            rejected = checks.random() < 0.17
            out.append(Ev(f"SENS-{tag}-U{i + 1:02d}", "other", "uav_sighting",
                          _night_time(rng, day, 0.5), p, None, "high" if high else "medium",
                          ("Radar track reviewed by the operator: a flock of birds, not a UAV" if rejected else
                           "Unidentified UAV crossing the border" + (" at low altitude" if high else "")),
                          {"detection_method": "border_surveillance", "direction": "entry",
                           **({"validation": "rejected"} if rejected else {})}))
        if rng.random() < 0.5:
            lane = rng.choice(["irbe-coast", "liepaja"])
            q, _ = self.geo.on_lane(lane, rng.uniform(0, 200_000))
            out.append(Ev(f"SENS-{tag}-V01", "other", "suspect_vessel", _night_time(rng, day, 0.5),
                          q, None, rng.choice(["medium", "high"]),
                          "Vessel without AIS loitering near the coast",
                          {"detection_method": "border_surveillance"}))
        return [e for e in out if self._in_window(e.at)]

    # .................................................................. writers

    def _feature(self, e: Ev) -> dict:
        lon, lat = self.geo.wgs(e.point)
        props = {"id": e.ref, "category": e.category, "subtype": e.subtype,
                 "occurred_at": iso(e.at), "reported_at": iso(e.reported or e.at + timedelta(minutes=20)),
                 "persons": e.persons, "impact": e.impact, "description": e.description,
                 **(e.extra or {})}
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {k: v for k, v in props.items() if v is not None}}

    def feature_collection(self, events: list[Ev]) -> bytes:
        fc = {"type": "FeatureCollection", "features": [self._feature(e) for e in events]}
        return json.dumps(fc, ensure_ascii=False, indent=1).encode()

    def ndjson(self, events: list[Ev]) -> bytes:
        return "".join(json.dumps(self._feature(e), ensure_ascii=False) + "\n" for e in events).encode()

    def csv_lv(self, events: list[Ev]) -> bytes:
        cat = {"cross_border_crime": "kontrabanda", "unauthorised_border_crossing": "robežas šķērsošana"}
        lines = ["Nr.;Datums;Laiks;Platums;Garums;Kategorija;Apakškategorija;Personas;Ietekme;Apraksts"]
        for e in events:
            lon, lat = self.geo.wgs(e.point)
            local = e.at.astimezone(LOCAL)
            lines.append(";".join([
                e.ref, local.strftime("%d.%m.%Y"), local.strftime("%H:%M"),
                f"{lat:.5f}".replace(".", ","), f"{lon:.5f}".replace(".", ","),
                cat[e.category], e.subtype, str(e.persons or ""), e.impact, e.description,
            ]))
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    # .................................................................. patrols

    def patrols(self, day: datetime) -> Iterator[tuple[str, bytes]]:
        rng = self._rng("patrol-gps", day)
        for n in range(rng.randint(3, 5)):
            neighbour = "BLR" if n < 3 else "RUS"
            line = self.geo.lines[neighbour]
            mode = rng.choice(["foot", "foot", "vehicle"])
            speed = 4.5 / 3.6 if mode == "foot" else 25 / 3.6  # m/s
            hours = rng.uniform(2, 4) if mode == "foot" else rng.uniform(3, 6)
            begin = (day + timedelta(hours=rng.choice([6, 8, 14, 18, 22]))).astimezone(UTC)
            if not self._in_window(begin + timedelta(hours=hours)):
                continue
            unit = f"{'DAU' if neighbour == 'BLR' else 'LUD'}-P{n + 1}"
            gpx = gpxpy.gpx.GPX()
            gpx.creator = "nsp scenario (Garmin GPSMAP 67 compatible)"
            trk = gpxpy.gpx.GPXTrack(name=unit, description=f"{mode} patrol")
            trk.type = mode
            seg = gpxpy.gpx.GPXTrackSegment()
            start_m, depth = rng.uniform(0, line.length), rng.uniform(150, 700)
            step = 60 if mode == "foot" else 30
            for k in range(int(hours * 3600 / step)):
                p = self.geo.along(line, start_m, k * step * speed, depth + 40 * math.sin(k / 9))
                lon, lat = self.geo.wgs(p)
                seg.points.append(gpxpy.gpx.GPXTrackPoint(
                    lat, lon, elevation=round(120 + 15 * math.sin(k / 20), 1),
                    time=begin + timedelta(seconds=k * step)))
            trk.segments.append(seg)
            gpx.tracks.append(trk)
            if rng.random() < 0.5:
                pt = seg.points[len(seg.points) // 2]
                gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(
                    pt.latitude, pt.longitude, time=pt.time,
                    name=rng.choice(["Footprints", "Damaged fence", "Abandoned items"]),
                    description="Observed by the patrol"))
            name = f"{unit}-{begin.strftime('%Y%m%dT%H%M')}.gpx"
            yield name, gpx.to_xml(version="1.1").encode()

    # .............................................................. CoT, AIS

    def _own_position(self, i: int, ts: datetime) -> tuple[Point, float]:
        callsign, cot_type, where, spot = OWN_ASSETS[i]
        t = (ts - datetime(2026, 1, 1, tzinfo=UTC)).total_seconds()
        if where == "SEA":
            return self.geo.on_lane(spot, t * 5.0)[0], 5.0
        line = self.geo.lines[where]
        speed = 30.0 if cot_type.startswith("a-f-A") else 4.0  # m/s, averaged with stops
        offset = (i * 37_000) % line.length
        if spot:  # stays around its home area
            home = self.geo.metric(*BLR_HOTSPOTS[spot])
            offset = line.project(home) - 10_000
            return self.geo.along(line, offset, (t * speed) % 20_000, 800), speed
        return self.geo.along(line, offset, t * speed, 1200), speed

    def cot_event(self, uid: str, cot_type: str, ts: datetime, p: Point, stale_min: int,
                  how: str = "m-g", ce: float = 10.0, callsign: str | None = None,
                  remarks: str | None = None, speed: float | None = None) -> str:
        lon, lat = self.geo.wgs(p)
        detail = []
        if callsign:
            detail.append(f"<contact callsign={quoteattr(callsign)}/>")
            detail.append('<__group name="Cyan" role="Team Member"/>')
        if speed is not None:
            detail.append(f'<track course="0.0" speed="{speed:.1f}"/>')
        if remarks:
            detail.append(f"<remarks>{escape(remarks)}</remarks>")
        return (f'<event version="2.0" uid={quoteattr(uid)} type="{cot_type}" time="{iso(ts)}" '
                f'start="{iso(ts)}" stale="{iso(ts + timedelta(minutes=stale_min))}" how="{how}">'
                f'<point lat="{lat}" lon="{lon}" hae="9999999.0" ce="{ce}" le="9999999.0"/>'
                f'<detail>{"".join(detail)}</detail></event>\n')

    def cot_day(self, day: datetime, sensor: list[Ev]) -> bytes:
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        t = max(day.astimezone(UTC), self.start)
        stop = min((day + timedelta(days=1)).astimezone(UTC), self.end)
        while t < stop:
            for i, (callsign, cot_type, _, _) in enumerate(OWN_ASSETS):
                p, speed = self._own_position(i, t)
                parts.append(self.cot_event(f"ANDROID-{callsign}", cot_type, t, p, 30,
                                            callsign=callsign, speed=speed))
            t += timedelta(minutes=15)
        for e in sensor:  # the same sightings as markers on the TAK network, not the rejected ones
            if (e.extra or {}).get("validation") == "rejected":
                continue
            cot_type = "a-u-A-M-F-Q" if e.subtype == "uav_sighting" else "a-s-S"
            parts.append(self.cot_event(f"MARKER-{e.ref}", cot_type, e.at, e.point, 60, how="h-e",
                                        ce=250.0, remarks=e.description))
        return "".join(parts).encode()

    def ais_lines(self, ts: datetime, with_static: bool, tagged: bool = True) -> list[str]:
        """The vessels' sentences at ``ts``: with a tag block (a shore station's log), or
        without (``tagged=False``: what a receiver sends over UDP; the listener stamps them)."""
        t = (ts - datetime(2026, 1, 1, tzinfo=UTC)).total_seconds()
        tag = tag_block(ts) if tagged else ""
        out = []
        for k, (mmsi, name, callsign, ship_type, lane, kn) in enumerate(VESSELS):
            p, course = self.geo.on_lane(lane, t * kn * 0.514444 + k * 23_000)
            lon, lat = self.geo.wgs(p)
            msg = {"type": 1, "mmsi": mmsi, "status": 7 if ship_type == 30 else 0, "lon": lon, "lat": lat,
                   "speed": kn, "course": round(course, 1), "heading": int(course) % 360,
                   "second": ts.second}
            out += [tag + s for s in encode_dict(msg, talker_id="AI", sentence_type="VDM")]
            if with_static:
                static = {"type": 5, "mmsi": mmsi, "callsign": callsign, "shipname": name,
                          "ship_type": ship_type, "imo": 9_000_000 + mmsi % 999_999,
                          "to_bow": 60, "to_stern": 20, "to_port": 6, "to_starboard": 6,
                          "destination": "RIGA" if lane == "gulf-of-riga" else lane.upper()[:20]}
                out += [tag + s for s in
                        encode_dict(static, talker_id="AI", sentence_type="VDM", seq_id=k % 10)]
        return out

    def ais_day(self, day: datetime) -> bytes:
        lines = []
        t = max(day.astimezone(UTC), self.start)
        stop = min((day + timedelta(days=1)).astimezone(UTC), self.end)
        n = 0
        while t < stop:
            lines += self.ais_lines(t, with_static=(n % 6 == 0))
            t += timedelta(minutes=10)
            n += 1
        return ("\r\n".join(lines) + "\r\n").encode() if lines else b""

    # ..................................................................... run

    def write(self, out: Path, progress=None) -> dict[str, int]:
        """Write the whole history into ``out``; return {folder: files written}.

        ``progress(done_days, total_days)`` is called after each day.
        """
        counts: dict[str, int] = {}

        def put(folder: str, name: str, data: bytes) -> None:
            if data:
                write_atomic(out / folder / name, data)
                counts[folder] = counts.get(folder, 0) + 1

        days = self.local_days()
        for n, day in enumerate(days, 1):
            tag = day.strftime("%Y%m%d")
            sensor = self.sensor_events(day)
            blr, rus = self.blr_events(day), self.rus_rows(day)
            put("daugavpils-board", f"report-{tag}.geojson", blr and self.feature_collection(blr))
            put("ludza-board", f"zinojumi-{tag}.csv", rus and self.csv_lv(rus))
            put("sensors", f"detections-{tag}.ndjson", self.ndjson(sensor))
            for name, data in self.patrols(day):
                put("patrol-gps", name, data)
            put("tak", f"tak-{tag}.cot", self.cot_day(day, sensor))
            put("ais", f"ais-{tag}.nmea", self.ais_day(day))
            put("ais", f"ais-entering-{tag}.nmea", incursions.ais_day(self, day))  # the territorial sea
            put("remote-id", f"rid-{tag}.remoteid", incursions.remoteid_day(self, day))  # drones from Belarus
            if progress is not None:
                progress(n, len(days))
        return counts


# -------------------------------------------------------------------------- live


DRONES_EVERY_S = 900.0  # the live feed: a drone from Belarus every 15 minutes or so


class Live:
    """Writes small files into a drop folder as time goes on, with times = now.

    - Own assets' positions (CoT) or AIS fixes: a file every ``every`` seconds (±50 %), so a
      wall display moves.
    - The scenario's own events at its own rates and hours (``blr_events``, ``rus_rows``,
      ``sensor_events``: 8-18 crossing attempts a day on the Belarusian border, ~80 % at
      night, smuggling, UAVs, suspect vessels), each into its feed's folder and format 1-5
      minutes after it happened, as a board or a sensor reports. ``speed`` runs this event
      clock faster than real time (24: a day's events an hour); the times written are real.
    - Now and then (``drones_every`` seconds, ±30 %) a drone flying in from Belarus across the
      border near Krāslava or Silene, heard by a Remote ID scanner every 5 s for the 11
      minutes of its flight, in real time (ingest/delivery/incursions.py): the database makes
      its border crossing event as for any track.
    """

    EVENT_FEEDS = (  # folder, Scenario generator, writer, file extension
        ("daugavpils-board", "blr_events", "feature_collection", "geojson"),
        ("ludza-board", "rus_rows", "csv_lv", "csv"),
        ("sensors", "sensor_events", "ndjson", "ndjson"),
    )

    def __init__(self, out: Path, seed: int = 1, speed: float = 1.0, every: float = 4.0,
                 start: datetime | None = None, ais_udp: tuple[str, int] | None = None,
                 cot_udp: tuple[str, int] | None = None, rid_udp: tuple[str, int] | None = None,
                 drones_every: float = DRONES_EVERY_S):
        self.out, self.speed, self.every = out, speed, every
        # AIS as a receiver sends it, one sentence a UDP datagram to `nsp listen`, own assets'
        # CoT as ATAK devices send it, one event a datagram, and Remote ID as a scanner does,
        # one detection (a JSON line, no time) a datagram, instead of files
        self.ais_udp, self.cot_udp, self.rid_udp = ais_udp, cot_udp, rid_udp
        self.ais_sent = self.cot_sent = self.rid_sent = 0
        self.start = (start or datetime.now(UTC)).replace(microsecond=0)
        # the event clock's scenario: its window opens now (what came before is the history's)
        self.scenario = Scenario(seed=seed + 1, end=self.start + timedelta(days=36500), days=36500)
        self.rng = random.Random(seed + 7919)
        self.n = 0
        # a restarted live feed must not repeat the refs of an earlier run (they would be duplicates)
        self.prefix = f"L{self.start:%Y%m%d%H%M%S}-"
        self.next_day = self.start.astimezone(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0)
        self.pending: list[tuple[datetime, str, Ev]] = []  # (when to write it, folder, event)
        # drones from Belarus now and then (0: none), flying in real time: the first soon after
        # the start, then every ``drones_every`` seconds ±30 % (the history's are nightly)
        self.drones_every, self.drone_rng = drones_every, random.Random(seed + 104729)
        self.next_drone = self.start + timedelta(seconds=self.drone_rng.uniform(10, 60)) if drones_every else None
        self.drones = 0
        self.flights: list[dict] = []  # the drones in the air: their fixes, scanner, operator, sent

    def scenario_time(self, now: datetime) -> datetime:
        """The event clock at real time ``now``."""
        return self.start + (now - self.start) * self.speed

    def real_time(self, at: datetime) -> datetime:
        return self.start + (at - self.start) / self.speed

    def _plan(self, now: datetime) -> None:
        """Generate the scenario's days up to the event clock's now."""
        sc = self.scenario
        reported_of: dict[str, datetime] = {}
        while self.next_day <= self.scenario_time(now):
            for folder, generate, _writer, _ext in self.EVENT_FEEDS:
                for e in getattr(sc, generate)(self.next_day):  # first reports before their follow-ups
                    at = self.real_time(e.at)
                    reported = at + timedelta(seconds=self.rng.randint(60, 300))
                    extra = e.extra
                    if extra and "parent_ref" in extra:  # a follow-up names its first report's ref
                        # and comes no earlier than it (the link is made when both are stored)
                        first = reported_of.get(extra["parent_ref"])
                        reported = max(reported, first) if first else reported
                        extra = {**extra, "parent_ref": self.prefix + extra["parent_ref"]}
                    reported_of[e.ref] = reported
                    self.pending.append((reported, folder, replace(e, ref=self.prefix + e.ref, at=at,
                                                                   reported=reported, extra=extra)))
            self.next_day += timedelta(days=1)  # the next local midnight (zoneinfo keeps the wall time)
        self.pending.sort(key=lambda p: p[0])

    def step(self, now: datetime | None = None, budget: int | None = None) -> list[Path]:
        """Write the events now due (a file per feed) and one position file, at most ``budget``
        files (what does not fit stays due); return the paths."""
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        room = budget if budget is not None else 1 + len(self.EVENT_FEEDS)
        sc, rng = self.scenario, self.rng
        self._plan(now)
        stamp = now.strftime("%Y%m%dT%H%M%S")
        due = [p for p in self.pending if p[0] <= now]
        paths, written = [], set()
        for folder, _generate, writer, ext in self.EVENT_FEEDS:
            evs = [e for _t, f, e in due if f == folder]
            if evs and len(paths) < room:
                self.n += 1
                paths.append(write_atomic(self.out / folder / f"live-{stamp}-{self.n}.{ext}",
                                          getattr(sc, writer)(evs)))
                written.add(folder)
        self.pending = [p for p in self.pending if p[0] > now or p[1] not in written]
        if len(paths) >= room:
            return paths
        drones = self._drones(now)
        if drones:
            paths.append(drones)
            if len(paths) >= room:
                return paths
        self.n += 1
        cot = rng.random() < 0.5  # own assets' positions, else AIS
        if cot:
            messages = []
            for i, (callsign, cot_type, _, _) in enumerate(OWN_ASSETS):
                p, speed = sc._own_position(i, now)
                messages.append(sc.cot_event(f"ANDROID-{callsign}", cot_type, now, p, 5, callsign=callsign,
                                             speed=speed))
            udp, folder, name = self.cot_udp, "tak", f"live-{stamp}-{self.n}.cot"
            data = '<?xml version="1.0" encoding="UTF-8"?>\n' + "".join(messages)
        else:
            messages = [line + "\r\n" for line in
                        sc.ais_lines(now, with_static=self.n % 20 == 1, tagged=not self.ais_udp)]
            udp, folder, name = self.ais_udp, "ais", f"live-{stamp}-{self.n}.nmea"
            data = "".join(messages)
        if udp:  # a message a datagram, as a device or a receiver sends them
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for m in messages:
                    sock.sendto(m.encode(), udp)
            if cot:
                self.cot_sent += len(messages)
            else:
                self.ais_sent += len(messages)
        else:
            paths.append(write_atomic(self.out / folder / name, data.encode()))
        return paths

    def _drones(self, now: datetime) -> Path | None:
        """The drones' fixes now due: over UDP the newest of each drone, a detection a datagram
        (a scanner reports what it hears now; ``nsp listen`` stamps the time), else all of them
        in a ``remote-id/`` file, each stamped with its time. Returns the file written, if any."""
        while self.next_drone is not None and self.next_drone <= now:
            flight = incursions.live_uav_flight(self.scenario, self.drone_rng, self.next_drone)
            if flight is not None:
                self.drones += 1
                self.flights.append({"fixes": flight.fixes, "serial": flight.object_id.removeprefix("RID:"),
                                     "mac": incursions.scanner_mac(self.drone_rng), "sent": 0})
            self.next_drone += timedelta(seconds=self.drones_every * self.drone_rng.uniform(0.7, 1.3))
        lines = []
        for f in self.flights:
            due = [i for i, (t, _, _) in enumerate(f["fixes"]) if t <= now and i >= f["sent"]]
            if not due:
                continue
            operator = f["fixes"][0][1:]  # the operator stays where it launched
            for i in due[-1:] if self.rid_udp else due:
                t, lon, lat = f["fixes"][i]
                lines.append(incursions.remoteid_line(f["mac"], i, lon, lat, operator, f["serial"],
                                                      None if self.rid_udp else t))
            f["sent"] = due[-1] + 1
        self.flights = [f for f in self.flights if f["sent"] < len(f["fixes"])]
        if not lines:
            return None
        if self.rid_udp:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for line in lines:
                    sock.sendto(line.encode() + b"\n", self.rid_udp)
            self.rid_sent += len(lines)
            return None
        self.n += 1
        return write_atomic(self.out / "remote-id" / f"live-{now:%Y%m%dT%H%M%S}-{self.n}.remoteid",
                            ("\n".join(lines) + "\n").encode())

    def run(self, stop: threading.Event, max_files: int | None = None) -> int:
        while not stop.is_set():
            self.step(budget=None if max_files is None else max_files - self.n)
            if max_files is not None and self.n >= max_files:
                break
            stop.wait(self.rng.uniform(0.5, 1.5) * self.every)
        return self.n
