"""GeoJSON events: a FeatureCollection, newline-delimited GeoJSON, or GeoJSON text sequences.

Streaming, never the whole file in memory:

- **newline-delimited** (``.geojsonl``/``.ndjson``; one Feature per line, RFC 8142 record
  separators allowed): each line is parsed alone; a bad line is quarantined as ``line N``.
- **FeatureCollection** (any layout, minified or pretty-printed): a small scanner finds
  each element of ``features`` (strings and brackets only) and parses it alone; a feature
  with broken JSON is quarantined as ``feature N (line L)`` and the next one is read. Only
  a break in the collection's own structure ends the file early (the rest is quarantined
  as one record with the reason).

Each Feature needs a Point (or single-point MultiPoint) geometry in WGS 84 lon/lat; the
properties map to event fields by name (see :mod:`ingest.fields`; ``id`` of the Feature
is the ``source_ref``); unknown properties are kept in ``attrs``.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

import orjson

from ingest.base import FeedFormat, Location, RecordError, Rejected, register
from ingest.fields import event_from_values, resolve

MAX_FEATURE_BYTES = 16 * 1024 * 1024
READ = 256 * 1024
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|"|[{}\[\]]', re.S)
_SCALAR = re.compile(r"[^,\]}\s]+")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_WS = " \t\r\n\x1e"


@register
class GeoJSONFormat(FeedFormat):
    name = "geojson"
    extensions = (".geojson", ".json", ".geojsonl", ".geojsons", ".ndjson", ".jsonl")
    media_types = ("application/geo+json", "application/geo+json-seq", "application/x-ndjson", "application/json")

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        text = head.lstrip(b" \t\r\n\x1e\xef\xbb\xbf")
        if not text.startswith((b"{", b"[")):
            return 0
        if re.search(rb'"type"\s*:\s*"(FeatureCollection|Feature)"', head):
            return 90
        if b'"geometry"' in head or b'"features"' in head or b'"coordinates"' in head:
            return 70
        return 20

    def parse(self, stream: BinaryIO) -> Iterator:
        if not hasattr(stream, "peek"):
            stream = io.BufferedReader(stream, READ)
        first = stream.peek(READ)
        line_end = first.find(b"\n")
        line = (first if line_end < 0 else first[:line_end]).strip(b" \t\r\x1e")
        if line.startswith(b"{") and line.endswith(b"}") and b'"FeatureCollection"' not in line[:4096]:
            yield from self._lines(stream)
        else:
            yield from self._document(stream)

    # ------------------------------------------------------------ NDJSON

    def _lines(self, stream: BinaryIO) -> Iterator:
        fields: dict[tuple, dict] = {}
        number = 0
        while True:
            data = stream.readline(MAX_FEATURE_BYTES)
            if not data:
                return
            number += 1
            if len(data) >= MAX_FEATURE_BYTES and not data.endswith(b"\n"):
                while True:  # skip the rest of the over-long line
                    more = stream.readline(MAX_FEATURE_BYTES)
                    if not more or more.endswith(b"\n"):
                        break
                yield Rejected(Location("line", number), _excerpt(data),
                               f"line longer than {MAX_FEATURE_BYTES // 2**20} MiB")
                continue
            text = data.strip(b" \t\r\n\x1e")
            if not text:
                continue
            yield self._feature_bytes(text, Location("line", number), fields)

    # ------------------------------------------------------------ documents

    def _document(self, stream: BinaryIO) -> Iterator:
        """Top-level values one after another: collections, arrays of features, features."""
        sc = _Scanner(stream)
        fields: dict[tuple, dict] = {}
        counter = [0]
        try:
            while True:
                sc.skip_ws()
                if sc.at_eof():
                    return
                ch = sc.peek()
                if ch == "[":
                    sc.pos += 1
                    yield from self._array(sc, fields, counter)
                elif ch == "{":
                    yield from self._object(sc, fields, counter)
                else:
                    raise _Broken(f"expected a JSON object, found {ch!r}")
        except (_Broken, ValueError, TypeError, RecursionError) as exc:
            yield Rejected(Location("file", None, sc.line), _excerpt(sc.rest_excerpt()),
                           f"broken JSON at line {sc.line}: {exc}; the rest of the file was not read")

    def _object(self, sc: "_Scanner", fields, counter) -> Iterator:
        start_line, start, base = sc.line, sc.pos, sc.base
        sc.pos += 1
        top: dict = {}
        seen_features = False
        while True:
            sc.skip_ws()
            if sc.peek() == "}":
                sc.pos += 1
                break
            if top or seen_features:
                sc.expect(",")
                sc.skip_ws()
            key = sc.string()
            sc.skip_ws()
            sc.expect(":")
            sc.skip_ws()
            if key == "features":
                sc.expect("[")
                seen_features = True
                yield from self._array(sc, fields, counter)
            else:
                top[key] = sc.value()
        if seen_features or top.get("type") == "FeatureCollection":
            return
        counter[0] += 1
        raw = sc.buf[start:sc.pos] if sc.base == base else orjson.dumps(top).decode()
        yield self._feature(top, raw, Location("feature", counter[0], start_line), fields)

    def _array(self, sc: "_Scanner", fields, counter) -> Iterator:
        sc.skip_ws()
        if sc.peek() == "]":
            sc.pos += 1
            return
        while True:
            sc.skip_ws()
            counter[0] += 1
            number = counter[0]
            line = sc.line
            start, end = sc.extent()
            text = sc.buf[start:end]
            sc.advance(end)
            yield self._feature_bytes(text.encode("utf-8", "replace"), Location("feature", number, line), fields, text)
            sc.trim()
            sc.skip_ws()
            ch = sc.peek()
            if ch == "]":
                sc.pos += 1
                return
            if ch != ",":
                raise _Broken(f"expected ',' or ']' after feature {number}, found {ch!r}")
            sc.pos += 1

    # ------------------------------------------------------------ features

    def _feature_bytes(self, data: bytes, location: Location, fields, text: str | None = None):
        raw = text if text is not None else data.decode("utf-8", "replace")
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            return Rejected(location, raw, f"broken JSON: {exc}")
        return self._feature(obj, raw, location, fields)

    def _feature(self, obj, raw: str, location: Location, fields):
        try:
            if not isinstance(obj, dict):
                raise RecordError(f"expected a GeoJSON Feature object, found a JSON {type(obj).__name__}")
            if obj.get("type") not in ("Feature", None):
                raise RecordError(f"expected a GeoJSON Feature, found type {obj.get('type')!r}")
            props = obj.get("properties") or {}
            if not isinstance(props, dict):
                raise RecordError("'properties' is not an object")
            lon, lat = _point(obj.get("geometry"), props)
            names = tuple(props)
            mapping = fields.get(names)
            if mapping is None:
                mapping = resolve(names, self.options.column_map)
                if len(fields) < 256:
                    fields[names] = mapping
            used = set(mapping.values())
            attrs = {k: v for k, v in props.items() if k not in used}
            fid = obj.get("id")
            return event_from_values(
                props, mapping, lon=lon, lat=lat, location=location, raw=raw,
                source_ref=None if fid is None else str(fid), attrs=attrs,
            )
        except RecordError as exc:
            return Rejected(location, raw, str(exc))
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            return Rejected(location, raw, f"unreadable feature: {exc}")


def _point(geometry, props) -> tuple:
    if geometry is None:
        m = resolve(tuple(props))
        if "lon" in m and "lat" in m:
            return props[m["lon"]], props[m["lat"]]
        raise RecordError("feature has no geometry (and no lat/lon properties)")
    if not isinstance(geometry, dict):
        raise RecordError("'geometry' is not an object")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        kind, coords = "Point", coords[0]
    if kind != "Point":
        raise RecordError(f"geometry is a {kind}; an event needs a Point (lon, lat)")
    if not isinstance(coords, list) or len(coords) < 2:
        raise RecordError("Point coordinates are missing: expected [lon, lat]")
    return coords[0], coords[1]


def _excerpt(data, limit: int = 4096) -> str:
    if isinstance(data, bytes):
        data = data[:limit].decode("utf-8", "replace")
    return data[:limit]


class _Broken(Exception):
    pass


class _Scanner:
    """Just enough of a JSON tokenizer to cut a document into its features, streaming."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.buf = ""
        self.pos = 0
        self.base = 0  # text offset that buf[0] had before trims (for raw slices)
        self.line = 1
        self._line_pos = 0  # buf index up to which self.line counts newlines
        self.eof = False

    def more(self) -> bool:
        if self.eof:
            return False
        data = self.stream.read(READ)
        if not data:
            self.eof = True
            self.buf += self.decoder.decode(b"", True)
            return False
        self.buf += self.decoder.decode(data)
        return True

    def _sync_line(self) -> None:
        if self.pos > self._line_pos:
            self.line += self.buf.count("\n", self._line_pos, self.pos)
            self._line_pos = self.pos

    def advance(self, pos: int) -> None:
        self.pos = pos
        self._sync_line()

    def trim(self) -> None:
        if self.pos > READ:
            self._sync_line()
            self.buf = self.buf[self.pos:]
            self.base += self.pos
            self._line_pos -= self.pos
            self.pos = 0

    def skip_ws(self) -> None:
        while True:
            n = len(self.buf)
            while self.pos < n and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < n or not self.more():
                self._sync_line()
                return

    def peek(self) -> str:
        if self.pos >= len(self.buf) and not self.more():
            raise _Broken("unexpected end of file")
        return self.buf[self.pos]

    def expect(self, ch: str) -> None:
        got = self.peek()
        if got != ch:
            raise _Broken(f"expected {ch!r}, found {got!r}")
        self.pos += 1

    def string(self) -> str:
        while True:
            m = _STRING.match(self.buf, self.pos)
            if m:
                self.advance(m.end())
                try:
                    return orjson.loads(m.group(0).encode("utf-8", "replace"))
                except orjson.JSONDecodeError as exc:
                    raise _Broken(f"bad property name: {exc}") from None
            if self.peek() != '"':
                raise _Broken(f"expected a property name, found {self.peek()!r}")
            if len(self.buf) - self.pos > MAX_FEATURE_BYTES or not self.more():
                raise _Broken("unterminated string")

    def value(self):
        start, end = self.extent()
        text = self.buf[start:end]
        self.advance(end)
        try:
            return orjson.loads(text.encode("utf-8", "replace"))
        except orjson.JSONDecodeError as exc:
            raise _Broken(str(exc)) from None

    def at_eof(self) -> bool:
        return self.pos >= len(self.buf) and not self.more()

    def extent(self) -> tuple[int, int]:
        """(start, end) of the JSON value at ``pos`` in ``buf``; reads more as needed."""
        start = self.pos
        if self.peek() not in "{[":
            return start, self._scalar_end(start)
        while True:
            depth = 0
            for m in _TOKEN.finditer(self.buf, start):
                tok = m.group(0)
                if tok == '"':
                    break  # a string cut at the end of the buffer: read more
                if tok[0] == '"':
                    continue
                if tok in "{[":
                    depth += 1
                else:
                    depth -= 1
                    if depth == 0:
                        return start, m.end()
            if len(self.buf) - start > MAX_FEATURE_BYTES:
                raise _Broken(f"a feature larger than {MAX_FEATURE_BYTES // 2**20} MiB or a missing bracket")
            if not self.more():
                raise _Broken("unexpected end of file inside a feature (missing '}' or ']')")

    def _scalar_end(self, start: int) -> int:
        while True:
            m = (_STRING if self.buf[start] == '"' else _SCALAR).match(self.buf, start)
            if m and (m.end() < len(self.buf) or self.eof):
                return m.end()
            if not self.more():
                if m:
                    return m.end()
                raise _Broken("unexpected end of file")

    def rest_excerpt(self) -> str:
        return self.buf[self.pos:self.pos + 4096]
