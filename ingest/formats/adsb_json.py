"""``aircraft.json`` (dump1090-fa, readsb, tar1090): a receiver's snapshot of the aircraft it hears.

::

    {"now": 1700000000.0, "messages": 718416,
     "aircraft": [{"hex": "4ca2d6", "flight": "RYR1AB  ", "alt_baro": 37000, "gs": 450.1,
                   "track": 90.2, "lat": 56.9, "lon": 24.1, "squawk": "7700", "seen_pos": 0.5}, ...]}

Each aircraft with ``lat`` and ``lon`` becomes a :class:`Position` of kind ``aircraft``
(``ICAO:<HEX>``, as :mod:`ingest.formats.sbs` names it) at ``now - seen_pos`` (``seen`` when
``seen_pos`` is missing); ``flight`` becomes a :class:`TrackedObject`'s call sign; an emergency
squawk raises the same event as in SBS (:func:`ingest.formats.sbs.squawk_event`). Aircraft without a
position are counted in :attr:`AircraftJsonFormat.stats`. ``now`` in milliseconds (readsb's
API) is accepted. One aircraft entry that cannot be read is quarantined with its JSON; a file
that is not such a document is quarantined whole.

The document is one snapshot, read at once (its size is bounded by ``NSP_INGEST_MAX_BYTES``).

:func:`poll` fetches the document over HTTP every few seconds and writes each one into a drop
folder (``nsp poll-aircraft URL --every 5s --out DIR``), as ``nsp listen`` does for streams.
"""

from __future__ import annotations

import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import click
import orjson

from ingest.formats.base import FeedFormat, Location, Position, Record, Rejected, TrackedObject, register
from ingest.formats.registry import registered
from ingest.formats.sbs import EMERGENCY_SQUAWKS, object_id, squawk_event

log = logging.getLogger("nsp.ingest.adsb_json")

_HEX = re.compile(r"^~?[0-9A-Fa-f]{6}$")
_SQUAWK = re.compile(r"^[0-7]{4}$")
_HEAD = re.compile(rb'^\s*\{.*"(now|aircraft)"\s*:', re.S)


def _finite(value, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} {value!r} is not a number")
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{what} {value!r} is not a number")
    return number


@register
class AircraftJsonFormat(FeedFormat):
    name = "aircraft-json"
    extensions = ()  # named .json like any JSON: recognised by its content
    media_types = ()

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        if not _HEAD.match(head):
            return 0
        if b'"aircraft"' in head and b'"now"' in head:
            return 96
        return 40 if b'"hex"' in head else 0

    def parse(self, stream: BinaryIO) -> Iterator[Record]:
        self.stats: Counter = Counter()
        data = stream.read()
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            yield Rejected(Location("file"), data[:2000].decode("utf-8", "replace"), f"broken JSON: {exc}")
            return
        problem = None
        if not isinstance(doc, dict):
            problem = "not a JSON object"
        else:
            listed = doc.get("aircraft", doc.get("ac"))
            try:
                now = _finite(doc.get("now"), '"now"')
            except ValueError as exc:
                now, problem = None, str(exc)
            if problem is None and now is None:
                problem = 'no "now" (the unix time of the snapshot)'
            elif problem is None and not isinstance(listed, list):
                problem = 'no "aircraft" list'
        if problem:
            yield Rejected(Location("file"), data[:2000].decode("utf-8", "replace"),
                           f"not a dump1090/readsb aircraft.json: {problem}")
            return
        if now > 1e11:  # milliseconds (readsb's API, airplanes.live)
            now /= 1000.0
        for number, entry in enumerate(listed, 1):
            location = Location("aircraft", number)
            try:
                yield from self._aircraft(entry, now, location)
            except Exception as exc:  # noqa: BLE001 - an entry's content quarantines that entry only
                yield Rejected(location, orjson.dumps(entry).decode(), f"aircraft not readable: {exc}")

    def _aircraft(self, ac, now: float, location: Location) -> Iterator[Record]:
        if not isinstance(ac, dict):
            raise ValueError(f"an entry of the list is {type(ac).__name__}, not an object")
        raw = orjson.dumps(ac).decode()
        icao = ac.get("hex")
        if not isinstance(icao, str) or not _HEX.match(icao):
            yield Rejected(location, raw, f"aircraft address {icao!r} is not 6 hexadecimal digits")
            return
        icao = icao.upper()
        callsign = ac.get("flight")
        callsign = callsign.strip() or None if isinstance(callsign, str) else None
        squawk = ac.get("squawk")
        if squawk is not None and (not isinstance(squawk, str) or not _SQUAWK.match(squawk)):
            yield Rejected(location, raw, f"squawk {squawk!r} is not four octal digits")
            return
        altitude = ac.get("alt_baro", ac.get("altitude"))
        on_ground = altitude == "ground"
        altitude = 0.0 if on_ground else _finite(altitude, "altitude")
        attrs = {"icao": icao, **registered(icao), "callsign": callsign, "squawk": squawk, "on_ground": on_ground,
                 "altitude_ft": int(altitude) if altitude is not None and altitude.is_integer() else altitude,
                 "vertical_rate_fpm": _finite(ac.get("baro_rate", ac.get("geom_rate")), "vertical rate"),
                 "category": ac.get("category") if isinstance(ac.get("category"), str) else None,
                 "emergency": ac.get("emergency") if isinstance(ac.get("emergency"), str) else None}
        attrs = {k: v for k, v in attrs.items() if v is not None}
        if callsign:
            yield TrackedObject(object_id(icao), "aircraft", location, raw, callsign=callsign,
                                attrs={"icao": icao, **registered(icao), "source_format": "aircraft-json"})
        lat, lon = _finite(ac.get("lat"), "latitude"), _finite(ac.get("lon"), "longitude")
        if lat is None or lon is None:
            self.stats["aircraft without position"] += 1
            return
        age = _finite(ac.get("seen_pos", ac.get("seen")), "seen_pos") or 0.0
        if age < 0:
            raise ValueError(f"seen_pos {age} is negative")
        observed_at = datetime.fromtimestamp(now - age, UTC)
        attrs["seen_pos_s"] = age
        yield Position(
            object_id=object_id(icao), kind="aircraft", observed_at=observed_at, lon=lon, lat=lat,
            location=location, raw=raw, status="on ground" if on_ground else None,
            speed_kn=_finite(ac.get("gs"), "ground speed"), course_deg=_finite(ac.get("track"), "track"),
            attrs=attrs,
        )
        if squawk in EMERGENCY_SQUAWKS:
            self.stats["emergencies"] += 1
            yield squawk_event(icao, squawk, observed_at, lon, lat, location, raw, attrs)


# ------------------------------------------------------------------------ polling


def fetch(url: str, timeout: float) -> bytes:
    """The document at ``url`` (http or https), or OSError with the reason."""
    if not url.startswith(("http://", "https://")):
        raise OSError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, headers={"User-Agent": "nsp poll-aircraft"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only, checked above
        return response.read()


def write_snapshot(out: Path, prefix: str, body: bytes, seq: int) -> Path:
    """One fetched document as one file in the drop folder (``.part`` first, then renamed)."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = out / f"{prefix}-{stamp}-{os.getpid()}-{seq:05d}.json"
    part = path.with_name(path.name + ".part")
    with part.open("wb") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(part, path)
    return path


def poll(url: str, out: Path, every: float, prefix: str = "aircraft", count: int | None = None,
         timeout: float = 10.0, stop: Callable[[], bool] = lambda: False) -> int:
    """Fetch ``url`` every ``every`` seconds and write each document into ``out``; return how
    many were written. A failed fetch is logged and tried again at the next tick."""
    written = fetched = 0
    while not stop() and (count is None or fetched < count):
        started = time.monotonic()
        fetched += 1
        try:
            body = fetch(url, timeout)
        except (OSError, urllib.error.URLError) as exc:
            log.warning("cannot fetch aircraft.json", extra={"action": "poll_failed", "url": url, "error": str(exc)})
        else:
            path = write_snapshot(out, prefix, body, fetched)
            written += 1
            log.info("poll", extra={"action": "poll_written", "file": path.name, "bytes": len(body)})
        if count is not None and fetched >= count:
            break
        time.sleep(max(0.0, every - (time.monotonic() - started)))
    return written


@click.command("poll-aircraft")
@click.argument("url")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="the drop folder to write into: a source's sub-folder (DIR/adsb) gives the files that source")
@click.option("--every", default="5s", show_default=True, help="how often to fetch: 5s, 30s, 1m")
@click.option("--name", "prefix", default="aircraft", show_default=True, help="file names start with this")
@click.option("--count", type=click.IntRange(min=1), default=None, help="stop after this many fetches")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="seconds to wait for the receiver's answer")
def poll_aircraft(url, out, every, prefix, count, timeout):
    """Fetch a receiver's aircraft.json (dump1090-fa, readsb, tar1090: http://HOST/data/aircraft.json
    or http://HOST/tar1090/data/aircraft.json) every few seconds into a drop folder, where
    `nsp watch` and `nsp worker` load it (format `aircraft-json`)."""
    from nsp.durations import parse_duration

    try:
        seconds = parse_duration(every).total_seconds()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--every") from None
    if seconds < 1:
        raise click.BadParameter("at least 1s", param_hint="--every")
    try:
        written = poll(url, out, seconds, prefix, count, timeout)
    except KeyboardInterrupt:
        written = None
    if written is not None:
        click.echo(f"nsp poll-aircraft: wrote {written} file(s) into {out}", err=True)


# nsp/cli.py finds a contributed command by its name as the module's attribute
globals()["poll-aircraft"] = poll_aircraft
