"""GeoJSON events: a FeatureCollection, newline-delimited GeoJSON, or GeoJSON text sequences.

Streaming, never the whole file in memory:

- **newline-delimited** (``.geojsonl``/``.ndjson``; one Feature per line, RFC 8142 record
  separators allowed): each line is parsed alone; a bad line is quarantined as ``line N``.
- **FeatureCollection** (any layout, minified or pretty-printed): a small scanner finds
  each element of ``features`` (strings and brackets only) and parses it alone; a feature
  with broken JSON is quarantined as ``feature N (line L)`` and the next one is read; so
  is one over MAX_FEATURE_BYTES, which is scanned past without being kept. The scanner
  keeps its state across reads: time linear in the input. Only a break in the
  collection's own structure ends the file early (the rest is quarantined as one record
  with the reason).

Each Feature needs a Point (or single-point MultiPoint) geometry in WGS 84 lon/lat; the
properties map to event fields by name (see :mod:`ingest.formats.fields`; ``id`` of the Feature
is the ``source_ref``), or to a position's with ``kind = "positions"`` in the mapping file;
unknown properties are kept in ``attrs``. Whatever a feature's content makes fail (nesting
deeper than attrs can store, odd values) quarantines that feature only.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

import orjson

from ingest.formats.base import FeedFormat, Location, RecordError, Rejected, register
from ingest.formats.fields import MAX_NESTING, RECORD_ERRORS, mapping_of, record_from_values, resolve

MAX_FEATURE_BYTES = 16 * 1024 * 1024
READ = 256 * 1024
# A whole string, a lone '"' (a string cut at the end of the buffer) or a bracket. The
# string is an unrolled loop whose parts ([^"\\] and \\.) never match the same text, so
# matching, and failing to match, is linear in its length.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|"|[{}\[\]]', re.S)
_STRING_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.S)  # stops at '"' or a final '\\'
_SCALAR = re.compile(r"[^,\]}\s]+")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
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
        self._mapping = mapping_of(self.options)
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

    def _object(self, sc: _Scanner, fields, counter) -> Iterator:
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

    def _array(self, sc: _Scanner, fields, counter) -> Iterator:
        sc.skip_ws()
        if sc.peek() == "]":
            sc.pos += 1
            return
        while True:
            sc.skip_ws()
            counter[0] += 1
            number = counter[0]
            line = sc.line
            try:
                start, end = sc.extent()
            except _TooLarge as big:
                yield Rejected(Location("feature", number, line), big.excerpt,
                               f"feature larger than {MAX_FEATURE_BYTES // 2**20} MiB: not read")
            else:
                text = sc.buf[start:end]
                sc.advance(end)
                yield self._feature_bytes(text.encode("utf-8", "replace"), Location("feature", number, line),
                                          fields, text)
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
            if raw.count("[") + raw.count("{") > MAX_NESTING:  # may nest deeper than attrs can
                try:
                    orjson.dumps(props)
                except TypeError as exc:
                    raise RecordError(f"properties nested too deeply to store (orjson: {exc}; "
                                      f"limit {MAX_NESTING} levels)") from None
            names = tuple(props)
            found = fields.get(names)
            if found is None:
                found = resolve(names, self._mapping.columns, self._mapping.aliases)
                if len(fields) < 256:
                    fields[names] = found
            lon, lat = _point(obj.get("geometry"), props, found)
            used = set(found.values())
            attrs = {k: v for k, v in props.items() if k not in used}
            fid = obj.get("id")
            return record_from_values(
                props, found, self._mapping, lon=lon, lat=lat, location=location, raw=raw,
                source_ref=None if fid is None else str(fid), attrs=attrs,
            )
        except RecordError as exc:
            return Rejected(location, raw, str(exc))
        except RECORD_ERRORS as exc:  # whatever else a value can cause: this feature only
            return Rejected(location, raw, f"unreadable feature: {type(exc).__name__}: {exc}")


def _point(geometry, props, m: dict[str, str]) -> tuple:
    if geometry is None:
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


class _TooLarge(_Broken):
    """A value over MAX_FEATURE_BYTES, scanned to its end; carries its first characters."""

    def __init__(self, excerpt: str):
        super().__init__(f"a value larger than {MAX_FEATURE_BYTES // 2**20} MiB")
        self.excerpt = excerpt


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
        # Reads grow with a value that spans many of them, so the buffer is copied
        # a bounded number of times per value (linear, not quadratic, in its size).
        data = self.stream.read(max(READ, min(len(self.buf) - self.pos, MAX_FEATURE_BYTES)))
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

    def trim(self, keep: int = READ) -> None:
        """Drop the text before ``pos`` once more than ``keep`` characters of it are read."""
        if self.pos > keep:
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
        if self.peek() != '"':
            raise _Broken(f"expected a property name, found {self.peek()!r}")
        start = self.pos
        end = self._string_end(start)
        self.advance(end)
        try:
            return orjson.loads(self.buf[start:end].encode("utf-8", "replace"))
        except orjson.JSONDecodeError as exc:
            raise _Broken(f"bad property name: {exc}") from None

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
        """(start, end) of the JSON value at ``pos`` in ``buf``; reads more as needed.

        The scan keeps its state (depth, where it stopped, inside a string or not) across
        reads, so a value is scanned once however many reads it spans: time linear in its
        size. A value over MAX_FEATURE_BYTES is scanned to its end without being kept,
        then :class:`_TooLarge` is raised with its start; the scanner stands after it.
        """
        start = self.pos
        if self.peek() not in "{[":
            return start, self._scalar_end(start)
        depth = 0
        scan = start
        in_string = False
        excerpt: str | None = None  # the start of a value over the size limit
        while True:
            buf = self.buf
            n = len(buf)
            if in_string:  # the rest of a string that the previous read cut
                scan = _STRING_BODY.match(buf, scan).end()
                if scan < n and buf[scan] == '"':
                    scan += 1
                    in_string = False
            if not in_string:
                for m in _TOKEN.finditer(buf, scan):
                    tok = m.group()
                    c = tok[0]
                    if c == '"':
                        if len(tok) == 1:  # a string cut at the end of the buffer
                            in_string, scan = True, m.end()
                            break
                        continue
                    if c == "{" or c == "[":
                        depth += 1
                    else:
                        depth -= 1
                        if depth == 0:
                            if excerpt is None and m.end() - start <= MAX_FEATURE_BYTES:
                                return start, m.end()
                            self.advance(m.end())
                            raise _TooLarge(excerpt if excerpt is not None else buf[start:start + 4096])
                else:
                    scan = n
            if excerpt is None and n - start > MAX_FEATURE_BYTES:
                excerpt = buf[start:start + 4096]
            if excerpt is not None:  # keep only where the scan goes on
                self.advance(scan)
                self.trim(0)
                scan = 0
            if not self.more():
                raise _Broken("unexpected end of file inside a feature (missing '}' or ']')")

    def _scalar_end(self, start: int) -> int:
        if self.buf[start] == '"':
            return self._string_end(start)
        scan = start
        while True:  # a number, true, false or null; goes on where the last read ended
            m = _SCALAR.match(self.buf, scan)
            end = m.end() if m else scan
            if end < len(self.buf) or not self.more():
                return end
            scan = end
            if end - start > MAX_FEATURE_BYTES:
                raise _Broken(f"a value larger than {MAX_FEATURE_BYTES // 2**20} MiB")

    def _string_end(self, start: int) -> int:
        """The end of the string that opens at ``buf[start]``, reading more as needed."""
        scan = start + 1
        while True:
            scan = _STRING_BODY.match(self.buf, scan).end()
            if scan < len(self.buf) and self.buf[scan] == '"':
                return scan + 1
            if len(self.buf) - start > MAX_FEATURE_BYTES:
                raise _Broken(f"a string longer than {MAX_FEATURE_BYTES // 2**20} MiB")
            if not self.more():
                raise _Broken("unterminated string")

    def rest_excerpt(self) -> str:
        return self.buf[self.pos:self.pos + 4096]
