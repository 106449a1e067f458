"""``/audit``: the audit log, for administrators (issue 6 part 4).

Who logged in (and who failed), who exported what, who changed an impact level, users and
sources. Read through the admin's scope: row-level security lets only admins (and the
system) read ``audit_log``; everyone else gets a refusal here and nothing from the database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dash
import dash_ag_grid as dag
from dash import Input, Output, callback, dcc, html

from dashboard.auth import current_scope
from dashboard.components.header import page_header
from dashboard.i18n import current, t
from nsp import access
from nsp.queries import queries

dash.register_page(__name__, path="/audit", title="nsp — audit log", name="Audit log")

LIMIT = 2000
SINCE = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "all": None}
def columns(lang: str = "en") -> list[dict]:
    return [
        {"field": "at", "headerName": t("When (UTC)", lang), "width": 190, "sort": "desc"},
        {"field": "actor", "headerName": t("Who", lang), "width": 150},
        {"field": "action", "headerName": t("Action", lang), "width": 160},
        {"field": "object", "headerName": t("Object", lang), "width": 180},
        {"field": "details", "headerName": t("Details", lang), "flex": 1},
        {"field": "remote_addr", "headerName": t("From", lang), "width": 130},
    ]


def audit_rows(scope: access.Scope, actor: str | None = None, action: str | None = None,
               since: str = "7d") -> list[dict]:
    """The newest audit rows visible to ``scope`` (only admins and the system see any)."""
    delta = SINCE.get(since, SINCE["7d"])
    params = {
        "actor": (actor or "").strip() or None,
        "action": (action or "").strip() or None,
        "since": datetime.now(UTC) - delta if delta else None,
        "limit": LIMIT,
    }
    with access.connection(scope) as conn:
        rows = conn.execute(queries["audit_recent"], params).fetchall()
    for r in rows:
        r["at"] = r["at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return rows


def layout(**_query):
    scope = current_scope()
    lang = current()
    header = page_header(scope, "audit", lang=lang)
    if not scope.can_manage:
        return html.Div(
            [header, html.Div([html.H2(t("Audit log", lang)),
                               html.P(t("Reading the audit log is not permitted for your role.", lang),
                                      id="audit-denied")],
                              className="audit-body")],
            className="nsp-page audit-page",
        )
    return html.Div([header, html.Div(
        [
            html.H2(t("Audit log", lang)),
            html.Div(
                [
                    dcc.Input(id="audit-actor", placeholder=t("who", lang), debounce=True),
                    dcc.Input(id="audit-action", placeholder=t("action (login, export, …)", lang), debounce=True),
                    dcc.RadioItems(id="audit-since", options=[
                        {"label": t("all time", lang) if k == "all" else k, "value": k} for k in SINCE],
                        value="7d", inline=True),
                ],
                className="audit-filters",
            ),
            dag.AgGrid(
                id="audit-table",
                columnDefs=columns(lang),
                rowData=audit_rows(scope),
                defaultColDef={"sortable": True, "filter": True, "resizable": True},
                style={"height": "75vh"},
            ),
            html.P(t("Newest {limit} rows at most. The log is append-only.", lang, limit=LIMIT),
                   className="audit-note"),
        ],
        className="audit-body",
    )], className="nsp-page audit-page")


@callback(
    Output("audit-table", "rowData"),
    Input("audit-actor", "value"),
    Input("audit-action", "value"),
    Input("audit-since", "value"),
    prevent_initial_call=True,
)
def filter_audit(actor, action, since):
    scope = current_scope()
    if not scope.can_manage:
        return []
    return audit_rows(scope, actor, action, since or "7d")
