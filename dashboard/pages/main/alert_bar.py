"""The header's LIVE / DATA STALE / REPLAY sign and the alert bar of new high-impact
events (its acknowledgement and its chime).
"""

from __future__ import annotations

from datetime import timedelta

from dash import Input, Output, State, callback, clientside_callback, html, no_update

from dashboard.components import status, unchanged
from dashboard.components.times import event_time
from dashboard.i18n import current, impact_label, kind_label, t
from dashboard.pages.main.shared import picture_at
from dashboard.scope import current_scope
from dashboard.settings import web_settings
from dashboard.state import parse_time
from geo import picture


def update_status(_n, state: dict | None = None) -> tuple:
    """The header's sign: LIVE or DATA STALE (status.freshness); in a replay (an "as at" time)
    REPLAY with that time, so yesterday's picture is never taken for the live one."""
    lang = current()
    at = picture_at(state)
    if at is not None:
        return [html.Span(t("REPLAY", lang), className="nsp-replay-word"),
                html.Span(t("as at {time}", lang, time=f"{at:%Y-%m-%d %H:%M} UTC"), className="nsp-live-detail"),
                html.Span(" · " + (t("as happened", lang) if (state or {}).get("replay") == "happened"
                                   else t("as known then", lang)), className="nsp-live-detail nsp-replay-mode-word")], \
            "nsp-status nsp-replay"
    return status.freshness(current_scope(), lang=lang)


def update_alert(_n, state: dict, acknowledged: str | None) -> tuple:
    """The alert bar: high and very high events received in the last NSP_WEB_BANNER_MINUTES
    (or set to that impact by the NCC then) in the filtered sections, newer than what this
    browser tab acknowledged; none in a replay. The most severe, then the newest, and how many more; events
    from before that window (a feed's backlog) are counted as late reports, never shown as new.

    Returns (text, className, the newest alerted_at shown, or no_update)."""
    if picture_at(state) is not None:  # a replay: today's alerts are not of the picture shown
        return "", "nsp-alert nsp-hidden", no_update
    s = web_settings()
    since = window_start = picture.now_utc() - timedelta(minutes=s.banner_minutes)
    ack = parse_time(acknowledged) if acknowledged else None
    if ack is not None and ack > since:
        since = ack
    alerts = picture.high_alerts(current_scope(), since, (state or {}).get("sections") or None,
                                 window_start=window_start)
    if not alerts["rows"]:
        return "", "nsp-alert nsp-hidden", no_update
    lang = current()
    late = status.late_count(alerts["late"], lang)
    if not alerts["news"]:  # only late reports: counted, in a quiet bar
        return [late], "nsp-alert nsp-alert-late", alerts["newest"]
    top = alerts["news"][0]  # the most severe, then the newest
    text = [html.B(t("New {impact} impact: ", lang, impact=impact_label(top["impact"], lang))),
            f"{kind_label(top['category'], top.get('subtype'), lang)} · "
            f"{top['section_code'] or t('outside sections', lang)}",
            t(" · {n} persons", lang, n=top["persons"]) if top.get("persons") else "",
            f" · {event_time(top['occurred_at'], picture.now_utc())}",
            f" · {note}" if (note := status.late_report(top, lang)) else "",
            t(" · impact set by the NCC", lang) if top["set_by_ncc"] else ""]
    if (more := alerts["news_total"] - 1) > 0:
        very = alerts["very_high_total"] - (top["impact"] == "very_high")
        text.append("  " + (t("(+ {n} more, {very} very high)", lang, n=more, very=very) if very
                            else t("(+ {n} more)", lang, n=more)))
    if late:
        text.append(f"  · {late}")
    # the newest alert's impact, for its chime (nsp_sound.js): the bar shows the most severe
    newest = max(alerts["news"], key=lambda r: r["alerted_at"])["impact"]
    return text, f"nsp-alert nsp-alert-{top['impact']} nsp-newest-{newest}", alerts["newest"]


def acknowledge_alert(_clicks, newest: str | None):
    """"Acknowledge" hides the alert until a newer high-impact event arrives (this tab)."""
    return newest or no_update


# The header's sign, which the page brings in its layout (view.py). The alert bar is not: it
# depends on what this browser tab acknowledged (a Store in the tab's session storage).
STATUS = unchanged.Part((Output("main-status", "children"), Output("main-status", "className")),
                        "main-status-digests", lambda state: update_status(0, state))


def register() -> None:
    """Register this part's callbacks with Dash: once per app, by the page (view.py)."""
    unchanged.callback(list(STATUS.outputs), Input("main-refresh", "n_intervals"), Input("main-state", "data"),
                       digests=STATUS.digests, prevent_initial_call=True)(update_status)

    # main-alert-newest only when it changed, too: the chime's callback below reads it
    unchanged.callback([Output("main-alert-text", "children"), Output("main-alert", "className"),
                        Output("main-alert-newest", "data")],
                       Input("main-refresh", "n_intervals"), Input("main-state", "data"), Input("main-alert-ack", "data"),
                       digests="main-alert-digests")(update_alert)

    callback(Output("main-alert-ack", "data"), Input("main-alert-ack-button", "n_clicks"),
             State("main-alert-newest", "data"), prevent_initial_call=True)(acknowledge_alert)

    # the chime of a new alert, and the box's tick that lets the browser make sound (nsp_sound.js)
    clientside_callback("function(t, c, on) { return window.nsp.sound.alert(t, c, on); }",
                        Output("main-sound-heard", "data"), Input("main-alert-newest", "data"),
                        State("main-alert", "className"), State("main-sound", "value"))

    clientside_callback("function(on) { return window.nsp.sound.unlock(on); }",
                        Output("main-sound-unlocked", "data"), Input("main-sound", "value"), prevent_initial_call=True)
