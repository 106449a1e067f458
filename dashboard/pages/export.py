"""The "Export week" page at ``/export``: the weekly snapshot from the dashboard.

The button queues the export as a background job (the web request returns at once);
the page polls every 2 s and offers the zip when it is ready. Ids start with ``export-``.
Only users whose scope may export (``Scope.can_export``) see the form; a sector
commander's export holds only their own sections.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard import exports
from dashboard.components.header import page_header
from dashboard.i18n import current, t
from dashboard.scope import current_scope
from geo.snapshot.export import ExportError
from geo.snapshot.settings import export_settings
from geo.snapshot.week import MONTH_ABBREVIATIONS, MONTH_NAMES, Month, Week
from nsp import access

dash.register_page(__name__, path="/export", name="Export week", title="nsp — export week")

P = "export"
LABEL = {"display": "block", "fontWeight": "600", "margin": "14px 0 4px 0"}
DOWNLOAD = {"display": "inline-block", "padding": "8px 18px", "background": "#2e7d32", "color": "#fff",
            "borderRadius": "4px", "textDecoration": "none", "fontWeight": "600"}
BUTTON = {"marginTop": "16px", "padding": "8px 18px", "fontSize": "15px", "background": "#1f4e79",
          "color": "#fff", "border": "none", "borderRadius": "4px", "cursor": "pointer"}


# Earlier complete weeks the picker offers after the last one (a quarter back in all).
EARLIER_WEEKS = 12


def _abbreviations(lang: str) -> tuple[str, ...]:
    return tuple(t(a, lang, context="month") for a in MONTH_ABBREVIATIONS)


def _names(lang: str) -> tuple[str, ...]:
    return tuple(t(n, lang) for n in MONTH_NAMES)


def week_choices(tz: str | None = None, lang: str = "en") -> list[dict]:
    """The last complete week (the default), this week so far, then earlier weeks, newest first."""
    tz = tz or export_settings().timezone
    now, last = Week.current(tz), Week.last_complete(tz)
    abbr = _abbreviations(lang)
    choices = [
        {"label": t("Last complete week {label} ({span})", lang, label=last.label, span=last.span_text(abbr)),
         "value": last.label},
        {"label": t("This week so far {label} ({span})", lang, label=now.label, span=now.span_text(abbr)),
         "value": now.label},
    ]
    week = last
    for _ in range(EARLIER_WEEKS):
        week = week.previous()
        choices.append({"label": f"{week.label} ({week.span_text(abbr)})", "value": week.label})
    return choices


def scheduled_list(scope, lang: str = "en") -> html.Div:
    """The schedule's weekly snapshots (all sections) for users who may see all sections."""
    if not scope.all_sections:
        return html.Div()  # a commander's own exports only: the schedule's hold every section
    items = exports.scheduled_snapshots(scope)
    s = export_settings()

    def label(it: dict) -> str:
        if "week" in it:
            return f"{it['week']} ({Week.parse(it['week'], s.timezone).span_text(_abbreviations(lang))})"
        return t("Monthly indicators {month}", lang, month=it["month"])

    rows = [html.Li([html.A(label(it), href=it["url"], className="nsp-scheduled-link"),
                     html.Span(t(" · {mb} MB · made {made}", lang, mb=f"{it['bytes'] / 2**20:.1f}", made=it["made"]),
                               className="nsp-muted")])
            for it in items]
    return html.Div([
        html.H3(t("Made by the schedule", lang)),
        html.P(t("All sections: the weekly snapshot (cron {cron}) and the monthly indicators (cron {monthly}), "
                 "centre time; the newest {keep} of each are kept. Each download is recorded in the audit log.",
                 lang, cron=s.schedule, monthly=s.monthly_schedule, keep=s.keep),
               className="nsp-muted"),
        html.Ul(rows, id=f"{P}-scheduled") if rows else html.P(t("None yet.", lang), id=f"{P}-scheduled"),
    ])


# Complete months the indicator picker offers after this month so far.
EARLIER_MONTHS = 12


def month_choices(tz: str | None = None, lang: str = "en") -> list[dict]:
    """The last complete month (the default), this month so far, then earlier months."""
    tz = tz or export_settings().timezone
    last = Month.last_complete(tz)
    names = _names(lang)
    choices = [{"label": t("Last complete month {label} ({span})", lang, label=last.label, span=last.span_text(names)),
                "value": last.label},
               {"label": t("This month so far {label} ({span})", lang, label=last.next().label,
                           span=last.next().span_text(names)), "value": last.next().label}]
    month = last
    for _ in range(EARLIER_MONTHS - 1):
        month = month.previous()
        choices.append({"label": f"{month.label} ({month.span_text(names)})", "value": month.label})
    return choices


def indicator_links(month: str | None, sections: list[str] | None) -> tuple[str, str]:
    """(table href, CSV href) of the chosen month and sections."""
    month = month or Month.last_complete(export_settings().timezone).label
    return exports.indicators_url(month, "html", sections or None), exports.indicators_url(month, "csv", sections or None)


def indicators_card(scope, lang: str = "en") -> html.Div:
    choices = month_choices(lang=lang)
    table, csv_href = indicator_links(choices[0]["value"], None)
    return html.Div([
        html.H3(t("Monthly indicators", lang)),
        html.P(t("Per section and in total, against the month before: events by category, the details of "
                 "unauthorised border crossings, reports over 24 h, patrols and patrol hours, days at each "
                 "impact level. Made at once from the sections chosen above (all you may see when none).", lang)),
        dcc.Dropdown(id=f"{P}-month", options=choices, value=choices[0]["value"], clearable=False),
        html.Div([html.A(t("Open the table", lang), id=f"{P}-indicators-html", href=table, target="_blank",
                         style={**DOWNLOAD, "background": "#1f4e79"}),
                  html.A(t("Download CSV", lang), id=f"{P}-indicators-csv", href=csv_href, style=DOWNLOAD)],
                 style={"display": "flex", "gap": "10px", "marginTop": "10px"}),
    ], id=f"{P}-indicators", style={"marginTop": "22px"})


def section_options(scope) -> list[dict]:
    with access.read_connection(scope) as conn:
        rows = conn.execute("SELECT code, name FROM border_section ORDER BY code").fetchall()
    return [{"label": f"{r['code']} — {r['name']}", "value": r["code"]} for r in rows]


def layout(**_query):
    scope = current_scope()
    lang = current()
    header = page_header(scope, "export", lang=lang)
    if not scope.can_export:
        return html.Div([header, html.Div([html.H2(t("Export week", lang, context="title")),
                                           html.P(t("Your role may not export.", lang), id=f"{P}-denied")],
                                          className="nsp-sheet")], className="nsp-page")
    choices = week_choices(lang=lang)
    return html.Div([header, html.Div([
        html.H2(t("Export week", lang, context="title")),
        html.P(t("A folder and a zip with the offline map (snapshot.html), picture.gpkg, events.csv, "
                 "summary.html/.pdf and manifest.json. Runs in the background; the download appears here.", lang)),
        html.Label(t("Week", lang), style=LABEL),
        dcc.RadioItems(id=f"{P}-week", options=choices, value=choices[0]["value"],
                       labelStyle={"display": "block", "margin": "4px 0"}, className="nsp-week-list"),
        html.Label(t("Sections", lang), style=LABEL),
        dcc.Dropdown(id=f"{P}-sections", options=section_options(scope), multi=True,
                     placeholder=t("All sections you may see", lang)),
        html.Button(t("Export week", lang, context="button"), id=f"{P}-run", n_clicks=0, style=BUTTON),
        dcc.Store(id=f"{P}-request"),
        dcc.Interval(id=f"{P}-poll", interval=2000, disabled=True),
        html.Div(id=f"{P}-status", role="status", style={"margin": "14px 0 8px 0", "fontSize": "15px"}),
        html.A(t("Download the zip", lang), id=f"{P}-download", href="", style={"display": "none"}),
        indicators_card(scope, lang),
        scheduled_list(scope, lang),
    ], className="nsp-sheet")], className="nsp-page")


def run_export(n_clicks, week_label, sections, scope=None):
    """Queue the export; returns (request store, poll disabled, status text)."""
    if not n_clicks:
        return no_update, no_update, no_update
    scope = scope or current_scope()
    lang = current()
    tz = export_settings().timezone
    try:
        req = exports.start(scope, Week.parse(week_label, tz), sections or None)
    except ExportError as exc:
        return None, True, t("Cannot export: {error}", lang, error=exc)
    return {"token": req["token"], "week": req["week"]}, False, t("Export of {week} queued…", lang, week=req["week"])


def poll_export(_n, req, scope=None):
    """Check the request; returns (status text, download href, download style, poll disabled)."""
    hidden = {"display": "none"}
    lang = current()
    if not req:
        return no_update, no_update, no_update, True
    try:
        st = exports.status(req["token"], scope or current_scope())
    except ExportError as exc:
        return t("Cannot export: {error}", lang, error=exc), "", hidden, True
    if st["state"] == "done":
        c = st["counts"]
        text = t("{week} is ready: {events} events, {patrols} patrol tracks, {positions} asset positions.", lang,
                 week=st["week"], events=f"{c['events']:,}", patrols=f"{c['patrols']:,}",
                 positions=f"{c['asset_positions']:,}")
        return text, st["url"], DOWNLOAD, True
    if st["state"] == "failed":
        return (t("The export of {week} failed ({job}); see the worker log.", lang, week=st["week"], job=st["job"]),
                "", hidden, True)
    return (t("Export of {week} running…" if st["state"] == "running" else "Export of {week} queued…", lang,
              week=st["week"]), "", hidden, False)


@callback(Output(f"{P}-request", "data"), Output(f"{P}-poll", "disabled"), Output(f"{P}-status", "children"),
          Input(f"{P}-run", "n_clicks"), State(f"{P}-week", "value"), State(f"{P}-sections", "value"),
          prevent_initial_call=True)
def _run(n_clicks, week_label, sections):
    return run_export(n_clicks, week_label, sections)


@callback(Output(f"{P}-status", "children", allow_duplicate=True), Output(f"{P}-download", "href"),
          Output(f"{P}-download", "style"), Output(f"{P}-poll", "disabled", allow_duplicate=True),
          Input(f"{P}-poll", "n_intervals"), State(f"{P}-request", "data"), prevent_initial_call=True)
def _poll(n, req):
    return poll_export(n, req)


@callback(Output(f"{P}-indicators-html", "href"), Output(f"{P}-indicators-csv", "href"),
          Input(f"{P}-month", "value"), Input(f"{P}-sections", "value"))
def _indicator_links(month, sections):
    return indicator_links(month, sections)
