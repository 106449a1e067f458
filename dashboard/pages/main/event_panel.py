"""The event list and the decision form: the chosen event, its decisions, and the NCC's
buttons (set impact, close, reopen).
"""

from __future__ import annotations

from dash import Input, Output, State, callback, ctx, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.components import mapview, unchanged
from dashboard.components.times import clock_time, event_time
from dashboard.i18n import category_label, current, impact_label, kind_label, subtype_label, t
from dashboard.pages.main.shared import table_head
from dashboard.scope import current_scope
from geo import picture
from nsp.errors import NspError
from nsp.vocab import IMPACTS


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


def event_decision_view(event_id: str | None, rows: list[dict] | None, _n=None) -> tuple:
    """The chosen event in one line, and the NCC's decisions on it (newest first)."""
    lang = current()
    row = next((r for r in rows or () if r.get("id") == event_id), None) if event_id else None
    if row is None:
        return t("Click a row in the list to choose an event.", lang), None
    summary = [html.B(event_time(row["occurred_at"], picture.now_utc())), " · ",
               kind_label(row["category"], row.get("subtype"), lang), " · ", row["section_code"] or t("outside sections", lang),
               " · ", t("impact", lang), " ", html.B(impact_label(row["impact"], lang)),
               " · ", html.B(t(mapview.STATUS_WORDS.get(row["status"], row["status"]), lang, context="status")),
               " · ", row["source"]]
    decisions = picture.event_decisions(current_scope(), event_id)
    if not decisions:
        return summary, html.P(t("No decision on this event yet.", lang), className="nsp-muted")
    now = picture.now_utc()
    head = table_head(("When (UTC)", "By", "Decision", "Reason"), lang)
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


def event_list_rows(rows: list[dict], lang: str) -> list[dict]:
    """The event list's rows with what the grid shows in words of ``lang``: the category,
    the impact (and its rank, to sort low → very high rather than by the words) and the
    status. The codes stay in the row for the fly-to and for anyone reading the data."""
    for r in rows:
        r["category_text"] = category_label(r["category"], lang)
        r["subtype_text"] = subtype_label(r.get("subtype"), lang)
        r["kind_text"] = kind_label(r["category"], r.get("subtype"), lang)
        r["impact_text"] = impact_label(r["impact"], lang)
        r["impact_rank"] = IMPACTS.index(r["impact"]) if r["impact"] in IMPACTS else -1
        r["status_text"] = t(mapview.STATUS_WORDS.get(r["status"], r["status"]), lang,
                               context="status")
    return rows


def _decide_clicked(_impact, _close, _reopen, event_id, impact, reason, version) -> tuple:
    return decide_event(ctx.triggered_id, event_id, impact, reason, version)


# The chosen event's panel, which the page brings in its layout (view.py): none chosen yet.
CHOSEN = unchanged.Part((Output("main-event-chosen", "children"), Output("main-event-history", "children")),
                        "main-chosen-digests", lambda _state: event_decision_view(None, None))


def register() -> None:
    """Register this part's callbacks with Dash: once per app, by the page (view.py)."""
    callback(Output("main-event-chosen-id", "data"), Input("main-events", "cellClicked"),
             prevent_initial_call=True)(select_event)

    # at each refresh too (a decision of another desk), sent when it changed: the list's rows
    # are sent only when they changed (side_panels.py)
    unchanged.callback(list(CHOSEN.outputs),
                       Input("main-event-chosen-id", "data"), Input("main-events", "rowData"),
                       Input("main-refresh", "n_intervals"), digests=CHOSEN.digests,
                       prevent_initial_call=True)(event_decision_view)

    callback(
        Output("main-event-message", "children"), Output("main-decisions-version", "data"),
        Output("main-event-reason", "value"),
        *[Input(b, "n_clicks") for b in _DECISION_BUTTONS], State("main-event-chosen-id", "data"),
        State("main-event-impact", "value"), State("main-event-reason", "value"),
        State("main-decisions-version", "data"), prevent_initial_call=True,
    )(_decide_clicked)
