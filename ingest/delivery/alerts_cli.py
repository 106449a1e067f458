"""``nsp alerts add|list|disable|enable|remove|test|log|send``: webhook alerts of new events.

See :mod:`ingest.delivery.alerts` for what is posted, how it is signed and how it is retried. Every
change of a subscription is written to the audit log.
"""

from __future__ import annotations

import secrets

import click

from ingest.delivery.alerts import POST_ERRORS, check_url, deliver_due, message, post, post_error
from ingest.delivery.settings import AlertSettings
from nsp import access, db
from nsp.cli_support import actor_option, fetch_rows, since_option, utc_text
from nsp.vocab import CATEGORIES, IMPACTS


def _codes(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def _subscription(conn, name: str) -> dict:
    row = conn.execute("SELECT * FROM alert_subscription WHERE name = %s", (name,)).fetchone()
    if row is None:
        raise click.ClickException(f"no alert subscription {name!r} (nsp alerts list)")
    return row


@click.group("alerts")
def alerts():
    """Webhook alerts: new events of high impact posted to the centre's own gateways."""


@alerts.command("add")
@click.argument("name")
@click.option("--url", required=True, help="the webhook (http:// or https://) on the centre's network")
@click.option("--min-impact", type=click.Choice(IMPACTS), default="high", show_default=True,
              help="the lowest impact that alerts")
@click.option("--sections", default=None, metavar="CODES", help="only these sections (comma-separated)")
@click.option("--categories", default=None, metavar="CATS",
              help=f"only these categories (comma-separated: {', '.join(CATEGORIES)})")
@click.option("--feeds", is_flag=True, help="also tell of each feed that misses its expected interval")
@actor_option
def alerts_add(name, url, min_impact, sections, categories, feeds, actor):
    """Post each new event of at least --min-impact (in --sections, of --categories) to --url.
    Prints the signing secret once: the receiver checks X-NSP-Signature with it."""
    sections, categories = _codes(sections), _codes(categories)
    unknown = sorted(set(categories or ()) - set(CATEGORIES))
    if unknown:
        raise click.BadParameter(f"unknown categories {', '.join(unknown)}", param_hint="--categories")
    problem = check_url(url)
    if problem:
        raise click.BadParameter(problem, param_hint="--url")
    secret = secrets.token_urlsafe(32)
    who = actor
    with db.connect() as conn, conn.transaction():
        if sections:
            known = {r["code"] for r in conn.execute("SELECT code FROM border_section WHERE code = ANY (%s)",
                                                      (sections,))}
            missing = sorted(set(sections) - known)
            if missing:
                raise click.BadParameter(f"unknown sections {', '.join(missing)}", param_hint="--sections")
        if conn.execute("SELECT 1 FROM alert_subscription WHERE name = %s", (name,)).fetchone():
            raise click.ClickException(f"alert subscription {name!r} exists (nsp alerts remove {name} first)")
        conn.execute("INSERT INTO alert_subscription (name, url, secret, min_impact, sections, categories, feeds,"
                     " created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                     (name, url, secret, min_impact, sections, categories, feeds, who))
        access.audit(conn, who, "alert_add", name, {"url": url, "min_impact": min_impact, "sections": sections,
                                                    "categories": categories, "feeds": feeds})
    click.echo(f"{name}: new events of impact {min_impact} or higher"
               + (f" in {', '.join(sections)}" if sections else "")
               + (f" ({', '.join(categories)})" if categories else "")
               + (", and late feeds," if feeds else "") + f" are posted to {url}")
    click.echo(f"signing secret (shown only now): {secret}")


@alerts.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON rows (no secrets)")
def alerts_list(as_json):
    """The subscriptions: name, state, URL, lowest impact, sections, categories, and their
    deliveries of the last 24 h (sent / waiting / failed)."""
    for r in fetch_rows("alerts_list", {}, as_json, "no alert subscriptions (nsp alerts add NAME --url URL)"):
        scope = ", ".join(r["sections"]) if r["sections"] else "all sections"
        cats = ", ".join(r["categories"]) if r["categories"] else "all categories"
        click.echo(f"{r['name']} ({'active' if r['active'] else 'disabled'}): {r['min_impact']}+ · {scope} · {cats}"
                   + (" · late feeds" if r["feeds"] else "")
                   + f" -> {r['url']}; 24 h: {r['sent_24h']} sent, {r['waiting_24h']} waiting, {r['failed_24h']} failed")


def _set_active(name: str, active: bool, actor: str) -> None:
    who = actor
    with db.connect() as conn, conn.transaction():
        _subscription(conn, name)
        conn.execute("UPDATE alert_subscription SET active = %s WHERE name = %s", (active, name))
        access.audit(conn, who, "alert_enable" if active else "alert_disable", name)
    click.echo(f"{name}: {'enabled' if active else 'disabled (new events are not queued for it)'}")


@alerts.command("disable")
@click.argument("name")
@actor_option
def alerts_disable(name, actor):
    """Stop queueing alerts for NAME (what is queued is still delivered)."""
    _set_active(name, False, actor)


@alerts.command("enable")
@click.argument("name")
@actor_option
def alerts_enable(name, actor):
    """Queue alerts for NAME again."""
    _set_active(name, True, actor)


@alerts.command("remove")
@click.argument("name")
@actor_option
def alerts_remove(name, actor):
    """Remove NAME and its delivery record."""
    who = actor
    with db.connect() as conn, conn.transaction():
        _subscription(conn, name)
        n = conn.execute("DELETE FROM alert_delivery WHERE subscription_id = "
                         "(SELECT id FROM alert_subscription WHERE name = %s)", (name,)).rowcount
        conn.execute("DELETE FROM alert_subscription WHERE name = %s", (name,))
        access.audit(conn, who, "alert_remove", name, {"deliveries": n})
    click.echo(f"{name}: removed, with {n} delivery records")


@alerts.command("test")
@click.argument("name")
def alerts_test(name):
    """Post a test message to NAME now, signed as a real one ("type": "nsp.alert.test"), and
    say what the receiver answered. Nothing is stored."""
    s = AlertSettings()
    with db.connect() as conn:
        sub = _subscription(conn, name)
        now = conn.execute("SELECT now() AS now").fetchone()["now"]
        row = conn.execute("SELECT code, name FROM border_section ORDER BY code LIMIT 1").fetchone()
    sample = {"subscription": name, "event_id": "00000000-0000-0000-0000-000000000000",
              "category": "unauthorised_border_crossing", "subtype": "test", "impact": sub["min_impact"],
              "persons": 0, "section_code": row["code"] if row else None, "section_name": row["name"] if row else None,
              "occurred_at": now, "received_at": now, "lon": 0.0, "lat": 0.0, "source": "nsp alerts test",
              "description": "a test message from nsp alerts test", "follow_up": False}
    body = {**message(sample, s.link_base), "type": "nsp.alert.test"}
    body["text"] = "TEST " + body["text"]
    try:
        status = post(sub["url"], sub["secret"], body, "test", s.timeout_seconds)
    except POST_ERRORS as exc:
        raise click.ClickException(f"{name}: not delivered to {sub['url']}: {post_error(exc)[0]}") from None
    click.echo(f"{name}: delivered to {sub['url']} (HTTP {status})")


@alerts.command("log")
@click.option("--subscription", default=None, help="only this subscription")
@click.option("--status", type=click.Choice(["queued", "sent", "failed"]), default=None)
@since_option("24h")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print JSON rows")
def alerts_log(subscription, status, since, limit, as_json):
    """Deliveries, newest first: when queued, subscription, event, status, attempts, the last
    HTTP status or error. Times in UTC."""
    params = {"subscription": subscription, "status": status, "since": since, "limit": limit}
    for r in fetch_rows("alerts_log", params, as_json, "no alert deliveries in that window"):
        if r["feed_source"]:
            what, where = f"feed {r['feed_source']} late", ""
        else:
            what = r["impact"] + (f" (from {r['raised_from']})" if r["raised_from"] else "")
            where = r["section_code"] or "-"
        click.echo(f"{r['id']:>6}  {utc_text(r['created_at'])}  {r['subscription']:<16} {what:<9} "
                   f"{where:<11} {r['status']:<6} attempts {r['attempts']}"
                   + (f", HTTP {r['http_status']}" if r["http_status"] else "")
                   + (f", {r['last_error']}" if r["last_error"] and r["status"] != "sent" else ""))


@alerts.command("send")
def alerts_send():
    """Post the due deliveries now (what a worker does every 15 s) and print the counts."""
    counts = deliver_due()
    click.echo(f"sent {counts['sent']}, to retry {counts['retry']}, given up {counts['failed']}")
