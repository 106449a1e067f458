"""Feed records built for the tests: AIS sentences (pyais), CoT events, GPX tracks and waypoints.

    from tests.support.feeds import nmea, position, static5, tag      # AIS (NMEA 0183 / 4.0 tag blocks)
    from tests.support.feeds import event                             # Cursor on Target
    from tests.support.feeds import HEAD, track, trkpt, wpt           # GPX 1.1 (OsmAnd)
"""

from __future__ import annotations

from functools import reduce
from operator import xor

from pyais import encode_dict

# --- AIS ---------------------------------------------------------------------------------


def tag(body: str) -> str:
    """An NMEA 4.0 tag block with its checksum: ``\\s:X,c:1*hh\\``."""
    return f"\\{body}*{reduce(xor, body.encode(), 0):02X}\\"


def nmea(fields: dict, channel: str = "A", seq_id=None) -> list[str]:
    return encode_dict(fields, talker_id="AI", sentence_type="VDM", radio_channel=channel, seq_id=seq_id)


def position(mmsi=275123000, lat=57.05, lon=24.03, **extra) -> str:
    fields = {"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 11.2, "course": 301.5,
              "heading": 300, "status": 0}
    fields.update(extra)
    return nmea(fields)[0]


def static5(mmsi=275123000, seq_id=3, channel="A") -> list[str]:
    return nmea({"type": 5, "mmsi": mmsi, "imo": 9387421, "callsign": "YLBT", "shipname": "BALTIC STAR",
                 "ship_type": 70, "destination": "RIGA", "to_bow": 120, "to_stern": 30}, channel, seq_id)


# --- CoT ---------------------------------------------------------------------------------


def event(uid="u-1", type_="a-h-G", time="2024-05-01T21:16:40Z", lat="55.88", lon="26.97",
          detail="", ce="9999999.0", extra="") -> str:
    point = f'<point lat="{lat}" lon="{lon}" hae="9999999.0" ce="{ce}" le="9999999.0"/>' if lat is not None else ""
    time_attr = f' time="{time}"' if time is not None else ""
    return (f'<event version="2.0" uid="{uid}" type="{type_}"{time_attr} start="{time}" '
            f'stale="2024-05-02T21:16:40Z" how="h-g-i-g-o"{extra}>{point}<detail>{detail}</detail></event>')


# A device's own report (its SA beacon) as ATAK sends it: a contact with an endpoint.
SA_DETAIL = '<contact callsign="P1" endpoint="*:-1:stcp"/>'


# --- GPX ---------------------------------------------------------------------------------

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1" creator="OsmAnd~ 4.7.6" '
        'xmlns:osmand="https://osmand.net">\n')


def trkpt(lat, lon, time, extra=""):
    t = f"<time>{time}</time>" if time is not None else ""
    return f'<trkpt lat="{lat}" lon="{lon}"><ele>120</ele>{t}{extra}</trkpt>\n'


def track(name="ZILUPE-P2", points=None, typ=None, start_minute=0, lat=56.38, lon=28.12):
    points = points if points is not None else [
        trkpt(lat + i * 0.001, lon + i * 0.001, f"2024-05-02T06:{start_minute + i:02d}:00Z") for i in range(4)]
    name_el = f"<name>{name}</name>" if name else ""
    type_el = f"<type>{typ}</type>" if typ else ""
    return f"<trk>{name_el}{type_el}<trkseg>\n{''.join(points)}</trkseg></trk>\n"


def wpt(lat, lon, time=None, name="W", desc=None, ext=""):
    parts = [f'<wpt lat="{lat}" lon="{lon}">']
    if time:
        parts.append(f"<time>{time}</time>")
    parts.append(f"<name>{name}</name>")
    if desc:
        parts.append(f"<desc>{desc}</desc>")
    parts.append(ext + "</wpt>\n")
    return "".join(parts)
