"""AIS NMEA 0183 (``!AIVDM`` / ``!AIVDO``), decoded with pyais.

Read line by line. Each sentence is checked (NMEA checksum, tag-block checksum),
multi-fragment messages are reassembled by (talker, sequence id, channel), and each
complete message is decoded:

* position reports (types 1, 2, 3, 18, 19, 27) -> :class:`Position` kind ``vessel``,
  ``object_id`` ``MMSI:<n>``; type 9 (SAR aircraft) -> kind ``aircraft``;
* static data (type 5, type 24 parts A and B, and the static half of type 19) ->
  :class:`TrackedObject` (name, call sign, ship type text, IMO).

The observation time is the NMEA 4.0 tag block's ``c:`` (unix seconds, or
milliseconds). A message without one takes the last tag-block time seen earlier in
the file (``attrs["time_source"] == "previous_tag_block"``: deterministic, so a
re-delivered file stays a duplicate), else the time the file was received
(:attr:`AisFormat.received_at`, default: when parsing started;
``attrs["time_source"] == "received"``).

What is not readable becomes :class:`Rejected` with its lines: checksum errors,
incomplete fragment groups, undecodable payloads, positions marked unavailable
(lat 91 / lon 181). A unix time appended after the checksum (``...,0*5C,1714550400``,
as some receivers log) is read like a tag block's ``c:``. Valid sentences that carry nothing for the picture (base
stations, binary messages, other NMEA sentences such as ``$GPRMC``) are counted in
:attr:`AisFormat.stats` under ``skipped`` rather than quarantined.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from functools import lru_cache, reduce
from operator import xor
from typing import BinaryIO

from pyais.constants import NavigationStatus, ShipType
from pyais.exceptions import AISBaseException
from pyais.messages import AISSentence

from ingest.base import FeedFormat, Location, Position, Record, Rejected, TrackedObject, register

MAX_LINE = 4096  # an AIS sentence is at most 82 characters; tag blocks add a little
PENDING_LINES = 200  # a fragment group not completed within this many lines is incomplete
KNOTS_UNAVAILABLE = {1: 102.3, 2: 102.3, 3: 102.3, 18: 102.3, 19: 102.3, 27: 63.0}
POSITION_TYPES = frozenset({1, 2, 3, 18, 19, 27})
WANTED_TYPES = POSITION_TYPES | {5, 9, 24}
_SENTENCE = re.compile(rb"^(\\[^\\]*\\)?[!$][A-Z]{2}VD[MO],")
_SUFFIX_TIME = re.compile(rb",(\d{9,13}(?:\.\d+)?)\s*")
_NMEA_ANY = re.compile(rb"^(\\[^\\]*\\)?[!$][A-Z]{2}[A-Z]{3},")


@lru_cache(maxsize=256)
def _words(name: str) -> str:
    """``UnderWayUsingEngine`` -> ``under way using engine``; ``WIG_HazardousCategory_A`` too."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name.replace("_", " "))
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in spaced.split())


@lru_cache(maxsize=256)
def ship_type_text(code: int | None) -> str | None:
    if not code:
        return None
    try:
        return _words(ShipType(int(code)).name)
    except ValueError:
        return f"type {code}"


@lru_cache(maxsize=32)
def nav_status_text(code) -> str | None:
    try:
        status = NavigationStatus(int(code))
    except (TypeError, ValueError):
        return None
    return None if status == NavigationStatus.Undefined else _words(status.name)


def _total(a, b) -> int | None:
    return (a + b) or None if a is not None and b is not None else None


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).replace("@", " ").strip()
    return text or None


class _Group:
    """Fragments of one multi-fragment message, in order."""

    __slots__ = ("total", "lines", "sentences", "first_line")

    def __init__(self, total: int, first_line: int):
        self.total = total
        self.lines: list[str] = []
        self.sentences: list[AISSentence] = []
        self.first_line = first_line


@register
class AisFormat(FeedFormat):
    name = "ais"
    extensions = (".nmea", ".ais", ".aivdm")
    media_types = ("text/x-nmea", "application/x-nmea")

    received_at: datetime | None = None  # the fallback observation time; None: now

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        lines = [ln.strip() for ln in head.splitlines() if ln.strip()][:10]
        if not lines:
            return 0
        hits = sum(1 for ln in lines if _SENTENCE.match(ln))
        if hits and hits >= len(lines) // 2:
            return 95
        if hits:
            return 70
        if file_name and file_name.lower().endswith(cls.extensions):
            return 30
        return 0

    # ------------------------------------------------------------------ parsing

    def parse(self, stream: BinaryIO) -> Iterator[Record]:
        self.stats: Counter = Counter()
        self._received = self.received_at or datetime.now(timezone.utc)
        self._message_no = 0
        self._last_tag_time: datetime | None = None
        self._known: dict[int, dict] = {}
        pending: dict[tuple, _Group] = {}
        readline = stream.readline
        line_no = 0
        while True:
            data = readline(MAX_LINE)
            if not data:
                break
            line_no += 1
            if len(data) == MAX_LINE and not data.endswith(b"\n"):
                # Over-long line: consume the rest of it, reject the whole thing once.
                while True:
                    more = readline(MAX_LINE)
                    if not more or more.endswith(b"\n"):
                        break
                yield Rejected(Location("line", line_no, line=line_no), _decode(data[:200]) + "…",
                               f"line longer than {MAX_LINE} bytes: not an AIS sentence")
                continue
            line = data.strip()
            if not line:
                self.stats["blank"] += 1
                continue
            self.stats["lines"] += 1
            if pending:
                yield from self._expire(pending, line_no)
            yield from self._line(line, line_no, pending)
        for key in list(pending):
            group = pending.pop(key)
            yield self._incomplete(group, "the file ended before the remaining fragments")

    def _line(self, line: bytes, line_no: int, pending: dict) -> Iterator[Record]:
        text = _decode(line)
        if not _SENTENCE.match(line):
            if _NMEA_ANY.match(line) and line.isascii():
                self.stats["skipped"] += 1
                self.stats["skipped_lines"] += 1
                self.stats["skipped non-AIS sentence"] += 1
                return
            yield Rejected(Location("line", line_no, line=line_no), text,
                           "not an AIS NMEA sentence (expected !AIVDM or !AIVDO)")
            return
        tag = None
        body = line
        if line[0] == 0x5C:  # "\": an NMEA 4.0 tag block
            end = line.index(b"\\", 1)  # present: _SENTENCE matched
            tag, reason = _tag_block(line[1:end])
            if reason:
                yield Rejected(Location("line", line_no, line=line_no), text, reason)
                return
            body = line[end + 1:]
        star = body.rfind(b"*")
        try:
            expected = int(body[star + 1:star + 3], 16) if star > 0 else -1
        except ValueError:
            expected = -1
        if expected < 0:
            yield Rejected(Location("line", line_no, line=line_no), text, "NMEA sentence without a *hh checksum")
            return
        actual = reduce(xor, body[1:star], 0)
        if actual != expected:
            yield Rejected(Location("line", line_no, line=line_no), text,
                           f"NMEA checksum mismatch: the sentence says {expected:02X}, "
                           f"its content gives {actual:02X}")
            return
        suffix = body[star + 3:]
        if suffix:
            # Some receivers' logs append the reception time: "...,0*5C,1714550400".
            match = _SUFFIX_TIME.fullmatch(suffix)
            if match is None:
                yield Rejected(Location("line", line_no, line=line_no), text,
                               "unexpected text after the NMEA checksum")
                return
            body = body[:star + 3]
            if tag is None or "c" not in tag:
                tag = {**(tag or {}), "c": match.group(1).decode(), "_source": "line_suffix"}
        try:
            sentence = AISSentence(body)
        except (AISBaseException, ValueError, IndexError) as exc:
            yield Rejected(Location("line", line_no, line=line_no), text, f"malformed AIS sentence: {exc}")
            return
        sentence.is_valid = True
        sentence.tag_block = tag
        if sentence.frag_cnt == 1:
            yield from self._message([sentence], [text], line_no)
            return
        key = (sentence.raw[:6], sentence.seq_id, sentence.channel)
        group = pending.get(key)
        if sentence.frag_num == 1:
            if group is not None:
                del pending[key]
                yield self._incomplete(group, "a new message started with the same sequence id")
            group = pending[key] = _Group(sentence.frag_cnt, line_no)
        elif group is None or len(group.sentences) + 1 != sentence.frag_num or group.total != sentence.frag_cnt:
            if group is not None:
                del pending[key]
                yield self._incomplete(group, f"fragment {sentence.frag_num} of {sentence.frag_cnt} came out of order")
            yield Rejected(Location("line", line_no, line=line_no), text,
                           f"fragment {sentence.frag_num} of {sentence.frag_cnt} without the fragments before it")
            return
        group.sentences.append(sentence)
        group.lines.append(text)
        if len(group.sentences) == group.total:
            del pending[key]
            yield from self._message(group.sentences, group.lines, group.first_line)

    def _expire(self, pending: dict, line_no: int) -> Iterator[Rejected]:
        for key in [k for k, g in pending.items() if line_no - g.first_line > PENDING_LINES]:
            yield self._incomplete(pending.pop(key), f"no further fragment within {PENDING_LINES} lines")

    def _incomplete(self, group: _Group, why: str) -> Rejected:
        self._message_no += 1
        return Rejected(
            Location("message", self._message_no, line=group.first_line),
            "\n".join(group.lines),
            f"incomplete multi-fragment message: {len(group.sentences)} of {group.total} fragments ({why})",
        )

    # ------------------------------------------------------------------ decoding

    def _message(self, sentences: list[AISSentence], lines: list[str], first_line: int) -> Iterator[Record]:
        self._message_no += 1
        self.stats["messages"] += 1
        location = Location("message", self._message_no, line=first_line)
        raw = lines[0] if len(lines) == 1 else "\n".join(lines)
        if sentences[0].ais_id not in WANTED_TYPES:
            self.stats["skipped"] += 1
            self.stats["skipped_lines"] += len(lines)
            self.stats[f"skipped type {sentences[0].ais_id}"] += 1
            return
        try:
            sentence = sentences[0] if len(sentences) == 1 else AISSentence.assemble_from_iterable(sentences)
            msg = sentence.decode()
        except Exception as exc:  # noqa: BLE001 - pyais raises many kinds for bad payloads
            yield Rejected(location, raw, f"cannot decode the AIS payload: {type(exc).__name__}: {exc}")
            return
        observed_at, attrs, reason = self._time(sentences)
        if reason:
            yield Rejected(location, raw, reason)
            return
        msg_type = msg.msg_type
        attrs["msg_type"] = msg_type
        mmsi = msg.mmsi
        if not mmsi:
            yield Rejected(location, raw, "AIS payload too short or without an MMSI")
            return
        object_id = f"MMSI:{mmsi}"
        if msg_type in POSITION_TYPES or msg_type == 9:
            lat, lon = msg.lat, msg.lon
            if lat is None or lon is None:
                yield Rejected(location, raw, "AIS payload too short: no position in it")
                return
            if lat == 91 or lon == 181:
                yield Rejected(location, raw, "position not available (AIS sends lat 91 / lon 181)")
                return
            speed = msg.speed
            if speed is None:
                pass
            elif msg_type == 9:
                speed = None if speed == 1023 else float(speed)
                attrs["altitude_m"] = None if msg.alt == 4095 else msg.alt
            elif speed == KNOTS_UNAVAILABLE[msg_type]:
                speed = None
            course = msg.course
            if course == 360 or (msg_type == 27 and course == 511):
                course = None
            heading = getattr(msg, "heading", None)
            if heading == 511:
                heading = None
            yield Position(
                object_id=object_id,
                kind="aircraft" if msg_type == 9 else "vessel",
                observed_at=observed_at,
                lon=lon,
                lat=lat,
                location=location,
                raw=raw,
                status=nav_status_text(msg.status) if msg_type in (1, 2, 3, 27) else None,
                speed_kn=speed,
                course_deg=course,
                heading_deg=heading,
                accuracy_m=10.0 if msg.accuracy else None,
                attrs=attrs,
            )
            if msg_type == 19:
                yield self._static(mmsi, location, raw, {"msg_type": 19}, name=_text(msg.shipname),
                                   object_type=ship_type_text(msg.ship_type))
        elif msg_type == 5:
            yield self._static(
                mmsi, location, raw,
                {"msg_type": 5, "destination": _text(msg.destination), "draught_m": msg.draught or None,
                 "length_m": _total(msg.to_bow, msg.to_stern),
                 "beam_m": _total(msg.to_port, msg.to_starboard)},
                name=_text(msg.shipname), callsign=_text(msg.callsign),
                object_type=ship_type_text(msg.ship_type), imo=msg.imo or None,
            )
        elif msg_type == 24:
            if msg.partno == 0:
                yield self._static(mmsi, location, raw, {"msg_type": 24, "part": "A"},
                                   name=_text(msg.shipname))
            else:
                yield self._static(mmsi, location, raw,
                                   {"msg_type": 24, "part": "B", "vendor": _text(msg.vendorid)},
                                   callsign=_text(msg.callsign), object_type=ship_type_text(msg.ship_type))
        else:
            self.stats["skipped"] += 1
            self.stats["skipped_lines"] += len(lines)
            self.stats[f"skipped type {msg_type}"] += 1

    def _static(self, mmsi: int, location: Location, raw: str, attrs: dict, **values) -> TrackedObject:
        """Static data, completed with what earlier messages of this file said about the
        vessel (type 24 part A has the name, part B the call sign and type)."""
        known = self._known.setdefault(mmsi, {})
        known.update({k: v for k, v in values.items() if v is not None})
        return TrackedObject(f"MMSI:{mmsi}", "vessel", location, raw, mmsi=mmsi, attrs=attrs, **known)

    def _time(self, sentences: list[AISSentence]) -> tuple[datetime | None, dict, str | None]:
        attrs: dict = {}
        for sentence in sentences:
            tag = sentence.tag_block
            if not tag:
                continue
            if "s" in tag and "station" not in attrs:
                attrs["station"] = tag["s"]
            stamp = tag.get("c")
            if stamp is None:
                continue
            attrs["time_source"] = tag.get("_source", "tag_block")
            try:
                value = float(stamp)
                if value > 1e11:  # milliseconds
                    value /= 1000.0
                when = datetime.fromtimestamp(value, timezone.utc)
            except (ValueError, OverflowError, OSError):
                return None, attrs, f"tag block time c:{stamp} is not a unix time"
            self._last_tag_time = when
            return when, attrs, None
        if self._last_tag_time is not None:
            attrs["time_source"] = "previous_tag_block"
            return self._last_tag_time, attrs, None
        attrs["time_source"] = "received"
        return self._received, attrs, None


def _tag_block(block: bytes) -> tuple[dict | None, str | None]:
    """``s:LV-RIGA,c:1714550400*11`` -> ({"s": "LV-RIGA", "c": "1714550400"}, None)."""
    star = block.rfind(b"*")
    if star < 0:
        return None, "tag block without a *hh checksum"
    try:
        expected = int(block[star + 1:], 16)
    except ValueError:
        return None, "tag block checksum is not hexadecimal"
    body = block[:star]
    actual = reduce(xor, body, 0)
    if actual != expected:
        return None, f"tag block checksum mismatch: it says {expected:02X}, its content gives {actual:02X}"
    fields = {}
    for item in body.decode("ascii", "replace").split(","):
        key, sep, value = item.partition(":")
        if sep:
            fields[key] = value
    return fields, None


def _decode(data: bytes) -> str:
    return data.decode("ascii", "replace").rstrip("\r\n")
