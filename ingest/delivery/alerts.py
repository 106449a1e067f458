"""Webhook alerts: new events of high impact, posted to the centre's own chat, pager or SMS gateway.

    queue_alerts(conn, source, batch_id)   # in the ingest batch's transaction: the outbox
    deliver_due()                          # a worker: post what is due, retry with backoff

A subscription (``nsp alerts add``, table ``alert_subscription``) names a URL, the lowest
impact it wants, and optionally sections and categories. Every new event it asks for gets a
row in ``alert_delivery`` in the same transaction that stores the event (the outbox): a stored
event has its alert queued, a rolled-back batch leaves none, and the unique (subscription,
event) key makes a re-delivered event alert once. So does an event that a newer message
raises from below the subscription's impact to it or above (``raised_from``: a Cursor on
Target marker re-typed from unknown to hostile). A subscription made with ``--feeds`` is also
told of each feed that misses its expected interval (``nsp feeds expect``), once per silence.

A worker posts each due row as JSON (below), signed with the subscription's secret:
``X-NSP-Signature: sha256=<hex HMAC-SHA256 of the body>``; ``X-NSP-Delivery: <row id>``
(the same on a retry, so a receiver can drop a repeat). A 2xx answer is delivered; anything
else, or no answer within ``NSP_ALERT_TIMEOUT_SECONDS``, is retried after
``NSP_ALERT_RETRY_SECONDS`` doubling up to 30 minutes, until ``NSP_ALERT_MAX_ATTEMPTS``;
then the row is ``failed`` and ``/healthz`` says so. Rows are claimed with
``FOR UPDATE SKIP LOCKED``: any number of workers share them.

The message carries ``text`` (one line, for chat webhooks that show a ``text`` field) and
the event's fields for a program.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import urllib.error
import urllib.request
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

import psycopg

from ingest.delivery.settings import AlertSettings
from nsp import db
from nsp.durations import duration_text
from nsp.queries import queries
from nsp.vocab import CATEGORY_SHORT

log = logging.getLogger("nsp.ingest.alerts")

MAX_WAIT_SECONDS = 1800


def has_subscriptions(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM alert_subscription WHERE active) AS any").fetchone()["any"]


def queue_alerts(conn: psycopg.Connection, source: str, batch_id: int) -> int:
    """In the batch's transaction (with a subscription active): queue the alerts of its new
    events and of those it raised to an alerting impact; how many were queued."""
    return conn.execute(queries["alerts_outbox"], {"source": source, "batch_id": batch_id}).rowcount


def queue_feed_alerts(conn: psycopg.Connection) -> int:
    """Queue an alert for each late feed (nsp_feeds_late()) and subscription made with --feeds,
    once per silence; how many were queued."""
    return conn.execute(queries["alerts_feeds_outbox"]).rowcount


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed_message(row: dict, link_base: str = "") -> dict:
    """The JSON body of a late feed's delivery (``"type": "nsp.feed_late"``)."""
    since, every = row["feed_since"], row["feed_every"]
    text = (f"FEED LATE: {row['feed_source']} · "
            + (f"last delivery {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if since else "no delivery on record")
            + (f" · expected every {duration_text(every)}" if every else ""))
    body = {"type": "nsp.feed_late", "subscription": row["subscription"], "text": text,
            "feed": {"source": row["feed_source"], "last_delivery": _iso(since) if since else None,
                     "expected_every_seconds": int(every.total_seconds()) if every else None}}
    if link_base:
        body["link"] = f"{link_base.rstrip('/')}/"
    return body


def message(row: dict, link_base: str = "") -> dict:
    """The JSON body of one delivery: a new or raised event, or a late feed."""
    if row.get("feed_source"):
        return feed_message(row, link_base)
    impact = row["impact"].replace("_", " ").upper()
    if row.get("raised_from"):
        impact += f" (raised from {row['raised_from'].replace('_', ' ')})"
    category = CATEGORY_SHORT.get(row["category"], row["category"])
    parts = [f"{impact}: {category}",
             row["section_code"] or "outside every section"]
    if row["persons"]:
        parts.append(f"{row['persons']} persons")
    parts.append(row["occurred_at"].astimezone(UTC).strftime("%H:%M UTC"))
    text = " · ".join(parts) + (" (follow-up report)" if row["follow_up"] else "")
    body = {
        "type": "nsp.alert",
        "subscription": row["subscription"],
        "text": text,
        "event": {
            "id": row["event_id"], "category": row["category"], "subtype": row["subtype"],
            "impact": row["impact"], "persons": row["persons"], "section": row["section_code"],
            "section_name": row["section_name"], "occurred_at": _iso(row["occurred_at"]),
            "received_at": _iso(row["received_at"]), "lon": round(row["lon"], 6), "lat": round(row["lat"], 6),
            "source": row["source"], "description": row["description"], "follow_up": row["follow_up"],
            "raised_from": row.get("raised_from"),
        },
    }
    if link_base:
        query = {"window": "6h", **({"sections": row["section_code"]} if row["section_code"] else {})}
        body["link"] = f"{link_base.rstrip('/')}/?{urlencode(query)}"
    return body


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a delivery: urllib would follow a 301/302/303 with a GET without the
    body (and carry the signature to another host), and its 200 would count as sent."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx


_OPENER = urllib.request.build_opener(_NoRedirect)


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be a webhook, or None: http(s), a host, a numeric port, no spaces."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        return "an http:// or https:// URL with a host"
    return None


def post(url: str, secret: str, body: dict, delivery_id: int | str, timeout: float) -> int:
    """POST ``body``; the HTTP status of a 2xx answer. Raises otherwise (URLError, HTTPError
    for any other status, a 3xx included, timeouts, http.client errors)."""
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "nsp-alerts",
        "X-NSP-Signature": sign(secret, data), "X-NSP-Delivery": str(delivery_id),
    })
    with _OPENER.open(request, timeout=timeout) as response:
        return response.status


# What a POST may raise: no answer, a refused or odd answer, a URL urllib cannot use.
POST_ERRORS = (OSError, ValueError, http.client.HTTPException)


def post_error(exc: BaseException) -> tuple[str, int | None]:
    """What went wrong with a POST, in words, and the HTTP status when there was one."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}", exc.code
    if isinstance(exc, urllib.error.URLError):
        return f"no answer: {exc.reason}", None
    return f"{type(exc).__name__}: {exc}", None


def deliver_due(settings: AlertSettings | None = None, limit: int | None = None) -> dict[str, int]:
    """Post every due delivery (at most ``limit``), one row per transaction; the counts."""
    s = settings or AlertSettings()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    with db.connect() as conn:
        with conn.transaction():
            queue_feed_alerts(conn)  # late feeds found now join the queue
        for _ in range(limit or s.batch):
            with conn.transaction():
                row = conn.execute(queries["alerts_claim"]).fetchone()
                if row is None:
                    break
                try:
                    status = post(row["url"], row["secret"], message(row, s.link_base), row["id"], s.timeout_seconds)
                except POST_ERRORS as exc:
                    error, http_status = post_error(exc)
                    wait = min(MAX_WAIT_SECONDS, s.retry_seconds * 2 ** row["attempts"])
                    outcome = conn.execute(queries["alerts_retry"], {
                        "id": row["id"], "error": error[:500], "http_status": http_status, "wait": wait,
                        "max_attempts": s.max_attempts}).fetchone()["status"]
                    counts["failed" if outcome == "failed" else "retry"] += 1
                    log.warning("alert not delivered", extra={
                        "action": "alert_" + ("gave_up" if outcome == "failed" else "retry"),
                        "delivery": row["id"], "subscription": row["subscription"], "error": error})
                    continue
                conn.execute(queries["alerts_sent"], {"id": row["id"], "http_status": status})
                counts["sent"] += 1
    return counts
