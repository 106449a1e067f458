"""``nsp cot-out``: stream the picture to TAK clients (a TAK server over TCP or TLS, or the SA
multicast), with ``pytak`` as the transport.

**Scope.** A share runs as an nsp user (``--actor``): every read goes through
:func:`nsp.access.connection` under that user's scope, so row-level security holds exactly as on
the dashboard; the sections asked for (``--sections``) are intersected with the user's and
asking for one outside it is an error. Layers: ``events`` (markers), ``sections`` (coloured
border lines), and the latest positions of ``own_assets`` (friendly), ``vessels`` and ``aircraft``
(unknown), each stale once its position is older than the layer's age limit
(:data:`POSITION_LAYERS`, ``max_age``).

**What goes when.** Every ``poll`` the share's picture is read and compared with what was sent
(:class:`Picture`): a new or changed marker or line goes at once, one that left the picture
(closed, rejected, out of the window, out of scope) goes as a delete. Every ``resend`` the
whole picture goes again for clients that joined late, with the deletes of the last
``keep_alive``; each message's stale time is ``keep_alive`` (twice ``resend`` and a poll)
ahead, so a marker fades from the clients only if nsp stops sending. At start, events closed
within ``keep_alive`` are deleted too: a client may still draw them from an earlier run.

**Transport.** ``tcp://host:port`` and ``udp://group:port`` (the SA multicast is
``udp://239.2.3.1:6969``) are pytak's own clients (:func:`pytak.protocol_factory`);
``tls://host:port`` connects with client certificates (PEM or a TAK server's PKCS#12 files,
ingest/delivery/tls.py). Messages are written by :class:`pytak.TXWorker` as CoT XML (or TAK Protocol
Version 1 with ``tak_proto=1``). A stream that drops is reconnected with back-off and the
whole picture sent again.

**Database outages.** A read that fails because PostgreSQL went away (or a pooled connection
is not had within ``db_timeout``) does not end the share: the TAK stream stays open (what
the server sends is still read, a dropped stream still reconnected), the outage is logged once
(``action=db_wait``), the read is tried again after 1, 2, 4 ... seconds (at most
``NSP_DB_RECONNECT_MAX_SECONDS``), and the first read that works sends the whole picture again
(``action=db_reachable``), with the deletes of what closed meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlparse

import psycopg

from geo.cot_out import (
    Style,
    delete_message,
    event_message,
    event_stale,
    event_uid,
    fingerprint,
    position_message,
    position_type,
    position_uid,
    row_fingerprint,
    section_messages,
)
from nsp import access, db
from nsp.access import Scope
from nsp.errors import NspError
from nsp.queries import queries
from nsp.vocab import cot_type_of

log = logging.getLogger("nsp.cot_out")

@dataclass(frozen=True)
class PositionLayer:
    """A layer of latest positions: the ``asset_position`` kind, the CoT affiliation, the
    dimension when the type tells none, the words in the remarks, the default age limit."""

    kind: str
    affiliation: str
    dimension: str
    what: str
    max_age: timedelta


POSITION_LAYERS = {
    "own_assets": PositionLayer("own", "f", "G-U-C", "Own unit", timedelta(hours=24)),
    "vessels": PositionLayer("vessel", "u", "S", "Vessel", timedelta(minutes=30)),
    "aircraft": PositionLayer("aircraft", "u", "A", "Aircraft", timedelta(minutes=5)),
}
LAYERS = ("events", "sections", *POSITION_LAYERS)
DEFAULT_LAYERS = ("events", "sections")
SCHEMES = ("tcp", "tls", "udp")
DEFAULT_MULTICAST = "udp://239.2.3.1:6969"
# What a lost database raises: the server went away (OperationalError, PoolTimeout among them)
# or a connection it closed was used (InterfaceError).
DB_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)


class CotOutError(NspError):
    """A share that cannot run: unknown user, a section outside the scope, a bad URL."""


def _pytak():
    """pytak, imported without its note about the optional aiohttp (Marti HTTP, unused here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import pytak
    return pytak


@dataclass(frozen=True)
class Share:
    """What one ``nsp cot-out`` sends, and how often."""

    scope: Scope
    sections: tuple[str, ...] | None  # None: every section the scope allows
    wanted: tuple[str, ...] | None = None  # the sections asked for (None: the user's, whatever they become)
    layers: frozenset[str] = frozenset(LAYERS)
    window: timedelta = timedelta(hours=24)  # open events that occurred within it
    poll: timedelta = timedelta(seconds=5)
    resend: timedelta = timedelta(minutes=5)
    style: Style = field(default_factory=Style)
    tolerance: float = 0.0005  # degrees (about 50 m) the border lines are simplified to
    db_timeout: float = 10.0  # seconds to wait for a pooled connection before the read counts as failed
    max_age: dict[str, timedelta] = field(default_factory=dict)  # a position layer's age limit, if not its default

    def age_limit(self, layer: str) -> timedelta:
        return self.max_age.get(layer, POSITION_LAYERS[layer].max_age)

    @property
    def keep_alive(self) -> timedelta:
        return 2 * self.resend + self.poll


def scope_of(actor: str, timeout: float | None = None) -> Scope:
    """The scope of the nsp user ``actor``: cot-out never sends more than they may see."""
    with db.pool().connection(timeout=timeout) as conn:  # read at every poll: the pool's, not a new connection
        row = conn.execute("SELECT role, sections, disabled FROM app_user WHERE name = %s", (actor,)).fetchone()
    if row is None or row["disabled"]:
        raise CotOutError(f"no active nsp user {actor!r}: cot-out runs as an nsp user (--actor or NSP_ACTOR; "
                          "see `nsp users list`)")
    if row["role"] in ("admin", "kiosk"):
        raise CotOutError(f"user {actor!r} has role {row['role']}, which sees no operational picture")
    return Scope(user=actor, role=row["role"], sections=tuple(row["sections"]) if row["sections"] else None)


def make_share(actor: str, sections: list[str] | None = None, layers: list[str] | None = None, **options) -> Share:
    """A share for ``actor``, limited to ``sections`` (within the user's) and ``layers``."""
    scope = scope_of(actor)
    wanted = [c.strip().upper() for c in sections or [] if c.strip()]
    outside = [c for c in wanted if not scope.allows(c)]
    if outside:
        raise CotOutError(f"section(s) {', '.join(outside)} are outside the scope of user {actor!r} "
                          f"({', '.join(scope.sections or ()) or 'no sections'})")
    if wanted:
        with access.connection(scope) as conn:
            known = {r["code"] for r in conn.execute("SELECT code FROM border_section WHERE code = ANY(%s)",
                                                     (wanted,)).fetchall()}
        if unknown := [c for c in wanted if c not in known]:
            raise CotOutError(f"no border section {', '.join(unknown)} (see `nsp sections list`)")
    chosen = scope.restrict(wanted)  # None: every section, now and as the user's scope changes
    picked = [x.strip() for x in layers or DEFAULT_LAYERS if x.strip()]
    bad = [x for x in picked if x not in LAYERS]
    if bad or not picked:
        raise CotOutError(f"unknown layer(s) {', '.join(bad) or '(none)'}: choose from {', '.join(LAYERS)}")
    return Share(scope=scope, sections=tuple(chosen) if chosen is not None else None, wanted=tuple(wanted) or None,
                 layers=frozenset(picked), **options)


class Picture:
    """What the clients have been sent (uid -> (type, fingerprint)), and what to send next."""

    def __init__(self, share: Share):
        self.share = share
        self.sent: dict[str, tuple[str, str]] = {}  # uid -> (type, fingerprint) of what the clients draw
        self.deleted: dict[str, tuple[str, datetime]] = {}  # uid -> (type, when) deleted within keep_alive
        self.last_full: datetime | None = None

    def scope_now(self) -> tuple[Scope, list[str] | None]:
        """The user's scope as it is now, and the share's sections within it: a user whose
        sections are narrowed while cot-out runs has the share narrowed at the next poll; a
        disabled user's share ends (:class:`CotOutError`)."""
        scope = scope_of(self.share.scope.user, self.share.db_timeout)
        return scope, scope.restrict(list(self.share.wanted) if self.share.wanted else None)

    def read(self, now: datetime) -> dict[str, tuple[str, str, Callable[[], bytes]]]:
        """The share's picture now, read under the user's scope: by uid, the CoT type, a
        fingerprint of the content (not of the times) and how to make the message. A marker's
        message is made only when it is sent: a poll that finds nothing new makes none."""
        s, out = self.share, {}
        scope, sections = self.scope_now()
        params = {"sections": sections}
        with access.connection(scope, s.db_timeout) as conn:
            if "events" in s.layers:
                for row in conn.execute(queries["cot_out_events"], {**params, "since": now - s.window}):
                    stale = event_stale(row, now, s.keep_alive)
                    if stale is not None:
                        out[event_uid(s.style, row["id"])] = (
                            cot_type_of(row["category"], row["subtype"]), row_fingerprint(row),
                            partial(event_message, row, s.style, now, stale))
            for layer, kind in POSITION_LAYERS.items():
                if layer not in s.layers:
                    continue
                limit = s.age_limit(layer)
                for row in conn.execute(queries["cot_out_positions"],
                                        {**params, "kind": kind.kind, "since": now - limit}):
                    stale = min(now + s.keep_alive, row["observed_at"] + limit)
                    uid = position_uid(s.style, layer, row["object_id"])
                    type_ = position_type(row["object_type"], kind.affiliation, kind.dimension)
                    out[uid] = (type_, row_fingerprint(row),
                                partial(position_message, row, s.style, now, stale, uid=uid, type_=type_,
                                        what=kind.what))
            if "sections" in s.layers:
                for row in conn.execute(queries["cot_out_sections"], {**params, "tolerance": s.tolerance}):
                    for uid, msg in section_messages(row, s.style, now, now + s.keep_alive).items():
                        out[uid] = ("u-d-f", fingerprint(msg), partial(bytes, msg))
        return out

    def seed_deleted(self, now: datetime) -> None:
        """Events closed within keep_alive: markers an earlier run may have left on the clients,
        deleted with the first full send."""
        if "events" not in self.share.layers:
            return
        s = self.share
        scope, sections = self.scope_now()
        params = {"sections": sections, "closed_since": now - s.keep_alive}
        with access.connection(scope, s.db_timeout) as conn:
            for r in conn.execute(queries["cot_out_closed"], params):
                self.deleted[event_uid(s.style, r["id"])] = (cot_type_of(r["category"], r["subtype"]), now)

    def withdraw(self, now: datetime) -> list[bytes]:
        """Deletes for everything the clients were sent: the share ends."""
        out = [delete_message(uid, type_, self.share.style, now) for uid, (type_, _fp) in self.sent.items()]
        self.sent.clear()
        return out

    def changes(self, now: datetime, full: bool | None = None) -> list[bytes]:
        """The messages to send now: everything on a full resend (due every ``resend``, or
        ``full=True``), else what is new or changed; then deletes for what left the picture.
        A full resend deletes again what left within keep_alive: a client that was away, or a
        stream that broke before a delete got through, still draws it."""
        if full is None:
            full = self.last_full is None or now - self.last_full >= self.share.resend
        current = self.read(now)
        out = []
        for uid, (type_, fp, make) in current.items():
            if full or self.sent.get(uid, ("", ""))[1] != fp:
                out.append(make())
            self.sent[uid] = (type_, fp)
            self.deleted.pop(uid, None)  # back in the picture (reopened)
        gone = [u for u in self.sent if u not in current]
        for uid in gone:
            type_, _fp = self.sent.pop(uid)
            self.deleted[uid] = (type_, now)
        horizon = now - self.share.keep_alive
        self.deleted = {u: v for u, v in self.deleted.items() if v[1] > horizon}
        out += [delete_message(uid, type_, self.share.style, now) for uid, (type_, _when) in self.deleted.items()
                if full or uid in gone]
        if full:
            self.last_full = now
        return out


@dataclass(frozen=True)
class Destination:
    """Where the CoT goes: ``tcp://``, ``tls://`` or ``udp://`` (multicast or unicast)."""

    url: str
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    tls_password: str | None = None
    tak_proto: int = 0  # 0: CoT XML; 1: TAK Protocol Version 1 (protobuf)
    multicast_ttl: int = 1

    def __post_init__(self):
        parsed = urlparse(self.url)
        if parsed.scheme not in SCHEMES or not parsed.hostname or not parsed.port:
            raise CotOutError(f"{self.url!r}: give the destination as tcp://HOST:PORT, tls://HOST:PORT "
                              f"or udp://GROUP:PORT (the SA multicast is {DEFAULT_MULTICAST})")
        if parsed.scheme == "tls" and not self.tls_cert:
            raise CotOutError("a TAK server's TLS port asks for a client certificate: give --tls-cert "
                              "(PEM, or the user .p12 the TAK server made)")
        if parsed.scheme != "tls" and (self.tls_cert or self.tls_key or self.tls_ca):
            raise CotOutError("--tls-cert, --tls-key and --tls-ca are for tls:// destinations")

    @property
    def scheme(self) -> str:
        return urlparse(self.url).scheme

    def pytak_config(self) -> dict:
        url = self.url.replace("udp://", "udp+wo://", 1) if self.scheme == "udp" else self.url
        return {"COT_URL": url, "TAK_PROTO": str(self.tak_proto), "PYTAK_MULTICAST_TTL": str(self.multicast_ttl)}

    def tls_context(self):
        from ingest.delivery.tls import TlsFiles, client_context

        return client_context(TlsFiles(cert=self.tls_cert, key=self.tls_key, ca=self.tls_ca,
                                       password=self.tls_password))

    async def connect(self):
        """(reader or None, writer) for pytak's TXWorker."""
        pytak = _pytak()
        if self.scheme == "tls":
            parsed = urlparse(self.url)
            return await asyncio.open_connection(parsed.hostname, parsed.port, ssl=self.tls_context())
        return await pytak.protocol_factory(self.pytak_config())


async def _drain(reader) -> None:
    """Read what the server sends (pings, other clients' SA) so its buffer never fills; ends
    when the server closes the stream."""
    while await reader.read(65536):
        pass


@dataclass
class Counters:
    sent: int = 0
    deletes: int = 0
    cycles: int = 0
    connects: int = 0
    outages: int = 0  # database outages lived through (each logged once, ended by a full send)


class Outage:
    """A database outage under a running share: logged once when it starts, tried again after
    1, 2, 4 ... seconds (at most ``maximum``), logged once when a read works again."""

    def __init__(self, maximum: float):
        self.maximum = maximum
        self.backoff: db.Backoff | None = None
        self.since = 0.0

    def failed(self, exc: BaseException) -> float:
        """A read failed: the seconds to wait before the next try."""
        if self.backoff is None:
            self.backoff, self.since = db.Backoff(maximum=self.maximum), time.monotonic()
            log.warning("cot-out: database unreachable (%s); the TAK stream stays open, trying again with "
                        "back-off", db.first_line(exc), extra={"action": "db_wait", "command": "cot-out"})
        else:
            log.debug("cot-out: database still unreachable (%s)", db.first_line(exc))
        return self.backoff.next()

    def over(self, counters: Counters) -> None:
        """A read worked: the outage, if there was one, is over."""
        if self.backoff is None:
            return
        log.warning("cot-out: database reachable again after %.0f s and %d tries; sending the whole picture again",
                    time.monotonic() - self.since, self.backoff.attempts,
                    extra={"action": "db_reachable", "command": "cot-out", "attempts": self.backoff.attempts})
        counters.outages += 1
        self.backoff = None


async def run(share: Share, dest: Destination, *, stop: asyncio.Event | None = None,
              clock: Callable[[], datetime] = lambda: datetime.now(UTC), max_backoff: float = 60.0,
              counters: Counters | None = None, db_max_backoff: float | None = None) -> Counters:
    """Send the share's picture to ``dest`` until ``stop`` is set (or forever). A database
    outage keeps the stream open and is waited out (:class:`Outage`); ``db_max_backoff``:
    the longest wait between tries (default ``NSP_DB_RECONNECT_MAX_SECONDS``)."""
    pytak = _pytak()
    stop = stop or asyncio.Event()
    counters = counters or Counters()
    picture = Picture(share)
    outage = Outage(db_max_backoff if db_max_backoff is not None else db.db_settings().reconnect_max_seconds)
    backoff = 1.0
    first = True
    _audit_start(share, dest)
    while not stop.is_set():
        try:
            reader, writer = await dest.connect()
        except (OSError, ConnectionError) as exc:
            log.warning("cot-out: cannot reach %s: %s; again in %.0f s", dest.url, exc, backoff)
            await _wait(stop, backoff)
            backoff = min(backoff * 2, max_backoff)
            continue
        counters.connects += 1
        backoff = 1.0
        log.info("cot-out: connected to %s as %s", dest.url, share.scope.user)
        tx = pytak.TXWorker(asyncio.Queue(), dest.pytak_config(), writer)
        drain = asyncio.create_task(_drain(reader)) if dest.scheme in ("tcp", "tls") and reader else None
        try:
            full = True  # a new connection: all of it
            while True:
                if drain is not None and drain.done():
                    raise ConnectionError("the server closed the stream")
                try:
                    if first:
                        await asyncio.to_thread(picture.seed_deleted, clock())
                        first = False
                    pending = await asyncio.to_thread(picture.changes, clock(), full or None)
                except CotOutError:
                    log.warning("cot-out: user %s can no longer run a share; deleting what was sent",
                                share.scope.user)
                    for msg in picture.withdraw(clock()):
                        await tx.send_data(msg)
                        counters.sent += 1
                        counters.deletes += 1
                    raise
                except DB_ERRORS as exc:
                    if await _wait(stop, outage.failed(exc)):
                        break
                    full = True  # what changed meanwhile is not known: all of it, once the database is back
                    continue
                outage.over(counters)
                full = False
                for msg in pending:
                    await tx.send_data(msg)
                    counters.sent += 1
                    counters.deletes += b'type="t-x-d-d"' in msg
                counters.cycles += 1
                if await _wait(stop, share.poll.total_seconds()):
                    break
        except (OSError, ConnectionError) as exc:
            log.warning("cot-out: %s: %s; reconnecting", dest.url, exc)
        finally:
            if drain is not None:
                drain.cancel()
            _close(writer)
    return counters


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stop``; True when stopped."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
        return True
    except TimeoutError:
        return False


def _close(writer) -> None:
    try:
        writer.close()
    except (OSError, AttributeError):
        pass


def _audit_start(share: Share, dest: Destination) -> None:
    parsed = urlparse(dest.url)
    with access.connection(share.scope) as conn:
        access.audit(conn, share.scope.user, "cot_out_start", f"{parsed.scheme}://{parsed.hostname}:{parsed.port}",
                     {"sections": list(share.sections) if share.sections is not None else "all",
                      "layers": sorted(share.layers)})
