"""Impact levels of the sections: the level badge, the change form and its history.
"""

from __future__ import annotations

from dash import Input, Output, State, callback, html, no_update

from dashboard.components.static import static
from dashboard.components.times import clock_time
from dashboard.i18n import current, t
from dashboard.pages.main.shared import table_head
from dashboard.scope import current_scope
from geo import picture
from nsp.errors import NspError


def level_badge(level: str | None, lang: str = "en") -> html.Span:
    return html.Span(t(level or "internal", lang), className=f"nsp-level nsp-level-{level or 'internal'}")


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
    head = table_head(("When (UTC)", "Section", "From", "To", "By", "Reason"), lang)
    now = picture.now_utc()
    body = [html.Tr([html.Td(clock_time(r["decided_at"], now), title=r["decided_at"], className="nsp-nowrap"),
                     html.Td(r["section_code"], className="nsp-nowrap"),
                     html.Td(level_badge(r["from_level"], lang) if r["from_level"] else "–"),
                     html.Td(level_badge(r["to_level"], lang)), html.Td(r["decided_by"]), html.Td(r["reason"])])
            for r in rows]
    return html.Table([html.Thead(head), html.Tbody(body)], className="nsp-table nsp-history")


def level_history(code, version):
    """:func:`level_history_view` as static markup (one component in the browser)."""
    return static(level_history_view(code, version))


def register() -> None:
    """Register this part's callbacks with Dash: once per app, by the page (view.py)."""
    callback(
        Output("main-level-message", "children"), Output("main-levels-version", "data"),
        Output("main-level-reason", "value"),
        Input("main-level-submit", "n_clicks"), State("main-level-section", "value"),
        State("main-level-value", "value"), State("main-level-reason", "value"),
        State("main-levels-version", "data"), prevent_initial_call=True,
    )(submit_level)

    callback(Output("main-level-history", "children"), Input("main-level-section", "value"),
             Input("main-levels-version", "data"))(level_history)
