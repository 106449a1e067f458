"""``nsp cot-out``: the picture to TAK clients in the field (geo/cot_stream.py)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click

from nsp import db
from nsp.cli_support import actor_option, stop_event
from nsp.durations import parse_duration


def _duration(_ctx, param, value):
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}", param=param) from None


def _max_ages(_ctx, param, value):
    """``own_assets=12h,vessels=15m`` -> {layer: timedelta}."""
    from geo.cot_stream import POSITION_LAYERS

    out = {}
    for item in (x.strip() for x in (value or "").split(",")):
        if not item:
            continue
        layer, _, duration = item.partition("=")
        if layer.strip() not in POSITION_LAYERS or not duration.strip():
            raise click.BadParameter(f"{item!r}: give LAYER=DURATION, LAYER one of {', '.join(POSITION_LAYERS)}",
                                     param=param)
        try:
            out[layer.strip()] = parse_duration(duration.strip())
        except ValueError as exc:
            raise click.BadParameter(f"{item!r}: {exc}", param=param) from None
    return out


def _codes(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


@click.command("cot-out")
@click.option("--to", "url", envvar="NSP_COT_OUT_URL", required=True, metavar="URL",
              help="tcp://HOST:PORT (a TAK server's input, 8087), tls://HOST:PORT (its TLS input, 8089) or "
                   "udp://GROUP:PORT (the SA multicast: udp://239.2.3.1:6969) [env NSP_COT_OUT_URL]")
@actor_option
@click.option("--sections", envvar="NSP_COT_OUT_SECTIONS", metavar="CODES",
              help="comma-separated section codes (default: every section the user may see) "
                   "[env NSP_COT_OUT_SECTIONS]")
@click.option("--layers", envvar="NSP_COT_OUT_LAYERS", default="events,sections", show_default=True,
              help="what to send, comma-separated: events (markers), sections (border lines by level), "
                   "own_assets (own units' latest positions, friendly), vessels, aircraft (latest positions, "
                   "unknown) [env NSP_COT_OUT_LAYERS]")
@click.option("--max-age", "max_age", envvar="NSP_COT_OUT_MAX_AGE", metavar="LAYER=DURATION,...",
              callback=_max_ages,
              help="how old a position may be and still be sent (its marker goes stale then): own_assets "
                   "(default 24h), vessels (30m), aircraft (5m); e.g. own_assets=12h,vessels=15m "
                   "[env NSP_COT_OUT_MAX_AGE]")
@click.option("--window", envvar="NSP_COT_OUT_WINDOW", default="24h", show_default=True, callback=_duration,
              help="open events that occurred within this long [env NSP_COT_OUT_WINDOW]")
@click.option("--poll", envvar="NSP_COT_OUT_POLL", default="5s", show_default=True, callback=_duration,
              help="how often changes are looked for and sent [env NSP_COT_OUT_POLL]")
@click.option("--resend", envvar="NSP_COT_OUT_RESEND", default="5m", show_default=True, callback=_duration,
              help="how often the whole picture is sent again, for clients that join late; markers go "
                   "stale after twice this if nsp stops sending [env NSP_COT_OUT_RESEND]")
@click.option("--tls-cert", envvar="NSP_COT_OUT_TLS_CERT", type=click.Path(dir_okay=False, path_type=Path),
              help="client certificate for tls://: PEM (key included, or --tls-key) or the user .p12 the TAK "
                   "server made [env NSP_COT_OUT_TLS_CERT]")
@click.option("--tls-key", envvar="NSP_COT_OUT_TLS_KEY", type=click.Path(dir_okay=False, path_type=Path),
              help="its private key, when separate (PEM) [env NSP_COT_OUT_TLS_KEY]")
@click.option("--tls-ca", envvar="NSP_COT_OUT_TLS_CA", type=click.Path(dir_okay=False, path_type=Path),
              help="the TAK server's CA: PEM or truststore-root.p12 (default: the system's); the password of "
                   "the key or the .p12 files comes from NSP_COT_OUT_TLS_PASSWORD only [env NSP_COT_OUT_TLS_CA]")
@click.option("--protocol", "protocol", envvar="NSP_COT_OUT_PROTOCOL", type=click.Choice(["xml", "protobuf"]),
              default="xml", show_default=True,
              help="CoT XML, or TAK Protocol Version 1 (protobuf) [env NSP_COT_OUT_PROTOCOL]")
@click.option("--group", envvar="NSP_COT_OUT_GROUP", default="Cyan", show_default=True,
              help="the ATAK team (__group name) the markers carry [env NSP_COT_OUT_GROUP]")
@click.option("--role", envvar="NSP_COT_OUT_ROLE", default="HQ", show_default=True,
              help="the ATAK role (__group role) [env NSP_COT_OUT_ROLE]")
@click.option("--uid-prefix", envvar="NSP_COT_OUT_UID_PREFIX", default="nsp", show_default=True,
              help="prefix of every uid sent; give each centre or share its own [env NSP_COT_OUT_UID_PREFIX]")
@click.option("--ttl", envvar="NSP_COT_OUT_TTL", type=click.IntRange(1, 255), default=1, show_default=True,
              help="multicast time to live (hops) [env NSP_COT_OUT_TTL]")
def cot_out(url, actor, sections, layers, max_age, window, poll, resend, tls_cert, tls_key, tls_ca, protocol, group, role,
            uid_prefix, ttl):
    """Stream the picture to TAK clients (ATAK, WinTAK, iTAK) as Cursor on Target.

    Events go as markers (type from category and subtype, hostile or unknown), sections as
    lines coloured by impact level, closed events as deletes; own units, vessels and aircraft
    at their latest positions when their layers are chosen. Changes go as they happen
    (every --poll), the whole picture every --resend. Everything is read as the nsp user
    --actor, so the share never holds more than that user may see. Runs until SIGTERM or
    Ctrl-C; a dropped stream is reconnected, a database outage waited out (the stream
    stays open and the whole picture goes again when the database is back); started while
    the database is down, it waits for it.
    """
    import asyncio

    from geo.cot_out import Style
    from geo.cot_stream import Destination, log, make_share, run
    from ingest.delivery.worker import setup_logging

    setup_logging()
    # Started while the database is down, it waits for it (backoff, logged) before it reads the
    # user's scope; stopped meanwhile, it ends without sending anything.
    if not db.wait_for_database(stop_event(), "cot-out", log):
        return
    share = make_share(actor, _codes(sections), _codes(layers), max_age=max_age, window=window, poll=poll, resend=resend,
                       style=Style(uid_prefix=uid_prefix, group=group, role=role))
    dest = Destination(url, tls_cert=tls_cert, tls_key=tls_key, tls_ca=tls_ca,
                       tls_password=os.environ.get("NSP_COT_OUT_TLS_PASSWORD") or None,
                       tak_proto=1 if protocol == "protobuf" else 0, multicast_ttl=ttl)
    if dest.scheme == "tls":
        dest.tls_context()  # a certificate that cannot be used is an error now, not at each reconnect
    where = ", ".join(share.sections) if share.sections is not None else "all sections in scope"
    click.echo(f"cot-out to {url} as {actor}: {', '.join(sorted(share.layers))} of {where}", err=True)

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await run(share, dest, stop=stop)

    counters = asyncio.run(main())
    click.echo(f"sent {counters.sent} messages ({counters.deletes} deletes) over {counters.connects} connection(s)",
               err=True)


globals()["cot-out"] = cot_out  # nsp/cli.py finds a command by its name
