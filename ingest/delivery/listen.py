"""``nsp listen``: live feeds over the network, written into a drop folder.

Real feeds do not only come as files. An AIS shore station or receiver sends NMEA 0183
sentences over UDP (one or more lines a datagram; port 10110 by convention) or as a TCP
stream; TAK devices and gateways send Cursor on Target events over UDP (one ``<event>`` a
datagram, e.g. the SA multicast group 239.2.3.1:6969) or TCP (a stream of concatenated
events), as XML or as TAK Protocol Version 1 (protobuf; ATAK's default on the multicast). A GeoJSON feed can stream newline-delimited features over TCP. TCP may be TLS, as a
TAK server's streaming port 8089 is (``--tls``, :mod:`ingest.delivery.tls`).

The listener needs no database. It frames what arrives into whole messages (lines for AIS
and NDJSON; ``<event>…</event>`` for CoT XML, ``0xbf`` + length + message for CoT protobuf,
each TCP connection on its own; a mesh datagram's message is written in stream framing into
a ``.takpb`` file beside the XML one), stamps an AIS
sentence that carries no time with the time it was received (an NMEA 4.0 tag block,
``\\c:<unix seconds>*hh\\``, as AIS loggers do: the parser reads it as the observation time,
so a position keeps the time it was heard, not the time a worker got to it), and every
``flush_seconds`` — or at ``max_records`` messages — writes what it holds as one file into
the drop folder (``NAME.part``, then renamed). ``nsp watch`` and ``nsp worker`` load it like
any file: the same validation, dedupe, quarantine and retries; a file is one batch.

Nothing whole is dropped: a message cut by the end of a UDP datagram, or longer than
``max_message_bytes``, is still written (the parser quarantines it with its text). An AIS
message in several fragments is never split between two files: a group that is still
incomplete at a flush waits for the next one (twice at most, then it is written as it is).
On SIGTERM or Ctrl-C the listener stops listening, writes what it holds, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import socket
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import reduce
from operator import xor
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ingest.delivery.tls import handshake_reason
from ingest.formats.ais import receiver_suffix
from ingest.formats.rawmodes import BeastFramer, stamp_frames
from nsp.errors import NspError

log = logging.getLogger("nsp.ingest.listen")

# the file extension the drop folder's sniffing and the parsers know each format by
EXTENSIONS = {"ais": ".nmea", "cot": ".cot", "geojson": ".ndjson", "sbs": ".sbs", "remoteid": ".remoteid",
              "avr": ".avr", "beast": ".avr"}
TAK_EXTENSION = ".takpb"  # TAK Protocol Version 1 messages, stream framing (ingest.formats.cot reads them)
MAGIC = b"\xbf"  # every TAK Protocol Version 1 message starts with it
MESH_HEADER = b"\xbf\x01\xbf"  # a UDP datagram of the SA multicast: header, then one TakMessage
_FRAGMENT = re.compile(rb"^(?:\\[^\\]*\\)?[!$][A-Z]{2}VD[MO],(\d),(\d),(\d?),")
_EVENT_END = re.compile(rb"</event\s*>")
HELD_FLUSHES = 2  # an incomplete AIS fragment group waits this many flushes at most
GROUP_LINES = 200  # a group not completed within this many lines is incomplete (as the AIS parser's)
FLUSH_BYTES = 16 * 1024 * 1024  # what waits in memory: written at once beyond this, whatever the count
HOLD_BYTES = 4 * FLUSH_BYTES  # what is kept while files cannot be written (disk full, folder gone)


class ListenError(NspError):
    """A listen address or option that cannot be used."""


# ------------------------------------------------------------------------ framing


class Framer:
    """Cuts a byte stream into whole messages; keeps an unfinished one for the next bytes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        raise NotImplementedError

    @classmethod
    def datagram(cls, data: bytes, max_bytes: int) -> list[bytes]:
        """The messages of one UDP datagram: it is whole, nothing carries over."""
        framer = cls(max_bytes)
        return framer.feed(data) + framer.rest()

    def rest(self) -> list[bytes]:
        """What is left when the stream ends (a datagram, a closed connection): written as it
        is, so that the parser quarantines it with its text rather than it being lost."""
        rest, self.buffer = self.buffer.strip(), b""
        return [rest] if rest else []

    def _overlong(self) -> list[bytes]:
        if len(self.buffer) <= self.max_bytes:
            return []
        out, self.buffer = self.buffer, b""
        return [out]


class LineFramer(Framer):
    """NMEA sentences and newline-delimited GeoJSON: one message a line (CR LF or LF)."""

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        out = [ln.strip() for ln in lines if ln.strip()]
        return out + self._overlong()


def tak_frame(message: bytes) -> bytes:
    """``message`` in TAK Protocol Version 1 stream framing: ``0xbf``, its length as a varint,
    the bytes. A mesh datagram's message is written so, and so are bytes that could not be
    framed (the parser quarantines them with their hexadecimal text)."""
    n, length = len(message), bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        length.append(byte | (0x80 if n else 0))
        if not n:
            return MAGIC + bytes(length) + message


class CotFramer(Framer):
    """Cursor on Target, XML or TAK Protocol Version 1 (protobuf) on one connection: an XML
    message from its start to ``</event>`` (an XML declaration or whitespace before an event
    belongs to it); a protobuf one as its stream framing says, ``0xbf``, a varint length, the
    message (a TAK server switches a connection from XML to protobuf after negotiating)."""

    def __init__(self, max_bytes: int):
        super().__init__(max_bytes)
        self.skip = 0  # bytes still to drop of a protobuf message over max_bytes

    @classmethod
    def datagram(cls, data: bytes, max_bytes: int) -> list[bytes]:
        if data.startswith(MESH_HEADER):  # the SA multicast's default since ATAK 4.x
            return [tak_frame(data[len(MESH_HEADER):])]
        return super().datagram(data, max_bytes)

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        out = []
        while True:
            if self.skip:
                dropped = min(self.skip, len(self.buffer))
                self.buffer, self.skip = self.buffer[dropped:], self.skip - dropped
                if self.skip:
                    break
            if self.buffer.lstrip()[:1] == MAGIC:
                self.buffer = self.buffer.lstrip()
                frame = self._frame()
                if frame is None:
                    break
                if frame:
                    out.append(frame)
                continue
            end = _EVENT_END.search(self.buffer)
            if end is None:
                break
            message, self.buffer = self.buffer[:end.end()].strip(), self.buffer[end.end():]
            if message:
                out.append(message)
        return out + self._overlong()

    def _frame(self) -> bytes | None:
        """The protobuf message at the start of the buffer, framed; None while it is incomplete;
        b"" for one over max_bytes, dropped (its header says how long it is, so the stream
        stays in step)."""
        buf, value, shift = self.buffer, 0, 0
        for used in range(1, 11):
            if used >= len(buf):
                return None
            value |= (buf[used] & 0x7F) << shift
            shift += 7
            if not buf[used] & 0x80:
                break
        else:  # no length: not a frame; the bytes up to the next 0xbf, for the parser to refuse
            nxt = buf.find(MAGIC, 1)
            junk, self.buffer = (buf, b"") if nxt < 0 else (buf[:nxt], buf[nxt:])
            return tak_frame(junk)
        total = 1 + used + value
        if value > self.max_bytes:
            log.warning("TAK protocol message over the size limit dropped", extra={
                "action": "listen_oversized", "bytes": value, "limit": self.max_bytes})
            self.skip, self.buffer = total, buf
            return b""
        if len(buf) < total:
            return None
        frame, self.buffer = buf[:total], buf[total:]
        return frame

    def rest(self) -> list[bytes]:
        rest = self.buffer.strip() if not self.skip else b""
        self.buffer, self.skip = b"", 0
        if rest.startswith(MAGIC):  # a protobuf message cut short: framed, for the parser to refuse
            return [tak_frame(rest)]
        return [rest] if rest else []

    def _overlong(self) -> list[bytes]:
        if self.buffer[:1] == MAGIC:  # a frame's length is checked when its header is read
            return []
        return super()._overlong()


FRAMERS: dict[str, type[Framer]] = {"ais": LineFramer, "geojson": LineFramer, "cot": CotFramer, "sbs": LineFramer,
                                    "remoteid": LineFramer, "avr": LineFramer, "beast": BeastFramer}


def nmea_tag_block(fields: str) -> bytes:
    """``c:1764680000`` -> ``\\c:1764680000*hh\\`` (the checksum XORs the characters between
    the backslash and the star, as in a sentence)."""
    checksum = reduce(xor, fields.encode("ascii"), 0)
    return b"\\" + fields.encode("ascii") + b"*%02X\\" % checksum


def stamp_ais(line: bytes, received: float) -> bytes:
    """An AIS sentence with its reception time: a tag block ``c:`` when it carries no time of
    its own; ``c:`` added to a tag block that has none; otherwise the line as it came."""
    return _stamp(line, f"c:{int(received)}")


def _stamp(line: bytes, field: str, block: bytes | None = None) -> bytes:
    """``line`` with the tag-block field ``field`` (``c:<unix>``) when it carries no time:
    neither a tag block ``c:``, nor a receiver time after the checksum (a NAIS station and
    unix time), nor a time in front of the line."""
    first = line[:1]
    if first in (b"!", b"$"):
        star = line.rfind(b"*")
        rest = line[star + 3:].strip() if star > 0 else b""
        if rest and receiver_suffix(rest)[0] is not None:  # "...*5C,1714550400", "...*hh,b003669952,1428451200"
            return line
        return (block or nmea_tag_block(field)) + line
    if first == b"\\":
        end = line.find(b"\\", 1)
        star = line.rfind(b"*", 0, end) if end > 0 else -1
        if star < 0:
            return line  # not a tag block: the parser says so
        body = line[1:star]
        if any(item[:2] == b"c:" for item in body.split(b",")):
            return line
        try:
            if reduce(xor, body, 0) != int(line[star + 1:end], 16):
                return line  # a broken tag block stays as it came: the parser quarantines it
        except ValueError:
            return line
        return nmea_tag_block(f"{body.decode('ascii', 'replace')},{field}" if body else field) + line[end + 1:]
    return line  # a time in front of the line, or not a sentence (the parser says so)


def stamp_sbs(line: bytes, received: float) -> bytes:
    """An SBS ``MSG`` line whose generated and logged date and time are all empty (older
    dump1090 builds write them so) gets the time it was received, in UTC, in all four
    fields; any other line is kept as it came (the parser judges it)."""
    fields = line.split(b",")
    if len(fields) < 10 or fields[0] != b"MSG" or any(f.strip() for f in fields[6:10]):
        return line
    when = datetime.fromtimestamp(received, UTC)
    date = when.strftime("%Y/%m/%d").encode()
    clock = when.strftime("%H:%M:%S.").encode() + b"%03d" % (when.microsecond // 1000)
    fields[6:10] = [date, clock, date, clock]
    return b",".join(fields)


_JSON_TIME = re.compile(rb'"(timestamp|time|received_at)"\s*:')


def stamp_remoteid(line: bytes, received: float) -> bytes:
    """A Remote ID detection line (a JSON object) that carries no time gets
    ``"received_at": <unix seconds>`` as its first member; any other line is kept as it came
    (a list of message blocks, broken JSON: the parser judges it)."""
    text = line.strip()
    if not text.startswith(b"{") or not text.endswith(b"}") or _JSON_TIME.search(text):
        return line
    rest = text[1:].lstrip()
    sep = b"" if rest.startswith(b"}") else b","
    return b'{"received_at":%.3f%s' % (received, sep) + rest


# ------------------------------------------------------------------- collecting


@dataclass
class _Held:
    """An AIS fragment group that a flush found incomplete."""

    first: bytes  # the group's first line
    flushes: int = 0


@dataclass
class Collector:
    """Messages received since the last flush, written as one file by :meth:`flush`."""

    out: Path
    fmt: str
    prefix: str
    max_records: int
    messages: list[bytes] = field(default_factory=list)
    files: int = 0
    written: int = 0
    held_bytes: int = 0
    dropped: int = 0
    failing: bool = False  # the last write failed
    _held: _Held | None = None
    _seq: int = 0

    def add(self, messages: list[bytes], received: float | None = None) -> None:
        if self.fmt == "ais":  # one tag block for what arrived together (stamp_ais, per line)
            field = f"c:{int(time.time() if received is None else received)}"
            block = nmea_tag_block(field)
            messages = [_stamp(m, field, block) for m in messages]
        elif self.fmt == "sbs":  # the reception time where the receiver wrote none
            now = time.time() if received is None else received
            messages = [stamp_sbs(m, now) for m in messages]
        elif self.fmt == "remoteid":  # the scanners write no time: the time of reception
            now = time.time() if received is None else received
            messages = [stamp_remoteid(m, now) for m in messages]
        elif self.fmt in ("avr", "beast"):  # Mode S frames carry no date: the reception time in front
            messages = stamp_frames(messages, time.time() if received is None else received)
        self.messages.extend(messages)
        self.held_bytes += sum(len(m) for m in messages)
        # while writing fails, only the timer tries again (not every arriving message)
        if not self.failing and (len(self.messages) >= self.max_records or self.held_bytes >= FLUSH_BYTES):
            self.flush()

    def _shed(self) -> int:
        """While the files cannot be written, hold at most HOLD_BYTES: beyond it the oldest
        messages go (counted in ``dropped`` and logged), so that the listener itself survives."""
        excess, dropped, freed = self.held_bytes - HOLD_BYTES, 0, 0
        while freed < excess and dropped < len(self.messages):
            freed += len(self.messages[dropped])
            dropped += 1
        del self.messages[:dropped]
        self.held_bytes -= freed
        self.dropped += dropped
        return dropped

    def _open_group_start(self) -> int:
        """Index of the first line of an AIS fragment group still waiting for fragments at
        the end of what is held (len(messages) when there is none). Only the last
        GROUP_LINES lines are looked at: a group's fragments come one after the other."""
        start = max(0, len(self.messages) - GROUP_LINES)
        open_at, open_key = len(self.messages), None
        for i, line in enumerate(self.messages[start:], start):
            m = _FRAGMENT.match(line)
            if m is None:
                continue
            count, num, seq = int(m.group(1)), int(m.group(2)), m.group(3)
            if count > 1 and num == 1:
                open_at, open_key = i, (count, seq)
            elif open_key is not None and (count, seq) == open_key and num == count:
                open_at, open_key = len(self.messages), None
        return open_at

    def flush(self, final: bool = False) -> Path | None:
        """Write what is held as one file (none when nothing is held); CoT that came as TAK
        protocol (protobuf) goes into a file of its own, ``.takpb``, beside the XML one."""
        cut = len(self.messages)
        if self.fmt == "ais" and not final:
            cut = self._open_group_start()
            if cut < len(self.messages):
                first = self.messages[cut]
                held = self._held if self._held and self._held.first == first else _Held(first)
                held.flushes += 1
                self._held = held
                if held.flushes > HELD_FLUSHES:  # a fragment was lost: write the group as it is
                    cut, self._held = len(self.messages), None
            else:
                self._held = None
        batch, self.messages = self.messages[:cut], self.messages[cut:]
        self.held_bytes = sum(len(m) for m in self.messages)
        if not batch:
            return None
        parts = [(batch, EXTENSIONS[self.fmt])]
        if self.fmt == "cot" and any(m.startswith(MAGIC) for m in batch):  # protobuf: a file of its own
            parts = [(part, ext) for part, ext in (
                ([m for m in batch if not m.startswith(MAGIC)], EXTENSIONS["cot"]),
                ([m for m in batch if m.startswith(MAGIC)], TAK_EXTENSION)) if part]
        path = None
        for i, (part, ext) in enumerate(parts):
            try:
                path = self._write(part, ext)
            except OSError as exc:  # disk full, folder gone: keep the messages for the next flush
                self.messages[:0] = [m for later, _ in parts[i:] for m in later]
                self.held_bytes = sum(len(m) for m in self.messages)
                self.failing = True
                dropped = self._shed()
                log.error("cannot write the received messages; kept for the next flush",
                          extra={"action": "listen_write_failed", "file": str(exc.filename or self.out),
                                 "error": str(exc), "held": len(self.messages), "dropped": dropped})
                return None
        self.failing = False
        return path

    def _write(self, batch: list[bytes], ext: str) -> Path:
        """One file of ``batch``: ``NAME.part``, synced, renamed (the drop folder never takes a
        ``.part`` file). Raises OSError, leaving no ``.part`` behind."""
        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{self.prefix}-{stamp}-{os.getpid()}-{self._seq:05d}{ext}"
        path = self.out / name
        part = path.with_name(path.name + ".part")
        try:
            with part.open("wb") as fh:
                fh.write(b"\n".join(batch) + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(part, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
            exc.filename = exc.filename or str(path)
            raise
        self.files += 1
        self.written += len(batch)
        log.info("listen flush", extra={"action": "listen_flush", "file": name, "records": len(batch)})
        return path


# ---------------------------------------------------------------------- network


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    @property
    def multicast(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_multicast
        except ValueError:
            return False


def parse_address(value: str, default_host: str) -> Address:
    """``10110``, ``0.0.0.0:10110``, ``[::]:10110`` or ``239.2.3.1:6969`` (a multicast group)."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = default_host, value
    host = host.strip("[]") or default_host
    try:
        number = int(port)
    except ValueError:
        raise ListenError(f"not a port: {value!r} (give PORT or HOST:PORT)") from None
    if not 0 <= number <= 65535:
        raise ListenError(f"port out of range: {value!r}")
    return Address(host, number)


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, collector: Collector, framer_cls: type[Framer], max_bytes: int):
        self.collector, self.framer_cls, self.max_bytes = collector, framer_cls, max_bytes

    def datagram_received(self, data: bytes, addr) -> None:
        self.collector.add(self.framer_cls.datagram(data, self.max_bytes))


def _multicast_socket(address: Address) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("", address.port))
    group = socket.inet_aton(address.host)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", group, socket.inet_aton("0.0.0.0")))
    return sock


def tak_auth_message(user: str, password: str, uid: str) -> bytes:
    """The login a TAK server's input with authentication (file or LDAP users) takes as a
    client's first message, as ATAK sends it: ``<auth><cot username=… password=… uid=…/></auth>``.
    Without it such a server closes the connection."""
    attrs = " ".join(f"{k}={quoteattr(v)}" for k, v in (("username", user), ("password", password), ("uid", uid)))
    return f'<?xml version="1.0"?>\n<auth><cot {attrs}/></auth>'.encode()


HANDSHAKE_SECONDS = 10.0  # a TLS sender that has not finished its handshake by then is dropped


def _peer_text(peer) -> str:
    """A peer address as ``host:port`` (``[v6]:port``)."""
    if not peer:
        return "?"
    host, port = peer[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _HandshakeFirst(asyncio.StreamReaderProtocol):
    """A TCP connection that reads nothing until the listener's TLS handshake takes it over
    (``StreamWriter.start_tls``). ``asyncio.start_server(ssl=...)`` drops a failed handshake
    without a word (an ``ssl.SSLError`` is an ``OSError``, logged only in asyncio's debug
    mode), so a sender refused for its certificate vanished from the logs. Reading paused in
    ``connection_made`` — before the transport starts reading — keeps the ClientHello on the
    socket for the handshake, instead of in the stream's buffer where TLS never sees it."""

    def __init__(self, client_connected_cb) -> None:
        super().__init__(asyncio.StreamReader(), client_connected_cb)

    def connection_made(self, transport) -> None:
        transport.pause_reading()
        super().connection_made(transport)


@dataclass
class Listener:
    """UDP and TCP listeners feeding one :class:`Collector`, flushed on a timer."""

    collector: Collector
    udp: list[Address]
    tcp: list[Address]
    flush_seconds: float
    max_message_bytes: int
    ready: Callable[[list[tuple[str, str, int]]], None] | None = None  # the bound (proto, host, port)
    connect: list[Address] = field(default_factory=list)  # TCP servers that send the feed
    retry_max_seconds: float = 60.0  # a lost or refused connection is tried again after 1, 2, 4 ... s
    tls_server: ssl.SSLContext | None = None  # --tcp speaks TLS (ingest.delivery.tls.server_context)
    tls_client: ssl.SSLContext | None = None  # --connect speaks TLS (ingest.delivery.tls.client_context)
    handshake_seconds: float = HANDSHAKE_SECONDS  # a TLS sender's handshake, at most
    greeting: bytes | None = None  # sent first on each --connect connection (tak_auth_message)
    _connections: set = field(default_factory=set)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        framer_cls = FRAMERS[self.collector.fmt]
        transports, servers, bound = [], [], []
        try:
            for a in self.udp:
                kwargs = {"sock": _multicast_socket(a)} if a.multicast else {"local_addr": (a.host, a.port)}
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _Datagrams(self.collector, framer_cls, self.max_message_bytes), **kwargs)
                transports.append(transport)
                host, port = transport.get_extra_info("sockname")[:2]
                bound.append(("udp", a.host if a.multicast else host, port))
            for a in self.tcp:
                if self.tls_server:  # the handshake is this listener's, so a refusal is logged
                    server = await loop.create_server(
                        lambda: _HandshakeFirst(lambda r, w: self._connection(r, w, framer_cls, handshake=True)),
                        a.host, a.port)
                else:
                    server = await asyncio.start_server(lambda r, w: self._connection(r, w, framer_cls),
                                                        a.host, a.port)
                servers.append(server)
                host, port = server.sockets[0].getsockname()[:2]
                bound.append(("tls" if self.tls_server else "tcp", host, port))
        except OSError as exc:
            for t in transports:
                t.close()
            for s in servers:
                s.close()
            raise ListenError(f"cannot listen: {exc.strerror or exc}") from exc
        for proto, host, port in bound:
            log.info("listening", extra={"action": "listen", "proto": proto, "host": host, "port": port,
                                         "format": self.collector.fmt, "out": str(self.collector.out)})
        clients = [asyncio.create_task(self._client(a, framer_cls, stop)) for a in self.connect]
        if self.ready:
            via = "from tls" if self.tls_client else "from tcp"
            self.ready(bound + [(via, a.host, a.port) for a in self.connect])
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), self.flush_seconds)
                except TimeoutError:
                    pass
                self.collector.flush()
        finally:
            for t in transports:
                t.close()
            for s in servers:
                s.close()
            tasks = {*clients, *self._connections}  # a connection writes what it left when cancelled
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.collector.flush(final=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          framer_cls: type[Framer], handshake: bool = False) -> None:
        framer = framer_cls(self.max_message_bytes)
        peer = writer.get_extra_info("peername")
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            if handshake:
                try:
                    await writer.start_tls(self.tls_server, ssl_handshake_timeout=self.handshake_seconds)
                except OSError as exc:  # ssl.SSLError, a reset, or the timeout's ConnectionAbortedError
                    log.warning("TLS handshake refused", extra={
                        "action": "listen_tls_refused", "peer": _peer_text(peer), "error": handshake_reason(exc)})
                    return
            while data := await reader.read(65536):
                self.collector.add(framer.feed(data))
        except (OSError, asyncio.CancelledError):  # reset, or a TLS error (ssl.SSLError is an OSError)
            pass
        finally:
            self.collector.add(framer.rest())
            self._connections.discard(task)
            writer.close()
            log.info("connection closed", extra={"action": "listen_close", "peer": _peer_text(peer)})

    async def _client(self, a: Address, framer_cls: type[Framer], stop: asyncio.Event) -> None:
        """Connect to a server that sends the feed; when it refuses or the connection is lost,
        try again after 1, 2, 4 ... seconds (at most ``retry_max_seconds``)."""
        wait = 1.0
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(a.host, a.port, ssl=self.tls_client)
            except OSError as exc:  # refused, unreachable, or the TLS handshake failed (ssl.SSLError)
                log.warning("cannot connect", extra={"action": "listen_connect_failed", "host": a.host,
                                                     "port": a.port, "error": str(exc), "retry_seconds": wait})
            else:
                log.info("connected", extra={"action": "listen_connected", "host": a.host, "port": a.port})
                wait = 1.0
                if self.greeting:
                    writer.write(self.greeting)
                await self._connection(reader, writer, framer_cls)
                if stop.is_set():
                    return
                log.warning("connection lost", extra={"action": "listen_connection_lost", "host": a.host,
                                                      "port": a.port, "retry_seconds": wait})
            try:
                await asyncio.wait_for(stop.wait(), wait)
            except TimeoutError:
                pass
            wait = min(wait * 2, self.retry_max_seconds)
