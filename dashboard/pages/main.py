"""The situational picture at ``/``: map, filters (in the URL), panels, impact levels.

The callbacks are plain functions (unit-testable without a browser); they are registered at
the bottom of the module. Component ids start with ``main-``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from urllib.parse import urlencode

import dash
import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.components import mapview, status
from dashboard.components.header import page_header
from dashboard.components.times import clock_time, event_time
from dashboard.components.trend import change_mark
from dashboard.i18n import category_label, current, impact_label, kind_label, subtype_label, t
from dashboard.scope import current_scope
from dashboard.settings import national_bounds, web_settings
from dashboard.state import build_query, format_time, parse_query, parse_time, to_filter
from geo import picture
from geo.picture import CATEGORIES, IMPACTS, LEVELS, PictureError
from nsp.durations import duration_text
from nsp.errors import NspError

dash.register_page(__name__, path="/", name="Situational picture", title="nsp — situational picture")

P = "main"
EVENT_OUTPUTS = [mapview.event_layer_id(P, c) for c in CATEGORIES]
WINDOWS = ("1h", "6h", "24h", "7d")
CATEGORY_COLOURS = {c: mapview.CATEGORY_STYLE[c][0] for c in CATEGORIES}


# ======================================================================= callbacks


def controls_to_state(window, start, end, at, category, impact, source, sections, heat,
                      rejected=None) -> tuple[dict, str]:
    """The state of the filter controls, and the query string that encodes it."""
    raw = {"window": window, "start": start, "end": end, "at": at, "category": ",".join(category or []),
           "impact": ",".join(impact or []), "source": ",".join(source or []),
           "sections": ",".join(sections or []), "heat": "1" if heat else "0",
           "rejected": "1" if rejected else "0"}
    state = parse_query(urlencode({k: v for k, v in raw.items() if v}), web_settings().default_window)
    return state, build_query(state)


def _filter_or_none(state: dict):
    try:
        return to_filter(state or {})
    except PictureError:
        return None


# From this zoom the map's queries are limited to the visible area (the bounds).
VIEWPORT_ZOOM = 9


def pan_changes_nothing(triggered, zoom) -> bool:
    """Whether a map callback fired only because the map was panned below VIEWPORT_ZOOM,
    where the queries do not depend on the bounds (so there is nothing to fetch)."""
    return set(triggered or ()) == {"main-map.bounds"} and (zoom or 0) < VIEWPORT_ZOOM


def _map_filter(state: dict, zoom, bounds):
    f = _filter_or_none(state)
    if f is not None and bounds and (zoom or 0) >= VIEWPORT_ZOOM:
        (south, west), (north, east) = bounds
        f = replace(f, bbox=(west, south, east, north))
    return f


def update_map(state: dict, _n, zoom, bounds) -> tuple:
    """The main map update: events (points, or grid counts when many) and the density layer."""
    s = web_settings()
    lang = current()
    zoom = zoom or s.zoom
    f = _map_filter(state, zoom, bounds)
    if f is None:
        return (*[mapview.EMPTY] * len(CATEGORIES), mapview.EMPTY, t("invalid time window", lang))
    scope = current_scope()
    ev = picture.events_layer(scope, f, zoom=zoom, max_features=s.max_features,
                              max_bytes=s.max_payload_bytes, cell_pixels=s.cell_pixels)
    heat = picture.heat_layer(scope, f, zoom=zoom) if state.get("heat") else mapview.EMPTY
    note = t("{n} events", lang, n=f"{s.max_features:,}+" if ev["capped"] else f"{ev['total']:,}")
    if ev["mode"] == "grid":
        note += t(" · grouped by area (zoom in or narrow the filter for single events)", lang)
    if f.rejected:  # the reverse view: say so, since these are not events of the picture
        note += t(" · only reports rejected on validation", lang)
    elif ev["rejected"]:  # left out of the picture, but never silently
        note += t(" · not shown, rejected on validation: {n}", lang, n=f"{ev['rejected']:,}")
    foreign = [] if scope.all_sections else [c for c in f.sections or () if c not in scope.sections]
    if foreign:  # e.g. a link made by someone with a wider scope: say why they are empty
        note += t(" · not in your sections, not shown: {codes}", lang, codes=", ".join(foreign))
    return (*[ev["layers"][c] for c in CATEGORIES], heat, note)


def update_operational(state: dict, _n, zoom, bounds) -> tuple:
    """The operational layer: patrol tracks, own assets, vessels (a parallel request)."""
    s = web_settings()
    zoom = zoom or s.zoom
    f = _map_filter(state, zoom, bounds)
    if f is None:
        return mapview.EMPTY, mapview.EMPTY, mapview.EMPTY
    ops = picture.operational_layer(current_scope(), f, zoom=zoom, max_tracks=s.max_tracks,
                                    trail_minutes=s.vessel_trail_minutes,
                                    asset_max_age_hours=s.asset_max_age_hours)
    return ops["patrols"], ops["assets"], ops["vessels"]


def update_sections(state: dict, _n, _version, known_bounds) -> tuple:
    """Section lines and areas (levels as at ``at``), their hideout and the bounds store."""
    at = picture_at(state)
    layer = picture.sections_layer(current_scope(), level_at=at)
    hide = {"selected": list((state or {}).get("sections") or []), "dark": False, "labels": True}
    bounds = layer["bounds"] if layer["bounds"] != known_bounds else no_update
    return layer["lines"], layer["areas"], hide, hide, bounds


def picture_at(state: dict | None):
    return parse_time((state or {}).get("at"))


# What `main-zoomed` holds when the map shows all of a restricted user's sections.
OWN_AREA = "*"


def zoom_to_sections(state: dict, bounds: dict | None, zoomed: list | None) -> tuple:
    """Fly to the chosen sections when the choice changes (not on every refresh); with none
    chosen, a user limited to some sections (a sector commander) flies to all of them,
    which ``bounds`` (the sections the user may see) holds, and others to the country."""
    chosen = list((state or {}).get("sections") or [])
    own_area = not chosen and not current_scope().all_sections
    if own_area:
        chosen = [OWN_AREA]
    if not bounds or chosen == (zoomed or []):
        return no_update, no_update
    box = picture.union_bounds(bounds, list(bounds) if own_area else chosen)
    if box is None:
        return {"bounds": national_bounds(), "transition": "flyToBounds"}, chosen
    return {"bounds": box, "transition": "flyToBounds", "options": {"padding": [30, 30]}}, chosen


def fly_to_event(cell, rows) -> dict:
    """A click in the event list flies the map to that event."""
    if not cell or not rows:
        return no_update
    row = next((r for r in rows if r.get("id") == cell.get("rowId")), None)
    if row is None:
        return no_update
    return {"center": [row["lat"], row["lon"]], "zoom": 12, "transition": "flyTo"}


def select_event(cell) -> str:
    """A click in the event list also chooses the event the decision form is about."""
    if not cell or not cell.get("rowId"):
        raise PreventUpdate
    return cell["rowId"]


def _decision_text(d: dict, lang: str) -> str:
    if d["action"] == "impact":
        return t("impact {before} → {after}", lang, before=impact_label(d["from_value"], lang),
                 after=impact_label(d["to_value"], lang))
    return t("closed", lang, context="status") if d["action"] == "close" else t("reopened", lang)


def event_decision_view(event_id: str | None, rows: list[dict] | None) -> tuple:
    """The chosen event in one line, and the NCC's decisions on it (newest first)."""
    lang = current()
    row = next((r for r in rows or () if r.get("id") == event_id), None) if event_id else None
    if row is None:
        return t("Click a row in the list to choose an event.", lang), None
    summary = [html.B(f"{row['occurred_at'][:10]} {row['occurred_at'][11:16]}"), " · ",
               kind_label(row["category"], row.get("subtype"), lang), " · ", row["section_code"] or t("outside sections", lang),
               " · ", t("impact", lang), " ", html.B(impact_label(row["impact"], lang)),
               " · ", html.B(t(mapview.STATUS_WORDS.get(row["status"], row["status"]), lang, context="status")),
               " · ", row["source"]]
    decisions = picture.event_decisions(current_scope(), event_id)
    if not decisions:
        return summary, html.P(t("No decision on this event yet.", lang), className="nsp-muted")
    now = picture.now_utc()
    head = _head(("When (UTC)", "By", "Decision", "Reason"), lang)
    body = [html.Tr([html.Td(clock_time(d["decided_at"], now), title=d["decided_at"], className="nsp-nowrap"),
                     html.Td(d["decided_by"]), html.Td(_decision_text(d, lang), className="nsp-nowrap"),
                     html.Td(d["reason"])]) for d in decisions]
    return summary, html.Table([html.Thead(head), html.Tbody(body)], className="nsp-table nsp-event-history")


_DECISION_BUTTONS = {"main-event-set-impact": "impact", "main-event-close": "close", "main-event-reopen": "reopen"}


def decide_event(trigger: str | None, event_id: str | None, impact: str | None, reason: str | None,
                 version: int | None) -> tuple:
    """The decision form's buttons: set the chosen event's impact, close it or reopen it.
    Returns (message, decisions version, reason field)."""
    lang = current()
    action = _DECISION_BUTTONS.get(trigger or "")
    if action is None:
        raise PreventUpdate
    if not event_id:
        return html.Span(t("Click a row in the list to choose an event.", lang), className="nsp-error"), \
            no_update, no_update
    scope = current_scope()
    try:
        done = picture.decide_event(scope, event_id, action, reason or "", impact=impact)
    except NspError as exc:
        return html.Span(str(exc), className="nsp-error"), no_update, no_update
    text = {"impact": t("Impact set to {impact} by {user}", lang, impact=impact_label(done["to"], lang),
                        user=scope.user),
            "close": t("Event closed by {user}", lang, user=scope.user),
            "reopen": t("Event reopened by {user}", lang, user=scope.user)}[action]
    return html.Span(text, className="nsp-ok"), (version or 0) + 1, ""


def level_badge(level: str | None, lang: str = "en") -> html.Span:
    return html.Span(t(level or "internal", lang), className=f"nsp-level nsp-level-{level or 'internal'}")


def _head(titles, lang: str) -> html.Tr:
    return html.Tr([html.Th(t(h, lang) if h else h) for h in titles])


def section_table_view(rows: list[dict], lang: str = "en") -> html.Table:
    now = picture.now_utc()
    head = _head(("Section", "Level", "Events", "Persons", "vs prev.", "Last (UTC)"), lang)
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


# A bucket in milliseconds: each bar is 80 % of it, drawn in its middle, and the axis spans
# the window. Left to plotly, one lone bar got an axis of milliseconds (11:59:59.9996 …).
BUCKET_MS = {"hour": 3600_000, "day": 86400_000}


def timeseries_figure(bucket: str, rows: list[dict], lang: str = "en", span: tuple | None = None) -> go.Figure:
    """Events per hour or day by category, stacked; ``span``: the window (start, end)."""
    fig = go.Figure()
    for c in CATEGORIES:
        pts = [r for r in rows if r["category"] == c]
        fig.add_bar(x=[r["bucket"] for r in pts], y=[r["n"] for r in pts], width=0.8 * BUCKET_MS[bucket],
                    xperiod=BUCKET_MS[bucket], xperiodalignment="middle",
                    name=category_label(c, lang), marker_color=CATEGORY_COLOURS[c],
                    marker_pattern_shape={"unauthorised_border_crossing": "", "cross_border_crime": "/",
                                          "crisis_situation": "x", "other": "."}[c])
    fig.update_layout(barmode="stack", margin={"l": 40, "r": 10, "t": 30, "b": 30}, height=240,
                      title={"text": t("Events per hour (UTC) by category" if bucket == "hour" else
                                       "Events per day (UTC) by category", lang), "font": {"size": 13}},
                      legend={"orientation": "h", "y": -0.25, "font": {"size": 11}},
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="#f6f7f9", font={"family": "inherit"})
    if span:  # naive UTC, as the buckets are
        start, end = (t_.astimezone(UTC).replace(tzinfo=None) for t_ in span)
        if bucket == "day":  # whole days
            start = start.replace(hour=0, minute=0, second=0, microsecond=0)
            end = end.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        fig.update_xaxes(range=[start, end])
    return fig


def update_panels(state: dict, _n, _version, _decisions=None) -> tuple:
    """Per-section table, event list, events over time."""
    lang = current()
    f = _filter_or_none(state)
    if f is None:
        return html.Div(t("invalid time window", lang), className="nsp-error"), [], go.Figure()
    scope = current_scope()
    table = section_table_view(picture.by_severity(picture.section_table(scope, f)), lang)
    rows = event_list_rows(picture.event_rows(scope, f, limit=web_settings().event_list_limit), lang)
    bucket, series = picture.timeseries(scope, f)
    return table, rows, timeseries_figure(bucket, series, lang, span=(f.start, f.end))


def event_list_rows(rows: list[dict], lang: str) -> list[dict]:
    """The event list's rows with what the grid shows in words of ``lang``: the category,
    the impact (and its rank, to sort low → very high rather than by the words) and the
    status. The codes stay in the row for the fly-to and for anyone reading the data."""
    for r in rows:
        r["category_text"] = category_label(r["category"], lang)
        r["subtype_text"] = subtype_label(r.get("subtype"), lang)
        r["impact_text"] = impact_label(r["impact"], lang)
        r["impact_rank"] = IMPACTS.index(r["impact"]) if r["impact"] in IMPACTS else -1
        r["status_text"] = t(mapview.STATUS_WORDS.get(r["status"], r["status"]), lang,
                               context="status")
    return rows


# Cursor on Target types (MIL-STD-2525 letters after the affiliation) in words, longest
# prefix first; other types (GPX patrol modes, free text) are shown as they are.
_COT_WORDS = (("A-M-F-Q", "UAV"), ("A-M-H", "helicopter"), ("A-M-F", "aircraft"), ("A", "aircraft"),
              ("G-E-V", "vehicle"), ("G-U-C-I", "infantry unit"), ("G-U", "ground unit"),
              ("G", "ground"), ("S", "vessel"), ("U", "subsurface"))


def unit_type_label(object_type: str | None) -> str:
    """``a-f-A-M-H`` → ``helicopter``; anything that is not a CoT atom type is kept."""
    parts = (object_type or "").split("-")
    if len(parts) < 3 or parts[0] != "a":
        return object_type or ""
    rest = "-".join(parts[2:]).upper()
    for prefix, word in _COT_WORDS:
        if rest == prefix or rest.startswith(prefix + "-"):
            return word
    return object_type


def units_view(assets: dict | None) -> html.Table | html.P:
    """Own units and their last report, from the map's own-asset layer (the same data): the
    silent ones (no report for ASSET_SILENT_MINUTES) first, the longest silent on top."""
    lang = current()
    feats = [f["properties"] for f in (assets or {}).get("features", [])]
    if not feats:
        return html.P(t("No own unit has reported in the sections and time shown.", lang), className="nsp-muted")
    silent = mapview.ASSET_SILENT_MINUTES
    # silent first, the longest silent on top; then the reporting ones, the latest on top
    rows = sorted(((p, p["age"] > silent) for p in feats),
                  key=lambda ps: (not ps[1], -ps[0]["age"] if ps[1] else ps[0]["age"], ps[0]["cs"]))
    now = picture.now_utc()
    head = _head(("Unit", "Section", "Last report (UTC)", "Age", ""), lang)
    body = [
        html.Tr([
            html.Td([html.B(p["cs"]), html.Br(), html.Small(t(unit_type_label(p.get("type")), lang),
                                                            title=p.get("type"))]),
            html.Td(p.get("sec") or "–", className="nsp-nowrap"),
            html.Td(clock_time(p.get("t"), now), className="nsp-nowrap"),
            html.Td(duration_text(timedelta(minutes=p["age"])) if p["age"] else "0 min", className="nsp-num nsp-nowrap"),
            html.Td(html.Span(t("silent", lang), className="nsp-silent-badge") if is_silent else ""),
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
    longest silent; refused records and failed files are marked."""
    lang = current()
    rows = picture.feeds(current_scope())
    if not rows:
        return html.P(t("No feed has delivered in the last 7 days.", lang), className="nsp-muted")
    now = picture.now_utc()
    head = _head(("Feed", "Last delivery (UTC)", "Age", "Expected", "Files 24 h", "Refused / failed"), lang)
    body = [html.Tr([
        html.Td([html.B(r["source"])] + ([" ", html.Span(t("late", lang), className="nsp-late-badge")]
                                         if r["late"] else [])),
        html.Td(r["last_delivery"].astimezone(UTC).strftime("%m-%d %H:%M") if r["last_delivery"] else t("never", lang),
                className="nsp-nowrap"),
        html.Td(duration_text(now - r["last_delivery"]) if r["last_delivery"] else "–",
                className="nsp-num nsp-nowrap"),
        html.Td(t("every {every}", lang, every=duration_text(r["expected_every"])) if r["expected_every"] else "–",
                className="nsp-nowrap"),
        html.Td(f"{r['files_24h']:,}", className="nsp-num"),
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
        return table
    trouble = alerts["failed_24h"] or alerts["waiting_long"]
    line = html.P([t("Webhook alerts, 24 h: {sent} sent, {waiting} waiting, {failed} given up", lang,
                     sent=alerts["sent_24h"], waiting=alerts["waiting"], failed=alerts["failed_24h"]),
                   " · ", html.Code("nsp alerts log")],
                  className="nsp-alert-health" + (" nsp-alert-trouble" if trouble else ""), id="main-alert-health")
    return html.Div([table, line])


def update_status(_n) -> tuple:
    return status.freshness(current_scope(), lang=current())


def update_alert(_n, state: dict, acknowledged: str | None) -> tuple:
    """The alert bar: high and very high events received in the last NSP_WEB_BANNER_MINUTES
    (or set to that impact by the NCC then) in the filtered sections, newer than what this
    browser tab acknowledged.

    Returns (text, className, the newest alerted_at shown, or no_update)."""
    s = web_settings()
    since = picture.now_utc() - timedelta(minutes=s.banner_minutes)
    ack = parse_time(acknowledged) if acknowledged else None
    if ack is not None and ack > since:
        since = ack
    highs = picture.recent_high(current_scope(), since, (state or {}).get("sections") or None)
    if not highs:
        return "", "nsp-alert nsp-hidden", no_update
    lang = current()
    newest = highs[0]
    text = [html.B(t("New {impact} impact: ", lang, impact=impact_label(newest["impact"], lang))),
            f"{kind_label(newest['category'], newest.get('subtype'), lang)} · "
            f"{newest['section_code'] or t('outside sections', lang)}",
            t(" · {n} persons", lang, n=newest["persons"]) if newest.get("persons") else "",
            f" · {event_time(newest['occurred_at'], picture.now_utc())}",
            f" · {late}" if (late := status.late_report(newest, lang)) else "",
            t(" · impact set by the NCC", lang) if newest["set_by_ncc"] else ""]
    if len(highs) > 1:
        very = sum(h["impact"] == "very_high" for h in highs[1:])
        text.append("  " + (t("(+ {n} more, {very} very high)", lang, n=len(highs) - 1, very=very) if very
                            else t("(+ {n} more)", lang, n=len(highs) - 1)))
    return text, f"nsp-alert nsp-alert-{newest['impact']}", newest["alerted_at"]


def acknowledge_alert(_clicks, newest: str | None):
    """"Acknowledge" hides the alert until a newer high-impact event arrives (this tab)."""
    return newest or no_update


def submit_level(_clicks, code, level, reason, version) -> tuple:
    """The impact-level change form: records the decision by the current user."""
    scope = current_scope()
    try:
        picture.change_level(scope, code, level, reason or "")
    except NspError as exc:
        return html.Span(str(exc), className="nsp-error"), no_update, no_update
    return (html.Span(t("{code} set to {level} by {user}", current(), code=code, level=t(level, current()),
                        user=scope.user), className="nsp-ok"), (version or 0) + 1, "")


def level_history_view(code, _version) -> html.Table:
    lang = current()
    rows = picture.level_history(current_scope(), [code] if code else None, limit=30)
    head = _head(("When (UTC)", "Section", "From", "To", "By", "Reason"), lang)
    now = picture.now_utc()
    body = [html.Tr([html.Td(clock_time(r["decided_at"], now), title=r["decided_at"], className="nsp-nowrap"),
                     html.Td(r["section_code"], className="nsp-nowrap"),
                     html.Td(level_badge(r["from_level"], lang) if r["from_level"] else "–"),
                     html.Td(level_badge(r["to_level"], lang)), html.Td(r["decided_by"]), html.Td(r["reason"])])
            for r in rows]
    return html.Table([html.Thead(head), html.Tbody(body)], className="nsp-table nsp-history")


def reset_filters(_clicks) -> tuple:
    w = web_settings().default_window
    return w, None, None, None, [], [], [], [], [], [], 0


# ------------------------------------------------------------------------- replay
# The replay slider is the "as at" time in minutes before the moment the page was opened
# (0 = live). Playing moves it forward one step per tick; "as at" shows only what had been
# received by then, so the replay is the picture as the centre saw it.


def replay_value(at: str | None, origin: str) -> int:
    """Slider position of an "as at" time (0 when live or in the future)."""
    t, o = parse_time(at), parse_time(origin)
    if t is None or o is None or t >= o:
        return 0
    return -int((o - t).total_seconds() // 60)


def replay_to_at(minutes, origin: str) -> str | None:
    """The "as at" time of a slider position (None, live, at 0)."""
    o = parse_time(origin)
    if minutes is None or minutes >= 0 or o is None:
        return None
    return format_time(o + timedelta(minutes=minutes))


def replay_step(trigger: str | None, value, running: bool) -> tuple:
    """Play/pause and each tick: (slider value, interval disabled, button label).

    Play from live starts a day back; each tick moves one step (and changes nothing else);
    reaching now goes live and stops.
    """
    s = web_settings()
    lang = current()
    play, pause = "▶ " + t("Replay", lang), "❚❚ " + t("Pause", lang)
    value = value or 0
    if trigger == "main-replay-play":
        if running:
            return value, True, play
        return (value if value < 0 else -24 * 60), False, pause
    if not running:
        return no_update, no_update, no_update
    value = min(0, value + s.replay_step_minutes)
    # A tick moves the slider only: it never turns the replay back on. A tick that was on its
    # way when Pause was clicked, and answers after it, would otherwise re-enable the interval.
    return (value, no_update, no_update) if value < 0 else (0, True, play)


def _replay_marks(days: int, lang: str = "en") -> dict:
    return {-d * 24 * 60: (f"-{d}d" if d else t("now", lang)) for d in range(days, -1, -1)}


# ========================================================================== layout


def _dropdown(id_, options, value, placeholder):
    return dcc.Dropdown(id=id_, options=options, value=value, multi=True, placeholder=placeholder,
                        className="nsp-dd", clearable=True)


def layout(**query):
    s = web_settings()
    scope = current_scope()
    lang = current()
    if scope.role == "admin":  # need-to-know: administrators see no operational data
        return html.Div([page_header(scope, "main", lang=lang), html.Div([
            html.H2(t("No picture for administrators", lang)),
            html.P(t("An administrator manages users and sources and reads the audit log; the "
                     "situational picture is for the roles that need it (need-to-know).", lang)),
            html.A(t("Open the audit log", lang), href="/audit", id="main-admin-audit"),
        ], className="nsp-sheet")], className="nsp-page")
    ignored: list[str] = []  # what a hand-edited link asks for that the page cannot do: said, not dropped silently
    state = parse_query(urlencode({k: v for k, v in query.items() if isinstance(v, str)}), s.default_window, ignored)
    sections = picture.section_list(scope)
    section_options = [{"label": f"{r['code']} {r['name']}", "value": r["code"]} for r in sections]
    # A link may name sections the user may not see (one sent by a watch officer to a
    # commander): the filter keeps the user's own, and a note says what was left out.
    mine = {r["code"] for r in sections}
    foreign = [c for c in state["sections"] if c not in mine]
    state["sections"] = [c for c in state["sections"] if c in mine]
    external = [o for o, r in zip(section_options, sections) if r["kind"] != "land-internal"]
    sources = picture.sources(scope)
    can_change = picture.can_change_levels(scope)
    origin = format_time(picture.now_utc().replace(second=0, microsecond=0) + timedelta(minutes=1))

    header = page_header(scope, "main", status_id="main-status", clock_id="main-clock", lang=lang)
    # every event of the filter as a file: the same query string as the deep link, kept in step
    # with it by a clientside callback (geo/snapshot/web.py events_download)
    query = build_query(state)
    downloads = html.Span([
        t("Download:", lang), " ",
        html.A("CSV", id="main-download-csv", href="/export/events.csv" + query, className="nsp-download"), " · ",
        html.A("GeoJSON", id="main-download-geojson", href="/export/events.geojson" + query,
               className="nsp-download"),
    ], className="nsp-downloads", title=t("every event of the filter, not only the list's newest", lang)) \
        if scope.can_export else None

    filters = html.Div([
        html.Div([html.Label(t("Window", lang)),
                  dcc.RadioItems(id="main-window", options=[{"label": k, "value": k} for k in WINDOWS] + [
                      {"label": t("custom", lang), "value": "custom"}], value=state["window"],
                                 inline=True, className="nsp-segmented")], className="nsp-f"),
        html.Div([html.Label(t("From / to (UTC)", lang)),
                  dcc.Input(id="main-start", type="datetime-local", value=state["start"], debounce=True),
                  dcc.Input(id="main-end", type="datetime-local", value=state["end"], debounce=True)],
                 className="nsp-f nsp-f-custom", id="main-custom"),
        html.Div([html.Label(t("As at (UTC)", lang)),
                  dcc.Input(id="main-at", type="datetime-local", value=state["at"], debounce=True)],
                 className="nsp-f"),
        html.Div([html.Label(t("Replay (as at)", lang)),
                  html.Div([html.Button("▶ " + t("Replay", lang), id="main-replay-play",
                                        className="nsp-btn nsp-btn-ghost"),
                            dcc.Slider(id="main-replay", min=-s.replay_days * 24 * 60, max=0,
                                       step=s.replay_step_minutes, value=replay_value(state["at"], origin),
                                       marks=_replay_marks(s.replay_days, lang), included=False,
                                       allow_direct_input=False,  # Dash 4's number box: minutes from now
                                       updatemode="mouseup", className="nsp-replay-slider")],
                           className="nsp-replay")], className="nsp-f nsp-f-replay"),
        html.Div([html.Label(t("Category", lang)),
                  _dropdown("main-category", [{"label": category_label(c, lang), "value": c} for c in CATEGORIES],
                            state["category"], t("all", lang))], className="nsp-f nsp-f-wide"),
        html.Div([html.Label(t("Impact", lang)),
                  _dropdown("main-impact", [{"label": impact_label(i, lang), "value": i} for i in IMPACTS],
                            state["impact"], t("all", lang))], className="nsp-f"),
        html.Div([html.Label(t("Source", lang)),
                  _dropdown("main-source", [{"label": x, "value": x} for x in sorted(set(sources) | set(state["source"]))],
                            state["source"], t("all", lang))], className="nsp-f"),
        html.Div([html.Label(t("Sections", lang)),
                  _dropdown("main-sections", section_options, state["sections"],
                            t("national (all)", lang) if scope.all_sections else t("all my sections", lang))],
                 className="nsp-f nsp-f-wide"),
        html.Div([dcc.Checklist(id="main-heat", options=[{"label": " " + t("density", lang), "value": "on"}],
                                value=["on"] if state["heat"] else [], className="nsp-check"),
                  dcc.Checklist(id="main-rejected", options=[{"label": html.Span(
                      " " + t("rejected only", lang),
                      title=t("only the reports their source rejected on validation, which the picture leaves out",
                              lang)), "value": "on"}],
                                value=["on"] if state["rejected"] else [], className="nsp-check"),
                  # a chime for each new high-impact alert (nsp_sound.js); kept in this browser
                  dcc.Checklist(id="main-sound", options=[{"label": html.Span(
                      " " + t("sound", lang),
                      title=t("a chime when a new high or very high event arrives (this browser)", lang)),
                      "value": "on"}], value=[], persistence=True, persistence_type="local",
                                className="nsp-check"),
                  html.Button(t("Reset", lang), id="main-reset", className="nsp-btn nsp-btn-ghost")],
                 className="nsp-f nsp-f-end"),
    ], className="nsp-filters")

    can_decide = scope.can_close_events
    event_form = html.Div([
        html.H3(t("Decision on the chosen event", lang)),
        html.Div(id="main-event-chosen", className="nsp-event-chosen"),
        html.Div([
            dcc.Dropdown(id="main-event-impact", options=[{"label": impact_label(i, lang), "value": i} for i in IMPACTS],
                         placeholder=t("new impact", lang), className="nsp-dd", disabled=not can_decide),
            html.Button(t("Set impact", lang), id="main-event-set-impact", className="nsp-btn", disabled=not can_decide),
            html.Button(t("Close event", lang), id="main-event-close", className="nsp-btn nsp-btn-ghost",
                        disabled=not can_decide),
            html.Button(t("Reopen event", lang), id="main-event-reopen", className="nsp-btn nsp-btn-ghost",
                        disabled=not can_decide),
        ], className="nsp-row"),
        dcc.Textarea(id="main-event-reason", placeholder=t("reason (required): why the NCC decides so", lang),
                     className="nsp-textarea", disabled=not can_decide),
        html.Span(id="main-event-message",
                  children=None if can_decide else t("your role may not decide on events", lang)),
        html.Div(id="main-event-history", className="nsp-scroll"),
    ], id="main-event-decide", className="nsp-event-decide")

    levels_form = html.Div([
        html.H3(t("Impact level of a section", lang)),
        html.Div([
            dcc.Dropdown(id="main-level-section", options=external, placeholder=t("section", lang), className="nsp-dd"),
            dcc.Dropdown(id="main-level-value", options=[{"label": t(v, lang), "value": v} for v in LEVELS],
                         placeholder=t("new level", lang), className="nsp-dd"),
        ], className="nsp-row"),
        dcc.Textarea(id="main-level-reason",
                     placeholder=t("reason (required): the risk analysis behind the decision", lang),
                     className="nsp-textarea"),
        html.Div([html.Button(t("Record decision", lang), id="main-level-submit", className="nsp-btn",
                              disabled=not can_change),
                  html.Span(id="main-level-message",
                            children=None if can_change else t("your role may not change impact levels", lang))],
                 className="nsp-row"),
        html.Div(id="main-level-history", className="nsp-scroll"),
    ], className="nsp-card", id="main-levels")

    grid = dag.AgGrid(
        id="main-events",
        columnDefs=[
            # minWidth: below it the grid scrolls sideways instead of cutting every value short
            # the ISO time sorts and filters; it is shown as 2026-12-02 12:10
            {"field": "occurred_at", "headerName": t("Time (UTC)", lang), "sort": "desc", "minWidth": 170,
             "valueFormatter": {"function": "params.value ? params.value.slice(0, 10) + ' ' + params.value.slice(11, 16) : ''"}},
            {"field": "category_text", "headerName": t("Category", lang), "minWidth": 190},
            {"field": "subtype_text", "headerName": t("Subtype", lang), "minWidth": 150},
            # sorted by rank (low → very high), shown and filtered in words
            {"colId": "impact", "headerName": t("Impact", lang), "minWidth": 95, "maxWidth": 130,
             "valueGetter": {"function": "params.data.impact_rank"},
             "valueFormatter": {"function": "params.data.impact_text"},
             "filterValueGetter": {"function": "params.data.impact_text"},
             "cellDataType": "text", "filter": "agTextColumnFilter"},
            {"field": "persons", "headerName": t("Persons", lang), "filter": "agNumberColumnFilter", "minWidth": 95,
             "maxWidth": 110},
            {"field": "section_code", "headerName": t("Section", lang), "minWidth": 105, "maxWidth": 130},
            {"field": "source", "headerName": t("Source", lang), "minWidth": 120},
            {"field": "status_text", "headerName": t("Status", lang), "minWidth": 85, "maxWidth": 100},
            {"field": "confidence", "headerName": t("Conf.", lang), "minWidth": 75, "maxWidth": 90},
            {"field": "distance_m", "headerName": t("To border (m)", lang), "filter": "agNumberColumnFilter", "minWidth": 120,
             "maxWidth": 140},
            {"field": "follow_ups", "headerName": t("Follow-ups", lang), "filter": "agNumberColumnFilter",
             "minWidth": 105, "maxWidth": 120},
            # the patrols that observed it (patrol_event; 2019/1896 Art 24(2))
            {"field": "observed_by", "headerName": t("Observed by", lang), "minWidth": 140},
            {"field": "description", "headerName": t("Report", lang), "minWidth": 260, "tooltipField": "description"},
        ],
        rowData=[],
        getRowId="params.data.id",
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "floatingFilter": True},
        dashGridOptions={"pagination": True, "paginationPageSize": 20, "animateRows": False},
        columnSize="responsiveSizeToFit",
        className="ag-theme-alpine nsp-grid",
        style={"height": "420px"},
    )

    return html.Div([
        dcc.Store(id="main-state", data=state),
        dcc.Store(id="main-query", data=build_query(state)),
        dcc.Store(id="main-section-bounds"),
        # what the browser's layers hold (_changed_only): events and density, operational, sections
        dcc.Store(id="main-event-digests"), dcc.Store(id="main-ops-digests"), dcc.Store(id="main-section-digests"),
        dcc.Store(id="main-zoomed", data=[]),
        dcc.Store(id="main-url-synced"),
        dcc.Store(id="main-levels-version", data=0),
        dcc.Store(id="main-event-chosen-id"), dcc.Store(id="main-decisions-version", data=0),
        dcc.Interval(id="main-refresh", interval=s.refresh_seconds * 1000),
        dcc.Interval(id="main-clock-tick", interval=1000),
        dcc.Store(id="main-replay-origin", data=origin),
        dcc.Interval(id="main-replay-tick", interval=int(s.replay_tick_seconds * 1000), disabled=True),
        # the newest alert time shown (update_alert); at first the page's own time, so that the
        # alerts already on the bar when it opens make no sound (nsp_sound.js)
        dcc.Store(id="main-alert-newest", data=picture.now_utc().isoformat()),
        dcc.Store(id="main-sound-heard"), dcc.Store(id="main-sound-unlocked"),  # nsp_sound.js
        dcc.Store(id="main-alert-ack", storage_type="session"),
        dcc.Store(id="main-clock-words", data={"local": t("local", lang)}),
        # the first screen: the header, the alert bar, the filters and the map fill the window
        # exactly, however many rows the filters wrap onto; the list and the chart follow below
        html.Div([
            header,
            html.Div([html.Span(id="main-alert-text"),
                      html.Button(t("Acknowledge", lang), id="main-alert-ack-button", className="nsp-alert-ack")],
                     id="main-alert", className="nsp-alert nsp-hidden", role="alert"),
            html.Div(t("Not in your sections, not shown: {codes}. The link names sections outside your area; "
                       "the picture shows the sections you may see.", lang, codes=", ".join(foreign)),
                     id="main-scope-note", className="nsp-scope-note", role="status") if foreign else None,
            html.Div(t("Not understood in the link, left out: {items}. The picture shows the rest of it.", lang,
                       items=", ".join(ignored)),
                     id="main-link-note", className="nsp-scope-note", role="status") if ignored else None,
            filters,
            html.Div([
                html.Div([mapview.build_map(P), mapview.layer_switch(P, lang),
                          html.Div(id="main-map-note", className="nsp-map-note"),
                          html.Details([html.Summary(t("Legend", lang)), mapview.legend(P, lang=lang)], open=True,
                                       className="nsp-legend-box")],
                         id="main-map-wrap", className="nsp-map-wrap"),
                html.Div([
                    html.Div([html.H3(t("Border sections in the window", lang)),
                              html.Div(id="main-section-table", className="nsp-scroll")], className="nsp-card"),
                    html.Div([html.H3(t("Own units: last report", lang)),
                              html.Div(id="main-units", className="nsp-scroll")], className="nsp-card"),
                ], className="nsp-side"),
            ], className="nsp-main"),
        ], className="nsp-screen"),
        html.Div([
            html.Div([html.Div([html.H3(t("Events (click a row to fly there)", lang)), downloads],
                               className="nsp-card-head"), grid, event_form], className="nsp-card nsp-grow"),
            html.Div([
                html.Div([dcc.Graph(id="main-timeseries", config={"displaylogo": False, "displayModeBar": False})],
                         className="nsp-card"),
                # below the first screen: on a laptop it left the side column's tables no rows
                levels_form,
                html.Div([html.H3(t("Feeds: last delivery", lang)), html.Div(id="main-feeds", className="nsp-scroll")],
                         className="nsp-card nsp-feeds-card") if scope.all_sections else None,
            ], className="nsp-chart"),
        ], className="nsp-bottom"),
    ], className="nsp-page nsp-page-main", lang=lang, **{
        "data-nsp-refresh-ms": s.refresh_seconds * 1000,  # nsp_watchdog.js
        "data-nsp-words": mapview.map_words(lang)})  # nsp_map.js's popups and tooltips


# ======================================================================= registration

STATE_INPUTS = [Input("main-window", "value"), Input("main-start", "value"), Input("main-end", "value"),
                Input("main-at", "value"), Input("main-category", "value"), Input("main-impact", "value"),
                Input("main-source", "value"), Input("main-sections", "value"), Input("main-heat", "value"),
                Input("main-rejected", "value")]

callback(Output("main-state", "data"), Output("main-query", "data"), *STATE_INPUTS,
         prevent_initial_call=True)(controls_to_state)

# The URL follows the state without a page reload (replaceState: the view is not rebuilt).
clientside_callback(
    """function(q) { if (q && window.location.search !== q) {
        window.history.replaceState(null, "", window.location.pathname + q); } return ""; }""",
    Output("main-url-synced", "data"), Input("main-query", "data"),
)
clientside_callback(
    """function(q) { if (!q) { return [window.dash_clientside.no_update, window.dash_clientside.no_update]; }
        return ["/export/events.csv" + q, "/export/events.geojson" + q]; }""",
    Output("main-download-csv", "href"),
    Output("main-download-geojson", "href"),
    Input("main-query", "data"), prevent_initial_call=True,
)
clientside_callback(
    """function(w) { return w === "custom" ? "nsp-f nsp-f-custom" : "nsp-f nsp-f-custom nsp-hidden"; }""",
    Output("main-custom", "className"), Input("main-window", "value"),
)
clientside_callback(
    """function(n, words) { const d = new Date(); const p = x => String(x).padStart(2, "0");
        return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${(words || {}).local || "local"} · ` +
               `${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`; }""",
    Output("main-clock", "children"), Input("main-clock-tick", "n_intervals"), State("main-clock-words", "data"),
)

def _on_view(update):
    """A map callback that also fires on a pan (the bounds), unless the pan changes nothing."""
    def run(state, n, zoom, bounds, *rest):
        if pan_changes_nothing(ctx.triggered_prop_ids, zoom):
            raise PreventUpdate
        return update(state, n, zoom, bounds, *rest)
    return run


def _changed_only(update, layers: int):
    """``update``'s first ``layers`` outputs, sent only when they changed (mapview.changed_only,
    as on the wall: Leaflet rebuilds a layer given the same data, every marker and line
    replaced at every refresh). The digests of what the browser holds come in as the last
    argument (a Store) and go back as the last output."""
    def run(*args):
        *args, sent = args
        out = update(*args)
        data, digests = mapview.changed_only(list(out[:layers]), sent)
        return (*data, *out[layers:], digests)
    return run


callback(
    [Output(i, "data") for i in EVENT_OUTPUTS] + [Output("main-density", "data"), Output("main-map-note", "children"),
                                                  Output("main-event-digests", "data")],
    Input("main-state", "data"), Input("main-refresh", "n_intervals"), Input("main-map", "zoom"),
    Input("main-map", "bounds"), State("main-event-digests", "data"),
)(_on_view(_changed_only(update_map, len(EVENT_OUTPUTS) + 1)))

callback(
    Output("main-patrols", "data"), Output("main-assets", "data"), Output("main-vessels", "data"),
    Output("main-ops-digests", "data"),
    Input("main-state", "data"), Input("main-refresh", "n_intervals"), Input("main-map", "zoom"),
    Input("main-map", "bounds"), State("main-ops-digests", "data"),
)(_on_view(_changed_only(update_operational, 3)))

callback(
    Output("main-section-lines", "data"), Output("main-section-areas", "data"),
    Output("main-section-lines", "hideout"), Output("main-section-areas", "hideout"),
    Output("main-section-bounds", "data"), Output("main-section-digests", "data"),
    Input("main-state", "data"), Input("main-refresh", "n_intervals"), Input("main-levels-version", "data"),
    State("main-section-bounds", "data"), State("main-section-digests", "data"),
)(_changed_only(update_sections, 4))  # the hideouts too: a new one rebuilds the layer

callback(
    Output("main-map", "viewport"), Output("main-zoomed", "data"),
    Input("main-state", "data"), Input("main-section-bounds", "data"), State("main-zoomed", "data"),
)(zoom_to_sections)

callback(
    Output("main-map", "viewport", allow_duplicate=True),
    Input("main-events", "cellClicked"), State("main-events", "rowData"), prevent_initial_call=True,
)(fly_to_event)

def _decide_clicked(_impact, _close, _reopen, event_id, impact, reason, version) -> tuple:
    return decide_event(ctx.triggered_id, event_id, impact, reason, version)


callback(Output("main-event-chosen-id", "data"), Input("main-events", "cellClicked"),
         prevent_initial_call=True)(select_event)

callback(Output("main-event-chosen", "children"), Output("main-event-history", "children"),
         Input("main-event-chosen-id", "data"), Input("main-events", "rowData"))(event_decision_view)

callback(
    Output("main-event-message", "children"), Output("main-decisions-version", "data"),
    Output("main-event-reason", "value"),
    *[Input(b, "n_clicks") for b in _DECISION_BUTTONS], State("main-event-chosen-id", "data"),
    State("main-event-impact", "value"), State("main-event-reason", "value"),
    State("main-decisions-version", "data"), prevent_initial_call=True,
)(_decide_clicked)

callback(
    Output("main-section-table", "children"), Output("main-events", "rowData"),
    Output("main-timeseries", "figure"),
    Input("main-state", "data"), Input("main-refresh", "n_intervals"), Input("main-levels-version", "data"),
    Input("main-decisions-version", "data"),
)(update_panels)

callback(Output("main-status", "children"), Output("main-status", "className"),
         Input("main-refresh", "n_intervals"))(update_status)

callback(Output("main-units", "children"), Input("main-assets", "data"))(units_view)
callback(Output("main-feeds", "children"), Input("main-refresh", "n_intervals"))(feeds_view)

clientside_callback(mapview.LAYER_SWITCH_JS, Output("main-map-wrap", "className"), Input(f"{P}-layers", "value"))

callback(Output("main-alert-text", "children"), Output("main-alert", "className"),
         Output("main-alert-newest", "data"),
         Input("main-refresh", "n_intervals"), Input("main-state", "data"), Input("main-alert-ack", "data"))(update_alert)

callback(Output("main-alert-ack", "data"), Input("main-alert-ack-button", "n_clicks"),
         State("main-alert-newest", "data"), prevent_initial_call=True)(acknowledge_alert)

# the chime of a new alert, and the box's tick that lets the browser make sound (nsp_sound.js)
clientside_callback("function(t, c, on) { return window.nsp.sound.alert(t, c, on); }",
                    Output("main-sound-heard", "data"), Input("main-alert-newest", "data"),
                    State("main-alert", "className"), State("main-sound", "value"))
clientside_callback("function(on) { return window.nsp.sound.unlock(on); }",
                    Output("main-sound-unlocked", "data"), Input("main-sound", "value"), prevent_initial_call=True)

callback(
    Output("main-level-message", "children"), Output("main-levels-version", "data"),
    Output("main-level-reason", "value"),
    Input("main-level-submit", "n_clicks"), State("main-level-section", "value"),
    State("main-level-value", "value"), State("main-level-reason", "value"),
    State("main-levels-version", "data"), prevent_initial_call=True,
)(submit_level)

callback(Output("main-level-history", "children"), Input("main-level-section", "value"),
         Input("main-levels-version", "data"))(level_history_view)

callback(
    Output("main-window", "value"), Output("main-start", "value"), Output("main-end", "value"),
    Output("main-at", "value"), Output("main-category", "value"), Output("main-impact", "value"),
    Output("main-source", "value"), Output("main-sections", "value"), Output("main-heat", "value"),
    Output("main-rejected", "value"), Output("main-replay", "value", allow_duplicate=True),
    Input("main-reset", "n_clicks"), prevent_initial_call=True,
)(reset_filters)

callback(Output("main-at", "value", allow_duplicate=True), Input("main-replay", "value"),
         State("main-replay-origin", "data"), prevent_initial_call=True)(replay_to_at)


def _replay_click(_clicks, value, disabled):
    return replay_step("main-replay-play", value, not disabled)


def _replay_tick(_ticks, value, disabled):
    return replay_step("main-replay-tick", value, not disabled)


# Two callbacks, not one with both inputs: Dash drops the answer of a callback that is called
# again before it has answered (plotly/dash#941, #1613; and its ctx may name the wrong input,
# #1243), so a tick that fired while a click on Pause was on its way could swallow the click
# and the replay went on (the Chromium test failed so, twice in one session).
for _fn, _input, _dup in ((_replay_click, Input("main-replay-play", "n_clicks"), False),
                          (_replay_tick, Input("main-replay-tick", "n_intervals"), True)):
    callback(
        Output("main-replay", "value", allow_duplicate=_dup), Output("main-replay-tick", "disabled", allow_duplicate=_dup),
        Output("main-replay-play", "children", allow_duplicate=_dup),
        _input, State("main-replay", "value"), State("main-replay-tick", "disabled"), prevent_initial_call=True,
    )(_fn)
