"""Feed health and alerts: last delivery and late feeds (the LIVE / DATA STALE sign), the
feeds' table, the webhook alerts' health, and the recent high-impact events.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from geo.picture.common import iso, now_utc, run
from nsp import access
from nsp.access import Scope
from nsp.vocab import CATEGORIES

# The first report of a high or very high event is due within 24 hours of the authority
# becoming aware (Implementing Regulation (EU) 2021/581): later is a late report, which the
# alert bar, the wall's banners, the weekly summary and the monthly indicators say (the
# export's queries take it as %(report_limit)s).
REPORT_LIMIT = timedelta(hours=24)


def last_delivery(scope: Scope) -> datetime | None:
    """When a feed last delivered anything (last finished batch or received event)."""
    return delivery_state(scope)[0]


def delivery_state(scope: Scope) -> tuple[datetime | None, list[dict]]:
    """(last delivery of any feed, the late feeds) in one round trip: the LIVE / DATA STALE
    sign. A late feed has an expected interval (``nsp feeds expect``) and no completed delivery
    within it (rows: source, expected_every, last_delivery; the longest silent first). Feeds
    span all sections, so only scopes of every section are told which are late."""
    with access.read_connection(scope) as conn:
        last = run(conn, "picture_last_delivery", {})[0]["last_delivery"]
        late = run(conn, "picture_feeds_late", {}) if scope.all_sections else []
    return last, late


def is_stale(last: datetime | None, stale_minutes: int, now: datetime | None = None) -> bool:
    return last is None or (now or now_utc()) - last > timedelta(minutes=stale_minutes)


def recent_high(scope: Scope, since: datetime, sections=None, limit: int = 20,
                window_start: datetime | None = None) -> list[dict]:
    """High and very high events received after ``since``, or set to that impact by the NCC
    after it (``set_by_ncc``): the news first, very high before high, then the latest alerted;
    then the backlog (:func:`high_alerts`) in the same order.

    ``backlog``: the event occurred before ``window_start`` (the banner window's start; default
    ``since``) and was not raised by the NCC: a report that came in late, not news.
    ``alerted_at`` (the later of the reception and the NCC's decision) keeps its microseconds
    (ISO 8601), so that it can be passed back as the next ``since`` (the main page's alert
    acknowledges up to it). ``late_minutes`` is the time from occurrence to the first report
    when that is more than :data:`REPORT_LIMIT` (a late single-event report), else None;
    ``arrived_late_minutes`` the time from occurrence to its arrival here when the report was
    in time but reached the NCC more than :data:`REPORT_LIMIT` after the event (a feed's
    backlog), else None."""
    return high_alerts(scope, since, sections, limit, window_start)["rows"]


def high_alerts(scope: Scope, since: datetime, sections=None, limit: int = 20,
                window_start: datetime | None = None) -> dict:
    """What the wall's banners and the main page's alert bar show (:func:`recent_high`'s rows):
    ``news``, the rows that are news, most severe first, then the newest; ``news_total`` and
    ``very_high_total``, how many there are in all (beyond ``limit`` too); ``late``, how many
    backlog reports came in (occurred before ``window_start``: counted as "n late reports",
    never shown as new); ``newest``, the latest ``alerted_at`` of all (what an
    acknowledgement covers); ``rows``, news and backlog rows."""
    sections = scope.restrict(list(sections) if sections else None)  # [] matches nothing
    with access.read_connection(scope) as conn:
        rows = run(conn, "picture_recent_high", {"since": since, "sections": sections, "limit": limit,
                                                  "window_start": window_start or since})
    totals = {"news_total": 0, "very_high_total": 0, "late": 0, "newest": None}
    if rows:
        first = rows[0]
        totals = {"news_total": first["news_total"], "very_high_total": first["very_high_total"],
                  "late": first["backlog_total"], "newest": first["newest_alerted_at"].astimezone(UTC).isoformat()}
    for r in rows:
        for k in ("news_total", "very_high_total", "backlog_total", "newest_alerted_at"):
            del r[k]
        report, arrival = r.pop("reported_at") - r["occurred_at"], r["received_at"] - r["occurred_at"]
        r["late_minutes"] = report.total_seconds() / 60 if report > REPORT_LIMIT else None
        r["arrived_late_minutes"] = (arrival.total_seconds() / 60
                                     if r["late_minutes"] is None and arrival > REPORT_LIMIT else None)
        r["occurred_at"] = iso(r["occurred_at"])
        r["received_at"] = r["received_at"].astimezone(UTC).isoformat()
        r["alerted_at"] = r["alerted_at"].astimezone(UTC).isoformat()
    return totals | {"rows": rows, "news": [r for r in rows if not r["backlog"]]}


LAST_HOUR = timedelta(hours=1)


def last_hour(scope: Scope, now: datetime | None = None, sections=None, newest: int = 3) -> dict:
    """What happened in the hour up to ``now`` (the wall's "last hour" strip): first reports
    by the time they occurred, none rejected on validation. ``counts``: per category (every
    category, 0 included); ``newest``: the ``newest`` latest to occur, each with its age in
    whole minutes (``age``)."""
    now = now or now_utc()
    sections = scope.restrict(list(sections) if sections else None)  # [] matches nothing
    params = {"since": now - LAST_HOUR, "now": now, "sections": sections, "limit": newest}
    with access.read_connection(scope) as conn:
        counts = {r["category"]: r["n"] for r in run(conn, "picture_last_hour_counts", params)}
        rows = run(conn, "picture_last_hour_newest", params)
    for r in rows:
        r["age"] = int((now - r["occurred_at"]).total_seconds() // 60)
        r["occurred_at"] = iso(r["occurred_at"])
    return {"counts": {c: counts.get(c, 0) for c in CATEGORIES}, "newest": rows}


def feeds(scope: Scope, days: int = 7) -> list[dict]:
    """The feeds (sources) that delivered in the last ``days``, longest silent first: the last
    completed delivery, and in the last 24 h the files, refused records and failed files.
    For users who see every section; others get nothing (the feeds span all sections)."""
    if not scope.all_sections:
        return []
    with access.read_connection(scope) as conn:
        return run(conn, "picture_feeds", {"days": days})


def alert_health(scope: Scope) -> dict | None:
    """Webhook alerts in counts (subscriptions, sent_24h, waiting, waiting_long, failed_24h) for
    scopes of every section; None for others, and when no subscription is active."""
    if not scope.all_sections:
        return None
    with access.read_connection(scope) as conn:
        row = run(conn, "picture_alert_health", {})[0]
    return row if row["subscriptions"] or row["waiting"] or row["failed_24h"] else None


def neighbour_pulls(scope: Scope) -> list[dict]:
    """How the scheduled pulls of partner centres' shares go (geo/neighbours.py), failing ones
    first: name, country, pull_interval, pulled_at, pull_ok_at, pull_error, pull_failures,
    loaded_at. For scopes of every section; others get nothing."""
    if not scope.all_sections:
        return []
    with access.read_connection(scope) as conn:
        return run(conn, "picture_neighbour_pulls", {})


def sources(scope: Scope) -> list[str]:
    with access.read_connection(scope) as conn:
        return [r["source"] for r in run(conn, "picture_sources", {})]
