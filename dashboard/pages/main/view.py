"""The situational picture at ``/``: the page (its registration and layout).

Its parts, one module per concern of this package (filters, map layers, event list and
decisions, side panels, chart, impact levels, alert bar, replay), each hold their callbacks
as plain functions (unit-testable without a browser) and a ``register()`` that this module
calls once for each app. Component ids start with ``main-``.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import dash
from dash import dcc, html

from dashboard.components import airlayer, event_list, mapview, replay_mode, unchanged
from dashboard.components.header import page_header
from dashboard.i18n import category_label, current, impact_label, t
from dashboard.pages.main import (
    alert_bar,
    crossfilter,
    details,
    event_panel,
    filter_bar,
    level_form,
    map_layers,
    replay,
    side_panels,
)
from dashboard.pages.main.replay import replay_marks, replay_value
from dashboard.pages.main.shared import WINDOWS, P
from dashboard.pages.main.side_panels import units
from dashboard.scope import current_scope
from dashboard.settings import web_settings
from dashboard.state import build_query, format_time, parse_query
from geo import picture
from nsp.vocab import CATEGORIES, IMPACTS, LEVELS

# The page's parts register their callbacks here, each part once: Dash runs this module
# (not imports it) for every app it makes, and an app takes the callbacks registered since the
# one before. Importing a part registers nothing, so no app gets a callback twice (its browser
# renderer refuses duplicate outputs: a page with no callbacks at all), and a second app (a
# test's server) gets them all too.
PARTS = (alert_bar, crossfilter, details, event_panel, filter_bar, level_form, map_layers, replay,
         side_panels)  # charts: no callbacks
for _part in PARTS:
    _part.register()

dash.register_page(__name__, path="/", name="Situational picture", title="nsp — situational picture")


def _time_input(id_: str, value: str | None) -> dcc.Input:
    """A date and time in the centre's format, the same in every language: ISO 8601, 24 h,
    UTC (``2026-12-04 14:00``; ``04.12.2026 14:00``, day first, is read too). A
    datetime-local input showed the browser's format: US month first and a 12-hour clock, in
    Latvian too."""
    return dcc.Input(id=id_, type="text", value=(value or "").replace("T", " ") or None, debounce=True,
                     placeholder="YYYY-MM-DD HH:MM", pattern=r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}",
                     className="nsp-time-input", autoComplete="off", spellCheck=False)


def _dropdown(id_, options, value, placeholder):
    return dcc.Dropdown(id=id_, options=options, value=value, multi=True, placeholder=placeholder,
                        className="nsp-dd", clearable=True)


# The page's refreshing parts that every user's page has (the feeds panel only a national one's).
REFRESHING = (map_layers.EVENTS, map_layers.OPERATIONAL, map_layers.SECTIONS, side_panels.PANELS, alert_bar.STATUS,
         event_panel.CHOSEN)


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
    external = [o for o, r in zip(section_options, sections, strict=False) if r["kind"] != "land-internal"]
    sources = picture.sources(scope)
    can_change = picture.can_change_levels(scope)
    origin = format_time(picture.now_utc().replace(second=0, microsecond=0) + timedelta(minutes=1))

    header = page_header(scope, "main", status_id="main-status", clock_id="main-clock", lang=lang)
    # every event of the filter as a file: the same query string as the deep link, kept in step
    # with it by a clientside callback (dashboard/exports.py events_download)
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
                  _time_input("main-start", state["start"]),
                  _time_input("main-end", state["end"])],
                 className="nsp-f nsp-f-custom", id="main-custom"),
        html.Div([html.Label(t("As at (UTC)", lang)),
                  _time_input("main-at", state["at"])],
                 className="nsp-f"),
        html.Div([html.Label(t("Replay (as at)", lang)),
                  html.Div([html.Button("▶ " + t("Replay", lang), id="main-replay-play",
                                        className="nsp-btn nsp-btn-ghost"),
                            dcc.Slider(id="main-replay", min=-s.replay_days * 24 * 60, max=0,
                                       step=s.replay_step_minutes, value=replay_value(state["at"], origin),
                                       marks=replay_marks(s.replay_days, lang), included=False,
                                       allow_direct_input=False,  # Dash 4's number box: minutes from now
                                       updatemode="mouseup", className="nsp-replay-slider")],
                           className="nsp-replay"), replay_mode.switch(state["replay"], lang)],
                 className="nsp-f nsp-f-replay"),
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

    grid = event_list.grid(lang)

    main_map = mapview.build_map(P)
    main_map.children.append(event_list.highlight_layer())  # the event chosen in the list
    page = html.Div([
        dcc.Store(id="main-state", data=state),
        dcc.Store(id="main-query", data=build_query(state)),
        dcc.Store(id="main-section-bounds"),
        # what the browser holds of each refreshing part (dashboard/components/unchanged.py)
        *unchanged.stores(*(part.digests for part in REFRESHING), "main-alert-digests", airlayer.digests_id(P)),
        dcc.Store(id="main-zoomed", data=[]),
        dcc.Store(id="main-url-synced"),
        dcc.Store(id="main-levels-version", data=0),
        dcc.Store(id="main-event-chosen-id"), dcc.Store(id="main-decisions-version", data=0),
        dcc.Store(id="main-pick"), dcc.Store(id="main-crossfilter-before"),  # crossfilter.py
        dcc.Interval(id="main-refresh", interval=s.refresh_seconds * 1000),
        dcc.Store(id="main-replay-origin", data=origin),
        dcc.Interval(id="main-replay-tick", interval=int(s.replay_tick_seconds * 1000), disabled=True),
        # the newest alert time shown (update_alert); at first the page's own time, so that the
        # alerts already on the bar when it opens make no sound (nsp_sound.js)
        dcc.Store(id="main-alert-newest", data=picture.now_utc().isoformat()),
        dcc.Store(id="main-sound-heard"), dcc.Store(id="main-sound-unlocked"),  # nsp_sound.js
        dcc.Store(id="main-alert-ack", storage_type="session"),
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
                html.Div([main_map, mapview.layer_switch(P, lang),
                          html.Div(id="main-map-note", className="nsp-map-note"),
                          html.Details([html.Summary(t("Legend", lang)), mapview.static_legend(P, lang=lang)], open=True,
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
            html.Div([html.Div([html.H3(t("Events (click a row for its details)", lang)), downloads],
                               className="nsp-card-head"), grid, event_form], className="nsp-card nsp-grow"),
            html.Div([
                event_list.details_panel(lang),  # beside the list: the chosen event
                html.Div([dcc.Graph(id="main-timeseries", config={"displaylogo": False, "displayModeBar": False})],
                         className="nsp-card"),
                # below the first screen: on a laptop it left the side column's tables no rows
                levels_form,
                html.Div([html.H3(t("Feeds: last delivery", lang)), html.Div(id="main-feeds", className="nsp-scroll"),
                          *unchanged.stores(side_panels.FEEDS.digests)],  # with its panel: national users only
                         className="nsp-card nsp-feeds-card") if scope.all_sections else None,
            ], className="nsp-chart"),
        ], className="nsp-bottom"),
    ], className="nsp-page nsp-page-main", lang=lang, **{
        "data-nsp-refresh-ms": s.refresh_seconds * 1000,  # nsp_watchdog.js
        "data-nsp-words": mapview.map_words(lang)})  # nsp_map.js's popups and tooltips
    # The first picture comes with the page (as the wall's does): complete on its first paint,
    # with the Stores of what the browser holds, so that the parts' callbacks send nothing until
    # something changes (they are not called as the page opens). The own units are built from
    # the first own-asset layer.
    parts = [*REFRESHING, airlayer.part(P)] + ([side_panels.FEEDS] if scope.all_sections else [])
    first = unchanged.first_paint(parts, state)
    first["main-units"] = {"children": units(first.get("main-assets", {}).get("data"))}
    mapview.fill_initial(page, first)
    return page
