"""The data-freshness sign shared by / and /wall: LIVE, or DATA STALE when feeds stop; and the
read replicas' lag, or REPLICA BEHIND (:mod:`nsp.replica`)."""

from __future__ import annotations

from dash import html

from dashboard.i18n import t
from dashboard.settings import web_settings
from geo import picture
from nsp import replica
from nsp.access import Scope
from nsp.durations import duration_text

LATE_NAMES = 2  # late feeds named in the sign; the tooltip names them all


def age_words(minutes: float, lang: str = "en") -> str:
    """``under a minute``, ``25 min``, ``30 h``, ``3 days`` (in the page's language)."""
    if minutes < 1:
        return t("under a minute", lang)
    if minutes < 120:
        return t("{n} min", lang, n=int(minutes))
    if minutes < 48 * 60:
        return t("{n} h", lang, n=int(minutes // 60))
    return t("{n} days", lang, n=int(minutes // 1440))


def late_report(event: dict, lang: str = "en") -> str:
    """Why an old high-impact event arrives as new, else ``""``: ``reported 3 days after the
    event`` when its first report came more than 24 hours after it (``late_minutes`` of
    :func:`geo.picture.recent_high`), ``arrived 5 days after the event`` when the report was in
    time but reached the NCC that late (``arrived_late_minutes``: a feed's backlog, a board's
    late batch, a history loaded at once)."""
    if event.get("late_minutes"):
        return t("reported {age} after the event", lang, age=age_words(event["late_minutes"], lang))
    if event.get("arrived_late_minutes"):
        return t("arrived {age} after the event", lang, age=age_words(event["arrived_late_minutes"], lang))
    return ""


def late_count(n: int, lang: str = "en") -> str:
    """``3 late reports of high-impact events``: high-impact events from before the banner
    window that arrived in it (:func:`geo.picture.high_alerts`'s ``late``), which the banners
    and the alert bar count rather than show as new; ``""`` for none."""
    if not n:
        return ""
    return t("{n} late report of a high-impact event" if n == 1 else "{n} late reports of high-impact events",
             lang, n=n)


def _since(last, now, lang: str) -> str:
    return t("last delivery {age} ago", lang, age=age_words((now - last).total_seconds() / 60, lang))


def _late_part(late: list[dict], now, lang: str = "en") -> html.Span:
    """``2 feeds late: ais, tak``; each feed's last delivery and interval in the tooltip."""
    names = [f["source"] for f in late]
    shown = ", ".join(names[:LATE_NAMES]) + (f" +{len(names) - LATE_NAMES}" if len(names) > LATE_NAMES else "")
    detail = "; ".join(
        f"{f['source']}: " + (_since(f["last_delivery"], now, lang) if f["last_delivery"]
                             else t("no delivery on record", lang))
        + t(", expected every {every}", lang, every=duration_text(f["expected_every"])) for f in late)
    text = t("{n} feeds late: {names}" if len(late) > 1 else "{n} feed late: {names}", lang, n=len(late), names=shown)
    return html.Span(text, className="nsp-late-detail", title=detail)


def freshness(scope: Scope, now=None, lang: str = "en") -> tuple[list, str]:
    """(children, className) of the sign: stale when no feed delivered for NSP_WEB_STALE_MINUTES;
    LIVE with a late-feeds note (scopes of every section) when some feeds missed their
    expected interval (``nsp feeds expect``) while others still deliver. In ``lang``."""
    s = web_settings()
    now = now or picture.now_utc()
    last, late = picture.delivery_state(scope)
    rep, rep_class = replica_part(lang)
    if picture.is_stale(last, s.stale_minutes, now):
        since = t("no data has ever been received", lang) if last is None else _since(last, now, lang)
        return [html.Span(t("DATA STALE", lang), className="nsp-stale-word"),
                html.Span(since, className="nsp-stale-detail"), *rep], "nsp-status nsp-stale" + rep_class
    live = [html.Span(t("LIVE", lang), className="nsp-live-word"),
            html.Span(_since(last, now, lang), className="nsp-live-detail"), *rep]
    if late:
        return live + [_late_part(late, now, lang)], "nsp-status nsp-live nsp-late" + rep_class
    return live, "nsp-status nsp-live" + rep_class


def lag_words(seconds: float | None, lang: str = "en") -> str:
    """``0.4 s``, ``12 s``, ``3 min``, ``2 h``: how far a read replica is behind."""
    if seconds is None:
        return t("unknown", lang)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return age_words(seconds / 60, lang)


def replica_part(lang: str = "en") -> tuple[list, str]:
    """The read replicas' part of the sign (``NSP_DB_READ_URL``), and the class it adds: nothing
    without replicas; ``replica 0.4 s`` (its lag) while they keep up; REPLICA BEHIND with the lag,
    and "reads from the primary" when none is in use, past ``NSP_DB_READ_MAX_LAG_SECONDS``."""
    st = replica.state()
    if st.status == "none":
        return [], ""
    if st.status == "ok":
        return [html.Span(t("replica {lag}", lang, lag=lag_words(st.lag_seconds, lang)),
                          className="nsp-replica-detail", id="nsp-replica-lag")], " nsp-replica-ok"
    detail = lag_words(st.lag_seconds, lang) if st.lag_seconds is not None else t("not answering", lang)
    fallback = [html.Span(t(" · reads from the primary", lang), className="nsp-replica-fallback")] if st.fallback else []
    return [html.Span([html.B(t("REPLICA BEHIND", lang)), " ", detail, *fallback], className="nsp-replica-behind",
                      id="nsp-replica-lag")], " nsp-replica-lagging"
