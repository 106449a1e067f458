"""The data-freshness sign shared by / and /wall: LIVE, or DATA STALE when feeds stop."""

from __future__ import annotations

from dash import html

from dashboard.settings import web_settings
from geo import picture
from nsp.access import Scope


def _age(minutes: float) -> str:
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{int(minutes)} min"
    if minutes < 48 * 60:
        return f"{int(minutes // 60)} h"
    return f"{int(minutes // 1440)} days"


def freshness(scope: Scope, now=None) -> tuple[list, str]:
    """(children, className) of the sign: stale when no feed delivered for NSP_WEB_STALE_MINUTES."""
    s = web_settings()
    now = now or picture.now_utc()
    last = picture.last_delivery(scope)
    if picture.is_stale(last, s.stale_minutes, now):
        since = "no data has ever been received" if last is None else \
            f"last delivery {_age((now - last).total_seconds() / 60)} ago"
        return [html.Span("DATA STALE", className="nsp-stale-word"), html.Span(since, className="nsp-stale-detail")], \
            "nsp-status nsp-stale"
    return [html.Span("LIVE", className="nsp-live-word"),
            html.Span(f"last delivery {_age((now - last).total_seconds() / 60)} ago", className="nsp-live-detail")], \
        "nsp-status nsp-live"
