"""AIS NMEA 0183 (``!AIVDM`` / ``!AIVDO``), decoded with pyais.

Read line by line. Each sentence is checked (NMEA checksum, tag-block checksum),
multi-fragment messages are reassembled by (talker, sequence id, channel), and each
complete message is decoded:

* position reports (types 1, 2, 3, 18, 19, 27) -> :class:`Position` kind ``vessel``,
  ``object_id`` ``MMSI:<n>``; type 9 (SAR aircraft) -> kind ``aircraft``;
* static data (type 5, type 24 parts A and B, and the static half of type 19) ->
  :class:`TrackedObject` (name, call sign, ship type text, IMO).

Each position report keeps its own moment. The **reference time** of a message is, in
this order: its own NMEA 4.0 tag block's ``c:`` (unix seconds or milliseconds; never an
earlier sentence's), the unix time a USCG NAIS receiver appends after the checksum
(``...*hh,d-109,S2105,t050056.00,T56.13,r003669946,1325394060``; station ``r``/``b``/``D``
field kept as ``station``), a time in front of the line (``1428451200.5 !AIVDM...``,
``[2024-07-19 08:45:27.141] !AIVDM...``), the time the operator gave for the file
(``ParseOptions.received_at``, ``nsp ingest --received-at``; ``time_source`` ``operator``),
else the delivery time (``ParseOptions.delivered_at``; ``time_source`` ``received``,
counted in ``stats["assumed_time"]`` and said in :attr:`AisFormat.warnings`). The
listener stamps what it receives with a tag block, so its files always carry times.

Reports of types 1-3, 9, 18 and 19 carry the UTC second they were made (60-63: not
available). The observed time is the latest moment at or before the reference whose second
is that one: a reference 08:00:05 and second 58 give 07:59:58.

What is not readable becomes :class:`Rejected` with its lines: checksum errors,
incomplete fragment groups, undecodable payloads, positions marked unavailable
(lat 91 / lon 181), and any error a message's content causes in the decoder. Valid
sentences that carry nothing for the picture (base stations, binary messages, other NMEA
sentences such as ``$GPRMC``, ``#`` comments) are counted in :attr:`AisFormat.stats`
under ``skipped`` rather than quarantined.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache, reduce
from operator import xor
from typing import BinaryIO

from pyais.constants import NavigationStatus, ShipType
from pyais.messages import AISSentence

from ingest.formats.base import (
    FeedFormat,
    Location,
    Position,
    Record,
    Rejected,
    TrackedObject,
    line_confidence,
    register,
)

MAX_LINE = 4096  # an AIS sentence is at most 82 characters; tag blocks add a little
PENDING_LINES = 200  # a fragment group not completed within this many lines is incomplete
KNOTS_UNAVAILABLE = {1: 102.3, 2: 102.3, 3: 102.3, 18: 102.3, 19: 102.3, 27: 63.0}
POSITION_TYPES = frozenset({1, 2, 3, 18, 19, 27})
WANTED_TYPES = POSITION_TYPES | {5, 9, 24}
SECOND_TYPES = frozenset({1, 2, 3, 9, 18, 19})  # reports that carry their UTC second (type 27 does not)
MAX_STATION = 64  # a station name longer than this is cut (it is only an attribute)
_SENTENCE = re.compile(rb"^(\\[^\\]*\\)?[!$][A-Z]{2}VD[MO],")
# A receiver's time in front of the sentence: unix seconds (or milliseconds) or an ISO date
# and time, optionally in brackets, then a blank, comma, semicolon or colon.
_PREFIX_TIME = re.compile(
    rb"\[?(\d{9,10}(?:\.\d{1,9})?|\d{13}|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)"
    rb"\]?[ \t,;:]{0,4}(?=[\\!$])")
_UNIX_TIME = re.compile(rb"\d{9,13}(?:\.\d{1,9})?")
_META_FIELD = re.compile(rb"[A-Za-z0-9.:_+-]{0,80}")  # one NAIS metadata field after the checksum
_STATION_PREFIX = frozenset(b"rRbBD")  # NAIS: r/R receiver, b/B base station, D named site
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

    received_at: datetime | None = None  # the delivery time when no time is known; None: now
    warnings: list[str] = []  # set by parse(): what the batch should tell the operator

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        lines = [ln.strip() for ln in head.splitlines() if ln.strip() and not ln.startswith(b"#")][:10]
        if not lines:
            return 0
        hits = sum(1 for ln in lines if _SENTENCE.match(ln) or _SENTENCE.match(_strip_prefix(ln)[1]))
        return line_confidence(hits, len(lines), file_name, cls.extensions)

    # ------------------------------------------------------------------ parsing

    def parse(self, stream: BinaryIO) -> Iterator[Record]:
        self.stats: Counter = Counter()
        self.warnings = []
        given = getattr(self.options, "received_at", None)
        if given is not None:  # the operator said when this log was received
            self._received, self._fallback = _utc(given), "operator"
        else:
            delivered = self.received_at or getattr(self.options, "delivered_at", None)
            self._received, self._fallback = _utc(delivered or datetime.now(UTC)), "received"
        self._received_ts = self._received.timestamp()
        self._moment_ts = self._moment = None  # the last time made from unix seconds, and those seconds
        self._message_no = 0
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
            try:
                yield from self._line(line, line_no, pending)
            except Exception as exc:  # noqa: BLE001 - no content may fail the file
                yield Rejected(Location("line", line_no, line=line_no), _decode(line),
                               f"cannot read the AIS sentence: {type(exc).__name__}: {exc}")
        for key in list(pending):
            group = pending.pop(key)
            yield self._incomplete(group, "the file ended before the remaining fragments")
        assumed = self.stats["assumed_time"]
        if assumed:
            self.warnings.append(
                f"times assumed: {assumed:,} AIS message(s) carry no time of their own (no tag block c:, "
                f"no receiver time); their reference is the delivery time {self._received:%Y-%m-%dT%H:%M:%SZ}, "
                "refined by each report's UTC second. Give --received-at with the time the log was "
                "received if it is not live data")

    def _line(self, line: bytes, line_no: int, pending: dict) -> list[Record]:
        """The records of one line (a list: cheaper than a generator for the one record a
        line usually gives)."""
        text = line.decode("ascii", "replace")  # the line is stripped: as _decode(line)
        prefix_time = None
        if line[0] not in b"\\!$":  # a receiver's time in front of the sentence, a comment, or not AIS
            if line[0] == 0x23:  # "#": a comment in a receiver log
                self.stats["skipped"] += 1
                self.stats["skipped_lines"] += 1
                self.stats["skipped comment"] += 1
                return []
            prefix_time, line = _strip_prefix(line)
        if not _SENTENCE.match(line):
            if _NMEA_ANY.match(line) and line.isascii():
                self.stats["skipped"] += 1
                self.stats["skipped_lines"] += 1
                self.stats["skipped non-AIS sentence"] += 1
                return []
            return [Rejected(Location("line", line_no, line=line_no), text,
                             "not an AIS NMEA sentence (expected !AIVDM or !AIVDO)")]
        tag = None
        body = line
        if line[0] == 0x5C:  # "\": an NMEA 4.0 tag block
            end = line.index(b"\\", 1)  # present: _SENTENCE matched
            tag, reason = _tag_block(line[1:end])
            if reason:
                return [Rejected(Location("line", line_no, line=line_no), text, reason)]
            body = line[end + 1:]
        star = body.rfind(b"*")
        try:
            expected = int(body[star + 1:star + 3], 16) if star > 0 else -1
        except ValueError:
            expected = -1
        if expected < 0:
            return [Rejected(Location("line", line_no, line=line_no), text, "NMEA sentence without a *hh checksum")]
        actual = nmea_checksum(body[1:star])
        if actual != expected:
            return [Rejected(Location("line", line_no, line=line_no), text,
                             f"NMEA checksum mismatch: the sentence says {expected:02X}, "
                             f"its content gives {actual:02X}")]
        if len(body) > star + 3:
            suffix = body[star + 3:].strip()
            if suffix:
                # Receivers' logs append metadata: "...,0*5C,1714550400", or USCG NAIS
                # "...*hh,d-109,S2105,t050056.00,T56.13,r003669946,1325394060,1325394001".
                stamp, station = receiver_suffix(suffix)
                if stamp is None and station is None:
                    return [Rejected(Location("line", line_no, line=line_no), text,
                                     "unexpected text after the NMEA checksum (expected receiver metadata "
                                     "ending in a unix time)")]
                body = body[:star + 3]
                extra = {"s": station} if station and (tag is None or "s" not in tag) else {}
                if stamp and (tag is None or "c" not in tag):
                    extra.update(c=stamp, _source="line_suffix")
                if extra:
                    tag = {**(tag or {}), **extra}
        if prefix_time is not None and (tag is None or "c" not in tag):
            tag = {**(tag or {}), "c": prefix_time, "_source": "line_prefix"}
        try:
            sentence = AISSentence(body)
        except Exception as exc:  # noqa: BLE001 - pyais raises many kinds for a bad sentence
            return [Rejected(Location("line", line_no, line=line_no), text, f"malformed AIS sentence: {exc}")]
        sentence.tag_block = tag
        if sentence.frag_cnt == 1:
            return self._message([sentence], [text], line_no)
        sentence.is_valid = True  # checked above; pyais reads it when it joins the fragments
        out: list[Record] = []
        key = (sentence.raw[:6], sentence.seq_id, sentence.channel)
        group = pending.get(key)
        if sentence.frag_num == 1:
            if group is not None:
                del pending[key]
                out.append(self._incomplete(group, "a new message started with the same sequence id"))
            group = pending[key] = _Group(sentence.frag_cnt, line_no)
        elif group is None or len(group.sentences) + 1 != sentence.frag_num or group.total != sentence.frag_cnt:
            if group is not None:
                del pending[key]
                out.append(self._incomplete(group, f"fragment {sentence.frag_num} of {sentence.frag_cnt} came out of order"))
            out.append(Rejected(Location("line", line_no, line=line_no), text,
                                f"fragment {sentence.frag_num} of {sentence.frag_cnt} without the fragments before it"))
            return out
        group.sentences.append(sentence)
        group.lines.append(text)
        if len(group.sentences) == group.total:
            del pending[key]
            out.extend(self._message(group.sentences, group.lines, group.first_line))
        return out

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

    def _message(self, sentences: list[AISSentence], lines: list[str], first_line: int) -> list[Record]:
        self._message_no += 1
        self.stats["messages"] += 1
        location = Location("message", self._message_no, line=first_line)
        raw = lines[0] if len(lines) == 1 else "\n".join(lines)
        if sentences[0].ais_id not in WANTED_TYPES:
            self.stats["skipped"] += 1
            self.stats["skipped_lines"] += len(lines)
            self.stats[f"skipped type {sentences[0].ais_id}"] += 1
            return []
        try:
            sentence = sentences[0] if len(sentences) == 1 else AISSentence.assemble_from_iterable(sentences)
            msg = sentence.decode()
        except Exception as exc:  # noqa: BLE001 - pyais raises many kinds for bad payloads
            return [Rejected(location, raw, f"cannot decode the AIS payload: {type(exc).__name__}: {exc}")]
        out: list[Record] = []
        try:  # what the payload's content can break (a short type 24, a value out of range) is its own
            observed_at, attrs, reason = self._time(sentences, msg)
            if reason:
                return [Rejected(location, raw, reason)]
            msg_type = msg.msg_type
            attrs["msg_type"] = msg_type
            mmsi = msg.mmsi
            if not mmsi:
                return [Rejected(location, raw, "AIS payload too short or without an MMSI")]
            object_id = f"MMSI:{mmsi}"
            if msg_type in POSITION_TYPES or msg_type == 9:
                lat, lon = msg.lat, msg.lon
                if lat is None or lon is None:
                    return [Rejected(location, raw, "AIS payload too short: no position in it")]
                if lat == 91 or lon == 181:
                    return [Rejected(location, raw, "position not available (AIS sends lat 91 / lon 181)")]
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
                out.append(Position(
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
                ))
                if msg_type == 19:
                    out.append(self._static(mmsi, location, raw, {"msg_type": 19}, name=_text(msg.shipname),
                                       object_type=ship_type_text(msg.ship_type)))
            elif msg_type == 5:
                out.append(self._static(
                    mmsi, location, raw,
                    {"msg_type": 5, "destination": _text(msg.destination), "draught_m": msg.draught or None,
                     "length_m": _total(msg.to_bow, msg.to_stern),
                     "beam_m": _total(msg.to_port, msg.to_starboard)},
                    name=_text(msg.shipname), callsign=_text(msg.callsign),
                    object_type=ship_type_text(msg.ship_type), imo=msg.imo or None,
                ))
            elif msg_type == 24:
                if msg.partno == 0:
                    out.append(self._static(mmsi, location, raw, {"msg_type": 24, "part": "A"},
                                            name=_text(msg.shipname)))
                else:
                    out.append(self._static(mmsi, location, raw,
                                            {"msg_type": 24, "part": "B", "vendor": _text(msg.vendorid)},
                                            callsign=_text(msg.callsign), object_type=ship_type_text(msg.ship_type)))
            else:
                self.stats["skipped"] += 1
                self.stats["skipped_lines"] += len(lines)
                self.stats[f"skipped type {msg_type}"] += 1
        except Exception as exc:  # noqa: BLE001 - pyais decodes lazily: bad content shows as any error
            out.append(Rejected(location, raw, f"cannot read the AIS message: {type(exc).__name__}: {exc}"))
        return out

    def _static(self, mmsi: int, location: Location, raw: str, attrs: dict, **values) -> TrackedObject:
        """Static data, completed with what earlier messages of this file said about the
        vessel (type 24 part A has the name, part B the call sign and type)."""
        known = self._known.setdefault(mmsi, {})
        known.update({k: v for k, v in values.items() if v is not None})
        return TrackedObject(f"MMSI:{mmsi}", "vessel", location, raw, mmsi=mmsi, attrs=attrs, **known)

    def _time(self, sentences: list[AISSentence], msg) -> tuple[datetime | None, dict, str | None]:
        """The message's reference time (its own tag block, receiver metadata, the operator's
        time, else the delivery time), refined by the report's own UTC second."""
        attrs: dict = {}
        reference = None  # unix seconds
        for sentence in sentences:
            tag = sentence.tag_block
            if not tag:
                continue
            if "s" in tag and "station" not in attrs:
                attrs["station"] = tag["s"][:MAX_STATION]
            stamp = tag.get("c")
            if stamp is None or reference is not None:
                continue
            attrs["time_source"] = tag.get("_source", "tag_block")
            try:
                reference = float(stamp)
                if reference > 1e11:  # milliseconds
                    reference /= 1000.0
                if not 0 <= reference < 253402300800:  # 1970 to 9999; NaN and infinity fail too
                    raise ValueError(stamp)
            except ValueError:
                return None, attrs, f"tag block time c:{stamp} is not a unix time"
        second = msg.second if msg.msg_type in SECOND_TYPES else None
        if second is not None and not 0 <= second < 60:
            second = None  # 60: not available, 61-63: manual, dead reckoning, inoperative
        if reference is None:
            attrs["time_source"] = self._fallback
            if self._fallback == "received":
                self.stats["assumed_time"] += 1
                if second is not None:  # so that a re-delivery can be read against the first one
                    attrs["utc_second"] = second
            if second is None:
                return self._received, attrs, None
            reference = self._received_ts
        if second is not None:
            # the latest whole second at or before the reference with the report's second (unix
            # time counts no leap seconds: its remainder by 60 is the UTC second)
            base = int(reference)
            reference = base - (base - second) % 60
        if reference == self._moment_ts:  # a receiver's reports come many to a second
            return self._moment, attrs, None
        try:
            moment = datetime.fromtimestamp(reference, UTC)
        except (OverflowError, OSError, ValueError):
            return None, attrs, f"time {reference:.0f} (unix seconds) is out of range"
        self._moment_ts, self._moment = reference, moment
        return moment, attrs, None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _strip_prefix(line: bytes) -> tuple[str | None, bytes]:
    """``1428451200.5 !AIVDM...`` or ``[2024-07-19 08:45:27.141] !AIVDM...`` -> (unix seconds
    as text, the sentence); a line without such a prefix comes back as it is."""
    match = _PREFIX_TIME.match(line)
    if match is None:
        return None, line
    stamp = match.group(1)
    if b"-" in stamp:
        try:
            when = datetime.fromisoformat(stamp.decode().replace("Z", "+00:00"))
        except ValueError:
            return None, line
        stamp = f"{_utc(when).timestamp():.3f}".encode()
    return stamp.decode(), line[match.end():]


def receiver_suffix(suffix: bytes) -> tuple[str | None, str | None]:
    """Receiver metadata after the checksum -> (unix time, station); (None, None) when it is
    not metadata. The time is the first field that is a unix time (a NAIS line's second one
    is the logger's); the station is the field before it when that names a receiver."""
    if suffix[:1] != b"," or len(suffix) > 400:
        return None, None
    fields = suffix[1:].split(b",")
    stamp = station = None
    for i, item in enumerate(fields):
        if _META_FIELD.fullmatch(item) is None:
            return None, None
        if stamp is None and _UNIX_TIME.fullmatch(item):
            stamp = item.decode()
            before = fields[i - 1] if i else b""
            if before and before[0] in _STATION_PREFIX:
                station = before.decode()[:MAX_STATION]
    if stamp is None:
        return None, None
    return stamp, station


def nmea_checksum(data: bytes) -> int:
    """The NMEA checksum of ``data``: the XOR of its bytes (as ``reduce(xor, data, 0)``, which
    costs about twice as many instructions for a sentence's 60 bytes: the bytes are read as
    one integer that is folded onto itself, halving the width each time; only the low bits
    of each fold are read again, so nothing is masked until the last byte)."""
    n = len(data)
    if n > 64:
        return reduce(xor, data, 0)
    x = int.from_bytes(data, "little")
    if n > 32:
        x ^= x >> 256
    if n > 16:
        x ^= x >> 128
    if n > 8:
        x ^= x >> 64
    x ^= x >> 32
    x ^= x >> 16
    return (x ^ (x >> 8)) & 0xFF


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
    actual = nmea_checksum(body)
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
