"""``nsp watch``, ``nsp listen``, ``nsp worker``, ``nsp sources``, ``nsp scenario`` and ``nsp demo``."""

from __future__ import annotations

import signal
from datetime import UTC
from pathlib import Path

import click

from ingest.delivery.settings import ListenSettings, WatchSettings
from nsp import db
from nsp.cli_support import actor_option, stop_event
from nsp.queue import QueueSettings

_watch = WatchSettings()
_listen = ListenSettings()
_queue = QueueSettings()


# ------------------------------------------------------------------------ nsp watch


@click.command("watch")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--source", envvar="NSP_WATCH_SOURCE", default=_watch.source, show_default=True,
              help="source of files directly in DIRECTORY; a sub-folder's files use the "
                   "sub-folder's name [env NSP_WATCH_SOURCE]")
@click.option("--poll", "poll_seconds", envvar="NSP_WATCH_POLL_SECONDS", type=float,
              default=_watch.poll_seconds, show_default=True,
              help="seconds between looks at the folder [env NSP_WATCH_POLL_SECONDS]")
@click.option("--keep-processed-days", envvar="NSP_WATCH_KEEP_PROCESSED_DAYS", type=click.FloatRange(min=0),
              default=_watch.keep_processed_days, show_default=True,
              help="delete loaded files in processed/ this many days after loading, checked hourly; 0 keeps "
                   "them (failed/ is never pruned) [env NSP_WATCH_KEEP_PROCESSED_DAYS]")
@click.option("--once", is_flag=True, help="queue what is there now (two polls), then exit")
def watch(directory: Path, source: str, poll_seconds: float, keep_processed_days: float, once: bool):
    """Watch a drop folder: each completely written file becomes a queued ingest job.

    A file is complete when its size and time stopped changing between two polls, or
    when it is renamed from NAME.part. `nsp worker` loads it and moves it to
    DIRECTORY/processed/, or to DIRECTORY/failed/ with NAME.error.txt when it cannot be
    read at all. Stops cleanly on SIGTERM or Ctrl-C.
    """
    import psycopg
    from procrastinate.exceptions import ConnectorException

    from ingest.delivery.tasks import defer_file
    from ingest.delivery.watch import DropFolder, log
    from ingest.delivery.worker import setup_logging
    from nsp.queue import app

    setup_logging()
    directory.mkdir(parents=True, exist_ok=True)
    stop = stop_event()
    url = db.database_url()
    folder = DropFolder(directory.resolve(), source, defer_file, keep_processed_days=keep_processed_days,
                        database_down=lambda: db.unreachable(url),
                        wait_for_database=lambda stop: db.wait_for_database(stop, "watch", log, url))
    n = 0
    # Started while the database is down, it waits for it (backoff, logged); never exits on an outage.
    while db.wait_for_database(stop, "watch", log, url):
        try:
            with app.open():
                n += folder.run(poll_seconds, stop, once=once)
            break
        except (psycopg.Error, ConnectorException) as exc:  # lost again before the queue opened
            log.warning("database lost; the watcher waits for it", extra={
                "action": "db_lost", "command": "watch", "error": db.first_line(exc)})
    click.echo(f"queued {n} file(s)", err=True)


# ----------------------------------------------------------------------- nsp listen


def _addresses(values, default_host: str) -> list:
    """``[HOST:]PORT`` options as ingest.delivery.listen.Address; a bad one is a usage error."""
    from ingest.delivery.listen import ListenError, parse_address

    try:
        return [parse_address(v, default_host) for v in values]
    except ListenError as exc:
        raise click.UsageError(str(exc)) from exc


def _tls_contexts(tls: bool, tcp, connect, cert, key, ca) -> tuple:
    """The (server, client) TLS contexts of --tls; a file that cannot be used is a usage error
    that names it."""
    from ingest.delivery.tls import TlsError, TlsFiles, client_context, server_context

    if not tls:
        if cert or key or ca:
            raise click.UsageError("--tls-cert, --tls-key and --tls-ca need --tls")
        return None, None
    if not tcp and not connect:
        raise click.UsageError("--tls is for TCP: give --tcp or --connect")
    password = _listen.tls_password.get_secret_value() if _listen.tls_password else None
    files = TlsFiles(cert=cert, key=key, ca=ca, password=password)
    try:
        return (server_context(files) if tcp else None), (client_context(files) if connect else None)
    except TlsError as exc:
        raise click.UsageError(str(exc)) from None


def _tak_login(fmt: str, connect, user: str | None, uid: str | None) -> bytes | None:
    """The login a TAK server input with authentication asks for, from --tak-user and
    NSP_LISTEN_TAK_PASSWORD; a usage error where it cannot be sent."""
    import socket

    from ingest.delivery.listen import tak_auth_message

    if not user:
        if uid:
            raise click.UsageError("--tak-uid needs --tak-user")
        return None
    if fmt != "cot" or not connect:
        raise click.UsageError("--tak-user is for a TAK server: give --format cot and --connect")
    if not _listen.tak_password:
        raise click.UsageError("--tak-user needs its password in NSP_LISTEN_TAK_PASSWORD")
    return tak_auth_message(user, _listen.tak_password.get_secret_value(), uid or f"nsp-{socket.gethostname()}")


@click.command("listen")
@click.option("--format", "fmt", type=click.Choice(["ais", "cot", "geojson", "sbs", "avr", "beast", "remoteid"]),
              required=True,
              help="what arrives: AIS NMEA sentences, Cursor on Target events, newline-delimited GeoJSON, "
                   "SBS-1/BaseStation lines (dump1090, readsb: --connect HOST:30003), raw Mode S frames, "
                   "AVR text (HOST:30002) or Beast binary (HOST:30005), written as AVR lines, or Remote ID "
                   "JSON lines (ESP32 scanners, DroneID receivers)")
@click.option("--udp", "udp", multiple=True, metavar="[HOST:]PORT",
              help="listen for datagrams here (repeatable; a multicast group such as 239.2.3.1:6969 is joined)")
@click.option("--tcp", "tcp", multiple=True, metavar="[HOST:]PORT", help="accept TCP streams here (repeatable)")
@click.option("--connect", "connect", multiple=True, metavar="HOST:PORT",
              help="connect to a TCP server that sends the feed (an AIS server, a TAK server's plain streaming "
                   "port); reconnects after 1, 2, 4 ... 60 s when refused or lost (repeatable)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="the drop folder to write into: a source's sub-folder (DIR/ais) gives the files that source")
@click.option("--name", "prefix", default=None, help="file names start with this (default: the format)")
@click.option("--host", envvar="NSP_LISTEN_HOST", default=_listen.host, show_default=True,
              help="address a bare PORT listens on [env NSP_LISTEN_HOST]")
@click.option("--flush-seconds", envvar="NSP_LISTEN_FLUSH_SECONDS", type=click.FloatRange(min=0.05),
              default=_listen.flush_seconds, show_default=True,
              help="write what was received as one file this often [env NSP_LISTEN_FLUSH_SECONDS]")
@click.option("--max-records", envvar="NSP_LISTEN_MAX_RECORDS", type=click.IntRange(1),
              default=_listen.max_records, show_default=True,
              help="... or as soon as this many messages wait [env NSP_LISTEN_MAX_RECORDS]")
@click.option("--tls", is_flag=True, envvar="NSP_LISTEN_TLS", default=_listen.tls,
              help="TCP speaks TLS: --connect checks the server's certificate (a TAK server's 8089), "
                   "--tcp presents --tls-cert [env NSP_LISTEN_TLS]")
@click.option("--tls-cert", envvar="NSP_LISTEN_TLS_CERT", type=click.Path(dir_okay=False, path_type=Path),
              default=_listen.tls_cert,
              help="this end's certificate: PEM (key included, or --tls-key) or PKCS#12 such as a TAK "
                   "server's user.p12 [env NSP_LISTEN_TLS_CERT]")
@click.option("--tls-key", envvar="NSP_LISTEN_TLS_KEY", type=click.Path(dir_okay=False, path_type=Path),
              default=_listen.tls_key, help="its private key, when separate (PEM) [env NSP_LISTEN_TLS_KEY]")
@click.option("--tls-ca", envvar="NSP_LISTEN_TLS_CA", type=click.Path(dir_okay=False, path_type=Path),
              default=_listen.tls_ca,
              help="the CA to trust: PEM or a PKCS#12 truststore (truststore-root.p12); with --connect the "
                   "server's (default: the system's), with --tcp the senders', who must then present a "
                   "certificate [env NSP_LISTEN_TLS_CA]; the password of the key or the .p12 files comes "
                   "from NSP_LISTEN_TLS_PASSWORD only")
@click.option("--tak-user", envvar="NSP_LISTEN_TAK_USER", default=_listen.tak_user,
              help="with --connect and --format cot: log in to a TAK server input that asks for a user "
                   "(its first message, as ATAK sends it); the password comes from NSP_LISTEN_TAK_PASSWORD "
                   "only [env NSP_LISTEN_TAK_USER]")
@click.option("--tak-uid", envvar="NSP_LISTEN_TAK_UID", default=_listen.tak_uid,
              help="the uid nsp logs in as (default: nsp-HOSTNAME) [env NSP_LISTEN_TAK_UID]")
def listen(fmt, udp, tcp, connect, out, prefix, host, flush_seconds, max_records, tls, tls_cert, tls_key, tls_ca,
           tak_user, tak_uid):
    """Receive a live feed over UDP or TCP (listening, or connected to a server) and write
    it into a drop folder.

    Every --flush-seconds what arrived becomes one file in OUT, which `nsp watch` queues and
    `nsp worker` loads like any other (validation, dedupe, quarantine, retries). AIS
    sentences without a time get the time they were received (an NMEA tag block). No
    database is needed. Stops on SIGTERM or Ctrl-C after writing what it holds.
    """
    import asyncio

    from ingest.delivery.listen import Collector, Listener
    from ingest.delivery.worker import setup_logging

    setup_logging()
    if not udp and not tcp and not connect:
        raise click.UsageError("give at least one --udp, --tcp or --connect address")
    udp_addrs, tcp_addrs = _addresses(udp, host), _addresses(tcp, host)
    connect_addrs = _addresses(connect, "127.0.0.1")
    tls_server, tls_client = _tls_contexts(tls, tcp_addrs, connect_addrs, tls_cert, tls_key, tls_ca)
    greeting = _tak_login(fmt, connect_addrs, tak_user, tak_uid)
    out.mkdir(parents=True, exist_ok=True)
    collector = Collector(out.resolve(), fmt, prefix or fmt, max_records)
    listener = Listener(collector, udp_addrs, tcp_addrs, flush_seconds, _listen.max_message_bytes,
                        connect=connect_addrs, tls_server=tls_server, tls_client=tls_client, greeting=greeting,
                        ready=lambda bound: click.echo(
                            "receiving on " + ", ".join(f"{p} {h}:{n}" for p, h, n in bound)
                            + f" -> {collector.out} ({fmt}, every {flush_seconds:g} s)", err=True))

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await listener.run(stop)

    asyncio.run(main())
    click.echo(f"wrote {collector.written} message(s) in {collector.files} file(s)", err=True)
    if collector.messages or collector.dropped:
        click.echo(f"nsp listen: {len(collector.messages)} message(s) could not be written at the end and "
                   f"{collector.dropped} were dropped while {collector.out} could not be written", err=True)
        raise SystemExit(1)


# ----------------------------------------------------------------------- nsp worker


@click.command("worker")
@click.option("--concurrency", "-c", envvar="NSP_QUEUE_CONCURRENCY", type=click.IntRange(1),
              default=_queue.concurrency, show_default=True,
              help="jobs run at the same time by this worker [env NSP_QUEUE_CONCURRENCY]")
@click.option("--queue", "queues", multiple=True,
              help="only these queues (ingest, maintenance, ...); default all")
@click.option("--until-empty", is_flag=True, help="exit when no job is left instead of waiting")
@click.option("--name", default=None, help="worker name in the logs")
def worker(concurrency: int, queues: tuple[str, ...], until_empty: bool, name: str | None):
    """Run queue jobs (ingest files, exports, maintenance) until SIGTERM or Ctrl-C.

    Any number of workers on any number of machines share the one queue in PostgreSQL.
    A failed job is retried with exponential backoff (NSP_QUEUE_RETRY_ATTEMPTS,
    NSP_QUEUE_RETRY_EXPONENTIAL_WAIT). A worker sends a heartbeat every
    NSP_QUEUE_HEARTBEAT_SECONDS; the job of a worker silent for NSP_QUEUE_STALLED_SECONDS
    (killed, machine lost) runs again. On SIGTERM running jobs finish first
    (at most NSP_QUEUE_SHUTDOWN_TIMEOUT seconds). Logs: NSP_LOG_FORMAT=logfmt|json.
    """
    from ingest.delivery.worker import run_worker, setup_logging

    setup_logging()
    db.database_url()  # a clear error now rather than deep in the worker
    run_worker(concurrency, list(queues), until_empty, name)


# ---------------------------------------------------------------------- nsp sources


@click.group("sources")
def sources():
    """Ingest sources and their bearer tokens for POST /api/ingest."""





@sources.command("add")
@click.argument("name")
@click.option("--description", "-d", default=None, help="what feeds this source")
@actor_option
def sources_add(name: str, description: str | None, actor: str):
    """Create source NAME and print its new token (shown only this once)."""
    from ingest.delivery import sources as src

    with db.connect(autocommit=True) as conn:
        token = src.add(conn, name, actor, description)
    click.echo(token)
    click.echo(f"# token for source {name!r}; it is stored only as a hash and "
               "cannot be shown again", err=True)


@sources.command("list")
@click.option("--active", is_flag=True, help="only sources whose token is valid")
def sources_list(active: bool):
    """List sources: name, state, created, last used."""
    from ingest.delivery import sources as src

    with db.connect(autocommit=True) as conn:
        rows = src.list_sources(conn, include_revoked=not active)
    if not rows:
        click.echo("no sources (add one with `nsp sources add NAME`)")
        return
    click.echo(f"{'name':<24} {'state':<8} {'created':<20} {'last used':<20} description")
    for s in rows:
        fmt = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else "-"  # noqa: E731
        state = "active" if s.active else "revoked"
        click.echo(f"{s.name:<24} {state:<8} {fmt(s.created_at):<20} {fmt(s.last_used_at):<20} "
                   f"{s.description or ''}")


@sources.command("revoke")
@click.argument("name")
@actor_option
def sources_revoke(name: str, actor: str):
    """Revoke the token of source NAME (its requests get 401 from now on)."""
    from ingest.delivery import sources as src

    with db.connect(autocommit=True) as conn:
        src.revoke(conn, name, actor)
    click.echo(f"revoked {name}")


# --------------------------------------------------------------------- nsp scenario


def _parse_end(value: str | None):
    from datetime import datetime

    if value is None:
        return None
    try:
        end = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from exc
    return end if end.tzinfo else end.replace(tzinfo=UTC)


def _write_history(sc, out: Path) -> dict[str, int]:
    """Write the scenario history, with a progress bar on a terminal."""
    import sys

    from rich.progress import Progress

    if not sys.stderr.isatty():
        return sc.write(out)
    with Progress(transient=True) as bar:
        task = bar.add_task(f"writing {sc.days} days into {out}", total=None)
        return sc.write(out, lambda done, total: bar.update(task, completed=done, total=total))


@click.command("scenario")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True,
              help="days of history to write")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="write the history here (one sub-folder per feed)")
@click.option("--seed", type=int, default=1, show_default=True, help="same seed, same files")
@click.option("--end", "end", default=None,
              help="end of the history, ISO 8601 (default: this hour); fix it for byte-identical output")
@click.option("--live", "live", type=click.Path(file_okay=False, path_type=Path),
              help="then keep writing new small files here, times = now, until Ctrl-C")
@click.option("--speed", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
              help="live mode: the scenario's events this many times faster than real time (24: a day an hour)")
@click.option("--every", type=click.FloatRange(min=0.01), default=4.0, show_default=True,
              help="live mode: seconds between position files (own assets' CoT or AIS), ±50 %")
@click.option("--max-files", type=click.IntRange(1), default=None, help="live mode: stop after N files")
@click.option("--ais-udp", "ais_udp", metavar="HOST:PORT", default=None,
              help="live mode: send AIS as a receiver does, a sentence a UDP datagram (to `nsp listen`), not as files")
@click.option("--cot-udp", "cot_udp", metavar="HOST:PORT", default=None,
              help="live mode: send own assets' CoT as ATAK does, an event a UDP datagram (to `nsp listen`), not as files")
@click.option("--rid-udp", "rid_udp", metavar="HOST:PORT", default=None,
              help="live mode: send the drones' Remote ID as a scanner does, a detection a UDP datagram "
                   "(to `nsp listen --format remoteid`), not as files")
@click.option("--drones-every", type=click.FloatRange(min=0), default=900.0, show_default=True,
              help="live mode: seconds between drones flying in from Belarus, ±30 % (0: none)")
def scenario(days, out, seed, end, live, speed, every, max_files, ais_udp, cot_udp, rid_udp, drones_every):
    """Write a plausible week of Latvia as feed files (GeoJSON, NDJSON, CSV, GPX, CoT, AIS).

    Crossing attempts on the Belarusian border (groups of 5-40, mostly at night, around
    Krāslava-Silene-Daugavpils), smuggling on the Russian and Belarusian borders, UAV
    sightings, suspect vessels, patrol tracks, own assets and AIS traffic, placed on the
    real border and sea lanes. Point `nsp watch` at the folder: each sub-folder's name is
    its source. Files are written as NAME.part and renamed.
    """
    from ingest.delivery.scenario import Live, Scenario

    if out is None and live is None:
        raise click.UsageError("give --out DIR (history), --live DIR (real time), or both")
    if out is not None:
        counts = _write_history(Scenario(seed=seed, end=_parse_end(end), days=days), out)
        for folder, n in sorted(counts.items()):
            click.echo(f"{n:>4} file(s) in {out / folder}")
    if live is not None:
        stop = stop_event()
        click.echo(f"live scenario into {live} (speed {speed}); Ctrl-C to stop", err=True)
        def udp(value):
            if not value:
                return None
            [a] = _addresses([value], "127.0.0.1")
            return (a.host, a.port)

        feed = Live(live, seed=seed, speed=speed, every=every, ais_udp=udp(ais_udp), cot_udp=udp(cot_udp),
                    rid_udp=udp(rid_udp), drones_every=drones_every)
        n = feed.run(stop, max_files)
        click.echo(f"wrote {n} live file(s)" + (f", sent {feed.ais_sent} AIS sentence(s) to {ais_udp}" if ais_udp else "")
                   + (f", sent {feed.cot_sent} CoT event(s) to {cot_udp}" if cot_udp else "")
                   + (f", sent {feed.rid_sent} Remote ID detection(s) of {feed.drones} drone(s) to {rid_udp}"
                      if rid_udp else ""), err=True)


# ------------------------------------------------------------------------- nsp demo


@click.command("demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              envvar="NSP_DEMO_DIR", default=None,
              help="demo folder; the drop folder is DIR/inbox [env NSP_DEMO_DIR; default .nsp/demo]")
@click.option("--days", type=click.IntRange(1, 60), envvar="NSP_DEMO_DAYS", default=None,
              help="days of history [env NSP_DEMO_DAYS; default 7]")
@click.option("--speed", type=click.FloatRange(min=0.01), envvar="NSP_DEMO_SPEED", default=None,
              help="the live feed's events, times real time [env NSP_DEMO_SPEED; default 24: a day an hour]")
@click.option("--port", type=int, envvar=["NSP_DEMO_PORT", "NSP_WEB_PORT"], default=None,
              help="dashboard port [env NSP_DEMO_PORT, else NSP_WEB_PORT; default 8050]")
@click.option("--ais-udp", type=click.IntRange(1, 65535), envvar="NSP_DEMO_AIS_UDP", default=None,
              help="UDP port on 127.0.0.1 of the live AIS listener [env NSP_DEMO_AIS_UDP; default a free one]")
@click.option("--cot-udp", type=click.IntRange(1, 65535), envvar="NSP_DEMO_COT_UDP", default=None,
              help="UDP port on 127.0.0.1 of the live CoT listener [env NSP_DEMO_COT_UDP; default a free one]")
@click.option("--rid-udp", type=click.IntRange(1, 65535), envvar="NSP_DEMO_RID_UDP", default=None,
              help="UDP port on 127.0.0.1 of the live Remote ID listener (the drones) "
                   "[env NSP_DEMO_RID_UDP; default a free one]")
@click.option("--no-serve", is_flag=True, help="do not start the dashboard")
def demo(directory, days, speed, port, ais_udp, cot_udp, rid_udp, no_serve):
    """The demo: a week of scenario history and a live feed through the real pipeline.

    Writes the history into DIR/inbox, then runs as child processes `nsp watch`,
    `nsp worker`, `nsp scenario --live` and `nsp serve`, and prints the dashboard's URLs.
    Ctrl-C or SIGTERM stops them all cleanly. `make demo` runs `nsp db up`,
    `nsp db migrate` and `nsp sections load` before it.
    """
    from ingest.delivery.demo import Demo
    from ingest.delivery.settings import DemoSettings

    s = DemoSettings()
    rc = Demo(directory or s.dir, days or s.days, speed or s.speed, port or s.port,
              serve=not no_serve, ais_udp=ais_udp, cot_udp=cot_udp, rid_udp=rid_udp).run(stop_event(), click.echo)
    if rc:
        raise SystemExit(rc)
