"""Cursor on Target out: the picture as the CoT XML that ATAK, WinTAK and iTAK draw.

Three kinds of message, each one ``<event version="2.0">`` with ``uid``, ``type``, ``time``,
``start`` and ``stale`` (ISO 8601 in UTC with ``Z``), ``how`` and a ``<point lat lon hae ce
le>`` (MIL-STD-2525 CoT event schema):

* an **event** is a marker: type ``a-<affiliation>-<dimension>`` (:func:`nsp.vocab.cot_type_of`),
  a ``contact`` call sign (category and section), a ``__group`` (the team colour and role ATAK
  shows), and ``remarks`` holding category, subtype, impact, persons and the report's text;
* a **section** is a coloured line per part of its border line (``u-d-f``, ATAK's polyline
  drawing): ``<link point="lat,lon"/>`` per vertex, ``strokeColor`` (signed ARGB, the level's
  colour of :data:`geo.symbology.LEVEL_COLOURS`) and ``strokeWeight`` from its impact level;
* a **position** (an own unit, a vessel, an aircraft) is a marker at the object's latest
  position: type ``a-f-…`` for own units, ``a-u-…`` for vessels and aircraft, the dimension
  from the object's type or its patrol's mode (:func:`position_type`), a ``contact`` call sign,
  the ``__group``, ``<track course speed>`` when known, and ``remarks`` with what it is, when it
  reported and its status;
* a **delete** (``t-x-d-d`` with ``<link uid>`` and ``<__forcedelete/>``) removes a closed
  event's marker.

The functions here only build bytes; geo/cot_stream.py decides what to send and when.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from geo.symbology import LEVEL_COLOURS, LEVEL_WEIGHTS, NO_LEVEL_COLOUR
from nsp.vocab import CATEGORY_SHORT, IMPACT_WORDS, cot_type_of, subtype_words

DELETE_TYPE = "t-x-d-d"
LINE_TYPE = "u-d-f"
HOW = "h-e"  # human, estimated: a report relayed by the centre
UNKNOWN = "9999999.0"  # hae / ce / le not known (CoT schema)
MAX_REMARKS = 2000  # characters of report text; ATAK shows remarks in a small box
# Characters XML 1.0 cannot hold at all (control characters but tab and line ends): a report's
# text may carry them, and one would make the whole message unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Style:
    """What every message of one ``nsp cot-out`` carries: uid prefix and ATAK team."""

    uid_prefix: str = "nsp"
    group: str = "Cyan"
    role: str = "HQ"


def cot_time(when: datetime) -> str:
    """``2026-12-05T21:14:05.123Z``: CoT times are UTC with a ``Z``, milliseconds at most."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def argb(hex_colour: str) -> int:
    """``#d7191c`` -> ATAK's colour value: opaque ARGB as a signed 32-bit integer."""
    value = 0xFF000000 | int(hex_colour.lstrip("#"), 16)
    return value - (1 << 32) if value >= 1 << 31 else value


def event_uid(style: Style, event_id) -> str:
    return f"{style.uid_prefix}.event.{event_id}"


def position_uid(style: Style, layer: str, object_id: str) -> str:
    return f"{style.uid_prefix}.{layer}.{object_id}"


# An object's type or its patrol's mode in words -> the CoT dimension after the affiliation
# (first match); a type that is a CoT atom type already keeps its own dimension.
POSITION_WORDS = (("uav", "A-M-F-Q"), ("drone", "A-M-F-Q"), ("helicopter", "A-M-H"), ("aircraft", "A"),
                  ("plane", "A-M-F"), ("boat", "S"), ("vessel", "S"), ("ship", "S"), ("vehicle", "G-E-V"),
                  ("car", "G-E-V"), ("foot", "G-U-C-I"))
MS_PER_KNOT = 1852 / 3600


def position_type(object_type: str | None, affiliation: str, default: str) -> str:
    """``a-<affiliation>-<dimension>``: ``("vehicle", "f", "G-U-C")`` -> ``a-f-G-E-V``;
    ``("a-h-S-X", "u", "S")`` -> ``a-u-S-X``; nothing known -> ``a-<affiliation>-<default>``."""
    parts = (object_type or "").strip().split("-")
    if len(parts) >= 3 and parts[0] == "a" and all(parts) and all(x.isalnum() for x in parts):
        return "-".join(["a", affiliation, *parts[2:]])
    words = f" {' '.join(re.split(r'[^a-z0-9]+', (object_type or '').lower()))} "
    for word, dimension in POSITION_WORDS:
        if f" {word} " in words:
            return f"a-{affiliation}-{dimension}"
    return f"a-{affiliation}-{default}"


def position_message(row: dict, style: Style, now: datetime, stale: datetime, *, uid: str, type_: str,
                     what: str) -> bytes:
    """An object's latest position as a marker. ``row``: object_id, name, callsign, object_type,
    status, observed_at, lat, lon, speed_kn, course_deg, accuracy_m, section_code; ``what``:
    ``Own unit``, ``Vessel`` or ``Aircraft``."""
    root = _root(uid, type_, now, stale, how="m-g")
    _point(root, row["lat"], row["lon"], row.get("accuracy_m"))
    detail = ET.SubElement(root, "detail")
    call = row.get("callsign") or row.get("name") or row["object_id"]
    ET.SubElement(detail, "contact", {"callsign": xml_text(str(call))})
    ET.SubElement(detail, "__group", {"name": style.group, "role": style.role})
    if row.get("speed_kn") is not None or row.get("course_deg") is not None:
        ET.SubElement(detail, "track", {"course": f"{row.get('course_deg') or 0:.1f}",
                                        "speed": f"{(row.get('speed_kn') or 0) * MS_PER_KNOT:.2f}"})
    lines = [f"{what}: {row.get('name') or row['object_id']}"]
    if row.get("object_type"):
        lines.append(f"Type: {row['object_type']}")
    if row.get("status"):
        lines.append(f"Status: {row['status']}")
    if row.get("section_code"):
        lines.append(f"Section: {row['section_code']}")
    lines.append(f"Reported: {cot_time(row['observed_at'])}")
    ET.SubElement(detail, "remarks", {"source": style.uid_prefix}).text = xml_text("\n".join(lines))
    return _bytes(root)


def section_uid(style: Style, code: str, part: int) -> str:
    return f"{style.uid_prefix}.section.{code}.{part}"


def _root(uid: str, type_: str, now: datetime, stale: datetime, how: str = HOW) -> ET.Element:
    return ET.Element("event", {"version": "2.0", "uid": uid, "type": type_, "time": cot_time(now),
                                "start": cot_time(now), "stale": cot_time(stale), "how": how})


def _point(root: ET.Element, lat: float, lon: float, ce: float | None = None) -> None:
    ET.SubElement(root, "point", {"lat": f"{lat:.7f}", "lon": f"{lon:.7f}", "hae": UNKNOWN,
                                  "ce": f"{ce:.1f}" if ce is not None else UNKNOWN, "le": UNKNOWN})


def _bytes(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + ET.tostring(root, encoding="utf-8")


def xml_text(text: str) -> str:
    """``text`` without the characters XML cannot carry (each becomes a space)."""
    return _NOT_XML.sub(" ", text)


def remarks(row: dict) -> str:
    """Category, subtype, impact, persons and report text, one per line."""
    lines = [f"Category: {CATEGORY_SHORT.get(row['category'], row['category'])}"]
    if row.get("subtype"):
        lines.append(f"Subtype: {subtype_words(row['subtype'])}")
    lines.append(f"Impact: {IMPACT_WORDS.get(row['impact'], row['impact'])}")
    if row.get("persons") is not None:
        lines.append(f"Persons: {row['persons']}")
    if row.get("section_code"):
        lines.append(f"Section: {row['section_code']}")
    lines.append(f"Occurred: {cot_time(row['occurred_at'])}")
    text = (row.get("description") or "").strip()
    if text:
        lines.append(text if len(text) <= MAX_REMARKS else text[:MAX_REMARKS - 1] + "…")
    return xml_text("\n".join(lines))


def callsign(row: dict) -> str:
    """What ATAK writes under the marker: the category's short name, subtype and section."""
    words = subtype_words(row.get("subtype")) or CATEGORY_SHORT.get(row["category"], row["category"])
    return xml_text(f"{words} {row['section_code']}" if row.get("section_code") else words)


def event_stale(row: dict, now: datetime, keep_alive: timedelta) -> datetime | None:
    """An open event's stale time: ``keep_alive`` from now (nsp re-sends before then, so the
    marker fades from ATAK only when nsp stops sending), or sooner when the report itself goes
    stale sooner (a CoT report's own ``stale_at``). None: the report has gone stale already."""
    stale = now + keep_alive
    own = row.get("stale_at")
    if own is not None:
        if own <= now:
            return None
        stale = min(stale, own)
    return stale


def event_message(row: dict, style: Style, now: datetime, stale: datetime) -> bytes:
    """One event as a marker. ``row``: id, category, subtype, impact, persons, description,
    section_code, occurred_at, lat, lon, accuracy_m."""
    root = _root(event_uid(style, row["id"]), cot_type_of(row["category"], row.get("subtype")), now, stale)
    _point(root, row["lat"], row["lon"], row.get("accuracy_m"))
    detail = ET.SubElement(root, "detail")
    ET.SubElement(detail, "contact", {"callsign": callsign(row)})
    ET.SubElement(detail, "__group", {"name": style.group, "role": style.role})
    ET.SubElement(detail, "remarks", {"source": style.uid_prefix}).text = remarks(row)
    ET.SubElement(detail, "precisionlocation", {"geopointsrc": "USER", "altsrc": "???"})
    return _bytes(root)


def section_messages(row: dict, style: Style, now: datetime, stale: datetime) -> dict[str, bytes]:
    """A section's border line as ``u-d-f`` polylines, one per part, by uid. ``row``: code,
    name, impact_level, parts (a list of parts, each a list of (lon, lat))."""
    level = row.get("impact_level")
    colour = argb(LEVEL_COLOURS.get(level, NO_LEVEL_COLOUR))
    weight = LEVEL_WEIGHTS.get(level, 2) / 2
    title = xml_text(f"{row['code']} {row['name']}" + (f" ({level})" if level else ""))
    out = {}
    for i, part in enumerate(row["parts"]):
        if len(part) < 2:
            continue
        uid = section_uid(style, row["code"], i)
        root = _root(uid, LINE_TYPE, now, stale, how="h-g-i-g-o")
        lon0, lat0 = part[len(part) // 2]
        _point(root, lat0, lon0)
        detail = ET.SubElement(root, "detail")
        for lon, lat in part:
            ET.SubElement(detail, "link", {"point": f"{lat:.6f},{lon:.6f}"})
        ET.SubElement(detail, "strokeColor", {"value": str(colour)})
        ET.SubElement(detail, "strokeWeight", {"value": f"{weight:.1f}"})
        ET.SubElement(detail, "strokeStyle", {"value": "solid"})
        ET.SubElement(detail, "contact", {"callsign": title})
        ET.SubElement(detail, "__group", {"name": style.group, "role": style.role})
        ET.SubElement(detail, "remarks", {"source": style.uid_prefix}).text = xml_text(
            f"Border section {row['code']} {row['name']}\nImpact level: {level or 'none'}")
        ET.SubElement(detail, "labels_on", {"value": "true"})
        ET.SubElement(detail, "archive")
        out[uid] = _bytes(root)
    return out


def delete_message(target_uid: str, target_type: str, style: Style, now: datetime) -> bytes:
    """``t-x-d-d``: remove ``target_uid`` from every client's map."""
    digest = hashlib.sha1(f"{target_uid}/{now.isoformat()}".encode()).hexdigest()[:16]
    root = _root(f"{style.uid_prefix}.delete.{digest}", DELETE_TYPE, now, now + timedelta(seconds=20),
                 how="h-g-i-g-o")
    ET.SubElement(root, "point", {"lat": "0.0", "lon": "0.0", "hae": UNKNOWN, "ce": UNKNOWN, "le": UNKNOWN})
    detail = ET.SubElement(root, "detail")
    ET.SubElement(detail, "link", {"uid": target_uid, "relation": "none", "type": target_type})
    ET.SubElement(detail, "__forcedelete")
    return _bytes(root)


def row_fingerprint(row: dict) -> str:
    """An event row's fingerprint: what its marker shows changes exactly when one of these does."""
    return hashlib.sha1(repr(sorted(row.items())).encode()).hexdigest()


def fingerprint(message: bytes) -> str:
    """What changes when a message's content changes, whatever its times say."""
    root = ET.fromstring(message)
    for attr in ("time", "start", "stale"):
        root.attrib.pop(attr, None)
    return hashlib.sha1(ET.tostring(root)).hexdigest()
