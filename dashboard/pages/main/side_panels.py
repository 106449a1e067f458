"""The side and bottom panels: the per-section table, the event list's rows, own units
and the feeds' last deliveries.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import plotly.graph_objects as go
from dash import Input, Output, callback, html

from dashboard.components import mapview, unchanged
from dashboard.components.static import static
from dashboard.components.times import clock_time
from dashboard.components.trend import change_mark
from dashboard.i18n import current, t
from dashboard.pages.main.charts import timeseries_figure
from dashboard.pages.main.event_panel import event_list_rows
from dashboard.pages.main.level_form import level_badge
from dashboard.pages.main.shared import filter_or_none, table_head
from dashboard.scope import current_scope
from dashboard.settings import web_settings
from geo import picture
from ingest.formats.base import skipped_text
from nsp.durations import duration_text
from nsp.vocab import cot_type_words


def section_table_view(rows: list[dict], lang: str = "en") -> html.Table:
    now = picture.now_utc()
    head = table_head(("Section", "Level", "Events", "Persons", "vs prev.", "Last (UTC)"), lang)
    body = [
        html.Tr([
            html.Td([html.B(r["code"], className="nsp-nowrap"), html.Br(), html.Small(r["name"])]),
            html.Td(level_badge(r["impact_level"], lang)),
            html.Td(f"{r['events']:,}", className="nsp-num"),
            html.Td(f"{r['persons']:,}", className="nsp-num"),
            html.Td(change_mark(r["change"]), className="nsp-num"),
            # "12-02 20:10" may wrap between the date and the time: unbroken, it widened the
            # table past its 470 px column (a sideways scroll at 1600 px and below)
            html.Td(clock_time(r["last_event"], now)),
        ], className="nsp-internal" if r["kind"] == "land-internal" else None, id={"type": "main-section-row", "code": r["code"]})
        for r in rows
    ]
    return html.Table([html.Thead(head), html.Tbody(body)], className="nsp-table", id="main-section-table-body")


def update_panels(state: dict, _n, _version, _decisions=None) -> tuple:
    """Per-section table, event list, events over time."""
    lang = current()
    f = filter_or_none(state)
    if f is None:
        return html.Div(t("invalid time window", lang), className="nsp-error"), [], go.Figure()
    scope = current_scope()
    table = section_table_view(picture.by_severity(picture.section_table(scope, f)), lang)
    rows = event_list_rows(picture.event_rows(scope, f, limit=web_settings().event_list_limit), lang)
    bucket, series = picture.timeseries(scope, f)
    return table, rows, timeseries_figure(bucket, series, lang, span=(f.start, f.end))


def panels(state: dict, n, version, decisions=None) -> tuple:
    """:func:`update_panels` as the page is sent it: the section table as static markup, one
    component in the browser (dashboard/components/static.py)."""
    table, rows, figure = update_panels(state, n, version, decisions)
    return static(table), rows, figure


def units_view(assets: dict | None) -> html.Table | html.P:
    """Own units and their last report, from the map's own-asset layer (the same data): the
    silent ones (no report for ASSET_SILENT_MINUTES, and their patrol not ended) first, the
    longest silent on top; then the reporting ones; last the units whose patrol has ended
    (``end``: off duty, not silent), marked *patrol ended*."""
    lang = current()
    feats = [f["properties"] for f in (assets or {}).get("features", [])]
    if not feats:
        return html.P(t("No own unit has reported in the sections and time shown.", lang), className="nsp-muted")
    silent = mapview.ASSET_SILENT_MINUTES
    # silent first, the longest silent on top; then the reporting ones, the latest on top
    rows = sorted(((p, p["age"] > silent and not p.get("end")) for p in feats),
                  key=lambda ps: (not ps[1], bool(ps[0].get("end")), -ps[0]["age"] if ps[1] else ps[0]["age"],
                                  ps[0]["cs"]))
    now = picture.now_utc()
    head = table_head(("Unit", "Section", "Last report (UTC)", "Age", ""), lang)
    body = [
        html.Tr([
            html.Td([html.B(p["cs"]), html.Br(), html.Small(t(cot_type_words(p.get("type")), lang),
                                                            title=p.get("type"))]),
            html.Td(p.get("sec") or "–", className="nsp-nowrap"),
            html.Td(clock_time(p.get("t"), now), className="nsp-nowrap"),
            html.Td(duration_text(timedelta(minutes=p["age"])) if p["age"] else "0 min", className="nsp-num nsp-nowrap"),
            html.Td(html.Span(t("silent", lang), className="nsp-silent-badge") if is_silent
                    else html.Span(t("patrol ended", lang), className="nsp-muted") if p.get("end") else ""),
        ], className="nsp-silent" if is_silent else None)
        for p, is_silent in rows
    ]
    n_silent = sum(is_silent for _p, is_silent in rows)
    caption = html.Caption(t("{n} units, {silent} silent for more than {minutes} min", lang,
                             n=len(feats), silent=n_silent, minutes=silent))
    return html.Table([caption, html.Thead(head), html.Tbody(body)], className="nsp-table nsp-units",
                      id="main-units-table")


def feeds_view(_n) -> html.Table | html.P:
    """Each feed's last delivery and its last 24 hours: a silent feed among live ones shows
    here before the DATA STALE sign (which waits for all of them). Feeds that missed their
    expected interval (``nsp feeds expect``) are marked LATE and listed first, then the
    longest silent; records skipped on purpose are counted (reasons on hover); refused
    records and failed files are marked. Below: the webhook alerts' health and the scheduled
    pulls of partner centres' shares (a failing partner named, with its error)."""
    lang = current()
    rows = picture.feeds(current_scope())
    pulls = neighbour_pulls_line(lang)
    if not rows:
        return html.Div([html.P(t("No feed has delivered in the last 7 days.", lang), className="nsp-muted"),
                         *pulls])
    now = picture.now_utc()
    head = table_head(("Feed", "Last delivery (UTC)", "Age", "Expected", "Files 24 h", "Skipped 24 h",
                  "Refused / failed"), lang)
    body = [html.Tr([
        html.Td([html.B(r["source"])] + ([" ", html.Span(t("late", lang), className="nsp-late-badge")]
                                         if r["late"] else [])),
        html.Td(clock_time(r["last_delivery"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), now)
                if r["last_delivery"] else t("never", lang),
                className="nsp-nowrap"),
        html.Td(duration_text(now - r["last_delivery"]) if r["last_delivery"] else "–",
                className="nsp-num nsp-nowrap"),
        html.Td(t("every {every}", lang, every=duration_text(r["expected_every"])) if r["expected_every"] else "–",
                className="nsp-nowrap"),
        html.Td(f"{r['files_24h']:,}", className="nsp-num"),
        # read and left out on purpose (AIS types, CoT pings and chat, ...); the reasons on hover
        html.Td(f"{r['skipped_24h']:,}", className="nsp-num",
                title=skipped_text(r["skipped_reasons_24h"]) if r["skipped_reasons_24h"] else None),
        html.Td(f"{r['quarantined_24h']:,} / {r['failed_24h']:,}", className="nsp-num"),
    ], className=" ".join(c for c, on in (("nsp-feed-late", r["late"]),
                                          ("nsp-feed-trouble", r["quarantined_24h"] or r["failed_24h"])) if on)
       or None) for r in rows]
    n_late = sum(1 for r in rows if r["late"])
    caption = html.Caption([t("{n} late · ", lang, n=n_late) if n_late else "", t("Expected interval: ", lang),
                            html.Code("nsp feeds expect NAME 15m"), t(" · refused records: ", lang),
                            html.Code("nsp quarantine --source NAME")])
    table = html.Table([caption, html.Thead(head), html.Tbody(body)], className="nsp-table nsp-feeds",
                       id="main-feeds-table")
    alerts = picture.alert_health(current_scope())
    if alerts is None:
        return html.Div([table, *pulls]) if pulls else table
    trouble = alerts["failed_24h"] or alerts["waiting_long"]
    line = html.P([t("Webhook alerts, 24 h: {sent} sent, {waiting} waiting, {failed} given up", lang,
                     sent=alerts["sent_24h"], waiting=alerts["waiting"], failed=alerts["failed_24h"]),
                   " · ", html.Code("nsp alerts log")],
                  className="nsp-alert-health" + (" nsp-alert-trouble" if trouble else ""), id="main-alert-health")
    return html.Div([table, line, *pulls])


def neighbour_pulls_line(lang: str) -> list:
    """The scheduled neighbour pulls in one line (none when no partner is pulled, or the scope
    does not see every section): how many, how many failing, and each failing one with the
    time of its last good pull and its error."""
    pulls = picture.neighbour_pulls(current_scope())
    if not pulls:
        return []
    now = picture.now_utc()
    failing = [p for p in pulls if p["pull_failures"]]
    parts: list = [t("Neighbour pulls: {n} partners, {failing} failing", lang, n=len(pulls), failing=len(failing))]
    for p in failing:
        since = (clock_time(p["pull_ok_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), now)
                 if p["pull_ok_at"] else t("never", lang))
        parts += [" · ", html.B(f"{p['name']} ({p['country']})"), " ",
                  t("failing {failures}x, last good pull {since}", lang, failures=p["pull_failures"], since=since),
                  ": ", html.Span(p["pull_error"] or "", className="nsp-neighbour-error")]
    parts += [" · ", html.Code("nsp neighbours list")]
    return [html.P(parts, id="main-neighbour-pulls",
                   className="nsp-alert-health" + (" nsp-alert-trouble" if failing else ""))]


# The side panels' refreshing parts, which the page brings in its layout (view.py).
PANELS = unchanged.Part(
    (Output("main-section-table", "children"), Output("main-events", "rowData"), Output("main-timeseries", "figure")),
    "main-panel-digests", lambda state: panels(state, 0, 0, 0))
FEEDS = unchanged.Part((Output("main-feeds", "children"),), "main-feeds-digests", lambda _state: feeds(0))


def units(assets: dict | None):
    """:func:`units_view` as static markup (one component in the browser)."""
    return static(units_view(assets))


def feeds(n):
    """:func:`feeds_view` as static markup (one component in the browser)."""
    return static(feeds_view(n))


def register() -> None:
    """Register this part's callbacks with Dash: once per app, by the page (view.py)."""
    # sent only when changed (dashboard/components/unchanged.py): the grid and the chart kept as
    # they are (scrolled, zoomed) while the picture stays the same
    unchanged.callback(
        list(PANELS.outputs),
        Input("main-state", "data"), Input("main-refresh", "n_intervals"), Input("main-levels-version", "data"),
        Input("main-decisions-version", "data"), digests=PANELS.digests, prevent_initial_call=True,
    )(panels)

    # the page's first units come with its layout, from the first own-asset layer
    callback(Output("main-units", "children"), Input("main-assets", "data"), prevent_initial_call=True)(units)

    unchanged.callback(FEEDS.outputs[0], Input("main-refresh", "n_intervals"), digests=FEEDS.digests,
                       prevent_initial_call=True)(feeds)
