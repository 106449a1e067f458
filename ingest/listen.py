"""``nsp listen``: live feeds over the network, written into a drop folder.

Real feeds do not only come as files. An AIS shore station or receiver sends NMEA 0183
sentences over UDP (one or more lines a datagram; port 10110 by convention) or as a TCP
stream; TAK devices and gateways send Cursor on Target events over UDP (one ``<event>`` a
datagram, e.g. the SA multicast group 239.2.3.1:6969) or TCP (a stream of concatenated
events). A GeoJSON feed can stream newline-delimited features over TCP. TCP may be TLS, as a
TAK server's streaming port 8089 is (``--tls``, :mod:`ingest.tls`).

The listener needs no database. It frames what arrives into whole messages (lines for AIS
and NDJSON; ``<event>…</event>`` for CoT, each TCP connection on its own), stamps an AIS
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

from ingest.tls import handshake_reason
from nsp.errors import NspError

log = logging.getLogger("nsp.ingest.listen")

# the file extension the drop folder's sniffing and the parsers know each format by
EXTENSIONS = {"ais": ".nmea", "cot": ".cot", "geojson": ".ndjson"}
_FRAGMENT = re.compile(rb"^(?:\\[^\\]*\\)?[!$][A-Z]{2}VD[MO],(\d),(\d),(\d?),")
_HAS_SUFFIX_TIME = re.compile(rb"\*[0-9A-Fa-f]{2},\d{9,13}(?:\.\d+)?\s*$")
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


class CotFramer(Framer):
    """Cursor on Target: one message from its start to ``</event>`` (an XML declaration or
    whitespace before an event belongs to it)."""

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        out = []
        while (end := _EVENT_END.search(self.buffer)) is not None:
            message, self.buffer = self.buffer[:end.end()].strip(), self.buffer[end.end():]
            if message:
                out.append(message)
        return out + self._overlong()


FRAMERS: dict[str, type[Framer]] = {"ais": LineFramer, "geojson": LineFramer, "cot": CotFramer}


def nmea_tag_block(fields: str) -> bytes:
    """``c:1764680000`` -> ``\\c:1764680000*hh\\`` (the checksum XORs the characters between
    the backslash and the star, as in a sentence)."""
    checksum = reduce(xor, fields.encode("ascii"), 0)
    return b"\\" + fields.encode("ascii") + b"*%02X\\" % checksum


def _untimed(line: bytes) -> bool:
    """An AIS sentence with neither a tag block nor a time after its checksum."""
    if line[:1] not in (b"!", b"$"):  # a tag block already, or not a sentence (the parser says so)
        return False
    return line[-3:-2] == b"*" or not _HAS_SUFFIX_TIME.search(line)  # "...*5C,1714550400": timed


def stamp_ais(line: bytes, received: float) -> bytes:
    """An AIS sentence with its reception time: a tag block ``c:`` when it has neither a tag
    block nor a time after its checksum; otherwise the line as it came."""
    return nmea_tag_block(f"c:{int(received)}") + line if _untimed(line) else line


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
            tag = nmea_tag_block(f"c:{int(time.time() if received is None else received)}")
            messages = [tag + m if _untimed(m) else m for m in messages]
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
        """Write what is held as one file (none when nothing is held)."""
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
        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{self.prefix}-{stamp}-{os.getpid()}-{self._seq:05d}{EXTENSIONS[self.fmt]}"
        path = self.out / name
        part = path.with_name(path.name + ".part")
        try:
            with part.open("wb") as fh:
                fh.write(b"\n".join(batch) + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(part, path)  # the drop folder never takes a .part file
        except OSError as exc:  # disk full, folder gone: keep the messages for the next flush
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
            self.messages[:0] = batch
            self.held_bytes = sum(len(m) for m in self.messages)
            self.failing = True
            dropped = self._shed()
            log.error("cannot write the received messages; kept for the next flush",
                      extra={"action": "listen_write_failed", "file": str(path), "error": str(exc),
                             "held": len(self.messages), "dropped": dropped})
            return None
        self.failing = False
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
        framer = self.framer_cls(self.max_bytes)  # a datagram is whole: nothing carries over
        self.collector.add(framer.feed(data) + framer.rest())


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
    tls_server: ssl.SSLContext | None = None  # --tcp speaks TLS (ingest.tls.server_context)
    tls_client: ssl.SSLContext | None = None  # --connect speaks TLS (ingest.tls.client_context)
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
