"""Cursor on Target (CoT) XML: single ``<event>`` documents and streams of them.

A TAK server's TCP stream (and a saved ``.cot`` log) is a run of ``<event>``
documents with no root element, sometimes each with its own ``<?xml?>``
declaration. The stream is split on ``<event`` ... ``</event>`` without reading it
whole; each event is parsed on its own with defusedxml, which refuses entity
declarations (XML bombs) and external entities. A broken event becomes
:class:`Rejected` and the next one is read normally.

Mapping (README, "Cursor on Target"):

* ``a-f-*`` / ``a-a-*`` (friendly, assumed friend) -> :class:`Position` kind ``own``
  (``object_id`` = uid) and a :class:`TrackedObject` (call sign, group) whenever those
  details change;
* ``a-h-*``, ``a-s-*``, ``a-u-*``, ``a-j-*``, ``a-k-*``, ``a-p-*`` (hostile, suspect,
  unknown, joker, faker, pending) -> :class:`Event` category ``other``, subtype from
  the dimension and function letters (:func:`suspect_subtype`), ``source_ref`` = uid;
* ``a-n-*`` / ``a-o-*`` / ``a-x-*`` (neutral, none, other) -> :class:`Position` with a
  kind from the dimension (vessel, aircraft, vehicle, person, other);
* ``b-a-*`` alerts -> :class:`Event` with impact ``high``, category from
  :data:`ALERTS` (default ``other``); ``b-a-o-can`` closes the alert of the same uid;
* anything else (pings ``t-x-c-t``, chat, drawings, routes) is counted in
  :attr:`CotFormat.stats` under ``skipped``.

Events carry ``attrs["cot_time"]`` (the message's ``time``) so that the merge keeps
the newest message about a uid.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import BinaryIO
import xml.etree.ElementTree as ET
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring

from ingest.base import (
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

_START = re.compile(rb"<event[\s>/]")
_END = b"</event>"
# A UTF-16 file reaches the parser transcoded to UTF-8 (ingest.sniff) with its old
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
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)  # CoT times are UTC


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
    extensions = (".cot", ".cot.xml")
    media_types = ("application/cot+xml", "application/x-cot+xml")

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
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
        for text, line, prolog, broken in self._split(stream):
            self._message_no += 1
            location = Location("message", self._message_no, line=line)
            raw = text.decode("utf-8", "replace")
            if broken:
                yield Rejected(location, raw, broken)
                continue
            try:
                root = self._xml(prolog + text, line - prolog.count(b"\n"))
                yield from self._records(root, location, raw)
            except RecordError as exc:
                yield Rejected(location, raw, str(exc))

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

    def _records(self, ev: Element, location: Location, raw: str) -> Iterator[Record]:
        if ev.tag != "event":
            raise RecordError(f"root element is <{ev.tag}>, expected <event>")
        uid = (ev.get("uid") or "").strip()
        type_ = (ev.get("type") or "").strip()
        if not uid:
            raise RecordError("<event> has no uid")
        if not type_:
            raise RecordError("<event> has no type")
        parts = type_.split("-")
        head = parts[0]
        aff = parts[1].lower() if len(parts) > 1 else ""
        if head == "a" and aff:
            kind = "friendly" if aff in FRIENDLY else "suspect" if aff in SUSPECT else "neutral"
        elif head == "b" and aff == "a":
            kind = "alert"
        else:
            self.stats["skipped"] += 1
            self.stats[f"skipped {type_[:16]}"] += 1
            return
        time = parse_time(ev.get("time"), "time")
        point = ev.find("point")
        if point is None:
            raise RecordError("<event> has no <point>")
        lat = _number(point.get("lat"), "lat", required=True)
        lon = _number(point.get("lon"), "lon", required=True)
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
        accuracy = _error(point.get("ce"))

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
        else:
            category, subtype, status = self._mapped(type_, "other"), suspect_subtype(type_), "open"
            impact = IMPACT_BY_AFFILIATION.get(aff, "low")
        yield Event(
            source_ref=uid, category=category, occurred_at=time, lon=lon, lat=lat,
            location=location, raw=raw, subtype=subtype, reported_at=time, accuracy_m=accuracy,
            impact=impact, status=status,
            description=remarks or _emergency_text(attrs), stale_at=stale_at, attrs=attrs,
        )

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
