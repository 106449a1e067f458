"""Cursor on Target (CoT): XML ``<event>`` documents and streams of them, and TAK Protocol
Version 1 (protobuf) messages.

A TAK server's TCP stream (and a saved ``.cot`` log) is a run of ``<event>``
documents with no root element, sometimes each with its own ``<?xml?>``
declaration. The stream is split on ``<event`` ... ``</event>`` without reading it
whole; each event is parsed on its own with defusedxml, which refuses entity
declarations (XML bombs) and external entities. A broken event becomes
:class:`Rejected` and the next one is read normally.

Since ATAK 4.x devices send TAK Protocol Version 1 by default: a protobuf ``TakMessage``
(read with ``takproto``'s generated classes) after the magic byte ``0xbf``, in mesh framing
(``0xbf 0x01 0xbf`` + message, one UDP datagram) or stream framing (``0xbf``, a varint
length, the message: a TAK server's stream, and what ``nsp listen`` writes as ``.takpb``).
A file that starts with ``0xbf`` is read so (:func:`tak_frames`); each message becomes the
``<event>`` element its XML form is (:func:`proto_event`) and is mapped as XML is.

Mapping (README, "Cursor on Target"):

* ``a-f-*`` / ``a-a-*`` (friendly, assumed friend) that is a device's own report
  (:func:`device_report`: a ``contact`` with an ``endpoint``, or ``takv``/``__group``, or a
  machine-made ``how``) -> :class:`Position` kind ``own`` (``object_id`` = uid) and a
  :class:`TrackedObject` (call sign, group) whenever those details change; one placed on
  the map (``how="h-g-i-g-o"``) -> :class:`Event` subtype ``friendly_marker``;
* ``a-h-*``, ``a-s-*``, ``a-u-*``, ``a-j-*``, ``a-k-*``, ``a-p-*`` (hostile, suspect,
  unknown, joker, faker, pending) -> :class:`Event` category ``other``, subtype from
  the dimension and function letters (:func:`suspect_subtype`), ``source_ref`` = uid;
* ``a-n-*`` / ``a-o-*`` / ``a-x-*`` (neutral, none, other) -> :class:`Position` with a
  kind from the dimension (vessel, aircraft, vehicle, person, other);
* ``b-a-*`` alerts -> :class:`Event` with impact ``high``, category from
  :data:`ALERTS` (default ``other``); an emergency (``b-a-o-*``) carries
  ``attrs["reopen_reason"]``, so that raised again on its reused uid it reopens the event;
* ``b-m-p-s-m`` spot-map markers -> :class:`Event` (:data:`MARKERS`);
* ``b-a-o-can`` (cancel) and ``t-x-d-d`` (delete) -> :class:`Closure` of the uid the cancel
  bears or the delete's ``<link uid>`` names;
* anything else (GeoChat ``b-t-f``, pings ``t-x-c-t``, drawings, routes) is counted in
  :attr:`CotFormat.stats` under ``skipped`` and ``skipped <reason>`` (:data:`SKIPPED`).

Quarantined on their own: a uid over :data:`MAX_ID_BYTES`, a point with no fix (0,0 with
``ce`` 9999999), and any error a message's content causes (:meth:`CotFormat._guarded`).
Events carry ``attrs["cot_time"]`` (the message's ``time``) so that the merge keeps
the newest message about a uid.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring
from google.protobuf.message import DecodeError
from takproto.constants import DEFAULT_MESH_HEADER
from takproto.proto import TakMessage

from ingest.formats.base import (
    MAX_ID_BYTES,
    Closure,
    Event,
    FeedFormat,
    Location,
    Position,
    Record,
    RecordError,
    Rejected,
    TrackedObject,
    register,
)

CHUNK = 1 << 16
MAX_EVENT = 1 << 20  # one <event> larger than 1 MiB is refused
UNKNOWN_ERROR = 9999999.0  # ce / le: "unknown"
MS_TO_KN = 1.0 / 0.514444

MAGIC = b"\xbf"  # TAK Protocol Version 1: every message starts with it
MESH_HEADER = bytes(DEFAULT_MESH_HEADER)  # 0xbf 0x01 0xbf: one message a UDP datagram
_START = re.compile(rb"<event[\s>/]")
_END = b"</event>"
# A UTF-16 file reaches the parser transcoded to UTF-8 (ingest.formats.sniff) with its old
# declaration; ASCII "<?xml" proves the bytes are no longer UTF-16.
_STALE_UTF16 = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'](?:utf-?16(?:-?[lb]e)?|ucs-?2)["']""", re.I)
_PROLOG_NOISE = re.compile(rb"<\?xml[^>]*\?>|<!--.*?-->|\s+", re.S)

# Alert type prefix -> (category, subtype, status). Longest prefix wins; a
# ParseOptions.category_map entry (key: a CoT type prefix) overrides the category.
ALERTS: dict[str, tuple[str, str, str]] = {
    "b-a-o-tbl": ("crisis_situation", "emergency_911", "open"),
    "b-a-o-pan": ("crisis_situation", "emergency_ring_the_bell", "open"),
    "b-a-o-opn": ("crisis_situation", "emergency_troops_in_contact", "open"),
    "b-a-o-can": ("crisis_situation", "emergency_cancelled", "closed"),
    "b-a-o-c": ("other", "alert_custom", "open"),
    "b-a-g": ("other", "geofence_breach", "open"),
    "b-a": ("other", "alert", "open"),
}
# Map items that are events whatever their affiliation: type -> subtype.
MARKERS: dict[str, str] = {"b-m-p-s-m": "spot_marker"}
FRIENDLY_MARKER = "friendly_marker"  # an a-f/a-a atom placed on the map, not a device's report
# Valid input that carries nothing for the picture, counted under "skipped <reason>".
SKIPPED: dict[str, str] = {
    "b-t-f": "GeoChat message", "t-x-c-t": "ping", "t-x-takp": "TAK protocol negotiation",
    "u-d": "drawing", "b-m-r": "route", "b-m-p": "map point", "b-f-t": "file transfer",
    "t-x": "server message",
}
DELETE = "t-x-d-d"
CANCEL = "b-a-o-can"
EMERGENCY = "b-a-o-"  # b-a-o-tbl, -pan, -opn, -cft, -c ... (CANCEL apart)
PLACED = "h-g-i-g-o"  # how: placed on the map by a person
NO_FIX = "no position fix: the point is 0,0 with an unknown error (ce 9999999)"
FRIENDLY = frozenset("fa")
SUSPECT = frozenset("hsujkp")
IMPACT_BY_AFFILIATION = {"h": "medium", "j": "medium", "k": "medium"}


def suspect_subtype(type_: str) -> str:
    """``a-h-G-E-V-C`` -> ``suspect_vehicle``; see the README table."""
    parts = type_.split("-")
    dim = parts[2].upper() if len(parts) > 2 else ""
    rest = [p.upper() for p in parts[3:]]
    if dim == "G":
        if rest[:2] == ["E", "V"]:
            return "suspect_vehicle"
        if rest[:1] == ["U"]:
            return "suspect_person"
        if rest[:1] in (["E"], ["I"]):
            return "suspect_ground_object"
        return "suspect_person_or_vehicle"
    if dim == "A":
        return "suspect_uav" if "Q" in rest else "suspect_aircraft"
    if dim == "F":  # special operations forces: persons
        return "suspect_person"
    return {"S": "suspect_vessel", "U": "suspect_subsurface", "P": "suspect_space_object"}.get(
        dim, "suspect_object"
    )


def neutral_kind(type_: str) -> str:
    parts = type_.split("-")
    dim = parts[2].upper() if len(parts) > 2 else ""
    rest = [p.upper() for p in parts[3:]]
    if dim == "A":
        return "aircraft"
    if dim == "S":
        return "vessel"
    if dim == "G" and rest[:2] == ["E", "V"]:
        return "vehicle"
    if dim == "G" and rest[:1] == ["U"]:
        return "person"
    return "other"


def parse_time(value: str | None, what: str) -> datetime:
    if not value:
        raise RecordError(f"<event> has no {what} attribute")
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RecordError(f"{what}={value!r} is not an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # CoT times are UTC


def _number(value: str | None, what: str, required: bool = False) -> float | None:
    if value is None or value.strip() == "":
        if required:
            raise RecordError(f"<point> has no {what}")
        return None
    try:
        number = float(value)
    except ValueError:
        raise RecordError(f"<point> {what}={value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise RecordError(f"<point> {what}={value!r} is not a finite number")
    return number


def _error(value: str | None) -> float | None:
    try:
        number = _number(value, "error")
    except RecordError:
        return None
    return None if number is None or number >= UNKNOWN_ERROR or number < 0 else number


@register
class CotFormat(FeedFormat):
    name = "cot"
    extensions = (".cot", ".cot.xml", ".takpb")
    media_types = ("application/cot+xml", "application/x-cot+xml")

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        if looks_like_tak_protobuf(head):
            return 95
        if _START.search(head) and (b"<point" in head or b" uid=" in head):
            return 95
        if _START.search(head):
            return 70
        if file_name and file_name.lower().endswith(cls.extensions):
            return 30
        return 0

    # ------------------------------------------------------------------ splitting

    def parse(self, stream: BinaryIO) -> Iterator[Record]:
        self.stats: Counter = Counter()
        self._message_no = 0
        self._objects: dict[str, tuple] = {}
        head = stream.read(CHUNK)
        stream = _Prefixed(head, stream)
        if head.lstrip(b" \t\r\n")[:1] == MAGIC:  # TAK Protocol Version 1 (protobuf)
            yield from self._parse_protobuf(stream)
            return
        for text, line, prolog, broken in self._split(stream):
            self._message_no += 1
            location = Location("message", self._message_no, line=line)
            raw = text.decode("utf-8", "replace")
            if broken:
                yield Rejected(location, raw, broken)
                continue
            yield from self._guarded(location, raw, lambda: self._xml(prolog + text, line - prolog.count(b"\n")))

    def _guarded(self, location: Location, raw: str, read) -> Iterator[Record]:
        """The records of one message; whatever its content makes fail is its rejection alone."""
        try:
            root = read()
            if root is not None:
                yield from self._records(root, location, raw)
        except RecordError as exc:
            yield Rejected(location, raw, str(exc))
        except (ValueError, TypeError, ArithmeticError, LookupError, AttributeError, RecursionError,
                DecodeError) as exc:  # hostile content: a value no check above foresaw
            yield Rejected(location, raw, f"unreadable event: {type(exc).__name__}: {exc}"[:500])

    # ------------------------------------------------------ TAK Protocol Version 1

    def _parse_protobuf(self, stream: BinaryIO) -> Iterator[Record]:
        for data, offset, broken in tak_frames(stream):
            self._message_no += 1
            location = Location("message", self._message_no)
            if broken:
                yield Rejected(location, _hex(data), f"{broken} (byte {offset})")
                continue
            message = TakMessage()
            raw = _hex(data)
            try:
                message.ParseFromString(data)
            except (DecodeError, RecursionError, ValueError) as exc:
                yield Rejected(location, raw, f"not a TAK protocol message (byte {offset}): {exc}"[:500])
                continue
            if not message.HasField("cotEvent"):
                self._skip("TAK control message")
                continue
            try:
                root, raw = proto_event(message.cotEvent)
            except RecordError as exc:
                yield Rejected(location, getattr(exc, "raw", raw), str(exc))
                continue
            except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
                yield Rejected(location, raw, f"unreadable event: {type(exc).__name__}: {exc}"[:500])
                continue
            yield from self._guarded(location, raw, lambda root=root: root)

    def _split(self, stream: BinaryIO) -> Iterator[tuple[bytes, int, bytes, str | None]]:
        """Yield (event bytes, line, prolog, reason-if-broken) in stream order.

        Text between events may hold XML declarations, comments and whitespace; a
        DOCTYPE there is handed to the XML parser with the next event (and refused
        there if it declares entities); anything else is reported as broken.
        """
        buf = b""
        pos = 0
        line = 1  # line number at buf[pos]
        eof = False
        prolog = b""

        def more() -> bool:
            nonlocal buf, pos, eof
            if eof:
                return False
            data = stream.read(CHUNK)
            if not data:
                eof = True
                return False
            buf = buf[pos:] + data
            pos = 0
            return True

        while True:
            match = _START.search(buf, pos)
            while match is None and more():
                match = _START.search(buf, max(0, len(buf) - CHUNK - 8))
                if match is None and len(buf) > MAX_EVENT:
                    # A long stretch with no <event>: report it and drop it.
                    gap = buf[pos:-8]
                    yield gap[:2000], line, b"", "text outside any <event> element"
                    line += gap.count(b"\n")
                    pos = len(buf) - 8
            start = match.start() if match else len(buf)
            gap = buf[pos:start]
            if gap.strip():
                rest = _PROLOG_NOISE.sub(b"", gap)
                declaration = gap.rfind(b"<?xml")
                if (not rest or rest.startswith(b"<!DOCTYPE")) and match:
                    # An XML declaration (the event's encoding) and/or a DOCTYPE go to
                    # the parser with the event.
                    start_at = declaration if declaration >= 0 else gap.find(b"<!DOCTYPE")
                    prolog = utf8_declaration(gap[start_at:]) if start_at >= 0 else b""
                elif rest:
                    yield gap.strip()[:2000], line + _leading_lines(gap), b"", (
                        "text outside any <event> element (not Cursor on Target)")
                    prolog = b""
            line += gap.count(b"\n")
            pos = start
            if match is None:
                return
            # The end of this event: its </event>, or (broken) the start of the next one.
            rel = 6
            while True:
                close = buf.find(_END, pos + rel)
                nxt = _START.search(buf, pos + 6, close if close >= 0 else len(buf))
                if nxt is not None:  # a new event began before this one closed
                    end, broken = nxt.start(), "truncated <event>: no closing </event>"
                    break
                if close >= 0:
                    end, broken = close + len(_END), None
                    break
                if len(buf) - pos > MAX_EVENT:
                    end, broken = len(buf), f"<event> larger than {MAX_EVENT} bytes"
                    break
                rel = max(6, len(buf) - pos - len(_END))
                if not more():
                    end, broken = len(buf), "truncated <event>: no closing </event>"
                    break
            if broken:
                text = buf[pos:end]
                yield text[:MAX_EVENT], line, b"", broken
                line += text.count(b"\n")
                pos = end
                prolog = b""
                continue
            text = buf[pos:end]
            yield text, line, prolog, None
            prolog = b""
            line += text.count(b"\n")
            pos = end

    @staticmethod
    def _xml(data: bytes, line: int) -> Element:
        try:
            if b"<!" not in data:
                # No DOCTYPE, so no entity can be declared or referenced from outside:
                # the C parser is safe here and several times faster.
                return ET.fromstring(data)
            root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
            fromstring(data, forbid_dtd=True)  # no entities: refuse only an external DTD
            return root
        except (EntitiesForbidden, ExternalReferenceForbidden, DTDForbidden) as exc:
            reason = refusal_reason(exc)
            if reason:
                raise RecordError(reason) from None
            return root
        except (ValueError, LookupError) as exc:  # an encoding expat cannot read
            raise RecordError(f"unsupported XML encoding declaration: {exc}") from None
        except ParseError as exc:
            row, col = getattr(exc, "position", (1, 0))
            msg = str(exc).split(":")[0]
            raise RecordError(f"broken XML at line {line + row - 1}, column {col + 1}: {msg}") from None

    # ------------------------------------------------------------------ mapping

    def _skip(self, reason: str) -> None:
        self.stats["skipped"] += 1
        self.stats[f"skipped {reason}"] += 1

    def _records(self, ev: Element, location: Location, raw: str) -> Iterator[Record]:
        if ev.tag != "event":
            raise RecordError(f"root element is <{ev.tag}>, expected <event>")
        uid = _identifier(ev.get("uid"), "uid")
        type_ = _identifier(ev.get("type"), "type")
        parts = type_.split("-")
        head = parts[0]
        aff = parts[1].lower() if len(parts) > 1 else ""
        if _is(type_, DELETE) or _is(type_, CANCEL):
            yield self._closure(ev, uid, type_, location, raw)
            return
        if head == "a" and aff:
            kind = "friendly" if aff in FRIENDLY else "suspect" if aff in SUSPECT else "neutral"
        elif head == "b" and aff == "a":
            kind = "alert"
        elif type_ in MARKERS:
            kind = "marker"
        else:
            self._skip(_skipped_reason(type_))
            return
        time = parse_time(ev.get("time"), "time")
        point = ev.find("point")
        if point is None:
            raise RecordError("<event> has no <point>")
        lat = _number(point.get("lat"), "lat", required=True)
        lon = _number(point.get("lon"), "lon", required=True)
        accuracy = _error(point.get("ce"))
        if lat == 0 and lon == 0 and accuracy is None:
            raise RecordError(NO_FIX)
        stale = ev.get("stale")
        stale_at = parse_time(stale, "stale") if stale else None
        attrs: dict = {"cot_type": type_, "cot_time": time.isoformat()}
        how = ev.get("how")
        if how:
            attrs["how"] = how
        start = ev.get("start")
        if start and start != ev.get("time"):
            attrs["cot_start"] = parse_time(start, "start").isoformat()
        hae, le = point.get("hae"), _error(point.get("le"))
        if hae and hae.strip() not in ("9999999", "9999999.0"):
            attrs["hae_m"] = _number(hae, "hae")
        if le is not None:
            attrs["le_m"] = le
        detail = ev.find("detail")
        callsign, remarks = self._detail(detail, attrs)
        if kind == "friendly" and not device_report(detail, how):
            kind = "marker"  # placed on the map (h-g-i-g-o, <archive/>): an event, not an own unit

        if kind == "friendly" or kind == "neutral":
            speed = course = None
            track = detail.find("track") if detail is not None else None
            if track is not None:
                speed = _number(track.get("speed"), "track speed")
                course = _number(track.get("course"), "track course")
                if speed is not None:
                    speed = round(speed * MS_TO_KN, 2) if speed >= 0 else None
            obj_kind = "own" if kind == "friendly" else neutral_kind(type_)
            yield Position(
                object_id=uid, kind=obj_kind, observed_at=time, lon=lon, lat=lat,
                location=location, raw=raw, object_type=type_, speed_kn=speed,
                course_deg=course, accuracy_m=accuracy, stale_at=stale_at, attrs=attrs,
                status="emergency" if attrs.get("emergency") else None,
            )
            profile = (callsign, type_, attrs.get("group"), attrs.get("role"), attrs.get("device"))
            if self._objects.get(uid) != profile:
                self._objects[uid] = profile
                obj_attrs = {k: attrs[k] for k in ("group", "role", "device", "platform") if k in attrs}
                yield TrackedObject(uid, obj_kind, location, raw, name=callsign, callsign=callsign,
                                    object_type=type_, attrs=obj_attrs)
            return

        if kind == "alert":
            category, subtype, status = self._alert(type_)
            impact = "high"
            if _is(type_, EMERGENCY[:-1]) and not _is(type_, CANCEL):
                # ATAK reuses <device>-9-1-1: raised again after a cancel, it reopens the event
                attrs["reopen_reason"] = f"the emergency was raised again ({_emergency_text(attrs) or type_}, {type_})"
        elif kind == "marker":
            category, subtype, status = self._mapped(type_, "other"), MARKERS.get(type_, FRIENDLY_MARKER), "open"
            impact = "low"
        else:
            category, subtype, status = self._mapped(type_, "other"), suspect_subtype(type_), "open"
            impact = IMPACT_BY_AFFILIATION.get(aff, "low")
        yield Event(
            source_ref=uid, category=category, occurred_at=time, lon=lon, lat=lat,
            location=location, raw=raw, subtype=subtype, reported_at=time, accuracy_m=accuracy,
            impact=impact, status=status,
            description=remarks or _emergency_text(attrs) or (callsign if kind == "marker" else None),
            stale_at=stale_at, attrs=attrs,
        )

    def _closure(self, ev: Element, uid: str, type_: str, location: Location, raw: str) -> Closure:
        """A delete ends the item its ``<link uid>`` names (else its own uid); a cancel ends the
        emergency of its own uid (ATAK: ``<device>-9-1-1``)."""
        time = parse_time(ev.get("time"), "time")
        if _is(type_, DELETE):
            link = ev.find("detail/link")
            target = _identifier(link.get("uid"), "link uid") if link is not None and link.get("uid") else uid
            return Closure(target, time, f"deleted by the source ({type_})", location, raw)
        return Closure(uid, time, f"cancelled by the source ({type_})", location, raw)

    def _detail(self, detail: Element | None, attrs: dict) -> tuple[str | None, str | None]:
        if detail is None:
            return None, None
        callsign = remarks = None
        for child in detail:
            tag = child.tag
            if tag == "contact":
                callsign = child.get("callsign") or None
                if callsign:
                    attrs["callsign"] = callsign
            elif tag == "__group":
                if child.get("name"):
                    attrs["group"] = child.get("name")
                if child.get("role"):
                    attrs["role"] = child.get("role")
            elif tag == "remarks":
                remarks = "".join(child.itertext()).strip() or None
            elif tag == "status":
                if child.get("battery"):
                    attrs["battery"] = child.get("battery")
            elif tag == "takv":
                for key in ("device", "platform", "os", "version"):
                    if child.get(key):
                        attrs[key] = child.get(key)
            elif tag == "emergency":
                attrs["emergency"] = child.get("type") or "emergency"
                if child.text and child.text.strip():
                    attrs["emergency_from"] = child.text.strip()
                if child.get("cancel"):
                    attrs["emergency_cancel"] = child.get("cancel")
            elif tag == "link":
                if child.get("uid"):
                    attrs.setdefault("links", []).append(
                        {k: v for k, v in child.attrib.items() if k in ("uid", "type", "relation")})
            elif tag == "precisionlocation":
                if child.get("geopointsrc"):
                    attrs["geopointsrc"] = child.get("geopointsrc")
        return callsign, remarks

    def _alert(self, type_: str) -> tuple[str, str, str]:
        for prefix in sorted(ALERTS, key=len, reverse=True):
            if type_ == prefix or type_.startswith(prefix + "-"):
                category, subtype, status = ALERTS[prefix]
                return self._mapped(type_, category), subtype, status
        return self._mapped(type_, "other"), "alert", "open"

    def _mapped(self, type_: str, default: str) -> str:
        """A ParseOptions.category_map entry for the longest matching type prefix."""
        cmap = self.options.category_map
        if cmap:
            parts = type_.split("-")
            for n in range(len(parts), 0, -1):
                prefix = "-".join(parts[:n])
                for key in (prefix, prefix.lower().replace("-", "_")):
                    if key in cmap:
                        return cmap[key]
        return default


class _Prefixed:
    """What was read to tell the encoding, then the rest of the stream."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self._head, self._stream = head, stream

    def read(self, n: int = -1) -> bytes:
        if self._head:
            out, self._head = self._head, b""
            return out
        return self._stream.read(n)


def _is(type_: str, prefix: str) -> bool:
    return type_ == prefix or type_.startswith(prefix + "-")


def _identifier(value: str | None, what: str) -> str:
    """A uid (or type) as the picture keys it: present, and at most MAX_ID_BYTES long."""
    text = (value or "").strip()
    if not text:
        raise RecordError(f"<event> has no {what}")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_ID_BYTES:
        raise RecordError(f"{what} of {size} bytes is longer than the limit of {MAX_ID_BYTES} bytes for ids")
    return text


def _skipped_reason(type_: str) -> str:
    parts = type_.split("-")
    for n in range(len(parts), 0, -1):
        reason = SKIPPED.get("-".join(parts[:n]))
        if reason:
            return reason
    return type_[:16]


def device_report(detail: Element | None, how: str | None) -> bool:
    """Whether a friendly atom is a device's own report (its SA beacon), not a map marker.

    A device's report carries a ``contact`` with an ``endpoint``, or ``takv``/``__group``,
    whatever its ``how`` (a phone without a GPS fix reports ``h-e``); a machine-made position
    (``how="m-…"``: GPS, fused) from a gateway that adds no details is one too. An item
    placed on the map (``how="h-g-i-g-o"``, usually ``<archive/>``) has no endpoint: a
    marker, even when the client that placed it adds its ``takv`` (WebTAK does)."""
    if detail is not None:
        contact = detail.find("contact")
        if contact is not None and (contact.get("endpoint") or "").strip():
            return True
    if how == PLACED:
        return False
    if (how or "").startswith("m-"):
        return True
    return detail is not None and (detail.find("takv") is not None or detail.find("__group") is not None)


# ------------------------------------------------------------ TAK Protocol Version 1


def _varint(buf: bytes, at: int) -> tuple[int, int] | None:
    """(value, bytes used) of the varint at ``buf[at:]``; None if it is not complete yet.
    Raises ValueError for one longer than 10 bytes."""
    value = shift = 0
    for i in range(10):
        if at + i >= len(buf):
            return None
        byte = buf[at + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i + 1
        shift += 7
    raise ValueError("a length longer than 10 bytes")


def looks_like_tak_protobuf(head: bytes) -> bool:
    """Whether ``head`` starts with a TAK Protocol Version 1 message (mesh or stream framing):
    the test that tells such a capture from binary garbage. A message that ``head`` holds
    whole must be one protobuf reads; one cut by the end of ``head`` must at least start
    with a ``TakMessage`` field (1, takControl, or 2, cotEvent: bytes 0x0a, 0x12)."""
    data = head.lstrip(b" \t\r\n")
    if data[:1] != MAGIC:
        return False
    if data[:3] == MESH_HEADER:
        body, whole = data[3:], len(head) < 1024
    else:
        try:
            got = _varint(data, 1)
        except ValueError:
            return False
        if got is None or not 0 < got[0] <= MAX_EVENT:
            return False
        body = data[1 + got[1]: 1 + got[1] + got[0]]
        whole = len(body) == got[0]
    if body[:1] not in (b"\x0a", b"\x12"):
        return False
    if not whole:
        return True
    message = TakMessage()
    try:
        message.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError):
        return False
    return message.HasField("cotEvent") or message.HasField("takControl")


def tak_frames(stream: BinaryIO) -> Iterator[tuple[bytes, int, str | None]]:
    """(message bytes, byte offset, reason-if-broken) for each TAK Protocol Version 1 message.

    Stream framing: ``0xbf``, a varint length, the ``TakMessage`` (a TAK server's stream; what
    ``nsp listen`` writes). Mesh framing, ``0xbf 0x01 0xbf`` and the message up to the end, is
    one UDP datagram saved as it came. Whitespace between messages is allowed; bytes that are
    not a message are reported up to the next ``0xbf``; a message longer than 1 MiB is
    reported and skipped whole."""
    buf, pos, offset, eof = b"", 0, 0, False

    def fill(n: int) -> bool:  # at least n bytes at pos, if the stream has them
        nonlocal buf, pos, eof
        while len(buf) - pos < n and not eof:
            data = stream.read(max(CHUNK, n))
            if not data:
                eof = True
                break
            buf = buf[pos:] + data
            pos = 0
        return len(buf) - pos >= n

    first = True
    while True:
        while fill(1) and buf[pos] in b" \t\r\n":
            pos += 1
            offset += 1
        if not fill(1):
            return
        if buf[pos:pos + 1] != MAGIC:
            end = buf.find(MAGIC, pos)
            while end < 0 and not eof and len(buf) - pos <= MAX_EVENT:
                fill(len(buf) - pos + CHUNK)
                end = buf.find(MAGIC, pos)
            end = len(buf) if end < 0 else end
            yield buf[pos:end][:4096], offset, "not a TAK protocol message (no 0xbf)"
            offset += end - pos
            pos = end
            first = False
            continue
        fill(3)
        if first and buf[pos:pos + 3] == MESH_HEADER:  # one datagram as it came
            fill(MAX_EVENT + 4)
            body = buf[pos + 3:]
            if len(body) > MAX_EVENT:
                yield body[:4096], offset, f"TAK message larger than {MAX_EVENT} bytes"
            else:
                yield body, offset, None
            while fill(1):  # the rest of an oversized one
                pos = len(buf)
            return
        first = False
        fill(11)
        try:
            got = _varint(buf, pos + 1)
        except ValueError:
            yield buf[pos:pos + 11], offset, "broken TAK protocol header: a length longer than 10 bytes"
            pos += 1
            offset += 1
            continue
        if got is None:
            yield buf[pos:], offset, "truncated TAK protocol header"
            return
        length, used = got
        start = pos + 1 + used
        if length == 0:
            yield buf[pos:start], offset, "empty TAK protocol message"
        elif length > MAX_EVENT:
            yield buf[pos:start + 64], offset, f"TAK message of {length} bytes is larger than {MAX_EVENT} bytes"
            skip = length + 1 + used
            while skip > 0 and fill(1):  # linear: drop what it holds, chunk by chunk
                take = min(skip, len(buf) - pos)
                pos += take
                skip -= take
                offset += take
            continue
        elif not fill(1 + used + length):  # (fill may move pos: start is taken again)
            yield buf[pos:][:4096], offset, f"truncated TAK message: {len(buf) - pos - 1 - used} of {length} bytes"
            return
        else:
            start = pos + 1 + used
            yield buf[start:start + length], offset, None
        offset += start + length - pos
        pos = start + length


def _ms_time(ms: int, what: str) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    except (ValueError, OverflowError, OSError):
        raise RecordError(f"{what} {ms} ms is not a time") from None


def proto_event(ev) -> tuple[Element, str]:
    """A ``CotEvent`` (TAK Protocol Version 1) as the ``<event>`` element its XML form is, and
    that XML as text (for quarantine): the typed fields, and ``xmlDetail`` (the rest of
    ``<detail>``, as XML text) read with the same refusals as any event."""
    root = Element("event", {"version": "2.0"})
    for name in ("uid", "type", "how", "access", "qos", "opex"):
        value = getattr(ev, name)
        if value:
            root.set(name, value)
    for attr, name in (("time", "sendTime"), ("start", "startTime"), ("stale", "staleTime")):
        if getattr(ev, name):
            root.set(attr, _ms_time(getattr(ev, name), attr))
    point = ET.SubElement(root, "point", {k: repr(getattr(ev, k)) for k in ("lat", "lon", "hae", "ce", "le")})
    detail = ET.SubElement(root, "detail")
    xml_detail, typed = "", []
    if ev.HasField("detail"):
        d = ev.detail
        xml_detail = d.xmlDetail
        for tag, field, names in _TYPED_DETAIL:
            if d.HasField(field):
                sub = getattr(d, field)
                typed.append(ET.SubElement(detail, tag, {n: getattr(sub, n) for n in names if getattr(sub, n)}))
        if d.HasField("status"):
            typed.append(ET.SubElement(detail, "status", {"battery": str(d.status.battery)}))
        if d.HasField("track"):
            typed.append(ET.SubElement(detail, "track", {"speed": repr(d.track.speed), "course": repr(d.track.course)}))
    # the text by hand: ElementTree's serializer would cost as much as all the rest
    raw = (f"{_tag(root)}{_tag(point, True)}<detail>{xml_detail}"
           f"{''.join(_tag(t, True) for t in typed)}</detail></event>")
    if xml_detail:
        try:
            parsed = CotFormat._xml(b"<detail>" + xml_detail.encode("utf-8", "replace") + b"</detail>", 1)
        except RecordError as exc:
            exc.raw = raw  # the message as text, for quarantine
            raise
        detail[0:0] = list(parsed)
    return root, raw


_TYPED_DETAIL = (("contact", "contact", ("endpoint", "callsign")), ("__group", "group", ("name", "role")),
                 ("precisionlocation", "precisionLocation", ("geopointsrc", "altsrc")),
                 ("takv", "takv", ("device", "platform", "os", "version")))


_ATTR = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;",
                       "\t": "&#9;"})


def _tag(element: Element, empty: bool = False) -> str:
    attrs = "".join(f' {k}="{v.translate(_ATTR)}"' for k, v in element.attrib.items())
    return f"<{element.tag}{attrs}{'/' if empty else ''}>"


def _hex(data: bytes) -> str:
    """Binary input as quarantine keeps it: hexadecimal, at most 4 KiB of it."""
    text = data[:4096].hex(" ")
    return text + (" …" if len(data) > 4096 else "")


def utf8_declaration(data: bytes) -> bytes:
    """Say UTF-8 in an XML declaration that still says UTF-16 over transcoded bytes."""
    return _STALE_UTF16.sub(rb'\1"UTF-8"', data, count=1) if data.lstrip()[:5] == b"<?xml" else data


def refusal_reason(exc: Exception) -> str | None:
    """Why defusedxml refused a document; None for a harmless internal DOCTYPE."""
    if isinstance(exc, EntitiesForbidden):
        if exc.sysid or exc.pubid:
            return (f"external entity '{exc.name}' ({exc.sysid or exc.pubid}) refused: "
                    "XML external entities (XXE) are never resolved")
        return (f"entity declaration '{exc.name}' refused: possible XML bomb (entity expansion); "
                "Cursor on Target and GPX need no entities")
    if isinstance(exc, ExternalReferenceForbidden):
        return f"external reference ({exc.sysid or exc.pubid}) refused"
    if isinstance(exc, DTDForbidden) and (exc.sysid or exc.pubid):
        return f"external DTD reference ({exc.sysid or exc.pubid}) refused"
    return None


def _leading_lines(gap: bytes) -> int:
    return gap[: len(gap) - len(gap.lstrip())].count(b"\n")


def _emergency_text(attrs: dict) -> str | None:
    if "emergency" not in attrs:
        return None
    sender = attrs.get("emergency_from")
    return f"{attrs['emergency']} from {sender}" if sender else attrs["emergency"]
