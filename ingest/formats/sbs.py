"""SBS-1 / BaseStation CSV (dump1090, readsb: TCP port 30003), aircraft from ADS-B and Mode S.

One line per message::

    MSG,<type>,<session>,<aircraft>,<hex>,<flight>,<date gen>,<time gen>,<date logged>,
    <time logged>,<callsign>,<altitude>,<ground speed>,<track>,<lat>,<lon>,<vertical rate>,
    <squawk>,<alert>,<emergency>,<SPI>,<on ground>

SBS splits what it knows of one aircraft across message types (1 identification, 2 surface
position, 3 airborne position, 4 velocity, 5 surveillance altitude, 6 squawk, 7 air-to-air,
8 all-call). The parser keeps, per ICAO address and in file order, the latest call sign,
altitude, ground speed, track, vertical rate and squawk, and yields:

* a :class:`Position` of kind ``aircraft`` (``object_id`` ``ICAO:<HEX>``) for every type 2
  and 3 message with a latitude and longitude, carrying what the earlier lines of the file
  said about the aircraft (``speed_kn``, ``course_deg``, ``attrs``: ``icao``, ``callsign``,
  ``altitude_ft``, ``vertical_rate_fpm``, ``squawk``, ``on_ground``);
* a :class:`TrackedObject` when a type 1 message gives a call sign not seen before in the file;
* an :class:`Event` for an emergency squawk (7500, 7600, 7700): one per aircraft, squawk and
  UTC day, at the aircraft's position (see :data:`EMERGENCY_SQUAWKS`).

The time of a message is its "generated" date and time (fields 7 and 8), else its "logged"
date and time (9 and 10), read as UTC, as dump1090-fa and readsb write them. A message with
neither (older dump1090 builds leave them empty) is quarantined: ``nsp listen --format sbs``
stamps such lines with the time they were received. Lines of other record types (``SEL``,
``ID``, ``AIR``, ``STA``, ``CLK``) and message types that carry nothing for the picture are
counted in :attr:`SbsFormat.stats`, not quarantined.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from ingest.formats.base import (
    Event,
    FeedFormat,
    Location,
    Position,
    Record,
    Rejected,
    TrackedObject,
    line_confidence,
    register,
    text_lines,
)
from ingest.formats.registry import registered, registry_state

MAX_LINE = 1024  # an SBS line is about 100 characters
FIELDS = 22
OTHER_RECORDS = frozenset({"SEL", "ID", "AIR", "STA", "CLK"})
_LINE = re.compile(rb"^(MSG,[1-8],|(SEL|ID|AIR|STA|CLK),)")
_HEX = re.compile(r"^~?[0-9A-Fa-f]{6}$")  # "~" marks a non-ICAO (TIS-B) address in readsb
_SQUAWK = re.compile(r"^[0-7]{4}$")


@dataclass(frozen=True)
class Emergency:
    category: str
    subtype: str
    impact: str
    words: str


# Emergency squawks (ICAO Doc 4444, 8.5; feeds.md): the event each one raises.
EMERGENCY_SQUAWKS: dict[str, Emergency] = {
    "7500": Emergency("crisis_situation", "aircraft_hijack_7500", "very_high", "unlawful interference (hijack)"),
    "7600": Emergency("crisis_situation", "aircraft_radio_failure_7600", "medium", "radio failure"),
    "7700": Emergency("crisis_situation", "aircraft_emergency_7700", "high", "general emergency"),
}


def object_id(icao: str) -> str:
    """``4ca2d6`` -> ``ICAO:4CA2D6`` (readsb's ``~`` for a non-ICAO address is kept)."""
    return f"ICAO:{icao.upper()}"


def squawk_event(icao: str, squawk: str, observed_at: datetime, lon: float, lat: float,
                 location: Location, raw: str, attrs: dict) -> Event:
    """The event of an emergency squawk. Its ``source_ref`` names the aircraft, the squawk and
    the UTC day it was first seen on, so that the same episode delivered again (or continued
    in the listener's next file) is one event."""
    emergency = EMERGENCY_SQUAWKS[squawk]
    day = observed_at.astimezone(UTC).date().isoformat()
    callsign, address = attrs.get("callsign"), icao.upper()
    told = [address] if callsign else []  # in brackets: the address beside a call sign, and the state of registry
    told += [state] if (state := registry_state(address)) else []
    who = (callsign or address) + (f" ({', '.join(told)})" if told else "")
    return Event(
        source_ref=f"squawk:{icao.upper()}:{squawk}:{day}",
        category=emergency.category,
        subtype=emergency.subtype,
        occurred_at=observed_at,
        lon=lon,
        lat=lat,
        location=location,
        raw=raw,
        impact=emergency.impact,
        transport_means="aircraft",
        detection_method="other",  # the aircraft's own transponder: attrs["sensor"]
        description=f"Aircraft {who} squawks {squawk}: {emergency.words}",
        attrs={"icao": icao.upper(), **registered(icao.upper()), "squawk": squawk, "sensor": "ADS-B / Mode S",
               **{k: v for k, v in attrs.items() if k != "squawk"}},
    )


class SquawkWatch:
    """Emergency squawks seen in one file: an event once per aircraft, squawk and day. A squawk
    heard before the aircraft's first position waits for that position (an event needs a
    place); one that never gets a position is counted in ``stats["emergency_without_position"]``."""

    def __init__(self, stats: Counter):
        self.stats = stats
        self.raised: set[tuple[str, str, str]] = set()
        self.waiting: dict[str, tuple[str, datetime, Location, str]] = {}

    def heard(self, icao: str, squawk: str, when: datetime, location: Location, raw: str) -> None:
        if squawk in EMERGENCY_SQUAWKS and icao not in self.waiting:
            self.waiting[icao] = (squawk, when, location, raw)

    def placed(self, icao: str, lon: float, lat: float, attrs: dict) -> Iterator[Event]:
        pending = self.waiting.pop(icao, None)
        if pending is None:
            return
        squawk, when, location, raw = pending
        key = (icao.upper(), squawk, when.astimezone(UTC).date().isoformat())
        if key in self.raised:
            return
        self.raised.add(key)
        self.stats["emergencies"] += 1
        yield squawk_event(icao, squawk, when, lon, lat, location, raw, attrs)

    def finish(self) -> None:
        self.stats["emergency_without_position"] += len(self.waiting)
        self.waiting.clear()


def _number(value: str, what: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{what} {value!r} is not a number")
    return number


def _time(date: str, clock: str) -> datetime | None:
    date, clock = date.strip(), clock.strip()
    if not date or not clock:
        return None
    try:
        when = datetime.strptime(f"{date} {clock}", "%Y/%m/%d %H:%M:%S.%f")
    except ValueError:
        try:
            when = datetime.strptime(f"{date} {clock}", "%Y/%m/%d %H:%M:%S")
        except ValueError:
            raise ValueError(f"date and time {date} {clock} are not YYYY/MM/DD HH:MM:SS.fff") from None
    return when.replace(tzinfo=UTC)


def _flag(value: str) -> bool | None:
    value = value.strip()
    if value in ("", "0"):
        return False if value == "0" else None
    return value in ("-1", "1")


@register
class SbsFormat(FeedFormat):
    name = "sbs"
    extensions = (".sbs", ".basestation", ".sbs1")
    media_types = ("text/x-sbs",)

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        lines = [ln.strip() for ln in head.splitlines() if ln.strip()][:10]
        if len(lines) > 1 and not head.endswith(b"\n"):
            lines = lines[:-1]  # the last line may be cut by the head's end
        if not lines:
            return 0
        hits = sum(1 for ln in lines if _LINE.match(ln) and ln.count(b",") >= 9)
        return line_confidence(hits, len(lines), file_name, cls.extensions)

    def parse(self, stream: BinaryIO) -> Iterator[Record]:
        self.stats: Counter = Counter()
        self._known: dict[str, dict] = {}
        self._callsigns: dict[str, str] = {}
        watch = SquawkWatch(self.stats)
        yield from text_lines(stream, MAX_LINE, "an SBS message", self.stats,
                              lambda text, location: self._line(text, location, watch), "SBS message")
        watch.finish()

    def _line(self, text: str, location: Location, watch: SquawkWatch) -> Iterator[Record]:
        fields = text.split(",")
        kind = fields[0].strip().upper()
        if kind in OTHER_RECORDS:
            self.stats["skipped"] += 1
            self.stats[f"skipped {kind}"] += 1
            return
        if kind != "MSG":
            yield Rejected(location, text, "not an SBS message (a line starts with MSG, SEL, ID, AIR, STA or CLK)")
            return
        if len(fields) != FIELDS:  # a field more or less shifts every field after it
            yield Rejected(location, text, f"SBS message with {len(fields)} fields, expected {FIELDS}")
            return
        msg_type = fields[1].strip()
        if msg_type not in {"1", "2", "3", "4", "5", "6", "7", "8"}:
            yield Rejected(location, text, f"SBS transmission type {msg_type!r} is not 1 to 8")
            return
        icao = fields[4].strip()
        if not _HEX.match(icao):
            yield Rejected(location, text, f"aircraft address {icao!r} is not 6 hexadecimal digits")
            return
        icao = icao.upper()
        when = _time(fields[6], fields[7]) or _time(fields[8], fields[9])
        if when is None:
            yield Rejected(location, text, "no date and time (fields 7-8 and 9-10 are empty); "
                                           "receive the feed with `nsp listen --format sbs`, which stamps "
                                           "the time of reception")
            return
        callsign = fields[10].strip() or None
        altitude = _number(fields[11], "altitude")
        speed = _number(fields[12], "ground speed")
        track = _number(fields[13], "track")
        lat = _number(fields[14], "latitude")
        lon = _number(fields[15], "longitude")
        vrate = _number(fields[16], "vertical rate")
        squawk = fields[17].strip() or None
        if squawk is not None and not _SQUAWK.match(squawk):
            yield Rejected(location, text, f"squawk {squawk!r} is not four octal digits")
            return
        on_ground = _flag(fields[21])
        known = self._known.setdefault(icao, {})
        for key, value in (("callsign", callsign), ("altitude_ft", altitude), ("speed_kn", speed),
                           ("track_deg", track), ("vertical_rate_fpm", vrate), ("squawk", squawk),
                           ("on_ground", on_ground)):
            if value is not None:
                known[key] = value
        if msg_type == "2":
            known["on_ground"] = True
        if squawk is not None:
            watch.heard(icao, squawk, when, location, text)
        if callsign is not None and self._callsigns.get(icao) != callsign:
            self._callsigns[icao] = callsign
            yield TrackedObject(object_id(icao), "aircraft", location, text, callsign=callsign,
                                attrs={"icao": icao, **registered(icao), "source_format": "sbs"})
        if msg_type not in ("2", "3"):
            self.stats[f"merged type {msg_type}"] += 1
            return
        if lat is None or lon is None:
            self.stats["position without coordinates"] += 1
            return
        attrs = {"icao": icao, **registered(icao), "msg_type": int(msg_type)}
        attrs.update({k: v for k, v in known.items() if k not in ("speed_kn", "track_deg")})
        if "altitude_ft" in attrs and float(attrs["altitude_ft"]).is_integer():
            attrs["altitude_ft"] = int(attrs["altitude_ft"])
        yield Position(
            object_id=object_id(icao),
            kind="aircraft",
            observed_at=when,
            lon=lon,
            lat=lat,
            location=location,
            raw=text,
            status="on ground" if known.get("on_ground") else None,
            speed_kn=known.get("speed_kn"),
            course_deg=known.get("track_deg"),
            attrs=attrs,
        )
        yield from watch.placed(icao, lon, lat, attrs)
