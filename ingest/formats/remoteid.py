"""Remote ID (ASTM F3411 / ASD-STAN EN 4709-002) as open receivers deliver it: JSON, one a line.

Two shapes are read, whichever a line has (docs/reference/formats/remoteid.md):

* the flat detection line of the ESP32 scanners (Sky Spy, OUI-SPY, drone-mesh-mapper nodes)::

    {"mac":"8c:1e:d9:c8:c9:f7","rssi":-81,"drone_lat":25.784279,"drone_long":-80.149010,
     "drone_altitude":118,"pilot_lat":25.767196,"pilot_long":-80.137115,"basic_id":"1581F8LQC255L00227P5"}

  with, where the firmware knows them, ``op_id``, ``id_type``, ``ua_type``, ``height``,
  ``speed``, ``heading``, ``src`` and ``node_id``;
* the message blocks of the DroneID / DragonSync receivers (WarDragon): a list (or an object
  with ``"messages"``) of ``{"Basic ID": {...}}``, ``{"Location/Vector Message": {...}}``,
  ``{"System Message": {...}}``, ``{"Operator ID Message": {...}}``.

Each line with a drone position becomes a :class:`Position` of kind ``uav``: ``RID:<UAS id>``
(``RID-MAC:<mac>`` while the UAS id is not known), with ``attrs`` ``uas_id``, ``mac``,
``altitude_m`` and ``altitude_ft`` (geodetic), ``height_m`` (above ground or take-off),
``operator_id``, ``rssi``, ``src`` and the **operator position** ``operator_lon`` /
``operator_lat`` (the System message's; kept on every fix, drawn by the air layer). The UAS id
also gives a :class:`TrackedObject` (name and call sign = the UAS id).

Time: a line's ``timestamp`` / ``time`` / ``received_at`` (ISO 8601 or unix seconds, or
milliseconds); else the file's ``--received-at``. The scanners write no time at all: ``nsp
listen --format remoteid`` stamps each line with the time it was received
(``"received_at"``). A line with no time anywhere is quarantined, as is one whose JSON is
broken or whose coordinates are not numbers. A heartbeat or status line (no drone fields) is
counted in :attr:`RemoteIdFormat.stats`, not quarantined; so is a detection without a drone
position (an identity or System message alone).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

import orjson

from ingest.formats.base import (
    FeedFormat,
    Location,
    Position,
    Record,
    Rejected,
    TrackedObject,
    register,
    text_lines,
)

MAX_LINE = 64 * 1024
M_TO_FT = 1 / 0.3048
MS_TO_KN = 1 / 0.514444
_BLOCK_KEYS = (b'"Basic ID"', b'"Location/Vector Message"', b'"System Message"')
_UAS_ID = re.compile(r"^[\x21-\x7e]{1,40}$")  # F3411: up to 20 printable characters; some write more


def _number(value, what: str) -> float | None:
    """A finite number from a JSON value (numbers, or text such as ``"100.0 m"``); None if empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a number")
    if isinstance(value, str):
        text = value.strip().split(" ")[0]
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{what} {value!r} is not a number") from None
    if not isinstance(value, int | float):
        raise ValueError(f"{what} {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} {value!r} is not a number")
    return number


def _time(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000.0
        if not math.isfinite(seconds) or seconds < 946684800:  # before 2000: an uptime, not a time
            raise ValueError(f"time {value!r} is not a unix time (seconds since 1970)")
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return _time(float(text))
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"time {value!r} is neither ISO 8601 nor unix seconds") from None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    raise ValueError(f"time {value!r} is neither ISO 8601 nor unix seconds")


def _blocks(doc) -> dict:
    """The DroneID / DragonSync message blocks as one flat detection (the names of the flat line)."""
    items = doc.get("messages") if isinstance(doc, dict) and "messages" in doc else doc
    if isinstance(items, dict):
        items = [{k: v} for k, v in items.items()]
    flat: dict = {}
    for item in items or ():
        if not isinstance(item, dict):
            continue
        for name, body in item.items():
            if not isinstance(body, dict):
                if name in ("timestamp", "time", "received_at"):
                    flat.setdefault("timestamp", body)
                continue
            flat.setdefault("mac", body.get("MAC", body.get("mac")))
            flat.setdefault("rssi", body.get("RSSI", body.get("rssi")))
            if name == "Basic ID":
                if body.get("id") not in (None, ""):
                    flat.setdefault("basic_id", body.get("id"))
                flat.setdefault("id_type", body.get("id_type"))
                flat.setdefault("ua_type", body.get("ua_type"))
            elif name == "Location/Vector Message":
                flat["drone_lat"] = body.get("latitude", body.get("lat"))
                flat["drone_long"] = body.get("longitude", body.get("lon"))
                flat["drone_altitude"] = body.get("geodetic_altitude", body.get("alt"))
                flat["height"] = body.get("height_agl", body.get("height"))
                flat["speed"] = body.get("speed")
                flat["heading"] = body.get("direction", body.get("heading"))
                flat["status"] = body.get("op_status")
                if body.get("timestamp") not in (None, ""):
                    flat.setdefault("location_timestamp", body.get("timestamp"))
            elif name == "System Message":
                flat["pilot_lat"] = body.get("operator_lat", body.get("operator_latitude", body.get("latitude")))
                flat["pilot_long"] = body.get("operator_lon", body.get("operator_longitude", body.get("longitude")))
                if body.get("timestamp") not in (None, ""):
                    flat.setdefault("timestamp", body.get("timestamp"))
            elif name == "Operator ID Message":
                flat["op_id"] = body.get("operator_id", body.get("id"))
            elif name == "Self-ID Message":
                flat["desc"] = body.get("text")
    return {k: v for k, v in flat.items() if v is not None}


@register
class RemoteIdFormat(FeedFormat):
    name = "remoteid"
    extensions = (".remoteid", ".rid", ".odid")
    media_types = ("application/x-remoteid+json",)

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
        if not text.startswith((b"{", b"[")):
            return 0
        if b'"drone_lat"' in head or (b'"basic_id"' in head and b'"mac"' in head):
            return 95
        if sum(1 for k in _BLOCK_KEYS if k in head) >= 2:
            return 95
        return 0

    def parse(self, stream: BinaryIO) -> Iterator[Record]:
        self.stats: Counter = Counter()
        self._named: set[str] = set()
        yield from text_lines(stream, MAX_LINE, "a Remote ID detection", self.stats, self._line,
                              "Remote ID detection")

    def _line(self, text: str, location: Location) -> Iterator[Record]:
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield Rejected(location, text, f"broken JSON: {exc}")
            return
        if isinstance(doc, list) or (isinstance(doc, dict) and (
                "messages" in doc or any(k in doc for k in ("Basic ID", "Location/Vector Message")))):
            det = _blocks(doc)
            if isinstance(doc, dict):
                for key in ("received_at", "timestamp", "time"):
                    if doc.get(key) not in (None, ""):
                        det[key] = doc[key]
        elif isinstance(doc, dict):
            det = doc
        else:
            yield Rejected(location, text, "not a JSON object or a list of Remote ID messages")
            return
        if not any(k in det for k in ("drone_lat", "drone_long", "basic_id", "pilot_lat", "mac")):
            self.stats["skipped"] += 1
            self.stats["skipped status lines"] += 1
            return
        lat = _number(det.get("drone_lat"), "drone latitude")
        lon = _number(det.get("drone_long", det.get("drone_lon")), "drone longitude")
        op_lat = _number(det.get("pilot_lat"), "operator latitude")
        op_lon = _number(det.get("pilot_long", det.get("pilot_lon")), "operator longitude")
        if (op_lat, op_lon) == (0.0, 0.0):
            op_lat = op_lon = None  # "unknown" in F3411 is 0, 0
        uas_id = det.get("basic_id")
        uas_id = str(uas_id).strip() if uas_id not in (None, "") else None
        if uas_id is not None and not _UAS_ID.match(uas_id):
            yield Rejected(location, text, f"UAS id {uas_id[:60]!r} is not 1 to 40 printable characters")
            return
        mac = det.get("mac")
        mac = str(mac).strip().lower() if mac not in (None, "") else None
        if uas_id is None and mac is None:
            yield Rejected(location, text, "neither a UAS id (basic_id) nor a MAC address: the drone cannot be told apart")
            return
        oid = f"RID:{uas_id}" if uas_id else f"RID-MAC:{mac}"
        if uas_id and oid not in self._named:
            self._named.add(oid)
            yield TrackedObject(oid, "uav", location, text, name=uas_id, callsign=uas_id,
                                attrs={k: v for k, v in {"uas_id": uas_id, "mac": mac, "id_type": det.get("id_type"),
                                                         "ua_type": det.get("ua_type"),
                                                         "operator_id": det.get("op_id"),
                                                         "source_format": "remoteid"}.items() if v is not None})
        if lat is None or lon is None or (lat, lon) == (0.0, 0.0):
            self.stats["detections without drone position"] += 1
            return
        when = None
        for key in ("timestamp", "time", "received_at"):
            when = _time(det.get(key))
            if when is not None:
                break
        if when is None and det.get("location_timestamp") is not None:
            try:  # an absolute time; F3411's own is tenths of seconds after the hour: not a date
                when = _time(det["location_timestamp"])
            except ValueError:
                when = None
        when = when or self.options.received_at
        if when is None:
            yield Rejected(location, text, "no time (the line has no timestamp and the file no --received-at); "
                                           "receive the scanner with `nsp listen --format remoteid`, which "
                                           "stamps the time of reception")
            return
        altitude = _number(det.get("drone_altitude"), "drone altitude")
        height = _number(det.get("height"), "height")
        speed = _number(det.get("speed"), "speed")
        heading = _number(det.get("heading"), "heading")
        attrs = {"uas_id": uas_id, "mac": mac, "rssi": _number(det.get("rssi"), "rssi"),
                 "altitude_m": altitude, "altitude_ft": None if altitude is None else round(altitude * M_TO_FT),
                 "height_m": height, "operator_lat": op_lat, "operator_lon": op_lon,
                 "operator_id": det.get("op_id"), "src": det.get("src"), "node_id": det.get("node_id"),
                 "sensor": "Remote ID"}
        yield Position(
            object_id=oid, kind="uav", observed_at=when, lon=lon, lat=lat, location=location, raw=text,
            object_type=str(det["ua_type"]) if det.get("ua_type") not in (None, "") else None,
            status=str(det["status"]) if det.get("status") else None,
            speed_kn=None if speed is None else round(speed * MS_TO_KN, 2), course_deg=heading,
            attrs={k: v for k, v in attrs.items() if v is not None},
        )
