"""The data-freshness sign shared by / and /wall: LIVE, or DATA STALE when feeds stop."""

from __future__ import annotations

from dash import html

from dashboard.settings import web_settings
from geo import picture
from nsp.access import Scope
from nsp.durations import duration_text

LATE_NAMES = 2  # late feeds named in the sign; the tooltip names them all


def _age(minutes: float) -> str:
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{int(minutes)} min"
    if minutes < 48 * 60:
        return f"{int(minutes // 60)} h"
    return f"{int(minutes // 1440)} days"


def _late_part(late: list[dict], now) -> html.Span:
    """``2 feeds late: ais, tak``; each feed's last delivery and interval in the tooltip."""
    names = [f["source"] for f in late]
    shown = ", ".join(names[:LATE_NAMES]) + (f" +{len(names) - LATE_NAMES}" if len(names) > LATE_NAMES else "")
    detail = "; ".join(
        f"{f['source']}: " + (f"last delivery {_age((now - f['last_delivery']).total_seconds() / 60)} ago"
                             if f["last_delivery"] else "no delivery on record")
        + f", expected every {duration_text(f['expected_every'])}" for f in late)
    return html.Span(f"{len(late)} feed{'s' if len(late) > 1 else ''} late: {shown}", className="nsp-late-detail",
                     title=detail)


def freshness(scope: Scope, now=None) -> tuple[list, str]:
    """(children, className) of the sign: stale when no feed delivered for NSP_WEB_STALE_MINUTES;
    LIVE with a late-feeds note (scopes of every section) when some feeds missed their
    expected interval (``nsp feeds expect``) while others still deliver."""
    s = web_settings()
    now = now or picture.now_utc()
    last, late = picture.delivery_state(scope)
    if picture.is_stale(last, s.stale_minutes, now):
        since = "no data has ever been received" if last is None else \
            f"last delivery {_age((now - last).total_seconds() / 60)} ago"
        return [html.Span("DATA STALE", className="nsp-stale-word"), html.Span(since, className="nsp-stale-detail")], \
            "nsp-status nsp-stale"
    live = [html.Span("LIVE", className="nsp-live-word"),
            html.Span(f"last delivery {_age((now - last).total_seconds() / 60)} ago", className="nsp-live-detail")]
    if late:
        return live + [_late_part(late, now)], "nsp-status nsp-live nsp-late"
    return live, "nsp-status nsp-live"
