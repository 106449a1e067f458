"""GPX 1.0 / 1.1 patrol tracks and waypoints.

The file is read line by line through a streaming XML pass (defusedxml's expat
parser: entity declarations and external entities are refused). Each finished
``<trkpt>``, ``<wpt>`` and track header is handed to gpxpy, which reads its fields
(coordinates, times, extensions); the element is then dropped. What stays in
memory until the end of the file is each track's line as a flat float array
(16 bytes a point), and the waypoints.

* Each ``<trk>`` is one :class:`Patrol`. Unit: the track's ``<name>``, else
  ``ParseOptions.unit``. Mode: the track's ``<type>``, else ``ParseOptions.mode``,
  else a keyword in the track name (:data:`MODE_WORDS`), else ``foot``.
  ``source_ref`` = ``<unit>@<time of the track's first point>`` (deterministic).
* Each timed ``<trkpt>`` is also a :class:`Position` (kind ``own``, ``object_id`` =
  unit, ``patrol_ref`` = the patrol's ``source_ref``); speed and course from GPX 1.0
  ``<speed>``/``<course>`` or a ``speed``/``course`` extension (Garmin
  TrackPointExtension, OsmAnd), in m/s.
* Each ``<wpt>`` is an :class:`Observation` of the nearest track it lies near in space
  and time (NSP_INGEST_WAYPOINT_LINK_KM from the track's line, 2 km; timed within
  NSP_INGEST_WAYPOINT_LINK_MINUTES, 60, of the track's span). Any other waypoint, and
  every waypoint of a file without a track, is a :class:`SourceObservation`: the merge
  links it to a stored patrol of the same source by the same rule, else stores it as an
  observation of the delivering source, linked to no patrol. An event reference comes
  from an extension element named ``event_ref`` (any namespace) or ``event: REF`` in
  ``<desc>`` / ``<cmt>``.

Positions stream out as they are read; patrols (with their observations) come at
the end of the file, because GPX puts waypoints before tracks and a track's last
point is its last line. Times without a zone are UTC (the GPX spec says so).
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import gpxpy.gpx
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser
from gpxpy.gpxfield import gpx_fields_from_xml, parse_time

from ingest.formats.base import (
    FeedFormat,
    Location,
    Observation,
    Patrol,
    Position,
    Record,
    RecordError,
    Rejected,
    SourceObservation,
    checked_point,
    id_refusal,
    register,
)
from ingest.formats.cot import refusal_reason, utf8_declaration
from ingest.formats.fields import RECORD_ERRORS
from ingest.settings import TimeWindow, ingest_settings
from nsp.settings import geo_settings

MAX_LINE = 1 << 16
MAX_DEPTH = 64  # elements nested below <gpx>: deeper ones quarantine their point or waypoint
MS_TO_KN = 1.0 / 0.514444
_GPX_NS = "{http://www.topografix.com/GPX/1/"
_EVENT_IN_TEXT = re.compile(r"\bevent\s*[:#=]\s*([\w.:/@-]+)", re.I)

# Words in a track <type> or name -> patrol mode (English and Latvian).
MODE_WORDS: dict[str, tuple[str, ...]] = {
    "uav": ("uav", "drone", "rpas", "uas", "drons", "bezpilota"),
    "aircraft": ("aircraft", "plane", "airplane", "helicopter", "heli", "flight", "flying",
                 "lidmašīna", "helikopters", "aviācija"),
    "boat": ("boat", "ship", "vessel", "sea", "kayak", "rowing", "sailing", "laiva", "kuģis"),
    "vehicle": ("vehicle", "car", "driving", "drive", "auto", "motor", "motorcycle", "atv",
                "quad", "snowmobile", "truck", "automašīna", "transportlīdzeklis", "patrol car"),
    "foot": ("foot", "walk", "walking", "hiking", "hike", "running", "on foot", "kājām", "gājiens"),
}


def mode_from_text(text: str | None) -> str | None:
    if not text:
        return None
    words = set(re.split(r"[^\wāčēģīķļņšūž]+", text.lower()))
    for mode, keys in MODE_WORDS.items():
        if any(k in words or (" " in k and k in text.lower()) for k in keys):
            return mode
    return None


def _utc(value: datetime) -> datetime | None:
    """The time in UTC; None when it has none (year 9999 at UTC-12 is past the last day)."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        return None


def _local(tag: str) -> str:
    return tag[tag.rfind("}") + 1:] if tag[:1] == "{" else tag


def _raw(elem: ET.Element) -> str:
    try:
        return ET.tostring(elem, encoding="unicode").strip()
    except RecursionError:  # nested deeper than the serializer goes
        return f"<{_local(elem.tag)}> (nested too deeply to show)"


def extension_values(elem: ET.Element) -> dict[str, str]:
    """Leaf values under <extensions>, by local name (speed, course, hdop, event_ref, ...)."""
    ext = elem.find("extensions")
    if ext is None:
        return {}
    out = {}
    for node in ext.iter():
        text = (node.text or "").strip()
        if text and len(node) == 0:
            out.setdefault(_local(node.tag).lower(), text)
    return out


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number == number and abs(number) != float("inf") else None


@dataclass
class _Track:
    number: int
    line: int
    unit: str | None = None
    mode: str = "foot"
    header_raw: str = ""
    ref: str | None = None
    header: gpxpy.gpx.GPXTrack | None = None
    segments: list[array] = field(default_factory=list)  # lon, lat, lon, lat, ... (16 B a point)
    started: datetime | None = None
    ended: datetime | None = None
    points: int = 0
    rejected_points: int = 0
    refused: bool = False
    header_error: str | None = None


@dataclass
class _Waypoint:
    observation: Observation
    location: Location
    raw: str


@register
class GpxFormat(FeedFormat):
    name = "gpx"
    extensions = (".gpx",)
    media_types = ("application/gpx+xml",)
    emits_observations = True  # SourceObservation: waypoints near no track of the file

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        if b"<gpx" in head and (b"topografix.com/GPX" in head or b"<trk" in head or b"<wpt" in head):
            return 98
        if b"<gpx" in head:
            return 80
        if file_name and file_name.lower().endswith(".gpx"):
            return 30
        return 0

    def parse(self, stream: BinaryIO) -> Iterator[Record]:
        self.stats: Counter = Counter()
        # The C parser, unless the prolog holds a DTD: a document can only declare
        # entities (bombs, external entities) in a DOCTYPE before its root element, so
        # such a file goes through defusedxml's parser, which refuses them.
        parser = ET.XMLPullParser(events=("start", "end"))
        prolog: list[bytes] | None = []
        self._version = "1.1"
        self._metadata_name: str | None = None
        self._tracks: list[_Track] = []
        self._finished: list[tuple[_Track, dict]] = []  # tracks with their patrol attrs
        # the times and the region the validator will accept: a point outside them is quarantined
        # here and left out of its track's line and times (one point at year 9999 made the whole
        # patrol end then; a GPS's lost fix at 0,0 took the whole patrol out of the region)
        self._window = TimeWindow.of(ingest_settings())
        self._roi = tuple(float(v) for v in geo_settings().roi)
        self._waypoints: list[_Waypoint] = []
        self._track: _Track | None = None
        self._segment: array | None = None
        self._cap: list[bytes] | None = None  # source lines of the open trkpt / wpt
        self._cap_line = 0  # and the line it starts on
        self._line = b""
        self._wpt_no = 0
        self._too_deep: int | None = None  # how deep the open point or waypoint nests
        stack: list[ET.Element] = []
        line_no = 0
        readline = stream.readline
        seen_root = failed = False
        while True:
            data = readline(MAX_LINE)
            if not data:
                break
            line_no += 1
            if line_no == 1:
                data = utf8_declaration(data)
            self._line = data
            if self._cap is not None:
                self._cap.append(data)
            try:
                if prolog is not None:
                    prolog.append(data)
                    if len(prolog) > 5000:
                        yield Rejected(Location("file", line=1), b"".join(prolog[:20]).decode("utf-8", "replace"),
                                       "no root element in the first 5000 lines: not a GPX document")
                        return
                    if b"<!DOCTYPE" in b"".join(prolog[-2:]) or b"<!ENTITY" in data:
                        parser = ET.XMLPullParser(
                            events=("start", "end"),
                            _parser=DefusedXMLParser(target=ET.TreeBuilder(), forbid_dtd=False,
                                                     forbid_entities=True, forbid_external=True),
                        )
                        data = b"".join(prolog)
                        prolog = None
                parser.feed(data)
                for event, elem in parser.read_events():
                    if event == "start":
                        tag = elem.tag
                        if tag.startswith(_GPX_NS):
                            elem.tag = tag = tag[tag.index("}") + 1:]
                        if not seen_root:
                            seen_root, prolog = True, None
                            if tag != "gpx":
                                yield Rejected(Location("file", line=line_no), data.decode("utf-8", "replace")[:2000],
                                               f"not a GPX document: the root element is <{_local(tag)}>")
                                return
                            self._version = "1.0" if elem.get("version") == "1.0" else "1.1"
                        stack.append(elem)
                        if len(stack) > MAX_DEPTH and self._too_deep is None:
                            self._too_deep = len(stack)
                        if tag == "trkpt" or tag == "wpt":
                            self._cap, self._cap_line = [data], line_no
                            self._too_deep = None
                        else:
                            yield from self._start(tag, elem, stack, line_no)
                    else:
                        stack.pop()
                        yield from self._end(elem.tag, elem, stack, line_no)
                        if self._cap is not None and elem.tag in ("trkpt", "wpt"):
                            self._cap = None
            except ET.ParseError as exc:
                yield self._broken(exc, line_no, data, stream)
                if not seen_root:
                    return
                failed = True
                break
            except (EntitiesForbidden, ExternalReferenceForbidden, DTDForbidden) as exc:
                reason = refusal_reason(exc) or f"refused by the XML parser: {exc}"
                yield Rejected(Location("file", line=line_no), data.decode("utf-8", "replace")[:2000], reason)
                return
            except (ValueError, LookupError) as exc:  # an encoding expat cannot read
                yield Rejected(Location("file", line=line_no), data.decode("utf-8", "replace")[:2000],
                               f"unsupported XML encoding declaration: {exc}")
                return
        if not failed:
            try:
                parser.close()
            except ET.ParseError as exc:
                if seen_root:
                    row, col = getattr(exc, "position", (line_no, 0))
                    yield Rejected(Location("line", line_no, line=line_no),
                                   self._line.decode("utf-8", "replace")[-2000:],
                                   f"the file ends before the GPX document is complete (line {row}): "
                                   "truncated; what was read before is kept")
        if not seen_root and line_no:
            yield Rejected(Location("file", line=1), "", "no XML element found: not a GPX document")
            return
        if stack and self._track is not None:
            yield from self._finish_track(self._track, line_no)
        yield from self._link_and_emit()

    def _broken(self, exc: ET.ParseError, line_no: int, data: bytes, stream: BinaryIO) -> Rejected:
        rest = data + (stream.read(MAX_LINE) or b"")
        row, col = getattr(exc, "position", (line_no, 0))
        msg = str(exc).split(":")[0]
        return Rejected(
            Location("line", line_no, line=line_no), rest.decode("utf-8", "replace")[:MAX_LINE],
            f"broken XML at line {row}, column {col + 1}: {msg}; the rest of the file was not read",
        )

    # ------------------------------------------------------------------ elements

    def _start(self, tag: str, elem: ET.Element, stack: list, line_no: int) -> Iterator[Record]:
        if tag == "trk" and len(stack) == 2:
            self._track = _Track(number=len(self._tracks) + 1, line=line_no)
            self._tracks.append(self._track)
        elif tag == "trkseg" and self._track is not None and len(stack) == 3:
            track = self._track
            if track.header is None:
                yield from self._header(track, stack[1])
            self._segment = array("d") if not track.refused else None
            if self._segment is not None:
                track.segments.append(self._segment)

    def _end(self, tag: str, elem: ET.Element, stack: list, line_no: int) -> Iterator[Record]:
        depth = len(stack)
        if tag == "trkpt" and depth == 3 and self._track is not None:
            yield from self._guarded(self._point, elem, line_no)
            self._cap = None
            stack[-1].remove(elem)
        elif tag == "trk" and depth == 1:
            track = self._track
            if track is not None:
                if track.header is None:
                    yield from self._header(track, elem)
                yield from self._finish_track(track, line_no)
            self._track = None
            stack[0].remove(elem)
        elif tag == "wpt" and depth == 1:
            yield from self._guarded(self._waypoint, elem, line_no)
            stack[0].remove(elem)
        elif tag == "rte" and depth == 1:
            self.stats["skipped"] += 1
            self.stats["skipped routes"] += 1
            stack[0].remove(elem)
        elif tag == "trkpt":  # not inside <trk><trkseg>: not part of any track
            self.stats["misplaced"] += 1
            yield Rejected(Location("element", line=line_no), self._raw_of(elem),
                           "<trkpt> outside <trk><trkseg>: ignored")
        elif tag == "metadata" and depth == 1:
            name = elem.find("name")
            if name is not None and name.text:
                self._metadata_name = name.text.strip()

    def _guarded(self, read, elem: ET.Element, line_no: int) -> Iterator[Record]:
        """The records of one point or waypoint; what its content makes fail is quarantined
        at that element (too deep a nesting, whatever gpxpy or a conversion raises)."""
        cap, deep = self._cap, self._too_deep
        track = self._track if elem.tag == "trkpt" else None
        counts = (track.points, track.rejected_points) if track is not None else None
        wpt_no = self._wpt_no
        try:
            if deep is not None:
                raise RecordError(f"<{elem.tag}> holds elements nested more than {MAX_DEPTH} deep")
            records = list(read(elem, line_no))
        except RECORD_ERRORS as exc:  # counted once, however far the reading got
            if track is not None:
                track.points, track.rejected_points = counts[0] + 1, counts[1] + 1
                location = Location(f"track {track.number} point", track.points, line=self._cap_line or line_no)
            else:
                self._wpt_no = wpt_no + 1
                location = Location("waypoint", self._wpt_no, line=self._cap_line or line_no)
            raw = b"".join(cap or ()).decode("utf-8", "replace").strip()[:MAX_LINE]
            reason = str(exc) if isinstance(exc, RecordError) else f"unreadable <{elem.tag}>: {type(exc).__name__}: {exc}"
            self._cap = None
            yield Rejected(location, raw, reason)
            return
        yield from records

    def _header(self, track: _Track, trk: ET.Element) -> Iterator[Record]:
        try:
            header = gpx_fields_from_xml(gpxpy.gpx.GPXTrack, trk, self._version)
        except Exception as exc:  # noqa: BLE001 - a bad optional field (<number>x</number>, ...)
            header = gpxpy.gpx.GPXTrack(name=trk.findtext("name"), description=trk.findtext("desc"))
            header.type = trk.findtext("type")
            track.header_error = str(exc)[:300]
        track.header = header
        track.header_raw = _raw(trk)[:2000]
        unit = (header.name or "").strip() or self.options.unit
        if not unit:
            track.refused = True
            yield Rejected(Location("track", track.number, line=track.line), track.header_raw,
                           "the track has no <name> and no unit was given (--unit): "
                           "its points were not loaded")
            return
        track.unit = unit[:200]
        track.mode = (mode_from_text(header.type) or self.options.mode
                      or mode_from_text(header.name) or "foot")

    def _point(self, elem: ET.Element, line_no: int) -> Iterator[Record]:
        track = self._track
        if track.refused or self._segment is None:
            self.stats["points of refused tracks"] += 1
            return
        track.points += 1
        location = Location(f"track {track.number} point", track.points, line=self._cap_line or line_no)
        lat, lon = _float(elem.get("lat")), _float(elem.get("lon"))
        if lat is None or lon is None:
            track.rejected_points += 1
            yield Rejected(location, self._raw_of(elem),
                           f"track point lat={elem.get('lat')!r} lon={elem.get('lon')!r}: not numbers")
            return
        try:
            lon, lat = checked_point(lon, lat, self._roi)
        except RecordError as exc:
            track.rejected_points += 1
            yield Rejected(location, self._raw_of(elem), str(exc))
            return
        given = elem.findtext("time")
        try:
            when = parse_time(given.strip()) if given else None
            when = _utc(when) if when is not None else None
        except (gpxpy.gpx.GPXException, ValueError):
            when = None
        if when is None:
            track.rejected_points += 1
            reason = (f"track point time {given.strip()!r} is not an ISO 8601 time (or out of range)" if given
                      else "track point has no <time>")
            yield Rejected(location, self._raw_of(elem), reason)
            return
        refusal = self._window.refusal(when, "fix time")
        if refusal:
            track.rejected_points += 1
            yield Rejected(location, self._raw_of(elem), refusal)
            return
        if track.ref is None:
            track.ref = f"{track.unit}@{when.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        if track.started is None or when < track.started:
            track.started = when
        if track.ended is None or when > track.ended:
            track.ended = when
        self._segment.extend((lon, lat))
        attrs = {}
        ele = _float(elem.findtext("ele"))
        if ele is not None:
            attrs["ele_m"] = ele
        speed, course = _float(elem.findtext("speed")), _float(elem.findtext("course"))
        if (speed is None or course is None) and elem.find("extensions") is not None:
            ext = extension_values(elem)
            speed = speed if speed is not None else _float(ext.get("speed"))
            course = course if course is not None else _float(ext.get("course"))
        yield Position(
            object_id=track.unit, kind="own", observed_at=when, lon=lon, lat=lat,
            location=location, raw=self._raw_of(elem),
            speed_kn=round(speed * MS_TO_KN, 2) if speed is not None and speed >= 0 else None,
            course_deg=course, patrol_ref=track.ref, attrs=attrs,
        )

    def _raw_of(self, elem: ET.Element) -> str:
        """The element's source lines (exact), or its serialisation when they hold more."""
        cap, self._cap = self._cap, None
        if cap:
            text = b"".join(cap).decode("utf-8", "replace").strip()
            if len(text) < 1500 and text.count("<" + elem.tag) == 1:
                return text
        return _raw(elem)

    def _finish_track(self, track: _Track, line_no: int) -> Iterator[Record]:
        if track.refused:
            return
        track.segments = segments = [s for s in track.segments if len(s) >= 4]
        if not segments:
            if track.points or track.header is not None:
                yield Rejected(
                    Location("track", track.number, line=track.line), track.header_raw,
                    f"track has {track.points - track.rejected_points} usable point(s): a patrol "
                    "needs at least 2 timed points in one segment",
                )
            return
        header = track.header
        attrs = {k: v for k, v in (("name", header.name), ("type", header.type),
                                   ("description", header.description), ("comment", header.comment),
                                   ("number", header.number), ("source", header.source)) if v}
        attrs["points"] = track.points
        if track.header_error:
            attrs["header_error"] = track.header_error
        if track.rejected_points:
            attrs["rejected_points"] = track.rejected_points
        if self._metadata_name:
            attrs["file_title"] = self._metadata_name
        self._finished.append((track, attrs))

    def _waypoint(self, elem: ET.Element, line_no: int) -> Iterator[Record]:
        self._wpt_no += 1
        location = Location("waypoint", self._wpt_no, line=self._cap_line or line_no)
        raw = self._raw_of(elem)
        try:
            wpt = gpx_fields_from_xml(gpxpy.gpx.GPXWaypoint, elem, self._version)
        except Exception as exc:  # noqa: BLE001 - gpxpy's field errors, whatever their type
            yield Rejected(location, raw, f"bad waypoint: {exc}")
            return
        if wpt.latitude is None or wpt.longitude is None:
            yield Rejected(location, raw, "waypoint without numeric lat/lon")
            return
        given = elem.findtext("time")
        if given and wpt.time is None:
            yield Rejected(location, raw, f"waypoint time {given.strip()!r} is not an ISO 8601 time")
            return
        ext = extension_values(elem)
        event_ref = ext.get("event_ref") or ext.get("eventref")
        if not event_ref:
            for text in (wpt.description, wpt.comment):
                match = _EVENT_IN_TEXT.search(text or "")
                if match:
                    event_ref = match.group(1).rstrip(".:")
                    break
        attrs = {k: v for k, v in (("symbol", wpt.symbol), ("type", wpt.type),
                                   ("comment", wpt.comment)) if v}
        obs = Observation(
            observed_at=_utc(wpt.time) if wpt.time else None, lon=wpt.longitude, lat=wpt.latitude,
            name=wpt.name, description=wpt.description or wpt.comment, event_ref=event_ref, attrs=attrs,
        )
        self._waypoints.append(_Waypoint(obs, location, raw))

    # ------------------------------------------------------------------ linking

    def _link_refusal(self, obs: Observation) -> str | None:
        """Why the validator would refuse ``obs`` (a waypoint) as a patrol's observation, or None:
        its position, its time, its event reference; the same checks as the validator's."""
        try:
            obs.lon, obs.lat = checked_point(obs.lon, obs.lat, self._roi)
        except RecordError as exc:
            return str(exc)
        if obs.observed_at is not None:
            late_or_old = self._window.refusal(obs.observed_at, "waypoint time")
            if late_or_old:
                return late_or_old
        return id_refusal(obs.event_ref, "waypoint event reference")

    def _link_and_emit(self) -> Iterator[Record]:
        """Each waypoint goes to the nearest track that it lies near in space and time (at
        most NSP_INGEST_WAYPOINT_LINK_KM from its line, timed at most
        NSP_INGEST_WAYPOINT_LINK_MINUTES before its first or after its last fix; a waypoint
        without a time is judged in space only). Any other waypoint becomes an observation
        of the source, linked to no patrol. Then the patrols, one at a time."""
        settings = ingest_settings()
        max_m = settings.waypoint_link_km * 1000.0
        window = timedelta(minutes=settings.waypoint_link_minutes)
        finished = self._finished
        observations: dict[int, list[Observation]] = {}
        for wp in self._waypoints:
            obs = wp.observation
            refusal = self._link_refusal(obs)
            if refusal:  # quarantined alone: linked, the patrol would be refused with it
                yield Rejected(wp.location, wp.raw, refusal)
                continue
            nearest = chosen = None
            for track, _ in finished:
                dist = _distance_m(obs.lon, obs.lat, track.segments)
                nearest = dist if nearest is None else min(nearest, dist)
                # (differences of two times, never a time moved by the window: a time near
                # year 1 or 9999, which a track point or a waypoint may carry, would leave the range)
                in_time = obs.observed_at is None or (
                    track.started - obs.observed_at <= window and obs.observed_at - track.ended <= window)
                if in_time and dist <= max_m and (chosen is None or dist < chosen[0]):
                    chosen = (dist, track)
            if chosen is not None:
                obs.attrs["linked_by"] = "space" if obs.observed_at is None else "time+space"
                obs.attrs["distance_m"] = round(chosen[0], 1)
                observations.setdefault(chosen[1].number, []).append(obs)
                continue
            obs.attrs["linked_by"] = None
            obs.attrs["unlinked"] = (
                f"no track of the file within {settings.waypoint_link_km:g} km"
                + ("" if obs.observed_at is None else f" and {settings.waypoint_link_minutes:g} min")
                if finished else "the file has no track")
            if nearest is not None:
                obs.attrs["nearest_track_km"] = round(nearest / 1000.0, 3)
            yield SourceObservation(
                observed_at=obs.observed_at, lon=obs.lon, lat=obs.lat, name=obs.name,
                description=obs.description, event_ref=obs.event_ref, attrs=obs.attrs,
                location=wp.location, raw=wp.raw, source_ref=_waypoint_key(obs),
            )
        while finished:  # one patrol at a time: its line as tuples only while it is handed on
            track, attrs = finished.pop(0)
            yield Patrol(
                source_ref=track.ref, unit=track.unit, mode=track.mode,
                started_at=track.started, ended_at=track.ended,
                segments=[list(zip(seg[0::2], seg[1::2], strict=False)) for seg in track.segments],
                location=Location("track", track.number, line=track.line), raw=track.header_raw,
                observations=observations.get(track.number, []), attrs=attrs,
            )


def _waypoint_key(obs: Observation) -> str:
    """A waypoint's content key: the same waypoint delivered again is a duplicate."""
    when = obs.observed_at.isoformat() if obs.observed_at else ""
    text = f"{obs.name or ''}|{when}|{obs.lon:.7f}|{obs.lat:.7f}|{obs.description or ''}"
    return "wpt:" + hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()


def _distance_m(lon: float, lat: float, segments: list[array]) -> float:
    """Distance (m) from a point to a track's line: to the nearest point of any of its
    segments, in a local equirectangular frame around the point (exact enough within tens
    of kilometres; farther answers are only ever compared with a few kilometres)."""
    import numpy as np

    best = float("inf")
    for seg in segments:
        coords = np.frombuffer(seg, dtype=np.float64)
        lons, lats = coords[0::2], coords[1::2]
        x = ((lons - lon + 180.0) % 360.0 - 180.0) * (111_320.0 * np.cos(np.radians((lats + lat) / 2)))
        y = (lats - lat) * 110_540.0
        if len(x) == 1:
            best = min(best, float(np.hypot(x[0], y[0])))
            continue
        x0, y0 = x[:-1], y[:-1]
        dx, dy = x[1:] - x0, y[1:] - y0
        length2 = dx * dx + dy * dy
        t = np.clip(-(x0 * dx + y0 * dy) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
        best = min(best, float(np.hypot(x0 + t * dx, y0 + t * dy).min()))
    return best
