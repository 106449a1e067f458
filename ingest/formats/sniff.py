"""Reading an input safely: size limit, empty and binary refusal, text decoding, format sniffing.

Every parser receives **UTF-8 bytes without a byte-order mark**:

- UTF-8 (with or without BOM) passes through;
- UTF-16 with a BOM is transcoded to UTF-8;
- other text is read in the fallback code page (``NSP_INGEST_FALLBACK_ENCODING``,
  default cp1257, the Baltic code page) and transcoded; with the fallback empty it is refused;
- XML that declares its own encoding is passed through untouched (the XML parser decodes it).

Files that are empty (or only whitespace), binary (NUL bytes, control characters,
archive signatures) or larger than ``NSP_INGEST_MAX_BYTES`` are refused with
:class:`~ingest.formats.base.UnreadableFile`.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
from dataclasses import dataclass
from typing import BinaryIO

from ingest.formats.base import FeedFormat, UnknownFormat, UnreadableFile, formats

HEAD_BYTES = 1024
PROBE_BYTES = 64 * 1024
CHUNK = 256 * 1024

_MAGIC = {
    b"\x1f\x8b": "a gzip archive: unpack it first",
    b"PK\x03\x04": "a zip archive (or an office document): unpack or export it as CSV first",
    b"%PDF": "a PDF document, not a feed",
    b"\x89PNG": "a PNG image, not a feed",
    b"\xff\xd8\xff": "a JPEG image, not a feed",
    b"SQLite format 3": "an SQLite database (GeoPackage?): export it as GeoJSON first",
    b"7z\xbc\xaf": "a 7-zip archive: unpack it first",
}
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*['\"]([A-Za-z0-9._-]+)['\"]")
ALIASES = {"ndjson": "geojson", "geojsonl": "geojson", "geojsonseq": "geojson", "json": "geojson"}


class LimitedReader(io.RawIOBase):
    """Reads the underlying stream, counts and hashes the bytes, enforces the size limit."""

    def __init__(self, stream: BinaryIO, limit: int, name: str):
        self._stream = stream
        self.limit = limit
        self.name = name
        self.size = 0
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        data = self._stream.read(len(buf))
        if not data:
            return 0
        n = len(data)
        self.size += n
        if self.size > self.limit:
            raise UnreadableFile(
                self.name, f"larger than the limit of {self.limit:,} bytes (NSP_INGEST_MAX_BYTES)"
            )
        self.sha256.update(data)
        buf[:n] = data
        return n


class _Chain(io.RawIOBase):
    """A prefix already read, then the rest of the stream; optionally transcoded to UTF-8."""

    def __init__(self, prefix: bytes, rest: io.RawIOBase, encoding: str | None):
        self._rest = rest
        self._decoder = codecs.getincrementaldecoder(encoding)("replace") if encoding else None
        self._pending = self._convert(prefix, final=False)
        self._eof = False

    def _convert(self, data: bytes, final: bool) -> bytes:
        if self._decoder is None:
            return data
        return self._decoder.decode(data, final).encode("utf-8")

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        while not self._pending and not self._eof:
            data = self._rest.read(CHUNK)
            if not data:
                self._eof = True
                self._pending = self._convert(b"", final=True)
            else:
                self._pending = self._convert(data, final=False)
        n = min(len(buf), len(self._pending))
        buf[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


@dataclass
class Prepared:
    stream: BinaryIO  # UTF-8 (or XML with its own declared encoding)
    head: bytes  # the first KiB of ``stream``, for sniffing
    encoding: str  # what the input was: utf-8, utf-8-sig, utf-16, cp1257, xml:<declared>
    reader: LimitedReader


def _read_probe(reader: LimitedReader) -> bytes:
    parts, got = [], 0
    while got < PROBE_BYTES:
        data = reader.read(PROBE_BYTES - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def _binary_reason(probe: bytes) -> str | None:
    for magic, what in _MAGIC.items():
        if probe.startswith(magic):
            return f"binary data: {what}"
    nul = probe.find(b"\x00")
    if nul >= 0:
        return f"binary data, not text (NUL byte at offset {nul})"
    sample = probe[:8192]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27, 30))
    if controls > max(4, len(sample) // 50):
        return f"binary data, not text ({controls} control bytes in the first {len(sample)})"
    return None


def _valid_utf8_prefix(probe: bytes, complete: bool) -> int | None:
    """None if ``probe`` is valid UTF-8 (a cut last character allowed); else the bad offset."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(probe, final=complete)
        return None
    except UnicodeDecodeError as exc:
        return exc.start


def prepare(stream: BinaryIO, name: str, max_bytes: int, fallback: str | None, encoding: str | None = None) -> Prepared:
    """Wrap ``stream`` for parsing, or raise :class:`UnreadableFile` with the reason.

    The exception carries ``head``: the first bytes of the input, for quarantine.
    """
    reader = LimitedReader(stream, max_bytes, name)
    probe = b""
    try:
        probe = _read_probe(reader)
        return _prepare(probe, reader, name, fallback, encoding)
    except UnreadableFile as exc:
        exc.head = probe[:512]
        raise


def _prepare(probe: bytes, reader: LimitedReader, name: str, fallback: str | None, encoding: str | None) -> Prepared:
    complete = len(probe) < PROBE_BYTES
    if not probe.strip(b" \t\r\n\x0b\x0c"):
        raise UnreadableFile(name, "the file is empty")
    rest = io.BufferedReader(reader, CHUNK)
    if encoding:
        try:
            enc = codecs.lookup(encoding).name
        except LookupError:
            raise UnreadableFile(name, f"unknown text encoding {encoding!r}") from None
        if enc == "utf-8":
            return _done(probe.removeprefix(codecs.BOM_UTF8), rest, None, "utf-8", reader)
        return _done(probe, rest, enc, enc, reader)
    if probe.startswith(codecs.BOM_UTF8):
        return _done(probe[3:], rest, None, "utf-8-sig", reader)
    if probe.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _done(probe, rest, "utf-16", "utf-16", reader)
    if _tak_protobuf(probe):  # binary, and a feed: TAK Protocol Version 1 (ingest.formats.cot)
        return Prepared(_buffered(_Chain(probe, rest, None)), probe[:HEAD_BYTES], "tak-protobuf", reader)
    if _beast(probe):  # binary, and a feed: Mode S frames in Beast framing (ingest.formats.rawmodes)
        return Prepared(_buffered(_Chain(probe, rest, None)), probe[:HEAD_BYTES], "beast", reader)
    reason = _binary_reason(probe)
    if reason:
        raise UnreadableFile(name, reason)
    declared = _XML_ENCODING.match(probe)
    if declared and _codec_name(declared.group(1).decode()) != "utf-8":
        return Prepared(_buffered(_Chain(probe, rest, None)), probe[:HEAD_BYTES], f"xml:{declared.group(1).decode()}", reader)
    bad = _valid_utf8_prefix(probe, complete)
    if bad is None:
        return _done(probe, rest, None, "utf-8", reader)
    if not fallback:
        raise UnreadableFile(
            name,
            f"not UTF-8 text (invalid byte 0x{probe[bad]:02x} at offset {bad}); save it as UTF-8 "
            "or set NSP_INGEST_FALLBACK_ENCODING",
        )
    try:
        probe.decode(fallback)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            name, f"neither UTF-8 nor {fallback} text (byte 0x{probe[exc.start]:02x} at offset {exc.start})"
        ) from None
    return _done(probe, rest, fallback, fallback, reader)


def _tak_protobuf(probe: bytes) -> bool:
    if probe.lstrip(b" \t\r\n")[:1] != b"\xbf":
        return False
    from ingest.formats.cot import looks_like_tak_protobuf

    return looks_like_tak_protobuf(probe[:HEAD_BYTES])


def _beast(probe: bytes) -> bool:
    if probe[:1] != b"\x1a":
        return False
    from ingest.formats.rawmodes import looks_like_beast

    return looks_like_beast(probe[:HEAD_BYTES], whole=len(probe) < PROBE_BYTES)


def _codec_name(label: str) -> str:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return label.lower()


def _buffered(raw: io.RawIOBase) -> BinaryIO:
    return io.BufferedReader(raw, CHUNK)


def _done(probe: bytes, rest, transcode: str | None, label: str, reader: LimitedReader) -> Prepared:
    chain = _Chain(probe, rest, transcode)
    head = chain._pending[:HEAD_BYTES]
    return Prepared(_buffered(chain), head, label, reader)


def choose_format(head: bytes, file_name: str | None, fmt: str | None = None) -> type[FeedFormat]:
    """The format named by ``fmt``, else the best sniffing score (extension breaks ties)."""
    registry = formats()
    if fmt:
        key = ALIASES.get(fmt.lower(), fmt.lower())
        if key not in registry:
            raise UnknownFormat(file_name, f"unknown format {fmt!r}; known: {', '.join(sorted(registry))}")
        return registry[key]
    lower = (file_name or "").lower()
    best, best_key = None, (0, 0)
    for cls in registry.values():
        try:
            score = int(cls.sniff(head, file_name))
        except Exception:  # noqa: BLE001 - a plugin's sniff must not break the choice
            score = 0
        ext = 1 if any(lower.endswith(e) for e in cls.extensions) else 0
        if score > 0 and (score, ext) > best_key:
            best, best_key = cls, (score, ext)
    if best is None:
        raise UnknownFormat(
            file_name,
            f"not a recognised feed format (known: {', '.join(sorted(registry))}); "
            "name one with --format",
        )
    return best
