"""Mode S and ADS-B (1090 MHz extended squitter) frames: parity, fields, CPR positions.

nsp's own decoder, written from the public descriptions of the formats: ICAO Annex 10
Volume IV (Mode S downlink formats, the 24-bit parity), RTCA DO-260B (extended squitter
messages) and Junzi Sun's *The 1090 Megahertz Riddle* (second edition, TU Delft OPEN
Publishing, 2021; mode-s.org), which explains every algorithm used here: the CRC, the
altitude codes, the identity (squawk) code, call signs, CPR global and local position
decoding and airborne velocity. No code of another decoder is copied.

What it reads (everything else is returned as "not decoded", never guessed):

* parity of every downlink format: DF 11, 17 and 18 must have a zero remainder (DF 11 may
  carry an interrogator code, a remainder below 128); DF 0, 4, 5, 16, 20 and 21 carry the
  address overlaid on the parity, so the remainder *is* the address (the caller checks it
  against addresses it has already verified);
* DF 17 and DF 18 (extended squitter, ADS-B, TIS-B, ADS-R): identification (type codes
  1-4: call sign and category), airborne position (9-18 barometric altitude, 20-22 GNSS
  height: the CPR fields and the altitude), airborne velocity (19: ground speed and track,
  or heading and air speed, and the vertical rate), emergency/priority status (28 subtype 1:
  the squawk);
* DF 0, 4, 16 and 20: altitude; DF 5 and 21: identity (squawk).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GENERATOR = 0xFFF409  # the Mode S parity polynomial (Annex 10 Vol IV, 3.1.2.3.3.1.2)
SHORT_DFS = frozenset({0, 4, 5, 11})  # 56-bit formats; the others defined are 112 bits
LONG_DFS = frozenset({16, 17, 18, 19, 20, 21, 24})
CHARSET = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
NZ = 15  # CPR latitude zones per hemisphere quarter
CPR_SCALE = 131072.0  # 2**17
CATEGORY_SETS = {4: "A", 3: "B", 2: "C", 1: "D"}  # identification type code -> emitter category set


def _table() -> list[int]:
    table = []
    for i in range(256):
        c = i << 16
        for _ in range(8):
            c = ((c << 1) ^ GENERATOR) if c & 0x800000 else c << 1
        table.append(c & 0xFFFFFF)
    return table


_CRC_TABLE = _table()


def remainder(frame: bytes) -> int:
    """The parity remainder of a whole frame: the CRC-24 of all but its last three bytes,
    XORed with those three bytes (0 for an extended squitter received whole)."""
    crc = 0
    table = _CRC_TABLE
    for b in frame[:-3]:
        crc = ((crc << 8) & 0xFFFFFF) ^ table[((crc >> 16) ^ b) & 0xFF]
    return crc ^ int.from_bytes(frame[-3:], "big")


def downlink_format(frame: bytes) -> int:
    df = frame[0] >> 3
    return 24 if df >= 24 else df


def expected_length(df: int) -> int | None:
    """Bytes of a frame of this downlink format, None for a format not defined."""
    if df in SHORT_DFS:
        return 7
    if df in LONG_DFS:
        return 14
    return None


# ---------------------------------------------------------------------- fields


def _gray(n: int) -> int:
    """Gray code to binary."""
    mask = n >> 1
    while mask:
        n ^= mask
        mask >>= 1
    return n


def gillham_altitude(c1, a1, c2, a2, c4, a4, b1, b2, d2, b4, d4) -> int | None:
    """Altitude in feet of a 100-ft Gillham (Gray) code; None when the code is invalid."""
    n500 = _gray(d2 << 7 | d4 << 6 | a1 << 5 | a2 << 4 | a4 << 3 | b1 << 2 | b2 << 1 | b4)
    n100 = _gray(c1 << 2 | c2 << 1 | c4)
    if n100 in (0, 5, 6):
        return None
    if n100 == 7:
        n100 = 5
    if n500 % 2:
        n100 = 6 - n100
    return n500 * 500 + n100 * 100 - 1300


def _bits(value: int, width: int) -> list[int]:
    return [(value >> (width - 1 - i)) & 1 for i in range(width)]


def altitude_code(ac: int) -> int | None:
    """The 13-bit altitude code of DF 0, 4, 16 and 20 -> feet (None: not available, metres,
    or an invalid Gillham code)."""
    if ac == 0:
        return None
    if ac & 0x40:  # M bit: metric altitude, not used by civil transponders
        return None
    if ac & 0x10:  # Q bit: 25-ft increments
        n = ((ac & 0x1F80) >> 2) | ((ac & 0x20) >> 1) | (ac & 0x0F)
        return n * 25 - 1000
    c1, a1, c2, a2, c4, a4, _m, b1, _q, b2, d2, b4, d4 = _bits(ac, 13)
    return gillham_altitude(c1, a1, c2, a2, c4, a4, b1, b2, d2, b4, d4)


def es_altitude(alt: int) -> int | None:
    """The 12-bit altitude field of an airborne position message -> feet."""
    if alt == 0:
        return None
    if alt & 0x10:  # Q bit
        n = ((alt & 0xFE0) >> 1) | (alt & 0x0F)
        return n * 25 - 1000
    c1, a1, c2, a2, c4, a4, b1, _q, b2, d2, b4, d4 = _bits(alt, 12)
    return gillham_altitude(c1, a1, c2, a2, c4, a4, b1, b2, d2, b4, d4)


def squawk_code(id13: int) -> str:
    """The 13-bit identity field (C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4) -> ``"7700"``."""
    c1, a1, c2, a2, c4, a4, _x, b1, d1, b2, d2, b4, d4 = _bits(id13, 13)
    a = a4 << 2 | a2 << 1 | a1
    b = b4 << 2 | b2 << 1 | b1
    c = c4 << 2 | c2 << 1 | c1
    d = d4 << 2 | d2 << 1 | d1
    return f"{a}{b}{c}{d}"


def callsign(me: int) -> str:
    """The eight characters of an identification message (trailing blanks and '#' dropped)."""
    chars = [CHARSET[(me >> (42 - 6 * i)) & 0x3F] for i in range(8)]
    return "".join(chars).replace("#", "").strip()


# ---------------------------------------------------------------------- CPR


def nl(lat: float) -> int:
    """Number of longitude zones at a latitude (the 1090 MHz Riddle, CPR)."""
    if lat == 0:
        return 59
    lat = abs(lat)
    if lat == 87:
        return 2
    if lat > 87:
        return 1
    a = 1 - math.cos(math.pi / (2 * NZ))
    b = math.cos(math.pi / 180 * lat) ** 2
    return int(math.floor(2 * math.pi / math.acos(1 - a / b)))


def cpr_global(even: tuple[int, int], odd: tuple[int, int], odd_newest: bool) -> tuple[float, float] | None:
    """(lat, lon) of an even and an odd airborne CPR pair; None when they lie in different
    longitude zones (the pair cannot be decoded: wait for the next one)."""
    lat_e, lon_e = even[0] / CPR_SCALE, even[1] / CPR_SCALE
    lat_o, lon_o = odd[0] / CPR_SCALE, odd[1] / CPR_SCALE
    j = math.floor(59 * lat_e - 60 * lat_o + 0.5)
    lat_even = 360.0 / 60 * (j % 60 + lat_e)
    lat_odd = 360.0 / 59 * (j % 59 + lat_o)
    if lat_even >= 270:
        lat_even -= 360
    if lat_odd >= 270:
        lat_odd -= 360
    if not (-90 <= lat_even <= 90 and -90 <= lat_odd <= 90):
        return None
    zones = nl(lat_even)
    if zones != nl(lat_odd):
        return None
    m = math.floor(lon_e * (zones - 1) - lon_o * zones + 0.5)
    if odd_newest:
        lat = lat_odd
        ni = max(zones - 1, 1)
        lon = 360.0 / ni * (m % ni + lon_o)
    else:
        lat = lat_even
        ni = max(zones, 1)
        lon = 360.0 / ni * (m % ni + lon_e)
    if lon >= 180:
        lon -= 360
    return lat, lon


def cpr_local(cpr: tuple[int, int], odd: bool, ref_lat: float, ref_lon: float) -> tuple[float, float]:
    """(lat, lon) of one airborne CPR message decoded against a reference position less than
    half a zone away (about 180 NM): the aircraft's own recent position, or the receiver's."""
    lat_c, lon_c = cpr[0] / CPR_SCALE, cpr[1] / CPR_SCALE
    i = 1 if odd else 0
    dlat = 360.0 / (4 * NZ - i)
    j = math.floor(ref_lat / dlat) + math.floor((ref_lat % dlat) / dlat - lat_c + 0.5)
    lat = dlat * (j + lat_c)
    dlon = 360.0 / max(nl(lat) - i, 1)
    m = math.floor(ref_lon / dlon) + math.floor((ref_lon % dlon) / dlon - lon_c + 0.5)
    lon = dlon * (m + lon_c)
    return lat, lon


# ---------------------------------------------------------------------- messages


@dataclass
class Decoded:
    """What one frame says. ``address`` is verified when ``verified`` (a zero remainder, or
    an interrogator code for DF 11); for DF 0/4/5/16/20/21 it is the parity remainder, to be
    checked against addresses already verified."""

    df: int
    address: str
    verified: bool
    non_icao: bool = False  # DF 18 with an anonymous or non-ICAO address (readsb writes "~")
    type_code: int | None = None
    callsign: str | None = None
    category: str | None = None
    altitude_ft: int | None = None
    altitude_kind: str | None = None  # "barometric" or "gnss"
    cpr: tuple[int, int] | None = None
    cpr_odd: bool | None = None
    speed_kn: float | None = None
    track_deg: float | None = None
    heading_deg: float | None = None
    airspeed_kn: float | None = None
    airspeed_kind: str | None = None  # "IAS" or "TAS"
    vertical_rate_fpm: int | None = None
    squawk: str | None = None
    emergency_state: int | None = None
    on_ground: bool | None = None
    notes: list[str] = field(default_factory=list)


class FrameError(ValueError):
    """A frame that cannot be read: wrong length, undefined format, parity failure."""


def decode(frame: bytes) -> Decoded:
    """Decode one Mode S frame (7 or 14 bytes). Raises :class:`FrameError` with the reason."""
    if len(frame) not in (7, 14):
        raise FrameError(f"{len(frame)} bytes: a Mode S frame has 7 or 14")
    df = downlink_format(frame)
    want = expected_length(df)
    if want is None:
        raise FrameError(f"downlink format {df} is not defined")
    if want != len(frame):
        raise FrameError(f"downlink format {df} has {want * 8} bits, the frame {len(frame) * 8}")
    rem = remainder(frame)
    if df in (17, 18):
        if rem:
            raise FrameError(f"CRC-24 parity mismatch (remainder {rem:06X})")
        return _extended_squitter(frame, df)
    if df == 11:
        if rem & ~0x7F:  # the remainder may only hold an interrogator identifier
            raise FrameError(f"CRC-24 parity mismatch (remainder {rem:06X})")
        ca = frame[0] & 7
        return Decoded(df, frame[1:4].hex().upper(), True, on_ground=True if ca == 4 else False if ca == 5 else None)
    out = Decoded(df, f"{rem:06X}", False)  # address/parity overlaid: verified by the caller
    if df in (0, 4, 16, 20):
        ac = ((frame[2] & 0x1F) << 8) | frame[3]
        out.altitude_ft = altitude_code(ac)
        out.altitude_kind = "barometric"
    elif df in (5, 21):
        out.squawk = squawk_code(((frame[2] & 0x1F) << 8) | frame[3])
    if df in (4, 5, 20, 21):
        fs = frame[0] & 7
        out.on_ground = True if fs in (1, 3) else False if fs == 0 else None
    elif df in (0, 16):
        out.on_ground = bool(frame[0] & 0x04)  # VS: vertical status
    return out


def _extended_squitter(frame: bytes, df: int) -> Decoded:
    non_icao = False
    if df == 18:
        cf = frame[0] & 7
        non_icao = cf not in (0, 2, 6)  # CF 1, 3, 5: anonymous, track file or non-ICAO address
        if cf > 6:
            return Decoded(df, frame[1:4].hex().upper(), True, non_icao=True, notes=[f"DF 18 CF {cf} reserved"])
    me = int.from_bytes(frame[4:11], "big")
    tc = me >> 51
    out = Decoded(df, frame[1:4].hex().upper(), True, non_icao=non_icao, type_code=tc)
    if df == 17:
        ca = frame[0] & 7
        out.on_ground = True if ca == 4 else False if ca == 5 else None
    if 1 <= tc <= 4:
        out.callsign = callsign(me) or None
        cat = (me >> 48) & 7
        out.category = f"{CATEGORY_SETS[tc]}{cat}"
    elif 9 <= tc <= 18 or 20 <= tc <= 22:
        alt = (me >> 36) & 0xFFF
        if tc <= 18:
            out.altitude_ft, out.altitude_kind = es_altitude(alt), "barometric"
        elif alt:
            out.altitude_ft, out.altitude_kind = round(alt * 3.28084), "gnss"  # metres
        out.cpr_odd = bool((me >> 34) & 1)
        out.cpr = ((me >> 17) & 0x1FFFF, me & 0x1FFFF)
        out.on_ground = False
    elif tc == 19:
        _velocity(me, out)
    elif 5 <= tc <= 8:
        out.on_ground = True
        out.notes.append("surface position (not decoded)")
    elif tc == 28 and ((me >> 48) & 7) == 1:
        out.emergency_state = (me >> 45) & 7
        out.squawk = squawk_code((me >> 32) & 0x1FFF)
    return out


def _velocity(me: int, out: Decoded) -> None:
    subtype = (me >> 48) & 7
    vr_sign = (me >> 19) & 1
    vr = (me >> 10) & 0x1FF
    if vr:
        out.vertical_rate_fpm = (vr - 1) * 64 * (-1 if vr_sign else 1)
    if subtype in (1, 2):
        factor = 4 if subtype == 2 else 1
        d_ew, v_ew = (me >> 42) & 1, (me >> 32) & 0x3FF
        d_ns, v_ns = (me >> 31) & 1, (me >> 21) & 0x3FF
        if v_ew and v_ns:
            vx = (v_ew - 1) * factor * (-1 if d_ew else 1)
            vy = (v_ns - 1) * factor * (-1 if d_ns else 1)
            out.speed_kn = math.hypot(vx, vy)
            out.track_deg = math.degrees(math.atan2(vx, vy)) % 360
    elif subtype in (3, 4):
        if (me >> 42) & 1:
            out.heading_deg = ((me >> 32) & 0x3FF) * 360.0 / 1024
        airspeed = (me >> 21) & 0x3FF
        if airspeed:
            out.airspeed_kn = float((airspeed - 1) * (4 if subtype == 4 else 1))
            out.airspeed_kind = "TAS" if (me >> 31) & 1 else "IAS"
