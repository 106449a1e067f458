"""The header bar of the staff pages (/, /export, /audit): brand, who is logged in, and the
links that the user's role may follow. The wall has its own header (pages/wall.py)."""

from __future__ import annotations

from dash import html

from nsp.access import Scope


def nav_links(scope: Scope, page: str) -> list[tuple[str, str]]:
    """(label, href) of the header's links for ``scope`` on ``page`` ("main", "export", "audit")."""
    links = []
    if page != "main" and not scope.can_manage:
        links.append(("Map", "/"))
    if scope.can_export and page != "export":
        links.append(("Export week", "/export"))
    if scope.can_manage and page != "audit":
        links.append(("Audit log", "/audit"))
    if not scope.can_manage:
        links.append(("Wall display ↗", "/wall"))
    links.append(("Log out", "/logout"))
    return links


def page_header(scope: Scope, page: str, *, status_id: str | None = None,
                clock_id: str | None = None) -> html.Header:
    """The header; ``status_id`` and ``clock_id`` give the live sign and clock their ids."""
    right = []
    if clock_id:
        right.append(html.Span(id=clock_id, className="nsp-clock"))
    right.append(html.Span(f"{scope.user} · {scope.role.replace('_', ' ')}",
                           id=f"{page}-user", className="nsp-user"))
    for label, href in nav_links(scope, page):
        right.append(html.A(label, href=href, className="nsp-link",
                            **({"target": "_blank"} if href == "/wall" else {})))
    return html.Header([
        html.Div([html.Span("nsp", className="nsp-logo"),
                  html.Span("National situational picture", className="nsp-title")], className="nsp-brand"),
        html.Div(id=status_id, className="nsp-status") if status_id else html.Div(),
        html.Div(right, className="nsp-header-right"),
    ], className="nsp-header")
