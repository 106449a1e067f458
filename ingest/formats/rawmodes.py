"""Raw Mode S frames from ADS-B receivers: AVR text (``avr``) and Beast binary (``beast``).

dump1090, readsb and the Mode-S Beast give the frames they receive, undecoded:

* **AVR** (TCP port 30002, ``--raw``): one frame a line in hexadecimal, ``*8D4840D6202CC371C32CE0576098;``;
  with the receiver's 12 MHz clock, ``@0123456789AB8D4840D6...;`` (AVR-MLAT); readsb's
  ``<`` form adds the signal level, ``<0123456789ABC88D4840D6...;``. A unix time in front of
  the line (``1764680000.25 *8D...;``), as ``nsp listen`` writes it, is the time the frame
  was received.
* **Beast** (TCP port 30005): binary, ``0x1a``, a type (``'1'`` Mode A/C, ``'2'`` a 56-bit and
  ``'3'`` a 112-bit Mode S frame, ``'4'`` receiver status), a 48-bit 12 MHz timestamp, a signal
  byte, the frame; every ``0x1a`` inside is doubled.

Frames are decoded by :mod:`ingest.formats.modes` (nsp's own decoder). Aircraft become the same
tracked objects as in SBS-1 (:mod:`ingest.formats.sbs`): a :class:`Position` of kind ``aircraft``,
``ICAO:<HEX>`` (``ICAO:~<HEX>`` for a DF 18 non-ICAO address), for every airborne position
decoded, carrying what the earlier frames of the file said about the aircraft (call sign,
altitude, ground speed and track, heading, vertical rate, squawk); a :class:`TrackedObject`
when a call sign is heard that was not heard before; the emergency squawk events of SBS-1.

**Positions.** An airborne position message carries half a position (CPR, even or odd). The
first fix of an aircraft needs an even and an odd message heard within 10 seconds of each
other (*global* decoding); each later message is decoded alone against the aircraft's last
fix (*local* decoding) while that fix is less than 10 minutes old and the result lies within
300 km of it; otherwise decoding starts again from a pair. Without times of their own (no
time in front of the line, no receiver clock) a pair must lie within 1,000 frames of each
other. Surface positions (type codes 5-8) are counted, not decoded.

**Times.** A frame's time is the unix time in front of its line, else the time the operator
gave (``nsp ingest --received-at``; ``time_source`` ``operator``), else the delivery time
(``time_source`` ``received``, as for AIS without tag blocks). The Beast clock counts from
the receiver's start, not from a date: it only tells frames apart for pairing.

**What is refused.** A line that is not a frame, hexadecimal of the wrong length, an
undefined downlink format, and a DF 11/17/18 frame whose CRC-24 parity fails are quarantined
with their text (a Beast frame as ``<`` + clock + signal + frame + ``;``) and the reason;
bytes between Beast frames, and a Beast frame cut short, too. DF 0, 4, 5, 16, 20 and 21 carry
their address in the parity: they count only for an aircraft whose address the file has
already verified (DF 11, 17, 18), and are counted, not quarantined, otherwise.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from ingest.formats.base import (
    FeedFormat,
    Location,
    Position,
    Record,
    Rejected,
    TrackedObject,
    bounded_lines,
    line_confidence,
    register,
)
from ingest.formats.modes import Decoded, FrameError, cpr_global, cpr_local, decode
from ingest.formats.registry import registered
from ingest.formats.sbs import SquawkWatch, object_id
from ingest.formats.sniff import HEAD_BYTES

MAX_LINE = 512  # an AVR line is at most about 60 characters
PAIR_SECONDS = 10.0  # an even and an odd message further apart than this are not paired
PAIR_FRAMES = 1000  # without times, at most this many frames apart
LOCAL_SECONDS = 600.0  # a fix older than this is no reference for local decoding
LOCAL_KM = 300.0  # a local decoding further than this from the reference is refused
CLOCK_HZ = 12_000_000  # the Beast / AVR-MLAT receiver clock
_AVR = re.compile(rb"^(?:(\d{9,10}(?:\.\d{1,9})?|\d{13})[ \t,;]{1,4})?([*@<])([0-9A-Fa-f]+);$")
_AVR_SNIFF = re.compile(rb"^(?:\d{9,13}(?:\.\d{1,9})?[ \t,;]{1,4})?[*@<][0-9A-Fa-f]{4,42};\s*$")
BEAST_LENGTHS = {0x31: 2, 0x32: 7, 0x33: 14, 0x34: 14}  # type -> frame bytes after clock and signal
RECEIVER_ID = 0xE3  # readsb: 0x1a 0xe3 and an 8-byte receiver id before the frames it forwards


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 12742.0 * math.asin(min(1.0, math.sqrt(a)))


@dataclass
class _Aircraft:
    known: dict = field(default_factory=dict)
    halves: dict = field(default_factory=dict)  # odd flag -> (cpr, clock, seq)
    fix: tuple | None = None  # (lat, lon, clock, seq)
    callsign: str | None = None


class ModeSTracker:
    """What one file says about each aircraft, frame after frame (see the module's text)."""

    def __init__(self, fmt: FeedFormat, source_format: str):
        self.fmt = fmt
        self.source_format = source_format
        self.stats: Counter = fmt.stats
        self.watch = SquawkWatch(self.stats)
        self.aircraft: dict[str, _Aircraft] = {}
        self.verified: set[str] = set()
        self.seq = 0
        given = getattr(fmt.options, "received_at", None)
        if given is not None:
            self.fallback, self.fallback_source = _utc(given), "operator"
        else:
            delivered = getattr(fmt.options, "delivered_at", None)
            self.fallback, self.fallback_source = _utc(delivered or datetime.now(UTC)), "received"

    def frame(self, frame: bytes, stamp: float | None, mlat: int | None, location: Location,
              raw: str) -> Iterator[Record]:
        """The records of one frame; ``stamp`` is its unix time when the line gave one."""
        self.seq += 1
        self.stats["frames"] += 1
        if len(frame) == 2:
            self.stats["skipped"] += 1
            self.stats["skipped Mode A/C"] += 1
            return
        try:
            d = decode(frame)
        except FrameError as exc:
            self.stats["bad frames"] += 1
            yield Rejected(location, raw, f"Mode S frame not readable: {exc}")
            return
        if stamp is not None:
            when, source = datetime.fromtimestamp(stamp, UTC), "line_prefix"
        else:
            when, source = self.fallback, self.fallback_source
            if source == "received":
                self.stats["assumed_time"] += 1
        clock = stamp if stamp is not None else (mlat / CLOCK_HZ if mlat else None)
        self.stats[f"DF {d.df}"] += 1
        if not d.verified:
            if d.address not in self.verified:
                self.stats["skipped"] += 1
                self.stats["skipped unverified address"] += 1
                return
            key = d.address
        else:
            key = ("~" if d.non_icao else "") + d.address
            if not d.non_icao:
                self.verified.add(d.address)
        yield from self._merge(key, d, when, source, clock, location, raw)

    def _merge(self, icao: str, d: Decoded, when: datetime, source: str, clock: float | None,
               location: Location, raw: str) -> Iterator[Record]:
        ac = self.aircraft.get(icao)
        if ac is None:
            ac = self.aircraft[icao] = _Aircraft()
        known = ac.known
        for key, value in (("altitude_ft", d.altitude_ft), ("vertical_rate_fpm", d.vertical_rate_fpm),
                           ("speed_kn", d.speed_kn), ("track_deg", d.track_deg), ("heading_deg", d.heading_deg),
                           ("squawk", d.squawk), ("on_ground", d.on_ground), ("category", d.category),
                           ("callsign", d.callsign)):
            if value is not None:
                known[key] = value
        if d.altitude_kind and d.altitude_ft is not None:
            known["altitude_kind"] = d.altitude_kind
        if d.squawk is not None:
            self.watch.heard(icao, d.squawk, when, location, raw)
        if d.callsign and ac.callsign != d.callsign:
            ac.callsign = d.callsign
            attrs = {"icao": icao, **registered(icao), "source_format": self.source_format}
            if d.category:
                attrs["category"] = d.category
            yield TrackedObject(object_id(icao), "aircraft", location, raw, callsign=d.callsign, attrs=attrs)
        if d.cpr is None:
            if d.notes:
                self.stats[f"skipped {d.notes[0]}"] += 1
            return
        fixed = self._position(ac, d, clock)
        if fixed is None:
            return
        lat, lon, how = fixed
        attrs = {"icao": icao, **registered(icao), "df": d.df, "type_code": d.type_code, "cpr": how,
                 "time_source": source}
        attrs.update({k: v for k, v in known.items() if k not in ("speed_kn", "track_deg", "heading_deg")})
        self.stats["positions"] += 1
        yield Position(
            object_id=object_id(icao), kind="aircraft", observed_at=when, lon=lon, lat=lat,
            location=location, raw=raw, status="on ground" if known.get("on_ground") else None,
            speed_kn=known.get("speed_kn"), course_deg=known.get("track_deg"),
            heading_deg=known.get("heading_deg"), attrs=attrs,
        )
        yield from self.watch.placed(icao, lon, lat, attrs)

    def _position(self, ac: _Aircraft, d: Decoded, clock: float | None) -> tuple[float, float, str] | None:
        odd = bool(d.cpr_odd)
        ac.halves[odd] = (d.cpr, clock, self.seq)
        if ac.fix is not None:
            ref_lat, ref_lon, ref_clock, ref_seq = ac.fix
            fresh = (clock - ref_clock <= LOCAL_SECONDS) if clock is not None and ref_clock is not None \
                else self.seq - ref_seq <= PAIR_FRAMES * 60
            if fresh:
                lat, lon = cpr_local(d.cpr, odd, ref_lat, ref_lon)
                if lon >= 180:
                    lon -= 360
                elif lon < -180:
                    lon += 360
                if -90 <= lat <= 90 and _km(lat, lon, ref_lat, ref_lon) <= LOCAL_KM:
                    ac.fix = (lat, lon, clock, self.seq)
                    return lat, lon, "local"
                self.stats["local decoding refused"] += 1
            ac.fix = None
        other = ac.halves.get(not odd)
        if other is None:
            self.stats["position waiting for its pair"] += 1
            return None
        other_cpr, other_clock, other_seq = other
        if clock is not None and other_clock is not None:
            paired = abs(clock - other_clock) <= PAIR_SECONDS
        else:
            paired = self.seq - other_seq <= PAIR_FRAMES
        if not paired:
            self.stats["position waiting for its pair"] += 1
            return None
        even_cpr, odd_cpr = (other_cpr, d.cpr) if odd else (d.cpr, other_cpr)
        fixed = cpr_global(even_cpr, odd_cpr, odd_newest=odd)
        if fixed is None:
            self.stats["position pair across a zone boundary"] += 1
            return None
        lat, lon = fixed
        ac.fix = (lat, lon, clock, self.seq)
        return lat, lon, "global"

    def finish(self) -> None:
        self.watch.finish()
        assumed = self.stats["assumed_time"]
        if assumed:
            self.fmt.warnings.append(
                f"times assumed: {assumed:,} Mode S frame(s) carry no time of their own; their time is the "
                f"delivery time {self.fallback:%Y-%m-%dT%H:%M:%SZ}. Give --received-at with the time the "
                "capture was received if it is not live data, or receive it with `nsp listen`")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def avr_line(frame: bytes, mlat: int | None = None, signal: int | None = None) -> str:
    """A frame as an AVR line: ``*HEX;``, ``@CLOCKHEX;`` or readsb's ``<CLOCKSIGNALHEX;``."""
    if mlat is None:
        return f"*{frame.hex().upper()};"
    if signal is None:
        return f"@{mlat:012X}{frame.hex().upper()};"
    return f"<{mlat:012X}{signal:02X}{frame.hex().upper()};"


# ------------------------------------------------------------------------ AVR


@register
class AvrFormat(FeedFormat):
    name = "avr"
    extensions = (".avr",)
    media_types = ("text/x-avr",)
    warnings: list[str] = []

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        lines = [ln.strip() for ln in head.splitlines() if ln.strip()][:10]
        if len(lines) > 1 and not head.endswith(b"\n"):
            lines = lines[:-1]
        if not lines:
            return 0
        hits = sum(1 for ln in lines if _AVR_SNIFF.match(ln))
        return line_confidence(hits, len(lines), file_name, cls.extensions)

    def parse(self, stream: BinaryIO) -> Iterator[Record]:
        self.stats: Counter = Counter()
        self.warnings = []
        tracker = ModeSTracker(self, "avr")
        for item in bounded_lines(stream, MAX_LINE, "an AVR frame", encoding="ascii"):
            if isinstance(item, Rejected):
                yield item
                continue
            location, data = item
            line = data.strip()
            if not line:
                continue
            self.stats["lines"] += 1
            text = line.decode("ascii", "replace")
            try:
                yield from self._line(line, text, location, tracker)
            except Exception as exc:  # noqa: BLE001 - whatever a line's content causes, only it is quarantined
                yield Rejected(location, text, f"AVR frame not readable: {type(exc).__name__}: {exc}")
        tracker.finish()

    def _line(self, line: bytes, text: str, location: Location, tracker: ModeSTracker) -> Iterator[Record]:
        m = _AVR.match(line)
        if m is None:
            yield Rejected(location, text, "not an AVR frame (expected *HEX; @CLOCKHEX; or <CLOCKSIGNALHEX;)")
            return
        prefix, mark, digits = m.groups()
        mlat = None
        if mark == b"@":
            mlat, digits = int(digits[:12], 16), digits[12:]
        elif mark == b"<":
            mlat, digits = int(digits[:12], 16), digits[14:]
        if len(digits) not in (4, 14, 28):
            yield Rejected(location, text, f"{len(digits)} hexadecimal digits: a frame has 4 (Mode A/C), "
                                           "14 or 28 (Mode S)")
            return
        stamp = None
        if prefix is not None:
            stamp = float(prefix)
            if stamp > 1e11:
                stamp /= 1000.0
        yield from tracker.frame(bytes.fromhex(digits.decode("ascii")), stamp, mlat or None, location, text)


# ------------------------------------------------------------------------ Beast


def looks_like_beast(head: bytes, whole: bool = False) -> bool:
    """True when ``head`` starts with two or more whole Beast frames (a Beast capture), or, when
    ``head`` is the ``whole`` input, when it is one whole frame and nothing else."""
    frames = 0
    sample = head[:512]
    for _kind, _mlat, _signal, _frame, junk, end in beast_frames(sample):
        if junk is not None:
            return False
        frames += 1
        if frames >= 2 or (whole and len(head) <= len(sample) and end == len(head)):
            return True
    return False


def beast_frames(data: bytes, final: bool = True):
    """Cut Beast bytes into frames. Yields (type, clock, signal, frame, junk, end): a frame,
    or ``junk`` (bytes that are no frame, or a frame cut short) with the others None; ``end``
    is the offset after it. With ``final`` False an unfinished frame at the end is not
    yielded (the caller keeps ``data[end:]`` for the next bytes). Linear in ``len(data)``."""
    n = len(data)
    i = 0
    while i < n:
        if data[i] != 0x1A:
            j = data.find(b"\x1a", i)
            j = n if j < 0 else j
            yield None, None, None, None, data[i:j], j
            i = j
            continue
        if i + 1 >= n:
            if final:
                yield None, None, None, None, data[i:], n
            return
        kind = data[i + 1]
        length = BEAST_LENGTHS.get(kind)
        if kind == RECEIVER_ID:
            length = 8 - 7  # 8 id bytes: 6 "clock" + 1 "signal" + 1
        if length is None:  # not a frame start: junk up to the next 0x1a
            j = data.find(b"\x1a", i + 1)
            j = n if j < 0 else j
            yield None, None, None, None, data[i:j], j
            i = j
            continue
        want = 7 + length
        out = bytearray()
        k = i + 2
        cut = False
        while len(out) < want and k < n:
            b = data[k]
            if b == 0x1A:
                if k + 1 >= n:
                    break
                if data[k + 1] != 0x1A:  # a new frame starts: this one was cut short
                    cut = True
                    break
                k += 2
            else:
                k += 1
            out.append(b)
        if len(out) < want:
            if not cut and not final:
                return  # wait for more bytes
            yield None, None, None, None, data[i:k], k
            i = k
            continue
        yield kind, int.from_bytes(out[:6], "big"), out[6], bytes(out[7:]), None, k
        i = k


@register
class BeastFormat(FeedFormat):
    name = "beast"
    extensions = (".beast",)
    media_types = ("application/x-beast",)
    warnings: list[str] = []
    CHUNK = 64 * 1024

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        # a head shorter than the sniffed head's size is the whole input
        return 95 if looks_like_beast(head, whole=len(head) < HEAD_BYTES) else 0

    def parse(self, stream: BinaryIO) -> Iterator[Record]:
        self.stats: Counter = Counter()
        self.warnings = []
        tracker = ModeSTracker(self, "beast")
        number = 0
        rest = b""
        junk = bytearray()
        junk_at = 0
        while True:
            data = stream.read(self.CHUNK)
            final = not data
            buf = rest + data
            end = 0
            for kind, mlat, signal, frame, bad, stop in beast_frames(buf, final=final):
                end = stop
                if bad is not None:
                    if not junk:
                        junk_at = number + 1
                    if len(junk) < 64:
                        junk.extend(bad[:64 - len(junk)])
                    self.stats["bytes between frames"] += len(bad)
                    continue
                if junk:
                    yield self._junk(junk, junk_at)
                    junk = bytearray()
                number += 1
                location = Location("frame", number)
                if kind == RECEIVER_ID or kind == 0x34:
                    self.stats["skipped"] += 1
                    self.stats["skipped receiver id or status"] += 1
                    continue
                raw = avr_line(frame, mlat, signal)
                try:
                    yield from tracker.frame(frame, None, mlat or None, location, raw)
                except Exception as exc:  # noqa: BLE001 - a frame's content quarantines that frame only
                    yield Rejected(location, raw, f"Beast frame not readable: {type(exc).__name__}: {exc}")
            rest = buf[end:] if not final else b""  # an unfinished frame: at most 44 bytes
            if final:
                break
        if junk:
            yield self._junk(junk, junk_at)
        tracker.finish()

    def _junk(self, junk: bytearray, at: int) -> Rejected:
        return Rejected(Location("frame", at), junk.hex(" ").upper() + (" …" if len(junk) >= 64 else ""),
                        "bytes that are no Beast frame (not 0x1a and a type 1-4, or a frame cut short)")


# ------------------------------------------------------------------------ listening


class BeastFramer:
    """``nsp listen --format beast``: a Beast byte stream cut into frames, each written as an
    AVR line (readsb's ``<`` form: clock, signal, frame), so that the listener's files are
    text with the reception time in front (:func:`stamp_frames`). Bytes that are no frame
    are written as one line ``beast-bytes HEX`` for the parser to quarantine. The same
    interface as :class:`ingest.delivery.listen.Framer`."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.buffer = b""

    @classmethod
    def datagram(cls, data: bytes, max_bytes: int) -> list[bytes]:
        framer = cls(max_bytes)
        return framer.feed(data) + framer.rest()

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        return self._cut(final=False)

    def rest(self) -> list[bytes]:
        return self._cut(final=True)

    def _cut(self, final: bool) -> list[bytes]:
        out, end = [], 0
        for kind, mlat, signal, frame, junk, stop in beast_frames(self.buffer, final=final):
            end = stop
            if junk is not None:
                out.append(b"beast-bytes " + junk[:256].hex().upper().encode())
            elif kind in BEAST_LENGTHS and kind != 0x34:
                out.append(avr_line(frame, mlat, signal).encode())
        self.buffer = b"" if final else self.buffer[end:]
        return out


def stamp_frames(lines: list[bytes], received: float) -> list[bytes]:
    """AVR lines with the unix time they were received in front (``1764680000.250 *8D...;``);
    a line that already starts with a time keeps it."""
    prefix = b"%.3f " % received
    return [line if line[:1].isdigit() else prefix + line for line in lines]
